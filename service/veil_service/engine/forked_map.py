"""Independent pieces of one engine task, run side by side on the machine's cores.

A linked parameter search (engine/multitable/hidden_rate_advice.py) is made of pieces that
share nothing but what they read: each table's search with each noise setting, then each
table's check on held-out seeds; so is the privacy-targeted advice (engine/privacy_advice.py),
one piece per parameter set. They read large prepared state (the linked tables, each table's
encoding and projection, the sample's splits), which a spawned worker would have to receive by
pickle or rebuild: loky's workers took 5-6 s to start on Tutorial 3's tables, longer than the
pieces (docs/benchmarks.md). A forked child shares that state copy-on-write and starts in
milliseconds, so :class:`ForkedWorkers` forks at most ``workers`` children once that state is
ready, and each runs piece after piece (a child's first piece is its slowest).

Each child runs the pieces it is sent, sends each pickled result (or the exception) back
through a pipe, and leaves with ``os._exit`` when its pipe closes: no atexit handler, no flush
of buffers it inherited, nothing of the parent's threads (gRPC's, a sampler's) touched. It
limits its BLAS to its share of the cores and dies with the parent (``parent_death``), so a
cancelled task leaves no stray. The pieces must not depend on which process runs them or in
what order: the results are the same as running them one after the other, which is what
happens with one core, one piece, or no ``fork`` (tests/unit/engine/test_forked_map.py).
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
from dataclasses import dataclass, field
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


@dataclass
class _Worker:
    """A forked child serving messages: its pid, the pipe ends to it and from it, the bytes
    of its answer received so far, and the ticket it is running (None: idle)."""

    pid: int
    to_child: int
    from_child: int
    received: bytearray = field(default_factory=bytearray)
    ticket: int | None = None


class ForkedWorkers:
    """Messages run by one handler in long-lived forked children, at most ``workers`` of them,
    each result handed back as it ends.

    The children are forked at the first :meth:`completed`, when the state the handler reads
    is ready, and each runs message after message until none is left. A child is slow at
    first: a piece run twice in a fresh child took 28 % less CPU the second time (the pages
    it writes are first copied or mapped, and whatever it builds lazily is built again), so
    one child per piece paid that on every piece. Messages may be submitted while others run
    (a table's check once its searches are in); they are pickled to the child, the handler
    is not (the children inherit it). With one worker, or without ``os.fork``, the messages
    run here, one at a time, when :meth:`completed` asks for the next.

    Args:
        handler: Called with each message; its result must pickle.
        workers: Children at most (default: :func:`available_cores`).
    """

    def __init__(self, handler: Callable[[Any], Any], workers: int | None = None) -> None:
        self.handler = handler
        self.workers = available_cores() if workers is None else max(1, workers)
        self._threads = max(1, available_cores() // self.workers)
        self._messages: dict[int, tuple[Any, float]] = {}
        self._waiting: list[int] = []
        self._children: list[_Worker] = []

    def submit(self, message: Any, cost: float = 0.0) -> int:
        """Queue ``message``; its ticket. Of the messages waiting, the costliest (then the
        first submitted) goes to the next free child, so that a long one does not start last."""
        ticket = len(self._messages)
        self._messages[ticket] = (message, cost)
        self._waiting.append(ticket)
        return ticket

    def completed(self) -> Iterator[tuple[int, Any]]:
        """``(ticket, result)`` of each message as it ends, until none is waiting or running
        (messages submitted meanwhile included).

        Raises:
            The exception of a message that raised (the first to end): no other message
            starts, and the children are stopped.
            ForkedPieceDiedError: a child ended without a result.
        """
        forking = self.workers > 1 and hasattr(os, "fork")
        try:
            while self._waiting or any(c.ticket is not None for c in self._children):
                if not forking:
                    ticket = self._next()
                    yield ticket, self.handler(self._messages[ticket][0])
                    continue
                self._dispatch()
                busy = {c.from_child: c for c in self._children if c.ticket is not None}
                ready, _, _ = select.select(list(busy), [], [])
                for read_end in ready:
                    answer = _receive(busy[read_end])
                    if answer is None:
                        continue
                    ticket, (ok, value) = answer
                    if not ok:
                        raise cast(BaseException, value)
                    yield ticket, value
        finally:
            self._waiting.clear()
            self._stop_children()

    def _dispatch(self) -> None:
        """Give each idle child (forking one while there are fewer than ``workers``) the
        waiting message to run next."""
        while self._waiting:
            idle = next((c for c in self._children if c.ticket is None), None)
            if idle is None and len(self._children) < self.workers:
                idle = _fork_worker(self.handler, self._threads, self._children)
                self._children.append(idle)
            if idle is None:
                return
            ticket = self._next()
            idle.ticket = ticket
            try:
                _send(idle.to_child, self._messages[ticket][0])
            except BrokenPipeError as error:
                raise ForkedPieceDiedError(_DIED) from error

    def _next(self) -> int:
        """The waiting message to run now (the costliest, the first submitted of equals)."""
        ticket = max(self._waiting, key=lambda t: (self._messages[t][1], -t))
        self._waiting.remove(ticket)
        return ticket

    def _stop_children(self) -> None:
        """End every child: an idle one leaves when its pipe closes, a busy one (the task
        failed or was interrupted) is killed; all are reaped."""
        for child in self._children:
            os.close(child.to_child)
            if child.ticket is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child.pid, signal.SIGKILL)
            os.waitpid(child.pid, 0)
            os.close(child.from_child)
        self._children.clear()


_DIED = "a forked piece of the task ended without a result (killed or out of memory)"

#: Bytes of the length that precedes every message and answer on the pipes.
_HEADER = 8


def _send(write_end: int, message: Any) -> None:
    """Write ``message`` pickled, after its length (the child reads exactly that many)."""
    payload = pickle.dumps(message)
    data = memoryview(len(payload).to_bytes(_HEADER, "little") + payload)
    while data:
        data = data[os.write(write_end, data) :]


def _receive(child: _Worker) -> tuple[int, tuple[bool, Any]] | None:
    """Read what ``child`` has sent: its ticket and outcome once the whole answer is in, else
    None (more to come).

    Raises:
        ForkedPieceDiedError: the child ended before its whole answer.
    """
    chunk = os.read(child.from_child, _CHUNK)
    if not chunk:
        raise ForkedPieceDiedError(_DIED)
    child.received += chunk
    if len(child.received) < _HEADER:
        return None
    size = int.from_bytes(child.received[:_HEADER], "little")
    if len(child.received) < _HEADER + size:
        return None
    outcome: tuple[bool, Any] = pickle.loads(child.received[_HEADER : _HEADER + size])
    ticket = cast(int, child.ticket)
    child.received.clear()
    child.ticket = None
    return ticket, outcome


def _fork_worker(handler: Callable[[Any], Any], threads: int, siblings: list[_Worker]) -> _Worker:
    """Fork a child that serves messages with ``handler`` until its pipe closes."""
    sys.stdout.flush()
    sys.stderr.flush()
    parent = os.getpid()
    down_read, down_write = os.pipe()
    up_read, up_write = os.pipe()
    # The child's garbage collector would walk every object it inherited, writing to each and
    # so copying the parent's whole heap page by page: 8-22 s a fork of a 1.2 GB heap under
    # load, 0.5-2.6 s with the inherited objects frozen out of its reach (a test process grows
    # that large; docs/benchmarks.md). The parent unfreezes its own at once.
    gc.freeze()
    try:
        with warnings.catch_warnings():
            # A library that starts native threads (JAX, imported by a DP task of the same
            # process) warns at every fork; the child runs only its pieces, none of their code.
            warnings.simplefilter("ignore", RuntimeWarning)
            pid = os.fork()
    finally:
        if os.getpid() == parent:
            gc.unfreeze()
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        code = 0
        try:
            # The siblings' pipes are the parent's: held here, a sibling would never see its
            # own close.
            for sibling in siblings:
                os.close(sibling.to_child)
                os.close(sibling.from_child)
            os.close(down_write)
            os.close(up_read)
            die_with_parent(parent)
            with threadpool_limits(limits=threads):
                _serve(handler, down_read, up_write)
        except BaseException:  # the parent sees the pipe close without an answer
            code = 1
        os._exit(code)
    os.close(down_read)
    os.close(up_write)
    return _Worker(pid, down_write, up_read)


def _serve(
    handler: Callable[[Any], Any], read_end: int, write_end: int
) -> None:  # pragma: no cover - runs in the child
    """The child's loop: each message read, run, and its outcome sent, until the pipe closes."""
    with os.fdopen(read_end, "rb") as incoming, os.fdopen(write_end, "wb") as outgoing:
        while True:
            header = incoming.read(_HEADER)
            if len(header) < _HEADER:
                return
            body = incoming.read(int.from_bytes(header, "little"))
            try:
                payload = pickle.dumps((True, handler(pickle.loads(body))))
            except BaseException as error:  # every outcome goes to the parent
                payload = _pickled_error(error)
            outgoing.write(len(payload).to_bytes(_HEADER, "little") + payload)
            outgoing.flush()
            sys.stdout.flush()
            sys.stderr.flush()


def forked_map(
    pieces: Sequence[Callable[[], T]],
    workers: int | None = None,
    costs: Sequence[float] | None = None,
    done: Callable[[int], None] | None = None,
) -> list[T]:
    """Each piece's result, in the order given, the pieces run in forked children
    (:class:`ForkedWorkers`; the pieces are theirs by inheritance, only indexes cross).

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
    pool = ForkedWorkers(
        lambda index: pieces[index](),
        min(len(pieces), available_cores() if workers is None else max(1, workers)),
    )
    for index in range(len(pieces)):
        pool.submit(index, 0.0 if costs is None else costs[index])
    results: dict[int, Any] = {}
    for ticket, result in pool.completed():
        results[ticket] = result
        if done is not None:
            done(len(results))
    return [cast(T, results[i]) for i in range(len(pieces))]


def _pickled_error(error: BaseException) -> bytes:
    """The exception as sent to the parent (its text alone when it does not pickle)."""
    try:
        payload = pickle.dumps((False, error))
        pickle.loads(payload)
        return payload
    except Exception:  # it does not round-trip
        return pickle.dumps((False, RuntimeError(f"{type(error).__name__}: {error}")))
