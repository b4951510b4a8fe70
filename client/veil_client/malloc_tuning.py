"""glibc malloc settings for processes that stream tables through Python gRPC.

Python gRPC hands every received message to Python as a fresh ``bytes`` object, built through
temporary buffers of the message's size (~1 MiB here). With glibc's defaults each of those is a
separate ``mmap`` and ``munmap`` (they are above the 128 KiB mmap threshold, and a threshold
that adapts upward only does so in the thread's own arena), so every megabyte received costs
256 page faults and a TLB shootdown across the process's threads. Measured on a 2-core VM with
a bare gRPC stream of 1 MiB messages (no Veil code): 1.1-1.6 GB/s at 0.6-0.9 CPU s/GB on the
receiving side with the defaults, 2.0-2.7 GB/s at 0.3 CPU s/GB with the settings below.

The settings: serve allocations up to :data:`MMAP_THRESHOLD_BYTES` from the heap, keep up to
:data:`TRIM_THRESHOLD_BYTES` of free heap before returning it to the OS (so a buffer freed at
the end of one message is reused by the next), and use at most :data:`ARENA_MAX` arenas (gRPC's
threads each grabbing an arena would multiply the retained memory). They are process-wide, so:

* a variable the operator set (``MALLOC_ARENA_MAX``, ``MALLOC_MMAP_THRESHOLD_``,
  ``MALLOC_TRIM_THRESHOLD_``) is left alone, and ``VEIL_MALLOC_TUNING=off`` skips all of them;
* they are applied once, early (arena limits only bind arenas created afterwards);
* anything but glibc (musl, macOS, Windows) is left untouched.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import threading

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
"""``mallopt`` parameter numbers from glibc's ``malloc.h``."""

MMAP_THRESHOLD_BYTES = 16 << 20
TRIM_THRESHOLD_BYTES = 8 << 20
ARENA_MAX = 2

_SETTINGS = (
    ("MALLOC_MMAP_THRESHOLD_", M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES),
    ("MALLOC_TRIM_THRESHOLD_", M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES),
    ("MALLOC_ARENA_MAX", M_ARENA_MAX, ARENA_MAX),
)

_lock = threading.Lock()
_applied: dict[str, int] | None = None


def tune_malloc() -> dict[str, int]:
    """Apply the settings once per process; return those applied (empty when none were).

    Safe to call any number of times, from any thread.
    """
    global _applied
    with _lock:
        if _applied is None:
            _applied = _apply()
        return dict(_applied)


def _apply() -> dict[str, int]:
    if os.environ.get("VEIL_MALLOC_TUNING", "").lower() in {"off", "0", "false", "no"}:
        return {}
    if not sys.platform.startswith("linux"):
        return {}
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return {}
    try:
        libc = ctypes.CDLL(libc_name)
        mallopt = libc.mallopt
        libc.gnu_get_libc_version  # noqa: B018 - present in glibc only (not musl)
    except (OSError, AttributeError):
        return {}
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    applied: dict[str, int] = {}
    for variable, parameter, value in _SETTINGS:
        if variable in os.environ:
            continue
        if mallopt(parameter, value) == 1:
            applied[variable] = value
    return applied
