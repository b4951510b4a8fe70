"""The ``sleep`` task: waits while reporting progress.

Used by operators and tests to check cancellation and engine-failure handling with a task whose
duration is known; it touches no data.
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
