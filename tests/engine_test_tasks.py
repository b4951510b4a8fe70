"""Engine tasks that only tests register (``VEIL_ENGINE_EXTRA_TASKS``, see tests/conftest.py).

``sleep`` waits while reporting progress: a task whose duration is known, to check cancellation
and engine-failure handling; it touches no data. ``crash`` raises an unexpected error whose text
stands for private data, to check that it never reaches the caller.
"""

from __future__ import annotations

import time
from typing import Any

from veil_service.engine.tasks.context import TaskContext

MAX_SECONDS = 600.0


def run_sleep(ctx: TaskContext) -> dict[str, Any]:
    """Sleep ``params["seconds"]`` (at most 10 minutes) in steps of 0.1 s."""
    seconds = min(float(ctx.params.get("seconds", 1.0)), MAX_SECONDS)
    start = time.monotonic()
    while (elapsed := time.monotonic() - start) < seconds:
        ctx.progress(elapsed / seconds, "sleeping")
        time.sleep(min(0.1, seconds - elapsed))
    ctx.progress(1.0, "done")
    return {"slept_seconds": seconds}


SECRET = "private-value-8231"
"""Text the ``crash`` task's error carries; it must stay in the engine log."""


def run_crash(ctx: TaskContext) -> dict[str, Any]:
    """Fail with an unexpected error quoting "data"."""
    raise RuntimeError(f"row 17 holds {SECRET}")
