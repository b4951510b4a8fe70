"""Progress of a running DP query, and why a private query's progress is a clock.

Dummy queries read no private row: their progress is the engine's own (a synthesizer's
iterations or epochs), forwarded as it comes.

A private query's answer time is padded to a whole number of quanta (``queries.DPQueries._pad``,
issue 16 item 11) because how long the computation takes depends on the private rows. Its real
progress (iterations done, the phase it is in) would give that time away message by message, so
it is never sent: the engine reports nothing for a private query. What is sent instead depends
only on public quantities: the time since the charge, on a fixed grid, against this server's
time limit for the query (fixed before the fit starts).

The grid: message ``j`` is due at ``(j + 1/2) * interval`` seconds after the charge, where
``interval`` divides the quantum (about one message a second), so no message is ever due at a
quantum's end. When the computation ends, the padded answer time ``T`` (a whole number of
quanta) is known before the padding wait starts; from then on only messages due before ``T``
are sent, and those not yet sent are sent (in order) before the answer. So a private query
answered at ``T`` sends exactly the messages due before ``T``, whatever the computation did and
however late the event loop woke: two queries in the same padding bucket send the same messages
(``tests/integration/test_dp_progress.py``).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

PRIVATE_PHASE = "running on the private data"
"""The only phase a private query reports (its real phase would reveal its progress)."""


@dataclass(frozen=True)
class QueryProgress:
    """One progress message.

    Attributes:
        fraction: In [0, 1]: the engine's (dummy), or elapsed / time limit (private).
        phase: What runs, e.g. ``mwem iteration 3 of 30``; ``PRIVATE_PHASE`` for private queries.
        elapsed_s: Private: the grid time of this message since the charge. Dummy: 0.
        time_limit_s: Private: the server's time limit for the query. Dummy: 0.
        private: The query runs on the private data.
    """

    fraction: float
    phase: str
    elapsed_s: float = 0.0
    time_limit_s: float = 0.0
    private: bool = False


ProgressSink = Callable[[QueryProgress], None]


def grid_interval(quantum_s: float) -> float:
    """The private grid's step: the quantum split evenly into steps of at most one second (one
    second when there is no padding)."""
    if not 0 < quantum_s <= 3600:
        return 1.0
    return quantum_s / max(1, math.ceil(quantum_s))


class PrivateClock:
    """Sends a private query's clock messages (see the module docstring).

    Args:
        sink: Where messages go (called on the event loop).
        started: ``time.monotonic()`` at the charge, the padding's origin.
        interval: The grid's step (:func:`grid_interval`).
        time_limit_s: The server's time limit for the query.
    """

    def __init__(
        self, sink: ProgressSink, started: float, interval: float, time_limit_s: float
    ) -> None:
        self._sink = sink
        self._started = started
        self._interval = interval
        self._limit = time_limit_s
        self._next = 0
        self._bound: float | None = None
        self._task = asyncio.ensure_future(self._tick())

    def _due(self, index: int) -> float:
        return (index + 0.5) * self._interval

    def _send_next(self) -> None:
        due = self._due(self._next)
        self._next += 1
        self._sink(
            QueryProgress(
                fraction=min(1.0, due / self._limit) if self._limit > 0 else 0.0,
                phase=PRIVATE_PHASE,
                elapsed_s=due,
                time_limit_s=self._limit,
                private=True,
            )
        )

    async def _tick(self) -> None:
        while True:
            wake = self._started + self._due(self._next)
            await asyncio.sleep(max(0.0, wake - time.monotonic()))
            if self._bound is not None and self._due(self._next) >= self._bound:
                return
            self._send_next()

    def answer_at(self, padded_elapsed_s: float) -> None:
        """The answer leaves ``padded_elapsed_s`` after the charge: send nothing due later."""
        self._bound = padded_elapsed_s

    def finish(self) -> None:
        """Send what is due before the answer and not sent yet, then stop."""
        self._task.cancel()
        if self._bound is not None:
            while self._due(self._next) < self._bound:
                self._send_next()

    def stop(self) -> None:
        """Stop without sending anything more (the query was cancelled)."""
        self._task.cancel()
