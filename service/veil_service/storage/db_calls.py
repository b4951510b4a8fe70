"""Database work off the event loop: the one way async code calls the (synchronous) database.

Veil's storage is SQLAlchemy Core with blocking drivers (sqlite3, psycopg). Called on the gRPC
event loop, a query blocks every RPC of the server for as long as it waits: SQLite's busy timeout
(10 s) behind another process's write lock, a PostgreSQL row lock, a slow network. ``db_call``
runs the synchronous function on a bounded thread pool instead, so a waiting query holds one
thread, and health checks and other users' calls go on.

The pool is bounded (``DB_THREADS``) and smaller than the SQLAlchemy connection pool
(``storage.db.POOL_SIZE`` + ``POOL_OVERFLOW``), so a thread seldom waits for a connection. The
calling task's context variables (the caller's principal, the request id of the logs) are copied
into the thread, as ``asyncio.to_thread`` does.

Best-effort writes that no caller waits for (an API key's ``last_used_at``) go to a separate
one-thread pool through :func:`db_background`, so a locked database never delays the answer.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Concatenate, ParamSpec, TypeVar

import sqlalchemy as sa

log = logging.getLogger("veil.db")

P = ParamSpec("P")
T = TypeVar("T")

DB_THREADS = 12
"""Threads running database calls at once. Below the connection pool's 5 + 10 so no thread waits
for a connection; above the 2-4 calls a busy server has in flight, so one call stuck behind a
lock (up to the 10 s busy timeout) leaves room for everyone else."""

_pool = ThreadPoolExecutor(max_workers=DB_THREADS, thread_name_prefix="veil-db")
_background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="veil-db-background")


async def db_call(function: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Run ``function(*args, **kwargs)`` on the database thread pool and await its result.

    Exceptions propagate unchanged (domain errors keep their status mapping).
    """
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    call = functools.partial(context.run, function, *args, **kwargs)
    return await loop.run_in_executor(_pool, call)


def db_background(function: Callable[P, object], /, *args: P.args, **kwargs: P.kwargs) -> None:
    """Run a best-effort database write later, in one background thread; failures are logged.

    For writes no answer depends on. Callable from any thread (the event loop or a ``db_call``).
    """
    future = _background.submit(function, *args, **kwargs)
    future.add_done_callback(_log_failure)


async def db_read(
    engine: sa.Engine,
    function: Callable[Concatenate[sa.Connection, P], T],
    /,
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """``function(connection, *args, **kwargs)`` on a connection of ``engine``, off the loop."""
    return await db_call(_on_connection, engine, functools.partial(function, **kwargs), *args)


async def db_write(
    engine: sa.Engine,
    function: Callable[Concatenate[sa.Connection, P], T],
    /,
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """``function(connection, *args, **kwargs)`` in one transaction of ``engine``, off the loop."""
    return await db_call(_in_transaction, engine, functools.partial(function, **kwargs), *args)


def _on_connection(engine: sa.Engine, function: Callable[..., T], *args: object) -> T:
    with engine.connect() as connection:
        return function(connection, *args)


def _in_transaction(engine: sa.Engine, function: Callable[..., T], *args: object) -> T:
    with engine.begin() as connection:
        return function(connection, *args)


async def drain_background() -> None:
    """Wait until every background write submitted so far is done (before closing the database)."""
    await asyncio.wrap_future(_background.submit(lambda: None))


def _log_failure(future: Future[object]) -> None:
    error = future.exception()
    if error is not None:
        log.warning("background database write failed: %s", type(error).__name__)
