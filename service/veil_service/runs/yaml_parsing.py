"""avatar_yaml text is parsed in a child process, so the largest accepted text never slows
the server's event loop.

PyYAML is pure Python. Run in a thread of the server (as it was), it shares the interpreter lock
with the event loop: on an idle machine the loop still gets the lock every few milliseconds, but
on a loaded one the parsing thread may be descheduled while it holds the lock, and the loop waits
with it: health checks took up to 1.8 s while a text at the size limit was parsed, at load 20
(tests/security/test_event_loop.py). In a process of its own the parse competes for CPU only.

One worker process is started on first use (forkserver: a clean interpreter, not a fork of the
threaded gRPC server) and kept; :func:`shutdown` stops it with the server. The limits of
``yaml_limits.CONFIG_LIMITS`` still apply inside it.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from veil_service.errors import UnavailableError
from veil_service.runs.config import RunConfig

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


def _executor() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("forkserver")
            )
        return _pool


async def parse_config(text: str) -> tuple[RunConfig, str | None, list[str]]:
    """``yaml_io.config_from_yaml(text)`` in the parser process.

    Raises:
        InvalidArgumentError: the text is not valid avatar_yaml or is past the limits (the
            parser's own error, unchanged).
        UnavailableError: the parser process died (it is restarted on the next call).
    """
    from veil_service.runs.yaml_io import config_from_yaml

    pool = _executor()
    try:
        # Submitted from a thread: the first submission starts the forkserver and the worker,
        # and waits for them (seconds on a loaded machine) in the submitting thread.
        submitted = await asyncio.to_thread(pool.submit, config_from_yaml, text)
        return await asyncio.wrap_future(submitted)
    except BrokenProcessPool:
        _discard(pool)
        raise UnavailableError(
            "the YAML parser process stopped while reading this text; send it again."
        ) from None


def _discard(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


def shutdown() -> None:
    """Stop the parser process, if one was started."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)
