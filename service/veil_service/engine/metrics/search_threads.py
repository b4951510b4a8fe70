"""How many threads the privacy metrics use, and the pool their neighbour searches run on.

The KD-tree searches are most of the privacy metrics' work (docs/benchmarks.md, "Privacy metrics
on 1M rows"). Every query row is answered by the tree alone, so a search split into chunks of
rows gives the same distances and indices whichever thread answers which chunk, in whatever
order: the threads change the time, never a value. scipy's ``cKDTree`` releases the GIL while it
builds and queries, so threads of one process share the cores without copying the trees.

The thread count comes from ``VEIL_METRICS_THREADS`` (an operator setting, inherited by the engine's
task processes), else the cores this process may run on (``os.sched_getaffinity``: a container or
``taskset`` limit counts, the machine's core count does not). A caller that is itself one of
several parallel workers passes its share: a Dask task is one thread of its worker
(``engine.dask_partitions`` passes 1), so a worker with ``--nthreads 1`` never runs more than one
search thread per task.

With one thread nothing is started: every chunk runs in the calling thread, in order.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import TypeVar

from veil_service.errors import FailedPreconditionError, InvalidArgumentError

THREADS_ENV = "VEIL_METRICS_THREADS"

CHUNKS_PER_THREAD = 8
"""Chunks each thread gets in a search: the rows of a search in spatial order differ in cost (a
dense region costs more per row), so equal halves leave one core idle while the other finishes;
eight chunks a thread keep the idle tail to about a sixteenth of the search."""

MIN_CHUNK_ROWS = 1024
"""Fewest rows a chunk holds when a search is split for threads (a call costs some microseconds)."""

T = TypeVar("T")
R = TypeVar("R")


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    return max(1, len(os.sched_getaffinity(0)))


def default_threads() -> int:
    """``VEIL_METRICS_THREADS`` if set, else :func:`available_cores`.

    Raises:
        FailedPreconditionError: the variable is set to something other than a positive
            integer (the server's configuration is at fault, not the request).
    """
    raw = os.environ.get(THREADS_ENV, "").strip()
    if not raw:
        return available_cores()
    try:
        threads = int(raw)
    except ValueError:
        threads = 0
    if threads < 1:
        raise FailedPreconditionError(
            f"the server setting {THREADS_ENV} must be a positive number of threads, got "
            f"{raw!r}: set it to a positive integer, or unset it to use every core the engine "
            "may run on",
            field=THREADS_ENV,
        )
    return threads


def resolve_threads(threads: int | None) -> int:
    """``threads`` checked (a positive integer), or :func:`default_threads` when None.

    Raises:
        InvalidArgumentError: ``threads`` is not a positive integer.
    """
    if threads is None:
        return default_threads()
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise InvalidArgumentError(
            f"threads must be a positive integer, got {threads!r}", field="threads"
        )
    return threads


class SearchPool:
    """Runs the independent chunks of a search on ``threads`` threads (inline with one).

    The chunks given to :meth:`map` must not wait on this pool (they are leaf work: a tree query
    and the arrays derived from it), so a pool shared by several searches cannot deadlock.
    """

    def __init__(self, threads: int = 1) -> None:
        self.threads = resolve_threads(threads)
        self._executor = (
            ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="veil-search")
            if self.threads > 1
            else None
        )

    def map(self, work: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """``[work(item) for item in items]``, the items spread over the threads."""
        if self._executor is None:
            return [work(item) for item in items]
        return list(self._executor.map(work, items))

    def chunk_rows(self, rows: int, k: int, max_entries: int) -> int:
        """Rows per chunk for a ``k``-nearest search of ``rows`` rows.

        At most ``max_entries // k`` (the memory bound of one chunk's ``rows x k`` arrays); with
        several threads also small enough for :data:`CHUNKS_PER_THREAD` chunks each.
        """
        step = max(1, max_entries // max(1, k))
        if self.threads > 1:
            balanced = math.ceil(rows / (self.threads * CHUNKS_PER_THREAD))
            step = min(step, max(MIN_CHUNK_ROWS, balanced))
        return step

    def close(self) -> None:
        """Stop the threads (waits for running chunks)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def __enter__(self) -> SearchPool:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


INLINE = SearchPool(1)
"""The pool of a search called without one: every chunk in the calling thread."""
