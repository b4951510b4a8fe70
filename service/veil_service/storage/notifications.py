"""Job changes made by other servers, heard through PostgreSQL's LISTEN/NOTIFY.

Several servers may share one PostgreSQL database (docs/scale.md). A trigger (migration 0005)
notifies the channel ``veil_job_changes`` with the run id whenever a job of that run changes, and
PostgreSQL delivers it to every listening connection when the change commits. Each server keeps one
connection listening on a helper thread and hands each run id to its event loop, where it wakes
the WatchJobs streams of that run exactly as a change made by this server does. If the connection
drops, the listener reconnects and wakes every watcher once (a change may have been missed).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

import sqlalchemy as sa

log = logging.getLogger("veil.storage")

CHANNEL = "veil_job_changes"
POLL_S = 0.5
"""How often the listening thread looks whether it must stop."""
RECONNECT_S = 1.0


def libpq_dsn(url: str) -> str:
    """The libpq connection string of a SQLAlchemy PostgreSQL URL (driver name dropped)."""
    parsed = sa.make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


class JobChangeListener:
    """LISTEN on a dedicated connection in a thread; ``on_change(run_id)`` runs on ``loop``.

    ``on_change("")`` means "anything may have changed" (after a reconnection).
    """

    def __init__(
        self, url: str, on_change: Callable[[str], None], loop: asyncio.AbstractEventLoop
    ) -> None:
        self._dsn = libpq_dsn(url)
        self._on_change = on_change
        self._loop = loop
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name="veil-job-listener", daemon=True)

    def start(self, timeout: float = 10.0) -> None:
        """Start listening; returns once the first LISTEN is in place (or after ``timeout``)."""
        self._thread.start()
        if not self._listening.wait(timeout):
            log.warning("the job change listener is not connected yet; it keeps trying")

    def stop(self) -> None:
        """Stop listening (the thread ends within :data:`POLL_S`)."""
        self._stop.set()
        self._thread.join(POLL_S * 4)

    def _deliver(self, run_id: str) -> None:
        try:
            self._loop.call_soon_threadsafe(self._on_change, run_id)
        except RuntimeError:  # the loop closed: the server is stopping
            self._stop.set()

    def _run(self) -> None:
        import psycopg

        first = True
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._dsn, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._listening.set()
                    if not first:
                        self._deliver("")
                    first = False
                    while not self._stop.is_set():
                        for notice in conn.notifies(timeout=POLL_S):
                            self._deliver(notice.payload)
            except psycopg.Error as exc:
                if self._stop.is_set():
                    return
                log.warning("job change listener lost its connection (%s); reconnecting", exc)
                self._stop.wait(RECONNECT_S)
