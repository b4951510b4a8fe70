"""Throttling of failed logins (per account and per peer address) and failed password resets
(per peer address).

Failures are rows of ``login_failures`` (subject, time) so every server process sharing the
database sees the same counts. A sliding window is used: once a subject has ``max`` failures in
the last ``window_seconds``, further attempts are refused (RESOURCE_EXHAUSTED with the delay after
which the oldest counted failure leaves the window) *before* the password is checked, so a
throttled guesser learns nothing and costs the server no argon2 work.

The per-account limit stops guessing one user's password from many addresses; the per-peer limit
(higher, since several people may share an address) stops trying many accounts from one place.

Failed password resets (a token that is unknown, not that email's, used or expired) are counted
per peer under their own subject (``reset:<host>``), apart from logins: a reset token cannot be
guessed, so the limit is there to stop an anonymous caller from making the server hash passwords
(argon2, 64 MiB each) for nothing, and a typo in a token must not lock anybody's logins.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from veil_service.errors import Reason, ResourceExhaustedError
from veil_service.storage import schema

SETTINGS_KEY = "login_throttle"
"""Key of ``Settings.extra`` that may override the policy, e.g. ``{"max_per_peer": 5}``."""

RESET_SETTINGS_KEY = "reset_throttle"
"""Key of ``Settings.extra`` that may override the reset policy (``window_seconds``,
``max_per_peer``)."""

RESET_MAX_PER_PEER = 10
"""Failed password resets tolerated from one peer address in the window (15 minutes)."""


@dataclass(frozen=True)
class ThrottlePolicy:
    """How many failed logins are tolerated.

    Attributes:
        window_seconds: Length of the sliding window, in seconds.
        max_per_account: Failures of one account tolerated in the window.
        max_per_peer: Failures from one peer address tolerated in the window.
    """

    window_seconds: float = 900.0
    max_per_account: int = 5
    max_per_peer: int = 30

    @classmethod
    def from_extra(cls, extra: dict[str, Any]) -> ThrottlePolicy:
        """The policy with overrides from ``Settings.extra["login_throttle"]`` (tests, ops)."""
        overrides = extra.get(SETTINGS_KEY) or {}
        return cls(**{k: v for k, v in overrides.items() if k in cls.__dataclass_fields__})

    @classmethod
    def for_resets(cls, extra: dict[str, Any]) -> ThrottlePolicy:
        """The password reset policy (only ``max_per_peer`` and ``window_seconds`` apply), with
        overrides from ``Settings.extra["reset_throttle"]``."""
        overrides = extra.get(RESET_SETTINGS_KEY) or {}
        chosen = {"max_per_peer": RESET_MAX_PER_PEER} | {
            k: v for k, v in overrides.items() if k in cls.__dataclass_fields__
        }
        return cls(**chosen)


def account_subject(key: str) -> str:
    """Throttle subject of an account (user id, or the typed name when there is no such user)."""
    return f"account:{key.lower()[:256]}"


def peer_subject(peer: str) -> str:
    """Throttle subject of a peer: its host only, since the port changes with each connection.

    ``ipv4:127.0.0.1:5555`` -> ``peer:127.0.0.1``; ``ipv6:[::1]:5555`` -> ``peer:::1``.
    """
    _, _, address = peer.partition(":") if peer.startswith(("ipv4:", "ipv6:")) else ("", "", peer)
    if address.startswith("["):
        host = address[1:].split("]", 1)[0]
    elif address.count(":") == 1:
        host = address.rsplit(":", 1)[0]
    else:
        host = address
    return f"peer:{host[:256]}"


def reset_subject(peer: str) -> str:
    """Throttle subject of a peer's failed password resets (its host, like :func:`peer_subject`)."""
    return "reset:" + peer_subject(peer).removeprefix("peer:")


def reset_refusal(
    conn: sa.Connection, policy: ThrottlePolicy, *, peer: str, now: float | None = None
) -> ResourceExhaustedError | None:
    """The error to raise when a peer has failed too many password resets, else None.

    The error has ``retry_after_seconds`` set and reason ``RESET_THROTTLED``.
    """
    now = time.time() if now is None else now
    delay = _delay(conn, reset_subject(peer), policy.max_per_peer, policy.window_seconds, now)
    if delay is None:
        return None
    return ResourceExhaustedError(
        f"too many failed password resets from your address; try again in {int(delay) + 1} s, "
        "with the token of the latest email (or ask for a new one with forgotten_password).",
        reason=Reason.RESET_THROTTLED,
        retry_after_seconds=delay,
    )


def record_reset_failure(
    conn: sa.Connection, policy: ThrottlePolicy, *, peer: str, now: float | None = None
) -> None:
    """Count one failed password reset against the peer, and forget failures past the window."""
    now = time.time() if now is None else now
    _record(conn, [reset_subject(peer)], policy.window_seconds, now)


def refusal(
    conn: sa.Connection,
    policy: ThrottlePolicy,
    *,
    account: str,
    peer: str,
    now: float | None = None,
) -> ResourceExhaustedError | None:
    """The error to raise when the account or the peer is over its limit, else None.

    Returned rather than raised so the caller can audit the refusal in a transaction that
    commits. The error has ``retry_after_seconds`` set and reason ``LOGIN_THROTTLED``.
    """
    now = time.time() if now is None else now
    for subject, limit, what in (
        (account, policy.max_per_account, "this account"),
        (peer, policy.max_per_peer, "your address"),
    ):
        delay = _delay(conn, subject, limit, policy.window_seconds, now)
        if delay is not None:
            return ResourceExhaustedError(
                f"too many failed logins for {what}; try again in {int(delay) + 1} s, "
                "or use an API key.",
                reason=Reason.LOGIN_THROTTLED,
                retry_after_seconds=delay,
            )
    return None


def _delay(
    conn: sa.Connection, subject: str, limit: int, window: float, now: float
) -> float | None:
    failures = schema.login_failures
    recent = (
        conn.execute(
            sa.select(failures.c.created_at)
            .where(failures.c.subject == subject, failures.c.created_at > now - window)
            .order_by(failures.c.created_at.desc())
            .limit(limit)
        )
        .scalars()
        .all()
    )
    if len(recent) < limit:
        return None
    # The window frees a slot when the limit-th most recent failure ages out.
    return max(0.0, float(recent[-1]) + window - now)


def record_failure(
    conn: sa.Connection,
    policy: ThrottlePolicy,
    *,
    account: str,
    peer: str,
    now: float | None = None,
) -> None:
    """Count one failed attempt against both subjects, and forget failures older than the window."""
    now = time.time() if now is None else now
    _record(conn, [account, peer], policy.window_seconds, now)


def _record(conn: sa.Connection, subjects: list[str], window_seconds: float, now: float) -> None:
    """One failure at ``now`` for each subject; failures older than the window are forgotten."""
    failures = schema.login_failures
    conn.execute(sa.insert(failures), [{"subject": s, "created_at": now} for s in subjects])
    conn.execute(sa.delete(failures).where(failures.c.created_at <= now - window_seconds))


def clear_account(conn: sa.Connection, *, account: str) -> None:
    """Forget an account's failures after a successful login (its owner is back)."""
    conn.execute(sa.delete(schema.login_failures).where(schema.login_failures.c.subject == account))
