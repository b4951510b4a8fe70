"""Password login and logout (deprecated: API keys are the recommended credential).

Login is the one place a password is checked, so it carries the defences: throttling per account
and per peer before any hash work, the same error and about the same work for an unknown user,
a wrong password and a disabled account, and an audit event for every outcome.
"""

from __future__ import annotations

import sqlalchemy as sa

from veil_service.accounts import audit, sessions, throttle, users
from veil_service.accounts.passwords import verify_password
from veil_service.accounts.sessions import SessionRecord
from veil_service.accounts.throttle import ThrottlePolicy
from veil_service.auth.authenticate import authenticate
from veil_service.errors import InvalidArgumentError, Reason, UnauthenticatedError

DEPRECATION_NOTICE = (
    "Password login is deprecated and will be removed in a future release: create an API key "
    "(CreateApiKey, or manager.auth_client.api_keys.create_api_key) and use it instead."
)


def login(
    db: sa.Engine,
    *,
    username: str,
    password: str,
    peer: str,
    policy: ThrottlePolicy,
    session_hours: float,
) -> tuple[SessionRecord, str]:
    """Check a username (or email) and password and open a session.

    Blocking (argon2 verification takes tens of milliseconds): call it from a worker thread.

    Returns:
        The session record and its token, to give to the caller once.

    Raises:
        InvalidArgumentError: empty username or password.
        ResourceExhaustedError: too many recent failures for the account or the peer.
        UnauthenticatedError: unknown user, wrong password or disabled account (one message).
    """
    if not (username or "").strip():
        raise InvalidArgumentError("username is empty.", field="username")
    if not password:
        raise InvalidArgumentError("password is empty.", field="password")
    peer_key = throttle.peer_subject(peer)
    with db.connect() as conn:
        found = users.find_credentials(conn, username)
    account_key = throttle.account_subject(found[0].id if found else username.strip())
    with db.begin() as conn:
        refused = throttle.refusal(conn, policy, account=account_key, peer=peer_key)
        if refused is not None:
            audit.record(conn, "login.throttled", user_id=found[0].id if found else None, peer=peer)
    if refused is not None:
        raise refused
    # verify_password does the same argon2 work when there is no hash, so an unknown username
    # takes as long as a wrong password.
    matches = verify_password(found[1] if found else None, password)
    if found is None or not matches or not found[0].active:
        with db.begin() as conn:
            throttle.record_failure(conn, policy, account=account_key, peer=peer_key)
            audit.record(
                conn,
                "login.failed",
                user_id=found[0].id if found else None,
                peer=peer,
                cause="unknown_user"
                if found is None
                else "wrong_password"
                if not matches
                else "user_disabled",
            )
        raise UnauthenticatedError("wrong username or password.", reason=Reason.INVALID_LOGIN)
    user = found[0]
    with db.begin() as conn:
        throttle.clear_account(conn, account=account_key)
        record, token = sessions.create_session(conn, user_id=user.id, lifetime_hours=session_hours)
        audit.record(
            conn, "login.ok", user_id=user.id, actor_id=user.id, peer=peer, session_id=record.id
        )
    return record, token


def logout(
    db: sa.Engine, *, user_id: str, credential_kind: str, credential_id: str, peer: str
) -> None:
    """End the session used for this call; with an API key there is nothing to end."""
    if credential_kind != "session":
        return
    with db.begin() as conn:
        if sessions.revoke_session(conn, session_id=credential_id):
            audit.record(
                conn,
                "logout",
                user_id=user_id,
                actor_id=user_id,
                peer=peer,
                session_id=credential_id,
            )


def login_with_api_key(
    db: sa.Engine,
    *,
    api_key: str,
    peer: str,
    policy: ThrottlePolicy,
    session_hours: float,
) -> tuple[SessionRecord, str]:
    """Open a session for the holder of an API key (the web application's recommended login).

    A browser should not keep the key itself: the key is checked once, like any API call's, and
    the browser gets a session of the key's user. The same throttling (per peer: a key names no
    account until it is valid) and audit events as a password login apply.

    Returns:
        The session record and its token, to give to the caller once.

    Raises:
        InvalidArgumentError: empty key.
        ResourceExhaustedError: too many recent failures from the peer.
        UnauthenticatedError: unknown, malformed, revoked or expired key, or disabled user.
    """
    if not (api_key or "").strip():
        raise InvalidArgumentError("api_key is empty.", field="api_key")
    peer_key = throttle.peer_subject(peer)
    # A wrong key names no account: its failures count against the peer, and against the
    # peer's key logins as if they were one account (so a mistyped key locks as soon as a
    # mistyped password would).
    account_key = throttle.account_subject(f"api_key@{peer_key}")
    with db.begin() as conn:
        refused = throttle.refusal(conn, policy, account=account_key, peer=peer_key)
        if refused is not None:
            audit.record(conn, "login.throttled", peer=peer, method="api_key")
    if refused is not None:
        raise refused
    try:
        principal = authenticate(db, api_key.strip())
        if principal.credential_kind != "api_key":
            raise UnauthenticatedError(
                "malformed credentials: an API key starts with 'veil_'.",
                reason=Reason.MALFORMED_CREDENTIALS,
            )
    except UnauthenticatedError as exc:
        with db.begin() as conn:
            throttle.record_failure(conn, policy, account=account_key, peer=peer_key)
            audit.record(
                conn, "login.failed", peer=peer, method="api_key", cause=exc.reason.value.lower()
            )
        raise
    with db.begin() as conn:
        throttle.clear_account(conn, account=account_key)
        record, token = sessions.create_session(
            conn, user_id=principal.user_id, lifetime_hours=session_hours
        )
        audit.record(
            conn,
            "login.ok",
            user_id=principal.user_id,
            actor_id=principal.user_id,
            peer=peer,
            session_id=record.id,
            method="api_key",
            api_key_id=principal.credential_id,
        )
    return record, token
