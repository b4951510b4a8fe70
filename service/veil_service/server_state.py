"""What an admin sees of the running server: version, engines, queue, storage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from veil_service import __version__
from veil_service.storage import schema


@dataclass(frozen=True)
class ServerState:
    """A snapshot of the server.

    Attributes:
        version: Veil version.
        engines: One dict per engine: address, healthy, running (tasks).
        queued_jobs: Jobs waiting for an engine.
        running_jobs: Jobs running.
        stored_bytes: Bytes registered in the blob store.
    """

    version: str
    engines: list[dict[str, Any]]
    queued_jobs: int
    running_jobs: int
    stored_bytes: int


def snapshot(db: sa.Engine, engines: list[dict[str, Any]]) -> ServerState:
    """Read queue and storage figures from the database; ``engines`` is ``EnginePool.state()``."""
    jobs = schema.jobs
    with db.connect() as conn:
        by_status: dict[str, int] = dict(
            conn.execute(sa.select(jobs.c.status, sa.func.count()).group_by(jobs.c.status)).all()
        )
        stored = conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(schema.blobs.c.size_bytes), 0))
        ).scalar_one()
    # Job statuses follow the Octopize names: "queued" waits, "pending" runs on an engine.
    return ServerState(
        __version__,
        engines,
        int(by_status.get("queued", 0)),
        int(by_status.get("pending", 0)),
        int(stored),
    )
