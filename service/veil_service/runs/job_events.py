"""In-process notification of job changes, so that watching jobs never polls the database.

Whoever writes a job's status, progress or phase (the dispatcher, and the runs service when it
creates, cancels or deletes jobs) publishes the job's run once the write is committed; with
several servers on one PostgreSQL, the other servers' changes arrive through LISTEN/NOTIFY
(``storage.notifications``) and are published the same way. A watcher
subscribes to the runs it watches *before* it reads them, then reads again only when woken, so no
change can fall between its read and its wait. Watchers wait on the server's event loop;
``publish`` may also be called from the database threads (``storage.db_calls``), so a
subscription is woken through its loop. A subscription is a flag, not a queue, because a watcher
always re-reads the current state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from contextlib import contextmanager


class JobChanges:
    """One watcher's subscription: :meth:`wait` returns once a job of its runs changed."""

    def __init__(self, run_ids: frozenset[str]) -> None:
        self.run_ids = run_ids
        self._changed = asyncio.Event()
        self._loop = asyncio.get_running_loop()

    def notify(self) -> None:
        """Mark a change (called by :class:`JobEvents`, from any thread)."""
        try:
            on_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            self._changed.set()
        elif not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._changed.set)

    async def wait(self) -> None:
        """Wait for the next change since the last wait (returns at once if one is pending)."""
        await self._changed.wait()
        self._changed.clear()


class JobEvents:
    """Publish job changes by run; watchers subscribe to the runs they follow."""

    def __init__(self) -> None:
        self._subscriptions: set[JobChanges] = set()

    def publish(self, run_id: str) -> None:
        """A job of ``run_id`` was created, changed or deleted (call after the commit).

        An empty ``run_id`` wakes every watcher (changes may have been missed: see
        ``storage.notifications``).
        """
        for subscription in list(self._subscriptions):  # a copy: the loop may add one meanwhile
            if not run_id or run_id in subscription.run_ids:
                subscription.notify()

    @contextmanager
    def subscribe(self, run_ids: Iterable[str]) -> Iterator[JobChanges]:
        """Follow the jobs of ``run_ids`` for the duration of the ``with`` block."""
        subscription = JobChanges(frozenset(run_ids))
        self._subscriptions.add(subscription)
        try:
            yield subscription
        finally:
            self._subscriptions.discard(subscription)
