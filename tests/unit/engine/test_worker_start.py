"""Starting a worker does not hold the engine's event loop, and a task cancelled while its worker
is still being started leaves no worker running.

On a fresh engine the forkserver may still be importing its preload when the first task comes:
``Process.start()`` then waits seconds. The engine's loop also serves the inline DP queries, so
the start runs in a thread. The forkserver's wait is played by a fork-context process whose
``start`` first waits on an event; everything else is real (the process, its pipe, the task).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from veil_service.engine import tasks, worker

# The stand-in forks this test process, where a DP test of the same xdist worker may have loaded
# JAX, which warns at every fork; the child runs only the sleep task, none of JAX's code.
pytestmark = pytest.mark.filterwarnings("ignore:os.fork\\(\\) was called:RuntimeWarning")


class _SlowStartContext:
    """The fork context, each ``Process.start()`` waiting for ``gate`` to be set first."""

    def __init__(self) -> None:
        fork = multiprocessing.get_context("fork")
        self.gate = threading.Event()
        self.processes: list[Any] = []
        gate, processes = self.gate, self.processes

        class SlowProcess(fork.Process):  # type: ignore[name-defined,misc]
            def start(self) -> None:
                processes.append(self)
                gate.wait(30)
                super().start()

        self.Process = SlowProcess
        self.Pipe = fork.Pipe


async def _no_progress(fraction: float, phase: str) -> None:
    del fraction, phase


@pytest.fixture
def slow_start(monkeypatch: pytest.MonkeyPatch) -> _SlowStartContext:
    """Workers come from a context whose starts wait for ``gate``; ``sleep`` is a task kind."""
    context = _SlowStartContext()
    monkeypatch.setattr(worker, "worker_context", lambda: context)
    monkeypatch.setitem(tasks.TASKS, "sleep", "engine_test_tasks:run_sleep")
    return context


def test_a_task_cancelled_while_its_worker_starts_leaves_no_worker(
    slow_start: _SlowStartContext, tmp_path: Path
) -> None:

    async def scenario() -> float:
        job = asyncio.create_task(
            worker.run_in_worker("sleep", {"seconds": 60}, {}, tmp_path, _no_progress)
        )
        began = time.monotonic()
        await asyncio.sleep(0.3)  # the loop runs while the start waits for the gate
        ticked = time.monotonic() - began
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job
        slow_start.gate.set()  # the forkserver is ready: the worker starts, then must be stopped
        return ticked

    assert asyncio.run(scenario()) < 1.5
    (process,) = slow_start.processes
    process.join(10)
    assert not process.is_alive()
    assert process.exitcode == -9  # killed, not finished: the task asked for 60 s


def test_the_loop_serves_other_work_while_a_worker_starts(
    slow_start: _SlowStartContext, tmp_path: Path
) -> None:

    async def scenario() -> tuple[float, Any]:
        job = asyncio.create_task(
            worker.run_in_worker("sleep", {"seconds": 0.1}, {}, tmp_path, _no_progress)
        )
        began = time.monotonic()
        await asyncio.sleep(0.3)
        ticked = time.monotonic() - began
        slow_start.gate.set()
        return ticked, await job

    ticked, outcome = asyncio.run(scenario())
    assert ticked < 1.5
    assert outcome.ok, outcome
