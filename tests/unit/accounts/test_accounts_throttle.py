"""Login throttling: subjects, the sliding window, the retry delay."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from veil_service.accounts import throttle
from veil_service.accounts.throttle import ThrottlePolicy

POLICY = ThrottlePolicy(window_seconds=100.0, max_per_account=3, max_per_peer=5)


@pytest.mark.parametrize(
    ("peer", "subject"),
    [
        ("ipv4:127.0.0.1:50123", "peer:127.0.0.1"),
        ("ipv6:[::1]:50123", "peer:::1"),
        ("ipv6:[2001:db8::7]:443", "peer:2001:db8::7"),
        ("unix:/tmp/veil.sock", "peer:unix"),
        ("cli", "peer:cli"),
    ],
)
def test_peer_subject_drops_the_port(peer: str, subject: str) -> None:
    assert throttle.peer_subject(peer) == subject


def test_account_subject_ignores_case() -> None:
    assert throttle.account_subject("Ada") == throttle.account_subject("ada")


def _fail(db: sa.Engine, at: float, account: str = "account:a", peer: str = "peer:p") -> None:
    with db.begin() as conn:
        throttle.record_failure(conn, POLICY, account=account, peer=peer, now=at)


def _refusal(
    db: sa.Engine, at: float, account: str = "account:a", peer: str = "peer:p"
) -> float | None:
    with db.connect() as conn:
        refused = throttle.refusal(conn, POLICY, account=account, peer=peer, now=at)
    return None if refused is None else refused.retry_after_seconds


def test_account_limit_and_retry_delay(db: sa.Engine) -> None:
    for at in (1000.0, 1010.0, 1020.0):
        assert _refusal(db, at) is None
        _fail(db, at)
    # Third failure reached the limit; the slot frees when the oldest of the three ages out.
    assert _refusal(db, 1030.0) == pytest.approx(1000.0 + 100.0 - 1030.0)
    assert _refusal(db, 1101.0) is None
    assert _refusal(db, 1030.0, account="account:b", peer="peer:q") is None


def test_peer_limit_spans_accounts(db: sa.Engine) -> None:
    for n in range(5):
        _fail(db, 1000.0 + n, account=f"account:{n}")
    assert _refusal(db, 1010.0, account="account:fresh") == pytest.approx(90.0)
    assert _refusal(db, 1010.0, account="account:fresh", peer="peer:elsewhere") is None


def test_success_clears_the_account_but_not_the_peer(db: sa.Engine) -> None:
    for at in (1000.0, 1001.0, 1002.0):
        _fail(db, at)
    with db.begin() as conn:
        throttle.clear_account(conn, account="account:a")
    assert _refusal(db, 1003.0) is None
    _fail(db, 1004.0)
    _fail(db, 1005.0)
    assert _refusal(db, 1006.0, account="account:other") is not None  # 5 from peer:p


def test_old_failures_are_forgotten(db: sa.Engine) -> None:
    _fail(db, 1000.0)
    _fail(db, 2000.0)
    with db.connect() as conn:
        count = conn.execute(sa.text("select count(*) from login_failures")).scalar_one()
    assert count == 2  # the 2000.0 pair only: the 1000.0 pair left the window


def test_policy_overrides_from_settings_extra() -> None:
    policy = ThrottlePolicy.from_extra({"login_throttle": {"max_per_peer": 7, "unknown": 1}})
    assert (policy.max_per_peer, policy.max_per_account) == (7, ThrottlePolicy().max_per_account)
    assert ThrottlePolicy.from_extra({}) == ThrottlePolicy()
