"""Users: creation, lookup, roles."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from veil_service.accounts import audit
from veil_service.errors import AlreadyExistsError, InvalidArgumentError, Message, NotFoundError
from veil_service.storage import schema

ROLES = ("user", "admin")
# Lomas's usernames have inner spaces ("Dr. Antartica"); leading/trailing ones would hide.
USERNAME_RE = re.compile(r"^(?=.{1,64}\Z)[A-Za-z0-9_.@-](?:[A-Za-z0-9_.@ -]*[A-Za-z0-9_.@-])?\Z")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{1,32}$")


@dataclass(frozen=True)
class UserRecord:
    """A user row, without its password hash."""

    id: str
    username: str
    email: str
    role: str
    active: bool
    created_at: float


def _to_record(row: sa.RowMapping) -> UserRecord:
    return UserRecord(
        row["id"],
        row["username"],
        row["email"],
        row["role"],
        bool(row["active"]),
        row["created_at"],
    )


def validate_identity(username: str, email: str, role: str) -> None:
    """Check username, email and role, naming the field at fault."""
    if not USERNAME_RE.match(username or ""):
        raise InvalidArgumentError(
            "username must be 1-64 characters of letters, digits, '_', '.', '@', '-' or inner "
            "spaces.",
            field="username",
            code=Message.USER_BAD_USERNAME,
        )
    if not EMAIL_RE.match(email or ""):
        raise InvalidArgumentError(
            "email is not a valid email address (name@domain.tld).",
            field="email",
            code=Message.USER_BAD_EMAIL,
        )
    if role not in ROLES:
        raise InvalidArgumentError(
            f"role must be one of {list(ROLES)}; got {role!r}.",
            field="role",
            code=Message.USER_BAD_ROLE,
            params={"choices": ", ".join(ROLES), "role": role},
        )


def create_user(
    conn: sa.Connection,
    *,
    username: str,
    email: str,
    role: str = "user",
    password_hash: str | None = None,
    actor_id: str | None = None,
    peer: str = "",
) -> UserRecord:
    """Insert a user in the caller's transaction.

    Raises:
        InvalidArgumentError: bad username, email or role.
        AlreadyExistsError: username or email taken.
    """
    validate_identity(username, email, role)
    taken = conn.execute(
        sa.select(schema.users.c.username, schema.users.c.email).where(
            sa.or_(
                sa.func.lower(schema.users.c.username) == username.lower(),
                sa.func.lower(schema.users.c.email) == email.lower(),
            )
        )
    ).first()
    if taken is not None:
        field = "username" if taken[0].lower() == username.lower() else "email"
        raise AlreadyExistsError(
            f"a user with that {field} already exists; pick another.",
            field=field,
            code=Message.USER_TAKEN,
            params={"field": field},
        )
    user = UserRecord(str(uuid.uuid4()), username, email.lower(), role, True, time.time())
    conn.execute(
        sa.insert(schema.users).values(
            id=user.id,
            username=user.username,
            email=user.email,
            role=user.role,
            password_hash=password_hash,
            active=True,
            created_at=user.created_at,
        )
    )
    audit.record(conn, "user.created", user_id=user.id, actor_id=actor_id, peer=peer, role=role)
    return user


def find_user(conn: sa.Connection, user: str) -> UserRecord:
    """Find a user by id or username.

    Raises:
        NotFoundError: no such user.
    """
    row = (
        conn.execute(
            sa.select(schema.users).where(
                sa.or_(schema.users.c.id == user, schema.users.c.username == user)
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFoundError(
            f"no user {user!r}; check the id or username.",
            field="user",
            code=Message.USER_UNKNOWN,
            params={"user": user},
        )
    return _to_record(row)


def list_users(conn: sa.Connection, *, limit: int, offset: int) -> list[UserRecord]:
    """Users, newest first."""
    rows = conn.execute(
        sa.select(schema.users)
        .order_by(schema.users.c.created_at.desc(), schema.users.c.id)
        .limit(limit)
        .offset(offset)
    ).mappings()
    return [_to_record(r) for r in rows]


def find_credentials(conn: sa.Connection, login: str) -> tuple[UserRecord, str | None] | None:
    """A user and their password hash by username or email (case-insensitive), for login only.

    The hash never leaves the accounts package.
    """
    login = (login or "").strip().lower()
    # Usernames may look like email addresses: an exact username wins over someone's email.
    for condition in (
        sa.func.lower(schema.users.c.username) == login,
        schema.users.c.email == login,
    ):
        row = conn.execute(sa.select(schema.users).where(condition)).mappings().first()
        if row is not None:
            return _to_record(row), row["password_hash"]
    return None


def find_active_by_email(conn: sa.Connection, email: str) -> UserRecord | None:
    """The active user with this email (case-insensitive), or None."""
    row = (
        conn.execute(
            sa.select(schema.users).where(
                schema.users.c.email == (email or "").strip().lower(),
                schema.users.c.active.is_(True),
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else _to_record(row)


def set_password_hash(conn: sa.Connection, *, user_id: str, password_hash: str) -> None:
    """Replace a user's password hash (argon2id, from ``passwords.hash_password``)."""
    conn.execute(
        sa.update(schema.users)
        .where(schema.users.c.id == user_id)
        .values(password_hash=password_hash)
    )


def count_active_admins(conn: sa.Connection) -> int:
    """How many enabled admins there are (the last one may not be demoted)."""
    return int(
        conn.execute(
            sa.select(sa.func.count())
            .select_from(schema.users)
            .where(schema.users.c.role == "admin", schema.users.c.active.is_(True))
        ).scalar_one()
    )
