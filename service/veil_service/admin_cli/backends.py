"""Where ``veil admin`` user commands act: the data dir's database, or a running server.

Both backends return the same plain dicts, so the commands print the same thing either way.
Working on the database suits a fresh install and recovery (no admin key needed, the operator's
file access is the authority); working through a server suits remote and PostgreSQL deployments
and goes through the same authorization as any client.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

import sqlalchemy as sa

from veil_service.accounts import administration, api_keys, audit, users
from veil_service.accounts.api_keys import ApiKeyRecord
from veil_service.accounts.audit import AuditRecord
from veil_service.accounts.users import UserRecord

CLI_PEER = "cli"

Row = dict[str, Any]


def _iso(epoch: float | None) -> str:
    if epoch is None:
        return ""
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="seconds")


def user_row(record: UserRecord) -> Row:
    """A user as the commands print it."""
    return {
        "id": record.id,
        "username": record.username,
        "email": record.email,
        "role": record.role,
        "active": record.active,
        "created_at": _iso(record.created_at),
    }


def key_row(record: ApiKeyRecord) -> Row:
    """An API key as the commands print it (never a secret: there is none to print)."""
    return {
        "id": record.id,
        "user_id": record.user_id,
        "name": record.name,
        "prefix": record.prefix,
        "expires_at": _iso(record.expires_at),
        "revoked_at": _iso(record.revoked_at),
    }


def event_row(record: AuditRecord) -> Row:
    """An audit event as the commands print it."""
    return {
        "created_at": _iso(record.created_at),
        "event": record.event,
        "user_id": record.user_id or "",
        "actor_id": record.actor_id or "",
        "peer": record.peer or "",
        "details": record.details_json,
    }


class AdminBackend(Protocol):
    """The operations of the ``veil admin`` user commands."""

    def list_users(self, limit: int) -> list[Row]:
        """Users, newest first."""

    def disable_user(self, user: str) -> Row:
        """Disable a user, revoking keys and sessions."""

    def enable_user(self, user: str) -> Row:
        """Enable a disabled user again (revoked keys and sessions stay revoked)."""

    def set_role(self, user: str, role: str) -> Row:
        """Change a user's role."""

    def list_keys(self, user: str) -> list[Row]:
        """A user's API keys, including inactive ones."""

    def revoke_key(self, key_id: str) -> Row:
        """Revoke any user's key."""

    def audit(self, user_id: str, limit: int) -> list[Row]:
        """Audit events, newest first."""


class DatabaseBackend:
    """Acts on the metadata database directly (audit events name the actor as ``cli``)."""

    def __init__(self, db: sa.Engine) -> None:
        self.db = db

    def list_users(self, limit: int) -> list[Row]:
        with self.db.connect() as conn:
            return [user_row(u) for u in users.list_users(conn, limit=limit, offset=0)]

    def disable_user(self, user: str) -> Row:
        with self.db.begin() as conn:
            return user_row(
                administration.disable_user(conn, user=user, actor_id=None, peer=CLI_PEER)
            )

    def enable_user(self, user: str) -> Row:
        with self.db.begin() as conn:
            return user_row(
                administration.enable_user(conn, user=user, actor_id=None, peer=CLI_PEER)
            )

    def set_role(self, user: str, role: str) -> Row:
        with self.db.begin() as conn:
            return user_row(
                administration.set_role(conn, user=user, role=role, actor_id=None, peer=CLI_PEER)
            )

    def list_keys(self, user: str) -> list[Row]:
        with self.db.connect() as conn:
            owner = users.find_user(conn, user)
            return [
                key_row(k)
                for k in api_keys.list_api_keys(
                    conn, user_id=owner.id, include_inactive=True, limit=500, offset=0
                )
            ]

    def revoke_key(self, key_id: str) -> Row:
        with self.db.begin() as conn:
            return key_row(
                api_keys.revoke_api_key(
                    conn, key_id=key_id, user_id=None, actor_id=None, peer=CLI_PEER
                )
            )

    def audit(self, user_id: str, limit: int) -> list[Row]:
        with self.db.connect() as conn:
            return [
                event_row(e)
                for e in audit.list_events(conn, user_id=user_id, limit=limit, offset=0)
            ]
