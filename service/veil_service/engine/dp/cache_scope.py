"""Whose request the engine's caches of parsed requests hold, so analysts do not share them.

The engine keeps what is slow to rebuild from a request's text: OpenDP measurements (about a
second to deserialize an 8-step pipeline), polars plans, smartnoise-sql result types. Keyed by
the text alone, they were shared by every analyst: a request answered fast told an analyst that
someone else had sent the very same request (a timing channel, docs/security.md). The server
sends each DP task a ``cache_scope`` (a digest of the analyst's user id), the task runs the
library inside :func:`scoped`, and each cache adds :func:`current` to its key: an analyst's
repeated request stays fast, another analyst's first one is as slow as anyone's first.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

_scope: contextvars.ContextVar[str] = contextvars.ContextVar("veil_dp_cache_scope", default="")


@contextlib.contextmanager
def scoped(scope: str) -> Iterator[None]:
    """Run the ``with`` block's cache lookups in ``scope`` (the task's thread and context)."""
    token = _scope.set(scope)
    try:
        yield
    finally:
        _scope.reset(token)


def current() -> str:
    """The scope of the running task ("" outside any: tests and tools)."""
    return _scope.get()
