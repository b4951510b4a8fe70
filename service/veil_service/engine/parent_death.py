"""An engine process dies with its parent (Linux ``prctl(PR_SET_PDEATHSIG)``).

After ``kill -9`` of ``veil serve``, its engine child, the engine's forkserver and the worker
running a task lived on and finished the task (issue 19, defect 6). Each of them therefore asks
the kernel for SIGKILL when its parent goes: the engine when the server dies (only when the
server started it: ``VEIL_ENGINE_PARENT_PID``), the forkserver when the engine dies, a worker
when the forkserver dies. Elsewhere than Linux this does nothing; the server also ends strays
of its data dir at start (``engine_client.pool``).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
PARENT_PID_ENV = "VEIL_ENGINE_PARENT_PID"


def die_with_parent(expected_parent: int | None = None) -> None:
    """Be killed when the parent process exits; exit now if it already has.

    Args:
        expected_parent: The parent's pid as the parent knew it; if ``getppid()`` differs, the
            parent died before the request took effect.
    """
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if expected_parent is not None and os.getppid() != expected_parent:
        os._exit(1)


def die_with_the_server() -> None:
    """For the engine: die with the ``veil serve`` that started it (if one did)."""
    parent = os.environ.get(PARENT_PID_ENV)
    if parent and parent.isdigit():
        die_with_parent(int(parent))
