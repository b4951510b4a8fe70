"""Password reset by emailed token: asking for one, and using it.

Reset tokens are random, single-use, valid 24 hours and stored only as SHA-256 digests. Asking
reveals nothing: the answer (and, with the padding done by the servicer, the time) is the same
whether or not the address belongs to an active user, and the same work (token generation and
hashing, a database transaction, an audit row) is done in both cases.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from veil_service.accounts import api_keys, audit, sessions, throttle, users
from veil_service.accounts.passwords import check_strength, hash_password
from veil_service.accounts.throttle import ThrottlePolicy
from veil_service.accounts.users import UserRecord
from veil_service.auth.secrets import hash_secret, new_reset_token
from veil_service.errors import (
    InvalidArgumentError,
    PermissionDeniedError,
    Reason,
    VeilServiceError,
)
from veil_service.storage import schema

VALID_HOURS = 24.0
MAX_RECENT_TOKENS = 5
"""Reset emails sent to one user per validity period; more requests are answered but not sent,
so the endpoint cannot be used to flood someone's mailbox."""


@dataclass(frozen=True)
class ResetOutcome:
    """What a password reset changed, for the caller's answer and the confirmation email.

    Attributes:
        user: The user whose password was reset.
        sessions_ended: Sessions ended (password logins and web sign-ins).
        api_keys_revoked: API keys revoked (0 unless asked for).
        api_keys_active: API keys still valid: a reset after a suspected theft leaves any key
            the thief created working, so the owner is told how many remain.
    """

    user: UserRecord
    sessions_ended: int
    api_keys_revoked: int
    api_keys_active: int


@dataclass(frozen=True)
class ResetTicket:
    """A freshly issued token and its user (the plaintext lives only here and in the email)."""

    user: UserRecord
    token: str


def issue_token(conn: sa.Connection, *, user_id: str) -> str:
    """Store a new reset token for a user in the caller's transaction; return its plaintext."""
    token = new_reset_token()
    now = time.time()
    conn.execute(
        sa.insert(schema.reset_tokens).values(
            id=str(uuid.uuid4()),
            user_id=user_id,
            token_hash=hash_secret(token),
            created_at=now,
            expires_at=now + VALID_HOURS * 3600.0,
        )
    )
    return token


def request_reset(db: sa.Engine, *, email: str, peer: str) -> ResetTicket | None:
    """Issue a token when ``email`` is an active user's, else do equivalent work and return None.

    Raises:
        InvalidArgumentError: ``email`` is not an email address (says nothing about accounts).
    """
    if not users.EMAIL_RE.match((email or "").strip()):
        raise InvalidArgumentError(
            "email is not a valid email address (name@domain.tld).", field="email"
        )
    with db.begin() as conn:
        user = users.find_active_by_email(conn, email)
        if user is None or _recent_tokens(conn, user.id) >= MAX_RECENT_TOKENS:
            hash_secret(new_reset_token())  # the same work as issuing one
            audit.record(
                conn,
                "password_reset.requested",
                user_id=user.id if user else None,
                peer=peer,
                sent=False,
            )
            return None
        token = issue_token(conn, user_id=user.id)
        audit.record(conn, "password_reset.requested", user_id=user.id, peer=peer, sent=True)
    return ResetTicket(user, token)


def _recent_tokens(conn: sa.Connection, user_id: str) -> int:
    tokens = schema.reset_tokens
    return int(
        conn.execute(
            sa.select(sa.func.count())
            .select_from(tokens)
            .where(
                tokens.c.user_id == user_id,
                tokens.c.created_at > time.time() - VALID_HOURS * 3600.0,
            )
        ).scalar_one()
    )


def reset_password(
    db: sa.Engine,
    *,
    email: str,
    new_password: str,
    new_password_repeated: str,
    token: str,
    peer: str,
    policy: ThrottlePolicy,
    revoke_api_keys: bool = False,
) -> ResetOutcome:
    """Set a new password with a token, consume the token and end the user's sessions; with
    ``revoke_api_keys``, revoke every API key of the user too, in the same transaction.

    API keys survive a reset by default: a forgotten password says nothing about the keys a
    pipeline uses. After a suspected theft they must go too (whoever knew the password could
    create one), so the caller may ask, and is always told how many keys stay active.

    Blocking (argon2): call it from a worker thread. Argument errors come first, so a typo in
    the new password does not burn the token. Then the peer's failed resets are counted
    (``throttle.reset_refusal``) and the token is checked, both *before* the new password is
    hashed: an anonymous caller with made-up tokens costs the server no argon2 work (64 MiB and
    tens of milliseconds each), and past the limit not even a database lookup of the token.

    Raises:
        InvalidArgumentError: empty token (``token``), passwords differ (``PASSWORDS_DIFFER``),
            weak password (``WEAK_PASSWORD``).
        PermissionDeniedError: token unknown or not this email's (``RESET_TOKEN_INVALID``),
            already used (``RESET_TOKEN_USED``), expired (``RESET_TOKEN_EXPIRED``).
        ResourceExhaustedError: too many failed resets from this peer (``RESET_THROTTLED``).
    """
    if not (token or "").strip():
        raise InvalidArgumentError("token is empty: paste the token from the email.", field="token")
    if new_password != new_password_repeated:
        raise InvalidArgumentError(
            "new_password_repeated differs from new_password.",
            field="new_password_repeated",
            reason=Reason.PASSWORDS_DIFFER,
        )
    check_strength(new_password, field="new_password")
    digest = hash_secret(token.strip())
    with db.begin() as conn:
        refused: VeilServiceError | None = throttle.reset_refusal(conn, policy, peer=peer)
        user = None
        if refused is None:
            user, _, refused = _check(conn, email, digest)
            if refused is not None:
                throttle.record_reset_failure(conn, policy, peer=peer)
        if refused is not None:
            _audit_refusal(conn, user, peer, refused)
    if refused is not None:
        raise refused
    password_hash = hash_password(new_password)
    with db.begin() as conn:
        user, refused = _consume(conn, email, digest)
        if refused is not None:  # used by a concurrent reset while this one hashed
            _audit_refusal(conn, user, peer, refused)
        else:
            assert user is not None
            users.set_password_hash(conn, user_id=user.id, password_hash=password_hash)
            ended = sessions.revoke_user_sessions(conn, user_id=user.id)
            revoked = (
                api_keys.revoke_all_api_keys(conn, user_id=user.id, actor_id=user.id, peer=peer)
                if revoke_api_keys
                else 0
            )
            active = api_keys.count_active_api_keys(conn, user_id=user.id)
            audit.record(
                conn,
                "password_reset.done",
                user_id=user.id,
                actor_id=user.id,
                peer=peer,
                sessions_ended=ended,
                api_keys_revoked=revoked,
                api_keys_active=active,
            )
    if refused is not None:
        raise refused
    assert user is not None
    return ResetOutcome(user, ended, revoked, active)


def _audit_refusal(
    conn: sa.Connection, user: UserRecord | None, peer: str, refused: VeilServiceError
) -> None:
    audit.record(
        conn,
        "password_reset.refused",
        user_id=user.id if user else None,
        peer=peer,
        reason=refused.reason,
    )


def _check(
    conn: sa.Connection, email: str, digest: str
) -> tuple[UserRecord | None, sa.RowMapping | None, PermissionDeniedError | None]:
    """The token's user and row, or why the token cannot reset this email's password (read-only)."""
    tokens = schema.reset_tokens
    row = conn.execute(sa.select(tokens).where(tokens.c.token_hash == digest)).mappings().first()
    user = users.find_user(conn, row["user_id"]) if row is not None else None
    if (
        row is None
        or user is None
        or user.email != (email or "").strip().lower()
        or not user.active
    ):
        return (
            None,
            None,
            PermissionDeniedError(
                "this reset token is not valid for this email: check both, or ask for a new "
                "token with forgotten_password.",
                reason=Reason.RESET_TOKEN_INVALID,
                field="token",
            ),
        )
    if row["used_at"] is not None:
        return (
            user,
            row,
            PermissionDeniedError(
                "this reset token was already used (or replaced by a newer reset): ask for a "
                "new one with forgotten_password.",
                reason=Reason.RESET_TOKEN_USED,
                field="token",
            ),
        )
    if row["expires_at"] <= time.time():
        return (
            user,
            row,
            PermissionDeniedError(
                "this reset token has expired (tokens are valid 24 hours): ask for a new one "
                "with forgotten_password.",
                reason=Reason.RESET_TOKEN_EXPIRED,
                field="token",
            ),
        )
    return user, row, None


def _consume(
    conn: sa.Connection, email: str, digest: str
) -> tuple[UserRecord | None, PermissionDeniedError | None]:
    tokens = schema.reset_tokens
    user, row, refused = _check(conn, email, digest)
    if refused is not None:
        return user, refused
    assert user is not None and row is not None
    # Conditional write: of two concurrent resets with one token, exactly one wins.
    taken = conn.execute(
        sa.update(tokens)
        .where(tokens.c.id == row["id"], tokens.c.used_at.is_(None))
        .values(used_at=time.time())
    )
    if not taken.rowcount:
        return user, PermissionDeniedError(
            "this reset token was already used: ask for a new one with forgotten_password.",
            reason=Reason.RESET_TOKEN_USED,
            field="token",
        )
    # Older tokens of this user die with this reset.
    conn.execute(
        sa.update(tokens)
        .where(tokens.c.user_id == user.id, tokens.c.used_at.is_(None))
        .values(used_at=time.time())
    )
    return user, None
