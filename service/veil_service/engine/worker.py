"""Running one task in its own process, so that cancelling it or a crash in it is contained.

Workers are forked from a ``forkserver`` that preloads pandas, numpy, scikit-learn, pyarrow and
the run jobs' modules before the engine starts gRPC, so a task starts in milliseconds without
inheriting gRPC threads and without importing its libraries again.
The worker talks to the engine over a pipe: progress messages, then one final message.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.connection
import os
import random
import signal
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from veil_service.engine.forked_map import ForkedPieceDiedError
from veil_service.engine.parent_death import die_with_parent
from veil_service.engine.tasks.context import ResultFile, TaskContext
from veil_service.errors import Reason, VeilServiceError

PRELOAD = [
    # First: makes the forkserver die with the engine (the module does it when imported there).
    "veil_service.engine.forkserver_guard",
    "numpy",
    "pandas",
    "pyarrow",
    "sklearn.neighbors",
    "scipy.linalg",
    "veil_service.engine.tasks",
    # What the jobs import in their worker, loaded once per engine (about 2 CPU s, 100 MiB
    # shared copy-on-write with every worker) instead of once per job: 0.8-1 s of the reports'
    # matplotlib and reportlab, the release's OpenDP, the metrics, the linked tables' pipeline.
    # skops (0.6 s), which every diffprivlib query's worker needs to return its model; not
    # smartnoise-synth (0.5 s), whose fits take seconds anyway.
    "veil_service.engine.tasks.standard",
    "veil_service.engine.tasks.avatar_jobs",
    "veil_service.engine.tasks.report_task",
    "veil_service.engine.tasks.linked_jobs",
    "veil_service.engine.tasks.linked_report",
    "veil_service.engine.release",
    "veil_service.engine.privacy_advice",
    "veil_service.engine.multitable.pipeline",
    "veil_service.engine.tasks.dp",
    "veil_service.engine.dp.skops_preload",
]

_context: Any = None


def worker_context() -> Any:
    """The multiprocessing context workers come from (created once per engine process)."""
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(PRELOAD)
    return _context


@dataclass(frozen=True)
class TaskOutcome:
    """How a task ended."""

    ok: bool
    summary: dict[str, Any]
    results: list[ResultFile]
    code: str = ""
    reason: str = ""
    message: str = ""
    field: str = ""


def execute_task(kind: str, ctx: TaskContext) -> TaskOutcome:
    """Run a task function and turn whatever it raises into an outcome (both paths use this).

    A domain error keeps its code and message; anything else is logged with its traceback here
    and reported by type and message only.
    """
    from veil_service.engine.tasks import resolve

    try:
        began, began_at = time.perf_counter(), time.time()
        summary = resolve(kind)(ctx)
        summary.setdefault("compute_seconds", round(time.perf_counter() - began, 4))
        # When the computing began (Unix time): whether two jobs computed at once, and what of a
        # job's wall time was spent outside the task (shipping, waiting for a slot, storing).
        summary.setdefault("compute_started_at", round(began_at, 3))
        return TaskOutcome(True, summary, ctx.results)
    except VeilServiceError as exc:
        return TaskOutcome(False, {}, [], exc.code_name, exc.reason, exc.message, exc.field or "")
    except ForkedPieceDiedError:
        # A forked piece of the task (figures, a parameter search) was killed: the kernel's OOM
        # killer, most likely; said as a dead worker is, with nothing of the data to log.
        return TaskOutcome(
            False,
            {},
            [],
            "INTERNAL",
            Reason.ENGINE_WORKER_DIED,
            f"a process of the engine task {kind} died; it may have run out of memory.",
        )
    except MemoryError:
        return TaskOutcome(
            False,
            {},
            [],
            "RESOURCE_EXHAUSTED",
            Reason.OUT_OF_MEMORY,
            "the engine ran out of memory; use smaller batches "
            "(max_rows_per_batch) or a smaller query.",
        )
    except Exception:  # the last line of defence of a task
        # The exception's text may quote data (a value, a column, a path): it goes to the engine
        # log under an incident id, and the caller gets the id only (issue 19, defect 8).
        incident = uuid.uuid4().hex[:8]
        print(f"engine task {kind} failed (incident {incident}):", file=sys.stderr)
        traceback.print_exc()
        return TaskOutcome(
            False,
            {},
            [],
            "INTERNAL",
            Reason.ENGINE_TASK_FAILED,
            f"the engine could not complete {kind} (incident {incident}); the engine log has "
            "the details under that id.",
        )


def reseed_global_generators() -> None:
    """Give this process fresh, unpredictable global random generators.

    Every worker is forked from the same forkserver, so without this each would start from the
    forkserver's copy of numpy's global state and draw the same "random" numbers: diffprivlib's
    random forests and the synthesizers' exponential mechanisms (AIM, MST, MWEM) draw from it, so
    two private queries would share their noise (issue 19, defect 1). Python's ``random`` is
    reseeded by the interpreter after a fork; numpy's and torch's are not.
    """
    import numpy as np

    random.seed(os.urandom(32))
    np.random.seed(np.frombuffer(os.urandom(32), dtype=np.uint32))
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(int.from_bytes(os.urandom(8), "little") >> 1)


TASK_THREADS = 1
"""Threads each worker's native thread pools (OpenBLAS, OpenMP) may use.

The engine runs up to ``capacity`` tasks at once, each in its own worker, on cores that other
processes share: a multi-threaded OpenBLAS in each worker oversubscribes them, and its threads
spin while they wait for a core. Measured on the 2-core test machine under load (load average
19): avatarizing the first 1,000 rows of adult_with_cities took 20.1 s of CPU (87 s wall) with
OpenBLAS's default threads and 1.0 s (4.6 s wall) with one thread; Tutorial 5's EPL table 4.1 s
against 0.7 s. Parallelism comes from running tasks side by side (the engine's capacity) instead.
"""


def limit_native_threads() -> None:
    """Hold this worker's already loaded native thread pools to :data:`TASK_THREADS`."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=TASK_THREADS)


def _child_main(
    kind: str,
    params: dict[str, Any],
    inputs: dict[str, str],
    output_dir: str,
    conn: multiprocessing.connection.Connection,
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()  # the forkserver: it goes when the engine goes
    reseed_global_generators()
    limit_native_threads()

    def report(fraction: float, phase: str) -> None:
        conn.send(("progress", fraction, phase))

    ctx = TaskContext(params, {k: Path(v) for k, v in inputs.items()}, Path(output_dir), report)
    try:
        outcome = execute_task(kind, ctx)
        if outcome.ok:
            conn.send(("done", outcome.summary, outcome.results))
        else:
            conn.send(("failed", outcome.code, outcome.reason, outcome.message, outcome.field))
    finally:
        conn.close()


async def run_in_worker(
    kind: str,
    params: dict[str, Any],
    inputs: dict[str, Path],
    output_dir: Path,
    on_progress: Any,
) -> TaskOutcome:
    """Run a task in a fresh worker process; kill it if this coroutine is cancelled.

    Args:
        on_progress: async callable (fraction, phase) awaited for each progress message.
    """
    ctx = worker_context()
    parent, child = ctx.Pipe(duplex=False)
    process = ctx.Process(
        target=_child_main,
        args=(kind, params, {k: str(v) for k, v in inputs.items()}, str(output_dir), child),
        daemon=True,
    )
    # Off the event loop: start() waits for the forkserver, which on a fresh engine may still be
    # importing its preload (seconds), and the loop must keep serving the inline DP queries.
    start = _CancellableStart(process, parent, child)
    try:
        await asyncio.to_thread(start.run)
    except BaseException:
        start.cancel()  # the start goes on in its thread: the worker is stopped once it is up
        raise
    child.close()
    loop = asyncio.get_running_loop()
    try:
        while True:
            ready = asyncio.Event()
            loop.add_reader(parent.fileno(), ready.set)
            try:
                await ready.wait()
            finally:
                loop.remove_reader(parent.fileno())
            try:
                message = parent.recv()
            except EOFError:
                await asyncio.to_thread(process.join, 5)
                return TaskOutcome(
                    False,
                    {},
                    [],
                    "INTERNAL",
                    Reason.ENGINE_WORKER_DIED,
                    f"the engine worker running {kind} died "
                    f"(exit code {process.exitcode}); it may have run out of "
                    "memory.",
                )
            if message[0] == "progress":
                await on_progress(message[1], message[2])
            elif message[0] == "done":
                return TaskOutcome(True, message[1], message[2])
            else:
                return TaskOutcome(False, {}, [], *message[1:5])
    finally:
        parent.close()
        if process.is_alive():
            process.kill()
        await asyncio.to_thread(process.join, 5)


class _CancellableStart:
    """``process.start()`` in a thread, and a cancel that stops the worker whenever it comes.

    Whichever of the two comes second (the start returning, the cancel) kills the worker and
    closes its pipes, under one lock, so a worker is never left running for a cancelled task.
    """

    def __init__(self, process: Any, *pipes: multiprocessing.connection.Connection) -> None:
        self._process = process
        self._pipes = pipes
        self._lock = threading.Lock()
        self._started = False
        self._cancelled = False

    def run(self) -> None:
        self._process.start()
        with self._lock:
            self._started = True
            if self._cancelled:
                self._stop()

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            if self._started:
                self._stop()

    def _stop(self) -> None:
        for pipe in self._pipes:
            pipe.close()
        if self._process.is_alive():
            self._process.kill()


# --- Inline path (DP queries) -----------------------------------------------------------------
# A forked worker costs tens of milliseconds per task, more than a smartnoise-sql COUNT itself.
# Short DP tasks therefore run in a thread of the engine process when the server asks for it
# ("inline": true in the parameters): no fork, and the dataset stays in memory between tasks
# (engine/tasks/dp.py keeps DataFrames by table digest). Everything else keeps its own process.

INLINE_KINDS = frozenset({"dp_query", "dp_cost", "dp_dummy", "check_tables"})
"""Task kinds that may run inline when their parameters say ``"inline": true`` (``check_tables``:
a linked run's key checks, which StartJobs waits for)."""


def wants_inline(kind: str, params: dict[str, Any]) -> bool:
    """Whether a task runs on the inline path."""
    return kind in INLINE_KINDS and bool(params.get("inline"))


def _run_inline_sync(
    kind: str, params: dict[str, Any], inputs: dict[str, Path], output_dir: Path, report: Any
) -> TaskOutcome:
    return execute_task(kind, TaskContext(params, inputs, output_dir, report))


async def run_inline(
    kind: str,
    params: dict[str, Any],
    inputs: dict[str, Path],
    output_dir: Path,
    on_progress: Any,
) -> TaskOutcome:
    """Run a task in a thread of the engine process (see the section comment above).

    Cancelling this coroutine does not stop the thread; inline tasks are short by design.
    """
    loop = asyncio.get_running_loop()

    def report(fraction: float, phase: str) -> None:
        asyncio.run_coroutine_threadsafe(on_progress(fraction, phase), loop)

    return await asyncio.to_thread(_run_inline_sync, kind, params, inputs, output_dir, report)
