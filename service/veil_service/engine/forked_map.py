"""Independent pieces of one engine task, run side by side on the machine's cores.

A linked parameter search (engine/multitable/hidden_rate_advice.py) is made of pieces that
share nothing but what they read: each table's search with each noise setting, then each
table's check on held-out seeds; so is the privacy-targeted advice (engine/privacy_advice.py),
one piece per parameter set. They read large prepared state (the linked tables, each table's
encoding and projection, the sample's splits), which a spawned worker would have to receive by
pickle or rebuild: loky's workers took 5-6 s to start on Tutorial 3's tables, longer than the
pieces (docs/benchmarks.md). A forked child shares that state copy-on-write and starts in
milliseconds, so :class:`ForkedPool` forks one child per piece, at most ``workers`` at a time.

Each child runs its piece, sends the pickled result (or the exception) back through a pipe,
and leaves with ``os._exit``: no atexit handler, no flush of buffers it inherited, nothing of
the parent's threads (gRPC's, a sampler's) touched. It limits its BLAS to its share of the
cores and dies with the parent (``parent_death``), so a cancelled task leaves no stray. The
pieces must not depend on which process runs them or in what order: the results are the same
as running them one after the other, which is what happens with one core, one piece, or no
``fork`` (tests/unit/engine/test_forked_map.py).
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import select
import signal
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar, cast

from threadpoolctl import threadpool_limits

from veil_service.engine.parent_death import die_with_parent

T = TypeVar("T")

#: Bytes read from a child's pipe at a time.
_CHUNK = 1 << 20


class ForkedPieceDiedError(RuntimeError):
    """A child ended without sending its result (killed, out of memory)."""


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity, at least 1)."""
    return max(1, len(os.sched_getaffinity(0)))


class ForkedPool:
    """Pieces run in forked children, at most ``workers`` at a time, handed back as they end.

    Pieces may be submitted while others run (a table's check once its searches are in), so
    that no core waits for a whole wave to end. With one worker, or without ``os.fork``, the
    pieces run here, one at a time, when :meth:`completed` asks for the next.

    Args:
        workers: Children at a time (default: :func:`available_cores`).
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = available_cores() if workers is None else max(1, workers)
        self._threads = max(1, available_cores() // self.workers)
        self._pieces: dict[int, tuple[Callable[[], Any], float]] = {}
        self._waiting: list[int] = []
        self._running: dict[
            int, tuple[int, int, bytearray]
        ] = {}  # read end -> (pid, ticket, bytes)

    def submit(self, piece: Callable[[], Any], cost: float = 0.0) -> int:
        """Queue ``piece``; its ticket. Of the pieces waiting, the costliest (then the first
        submitted) starts when a worker is free, so that a long piece does not start last."""
        ticket = len(self._pieces)
        self._pieces[ticket] = (piece, cost)
        self._waiting.append(ticket)
        return ticket

    def completed(self) -> Iterator[tuple[int, Any]]:
        """``(ticket, result)`` of each piece as it ends, until none is waiting or running
        (pieces submitted meanwhile included).

        Raises:
            The exception of a piece that raised (the first to end): no other piece starts,
            and the running children are stopped.
            ForkedPieceDiedError: a child ended without a result.
        """
        forking = self.workers > 1 and hasattr(os, "fork")
        try:
            while self._waiting or self._running:
                if not forking:
                    ticket = self._next()
                    yield ticket, self._pieces[ticket][0]()
                    continue
                while self._waiting and len(self._running) < self.workers:
                    ticket = self._next()
                    read_end, pid = _start(self._pieces[ticket][0], self._threads)
                    self._running[read_end] = (pid, ticket, bytearray())
                ready, _, _ = select.select(list(self._running), [], [])
                for read_end in ready:
                    pid, ticket, received = self._running[read_end]
                    chunk = os.read(read_end, _CHUNK)
                    if chunk:
                        received += chunk
                        continue
                    os.close(read_end)
                    del self._running[read_end]
                    os.waitpid(pid, 0)
                    ok, value = _outcome(bytes(received))
                    if not ok:
                        raise cast(BaseException, value)
                    yield ticket, value
        finally:
            self._waiting.clear()
            for read_end, (pid, _, _) in self._running.items():
                _stop(pid, read_end)
            self._running.clear()

    def _next(self) -> int:
        """The waiting piece to start now (the costliest, the first submitted of equals)."""
        ticket = max(self._waiting, key=lambda t: (self._pieces[t][1], -t))
        self._waiting.remove(ticket)
        return ticket


def forked_map(
    pieces: Sequence[Callable[[], T]],
    workers: int | None = None,
    costs: Sequence[float] | None = None,
    done: Callable[[int], None] | None = None,
) -> list[T]:
    """Each piece's result, in the order given, the pieces run in forked children
    (:class:`ForkedPool`).

    Args:
        pieces: Functions of no argument; each result must pickle.
        workers: Children at a time (default: :func:`available_cores`); never more than the
            pieces. With one, the pieces run here, in order.
        costs: Each piece's expected cost, any unit: the costliest start first (default: in
            order).
        done: Called here with the number of pieces ended so far, after each (progress).

    Returns:
        The results, ``pieces[i]()`` at ``i``.

    Raises:
        The exception of a piece that raised (the first to end; with one worker, the first in
        order); the other children are stopped.
        ForkedPieceDiedError: a child ended without a result.
    """
    pool = ForkedPool(min(len(pieces), available_cores() if workers is None else max(1, workers)))
    for index, piece in enumerate(pieces):
        pool.submit(piece, 0.0 if costs is None else costs[index])
    results: dict[int, Any] = {}
    for ticket, result in pool.completed():
        results[ticket] = result
        if done is not None:
            done(len(results))
    return [cast(T, results[i]) for i in range(len(pieces))]


def _start(piece: Callable[[], object], threads: int) -> tuple[int, int]:
    """Fork a child that runs ``piece``; the read end of its pipe and its pid."""
    sys.stdout.flush()
    sys.stderr.flush()
    parent = os.getpid()
    read_end, write_end = os.pipe()
    # The child's garbage collector would walk every object it inherited, writing to each and
    # so copying the parent's whole heap page by page: 8-22 s a fork of a 1.2 GB heap under
    # load, 0.5-2.6 s with the inherited objects frozen out of its reach (a test process grows
    # that large; docs/benchmarks.md). The parent unfreezes its own at once.
    gc.freeze()
    try:
        with warnings.catch_warnings():
            # A library that starts native threads (JAX, imported by a DP task of the same
            # process) warns at every fork; the child runs only its piece, none of their code.
            warnings.simplefilter("ignore", RuntimeWarning)
            pid = os.fork()
    finally:
        if os.getpid() == parent:
            gc.unfreeze()
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        os.close(read_end)
        code = 0
        try:
            die_with_parent(parent)
            with threadpool_limits(limits=threads):
                payload = pickle.dumps((True, piece()))
        except BaseException as error:  # every outcome goes to the parent
            payload = _pickled_error(error)
        try:
            with os.fdopen(write_end, "wb") as out:
                out.write(payload)
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:  # the parent sees no result
            code = 1
        os._exit(code)
    os.close(write_end)
    return read_end, pid


def _pickled_error(error: BaseException) -> bytes:
    """The exception as sent to the parent (its text alone when it does not pickle)."""
    try:
        payload = pickle.dumps((False, error))
        pickle.loads(payload)
        return payload
    except Exception:  # it does not round-trip
        return pickle.dumps((False, RuntimeError(f"{type(error).__name__}: {error}")))


def _outcome(received: bytes) -> tuple[bool, Any]:
    """What a child sent: (True, result) or (False, exception)."""
    if not received:
        return False, ForkedPieceDiedError(
            "a forked piece of the task ended without a result (killed or out of memory)"
        )
    outcome: tuple[bool, Any] = pickle.loads(received)
    return outcome


def _stop(pid: int, read_end: int) -> None:
    """Kill a child still running (the task failed or was interrupted) and reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    os.close(read_end)
