"""The engine's task stream leaves no task behind (issue 13 item 11).

Before: each progress message was awaited through a helper task (``queue.get()`` raced against
the task); when the task ended first, the helper was cancelled but never awaited, and the engine's
log showed "Task was destroyed but it is pending! task: <Task pending coro=<Queue.get()>>"
after ordinary runs (4 times in one test-suite run).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from veil_service.engine import server as engine_server
from veil_service.engine.cache import TableCache
from veil_service.engine.worker import TaskOutcome


async def _fake_runner(
    kind: str, params: dict[str, Any], inputs: dict[str, Path], output_dir: Path, on_progress: Any
) -> TaskOutcome:
    for step in range(5):
        await on_progress(step / 5, f"step {step}")
        await asyncio.sleep(0)
    return TaskOutcome(True, {"done": True}, [])


@pytest.mark.parametrize("slow_consumer", [False, True])
def test_a_finished_task_stream_leaves_no_pending_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slow_consumer: bool
) -> None:
    monkeypatch.setattr(engine_server, "run_in_worker", _fake_runner)
    servicer = engine_server.EngineServicer(TableCache(tmp_path / "cache", 1 << 20), tmp_path, 1)

    async def scenario() -> tuple[list[Any], list[asyncio.Task[Any]]]:
        messages = []
        async for message in servicer._run("describe", {}, {}, tmp_path / "out"):
            messages.append(message)
            if slow_consumer:
                await asyncio.sleep(0.01)
        left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        return messages, left

    messages, left = asyncio.run(scenario())
    assert left == []
    phases = [m.progress.phase for m in messages if m.HasField("progress")]
    assert phases[0] == "step 0" and messages[-1].HasField("done")


async def _slow_runner(
    kind: str, params: dict[str, Any], inputs: dict[str, Path], output_dir: Path, on_progress: Any
) -> TaskOutcome:
    await on_progress(0.1, "starting")
    await asyncio.sleep(60)
    return TaskOutcome(True, {}, [])


def test_a_stream_cancelled_mid_task_leaves_no_pending_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server cancels a job: the engine's stream is cancelled while it waits for progress.
    monkeypatch.setattr(engine_server, "run_in_worker", _slow_runner)
    servicer = engine_server.EngineServicer(TableCache(tmp_path / "cache", 1 << 20), tmp_path, 1)

    async def scenario() -> list[asyncio.Task[Any]]:
        stream = servicer._run("describe", {}, {}, tmp_path / "out")
        first = await anext(stream)
        assert first.progress.phase == "starting"
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(anext(stream), 0.2)
        await stream.aclose()
        await asyncio.sleep(0)
        return [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]

    assert asyncio.run(scenario()) == []
