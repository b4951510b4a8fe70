"""What admins do to accounts: create, disable, enable again, change role, revoke keys of others.

Each operation is one transaction with its audit event, so the trail never records an act that
did not happen (or misses one that did).
"""

from __future__ import annotations

import time

import sqlalchemy as sa

from veil_service.accounts import audit, password_reset, sessions, users
from veil_service.accounts.passwords import hash_password
from veil_service.accounts.users import UserRecord
from veil_service.email import Mailer, messages
from veil_service.errors import FailedPreconditionError, InvalidArgumentError, Reason
from veil_service.storage import schema


def create_user(
    db: sa.Engine, *, username: str, email: str, role: str, password: str, actor_id: str, peer: str
) -> tuple[UserRecord, str | None]:
    """Create a user with a password, or with a reset token to email when there is none.

    Blocking (argon2 when a password is given): call it from a worker thread.

    Returns:
        The user, and the plaintext reset token to send them (None when a password was set).

    Raises:
        InvalidArgumentError: bad username, email or role; weak password.
        AlreadyExistsError: username or email taken.
    """
    users.validate_identity(username, email, role)
    password_hash = hash_password(password) if password else None
    with db.begin() as conn:
        user = users.create_user(
            conn,
            username=username,
            email=email,
            role=role,
            password_hash=password_hash,
            actor_id=actor_id,
            peer=peer,
        )
        token = None if password else password_reset.issue_token(conn, user_id=user.id)
    return user, token


def invite(mailer: Mailer, user: UserRecord, token: str | None) -> None:
    """Email a new user the link to set their password (nothing when an admin set it).

    Called after :func:`create_user` commits, by every edge that creates users, so the message
    and its validity are decided here once.
    """
    if token is not None:
        mailer.send_later(
            messages.account_created(user.email, user.username, token, password_reset.VALID_HOURS)
        )


def disable_user(conn: sa.Connection, *, user: str, actor_id: str | None, peer: str) -> UserRecord:
    """Disable a user and, in the same transaction, revoke their keys, sessions and reset tokens.

    Raises:
        NotFoundError: no such user.
        FailedPreconditionError: an admin disabling themselves, or the last active admin
            (there would be no way back).
    """
    record = users.find_user(conn, user)
    if record.id == actor_id:
        raise FailedPreconditionError(
            "you cannot disable your own account; ask another admin.",
            field="user",
            reason=Reason.SELF_DISABLE,
        )
    if record.role == "admin" and record.active and users.count_active_admins(conn) <= 1:
        raise FailedPreconditionError(
            "this is the last active admin; promote another user first.",
            field="user",
            reason=Reason.LAST_ADMIN,
        )
    now = time.time()
    conn.execute(sa.update(schema.users).where(schema.users.c.id == record.id).values(active=False))
    keys = conn.execute(
        sa.update(schema.api_keys)
        .where(schema.api_keys.c.user_id == record.id, schema.api_keys.c.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount
    ended = sessions.revoke_user_sessions(conn, user_id=record.id)
    conn.execute(
        sa.update(schema.reset_tokens)
        .where(schema.reset_tokens.c.user_id == record.id, schema.reset_tokens.c.used_at.is_(None))
        .values(used_at=now)
    )
    if record.active:
        audit.record(
            conn,
            "user.disabled",
            user_id=record.id,
            actor_id=actor_id,
            peer=peer,
            api_keys_revoked=int(keys or 0),
            sessions_ended=ended,
        )
    return users.find_user(conn, record.id)


def enable_user(conn: sa.Connection, *, user: str, actor_id: str | None, peer: str) -> UserRecord:
    """Enable a disabled user again (nothing happens to an enabled one).

    What :func:`disable_user` revoked stays revoked: API keys, sessions and reset tokens never
    come back to life (one may have leaked while the account was off). The user signs in with
    their password, or asks for a reset, and creates new keys.

    Raises:
        NotFoundError: no such user.
    """
    record = users.find_user(conn, user)
    if record.active:
        return record
    conn.execute(sa.update(schema.users).where(schema.users.c.id == record.id).values(active=True))
    audit.record(conn, "user.enabled", user_id=record.id, actor_id=actor_id, peer=peer)
    return users.find_user(conn, record.id)


def set_role(
    conn: sa.Connection, *, user: str, role: str, actor_id: str | None, peer: str
) -> UserRecord:
    """Change a user's role.

    Raises:
        InvalidArgumentError: not a known role.
        NotFoundError: no such user.
        FailedPreconditionError: demoting the last active admin (nobody could administer).
    """
    if role not in users.ROLES:
        raise InvalidArgumentError(f"role must be one of {list(users.ROLES)}.", field="role")
    record = users.find_user(conn, user)
    if record.role == role:
        return record
    if record.role == "admin" and record.active and users.count_active_admins(conn) <= 1:
        raise FailedPreconditionError(
            "this is the last active admin; promote another user first.",
            field="user",
            reason=Reason.LAST_ADMIN,
        )
    conn.execute(sa.update(schema.users).where(schema.users.c.id == record.id).values(role=role))
    audit.record(
        conn,
        "user.role_changed",
        user_id=record.id,
        actor_id=actor_id,
        peer=peer,
        old_role=record.role,
        new_role=role,
    )
    return users.find_user(conn, record.id)
