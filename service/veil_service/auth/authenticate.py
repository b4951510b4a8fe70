"""Turning call metadata into a :class:`Principal`.

Accepted forms: ``x-api-key: <key>`` or ``authorization: Bearer <key or session token>``. Every
failure gives the same kind of UNAUTHENTICATED error without saying which part was wrong beyond
what the caller can fix (missing, malformed, expired or revoked), and never echoes the secret.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import sqlalchemy as sa

from veil_service.auth.principal import Principal
from veil_service.auth.secrets import API_KEY_PREFIX, SESSION_PREFIX, hash_secret
from veil_service.errors import Reason, UnauthenticatedError
from veil_service.storage import schema
from veil_service.storage.db_calls import db_background

LAST_USED_RESOLUTION_S = 60.0
"""last_used_at is refreshed at most this often per key, to keep auth read-only on hot paths."""


def extract_credential(metadata: Sequence[tuple[str, str | bytes]] | None) -> str | None:
    """The credential string from call metadata, or None when there is none."""
    for key, value in metadata or ():
        text = value.decode() if isinstance(value, bytes) else value
        if key == "x-api-key":
            return text.strip()
        if key == "authorization":
            scheme, _, token = text.strip().partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise UnauthenticatedError(
                    "malformed authorization header: use 'authorization: Bearer <api key>'.",
                    reason=Reason.MALFORMED_CREDENTIALS,
                )
            return token.strip()
    return None


def authenticate(engine: sa.Engine, credential: str | None) -> Principal:
    """Resolve a credential to its principal.

    Raises:
        UnauthenticatedError: missing, malformed, unknown, expired or revoked credential, or a
            disabled user.
    """
    if not credential:
        raise UnauthenticatedError(
            "missing credentials: send your API key as 'x-api-key' or "
            "'authorization: Bearer <key>' metadata.",
            reason=Reason.MISSING_CREDENTIALS,
        )
    now = time.time()
    digest = hash_secret(credential)
    if credential.startswith(API_KEY_PREFIX):
        return _from_api_key(engine, digest, now)
    if credential.startswith(SESSION_PREFIX):
        return _from_session(engine, digest, now)
    raise UnauthenticatedError(
        "malformed credentials: an API key starts with 'veil_'.",
        reason=Reason.MALFORMED_CREDENTIALS,
    )


def _from_api_key(engine: sa.Engine, digest: str, now: float) -> Principal:
    keys, users = schema.api_keys, schema.users
    query = (
        sa.select(
            keys.c.id,
            keys.c.expires_at,
            keys.c.revoked_at,
            keys.c.last_used_at,
            users.c.id.label("user_id"),
            users.c.username,
            users.c.role,
            users.c.active,
        )
        .join(users, users.c.id == keys.c.user_id)
        .where(keys.c.key_hash == digest)
    )
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    if row is None:
        raise UnauthenticatedError(
            "unknown API key: create one with CreateApiKey.", reason=Reason.INVALID_CREDENTIALS
        )
    if row["revoked_at"] is not None:
        raise UnauthenticatedError(
            "this API key was revoked: create a new one.", reason=Reason.REVOKED_CREDENTIALS
        )
    if row["expires_at"] <= now:
        raise UnauthenticatedError(
            "this API key has expired: create a new one.", reason=Reason.EXPIRED_CREDENTIALS
        )
    if not row["active"]:
        raise UnauthenticatedError(
            "this account is disabled: ask an administrator.", reason=Reason.USER_DISABLED
        )
    if row["last_used_at"] is None or now - row["last_used_at"] > LAST_USED_RESOLUTION_S:
        # Best effort, in the background: a write waits for any other writer's lock, and
        # authentication must not (it gates every call).
        db_background(_touch_api_key, engine, row["id"], now)
    return Principal(row["user_id"], row["username"], row["role"], "api_key", row["id"])


def _touch_api_key(engine: sa.Engine, key_id: str, now: float) -> None:
    keys = schema.api_keys
    with engine.begin() as conn:
        conn.execute(sa.update(keys).where(keys.c.id == key_id).values(last_used_at=now))


def _from_session(engine: sa.Engine, digest: str, now: float) -> Principal:
    sessions, users = schema.sessions, schema.users
    query = (
        sa.select(
            sessions.c.id,
            sessions.c.expires_at,
            sessions.c.revoked_at,
            users.c.id.label("user_id"),
            users.c.username,
            users.c.role,
            users.c.active,
        )
        .join(users, users.c.id == sessions.c.user_id)
        .where(sessions.c.token_hash == digest)
    )
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    if row is None or row["revoked_at"] is not None:
        raise UnauthenticatedError(
            "unknown or ended session: log in again or use an API key.",
            reason=Reason.INVALID_CREDENTIALS,
        )
    if row["expires_at"] <= now:
        raise UnauthenticatedError(
            "this session has expired: log in again or use an API key.",
            reason=Reason.EXPIRED_CREDENTIALS,
        )
    if not row["active"]:
        raise UnauthenticatedError(
            "this account is disabled: ask an administrator.", reason=Reason.USER_DISABLED
        )
    return Principal(row["user_id"], row["username"], row["role"], "session", row["id"])
