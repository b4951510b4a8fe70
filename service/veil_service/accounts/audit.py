"""The append-only audit trail of authentication and administration events.

Events hold ids and non-secret details only: never a password, token, key or data value.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from veil_service.storage import schema


def record(
    conn: sa.Connection,
    event: str,
    *,
    user_id: str | None = None,
    actor_id: str | None = None,
    peer: str = "",
    **details: Any,
) -> None:
    """Append one event in the caller's transaction (so it commits or rolls back with the act)."""
    conn.execute(
        sa.insert(schema.audit_events).values(
            id=str(uuid.uuid4()),
            created_at=time.time(),
            event=event,
            user_id=user_id,
            actor_id=actor_id,
            peer=peer[:128],
            details_json=json.dumps(details, sort_keys=True, default=str),
        )
    )


@dataclass(frozen=True)
class AuditRecord:
    """One audit event as stored.

    Attributes:
        id: Event id.
        created_at: Epoch seconds.
        event: Name, e.g. "login.failed" (the list is in docs/security.md).
        user_id: Subject user, when known.
        actor_id: Acting user, when known.
        peer: Caller address ("cli" for the command line).
        details_json: Non-secret details as JSON.
    """

    id: str
    created_at: float
    event: str
    user_id: str | None
    actor_id: str | None
    peer: str | None
    details_json: str


def list_events(
    conn: sa.Connection,
    *,
    user_id: str = "",
    limit: int,
    offset: int,
    event_prefix: str = "",
    since: float | None = None,
    until: float | None = None,
) -> list[AuditRecord]:
    """Events newest first (append order), filtered.

    Args:
        user_id: Only events about this user.
        event_prefix: Only events whose name starts with this (``login.``, ``user.disabled``).
        since / until: Only events at or after / before these times (epoch seconds).
    """
    events = schema.audit_events
    query = sa.select(events)
    if user_id:
        query = query.where(events.c.user_id == user_id)
    if event_prefix:
        literal = event_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(events.c.event.like(f"{literal}%", escape="\\"))
    if since is not None:
        query = query.where(events.c.created_at >= since)
    if until is not None:
        query = query.where(events.c.created_at < until)
    rows = conn.execute(query.order_by(events.c.seq.desc()).limit(limit).offset(offset)).mappings()
    return [
        AuditRecord(
            r["id"],
            r["created_at"],
            r["event"],
            r["user_id"],
            r["actor_id"],
            r["peer"],
            r["details_json"],
        )
        for r in rows
    ]
