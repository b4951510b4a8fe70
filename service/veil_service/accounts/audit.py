"""The append-only audit trail of authentication and administration events.

Events hold ids and non-secret details only: never a password, token, key or data value.
"""

from __future__ import annotations

import json
import time
import uuid
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
