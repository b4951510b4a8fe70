"""Password-login sessions: the deprecated way in, kept for the Octopize client's ``authenticate``.

A session token is random and stored only as its SHA-256 digest (see ``auth.secrets``); the
interceptor resolves it like an API key. Sessions end at expiry, at logout, when the user's
password is reset and when an admin disables the user.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from veil_service.auth.secrets import hash_secret, new_session_token
from veil_service.storage import schema

HOUR_S = 3600.0


@dataclass(frozen=True)
class SessionRecord:
    """A session row (never its token).

    Attributes:
        id: Session id (the principal's ``credential_id``).
        user_id: Owner.
        created_at: Epoch seconds.
        expires_at: Epoch seconds after which the token is refused.
    """

    id: str
    user_id: str
    created_at: float
    expires_at: float


def create_session(
    conn: sa.Connection, *, user_id: str, lifetime_hours: float
) -> tuple[SessionRecord, str]:
    """Open a session for a user; return its record and the token (given to the caller once)."""
    token = new_session_token()
    now = time.time()
    record = SessionRecord(str(uuid.uuid4()), user_id, now, now + lifetime_hours * HOUR_S)
    conn.execute(
        sa.insert(schema.sessions).values(
            id=record.id,
            user_id=user_id,
            token_hash=hash_secret(token),
            created_at=record.created_at,
            expires_at=record.expires_at,
        )
    )
    return record, token


def revoke_session(conn: sa.Connection, *, session_id: str) -> bool:
    """End one session at once; False when it had already ended."""
    result = conn.execute(
        sa.update(schema.sessions)
        .where(schema.sessions.c.id == session_id, schema.sessions.c.revoked_at.is_(None))
        .values(revoked_at=time.time())
    )
    return bool(result.rowcount)


def revoke_user_sessions(conn: sa.Connection, *, user_id: str) -> int:
    """End every open session of a user (password reset, disabling); return how many."""
    result = conn.execute(
        sa.update(schema.sessions)
        .where(
            schema.sessions.c.user_id == user_id,
            schema.sessions.c.revoked_at.is_(None),
            schema.sessions.c.expires_at > time.time(),
        )
        .values(revoked_at=time.time())
    )
    return int(result.rowcount or 0)
