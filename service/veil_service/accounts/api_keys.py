"""API keys: the recommended credential. Plaintext shown once, stored as SHA-256 only."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from veil_service.accounts import audit
from veil_service.auth.secrets import display_prefix, hash_secret, new_api_key
from veil_service.errors import AlreadyExistsError, InvalidArgumentError, Message, NotFoundError
from veil_service.storage import schema

EXPIRATION_DAYS = (30, 60, 120, 365, 3650)
DAY_S = 86_400.0


@dataclass(frozen=True)
class ApiKeyRecord:
    """Metadata of a key (never its plaintext)."""

    id: str
    user_id: str
    name: str
    prefix: str
    created_at: float
    expires_at: float
    revoked_at: float | None
    last_used_at: float | None


def _to_record(row: sa.RowMapping) -> ApiKeyRecord:
    return ApiKeyRecord(
        row["id"],
        row["user_id"],
        row["name"],
        row["prefix"],
        row["created_at"],
        row["expires_at"],
        row["revoked_at"],
        row["last_used_at"],
    )


def create_api_key(
    conn: sa.Connection,
    *,
    user_id: str,
    name: str,
    expiration_days: int,
    peer: str = "",
    actor_id: str | None = None,
) -> tuple[ApiKeyRecord, str]:
    """Create a key for a user; return its record and the plaintext (shown once).

    Raises:
        InvalidArgumentError: empty or too long name, unsupported expiration.
        AlreadyExistsError: the user has an active key of that name.
    """
    name = (name or "").strip()
    if not name or len(name) > 128:
        raise InvalidArgumentError(
            "name must be 1-128 characters.", field="name", code=Message.KEY_NAME_LENGTH
        )
    if expiration_days not in EXPIRATION_DAYS:
        raise InvalidArgumentError(
            f"expiration_days must be one of {list(EXPIRATION_DAYS)}; got {expiration_days}.",
            field="expiration_days",
        )
    now = time.time()
    clash = conn.execute(
        sa.select(schema.api_keys.c.id).where(
            schema.api_keys.c.user_id == user_id,
            schema.api_keys.c.name == name,
            schema.api_keys.c.revoked_at.is_(None),
            schema.api_keys.c.expires_at > now,
        )
    ).first()
    if clash is not None:
        raise AlreadyExistsError(
            f"you already have an active API key named {name!r}; "
            "pick another name or revoke it first.",
            field="name",
        )
    plaintext = new_api_key()
    record = ApiKeyRecord(
        str(uuid.uuid4()),
        user_id,
        name,
        display_prefix(plaintext),
        now,
        now + expiration_days * DAY_S,
        None,
        None,
    )
    conn.execute(
        sa.insert(schema.api_keys).values(
            id=record.id,
            user_id=user_id,
            name=name,
            prefix=record.prefix,
            key_hash=hash_secret(plaintext),
            created_at=now,
            expires_at=record.expires_at,
        )
    )
    audit.record(
        conn,
        "api_key.created",
        user_id=user_id,
        actor_id=actor_id or user_id,
        peer=peer,
        api_key_id=record.id,
        expiration_days=expiration_days,
    )
    return record, plaintext


def list_api_keys(
    conn: sa.Connection, *, user_id: str, include_inactive: bool, limit: int, offset: int
) -> list[ApiKeyRecord]:
    """A user's keys, newest first."""
    keys = schema.api_keys
    query = sa.select(keys).where(keys.c.user_id == user_id)
    if not include_inactive:
        query = query.where(keys.c.revoked_at.is_(None), keys.c.expires_at > time.time())
    rows = conn.execute(
        query.order_by(keys.c.created_at.desc(), keys.c.id).limit(limit).offset(offset)
    ).mappings()
    return [_to_record(r) for r in rows]


def get_api_key(conn: sa.Connection, *, key_id: str, user_id: str | None) -> ApiKeyRecord:
    """One key; ``user_id`` restricts to that owner (None: any owner, for admins).

    Raises:
        NotFoundError: no such key (or not the caller's).
    """
    query = sa.select(schema.api_keys).where(schema.api_keys.c.id == key_id)
    if user_id is not None:
        query = query.where(schema.api_keys.c.user_id == user_id)
    row = conn.execute(query).mappings().first()
    if row is None:
        raise NotFoundError(f"no API key {key_id!r}.", field="api_key_id")
    return _to_record(row)


def revoke_api_key(
    conn: sa.Connection, *, key_id: str, user_id: str | None, actor_id: str | None, peer: str = ""
) -> ApiKeyRecord:
    """Revoke one key at once (idempotent)."""
    record = get_api_key(conn, key_id=key_id, user_id=user_id)
    if record.revoked_at is None:
        now = time.time()
        conn.execute(
            sa.update(schema.api_keys).where(schema.api_keys.c.id == key_id).values(revoked_at=now)
        )
        audit.record(
            conn,
            "api_key.revoked",
            user_id=record.user_id,
            actor_id=actor_id,
            peer=peer,
            api_key_id=key_id,
        )
        record = get_api_key(conn, key_id=key_id, user_id=None)
    return record


def revoke_all_api_keys(conn: sa.Connection, *, user_id: str, actor_id: str, peer: str = "") -> int:
    """Revoke every active key of a user; return how many."""
    result = conn.execute(
        sa.update(schema.api_keys)
        .where(schema.api_keys.c.user_id == user_id, schema.api_keys.c.revoked_at.is_(None))
        .values(revoked_at=time.time())
    )
    count = int(result.rowcount or 0)
    audit.record(
        conn, "api_key.revoked_all", user_id=user_id, actor_id=actor_id, peer=peer, count=count
    )
    return count


def count_active_api_keys(conn: sa.Connection, *, user_id: str) -> int:
    """How many of a user's keys would authenticate now (unrevoked, unexpired)."""
    keys = schema.api_keys
    return int(
        conn.execute(
            sa.select(sa.func.count())
            .select_from(keys)
            .where(
                keys.c.user_id == user_id,
                keys.c.revoked_at.is_(None),
                keys.c.expires_at > time.time(),
            )
        ).scalar_one()
    )
