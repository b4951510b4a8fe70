"""Reset token issuing: only for active users, capped per user, stored as hashes only."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from veil_service.accounts import password_reset, users
from veil_service.auth.secrets import hash_secret
from veil_service.errors import InvalidArgumentError
from veil_service.storage import schema


@pytest.fixture()
def db(db: sa.Engine) -> sa.Engine:
    """Each backend's database (conftest), with one user."""
    with db.begin() as conn:
        users.create_user(conn, username="ada", email="Ada@Example.org")
    return db


def test_tokens_go_to_active_users_only_and_are_stored_hashed(db: sa.Engine) -> None:
    ticket = password_reset.request_reset(db, email="ADA@example.org", peer="ipv4:1.2.3.4:5")
    assert ticket is not None and ticket.user.username == "ada"
    with db.connect() as conn:
        stored = conn.execute(sa.select(schema.reset_tokens.c.token_hash)).scalars().all()
    assert stored == [hash_secret(ticket.token)]
    assert password_reset.request_reset(db, email="nobody@example.org", peer="") is None
    with db.begin() as conn:
        conn.execute(sa.update(schema.users).values(active=False))
    assert password_reset.request_reset(db, email="ada@example.org", peer="") is None


def test_tokens_per_user_are_capped(db: sa.Engine) -> None:
    sent = [
        password_reset.request_reset(db, email="ada@example.org", peer="")
        for _ in range(password_reset.MAX_RECENT_TOKENS + 2)
    ]
    assert [t is not None for t in sent] == [True] * password_reset.MAX_RECENT_TOKENS + [False] * 2


def test_not_an_email_is_an_argument_error(db: sa.Engine) -> None:
    with pytest.raises(InvalidArgumentError) as refused:
        password_reset.request_reset(db, email="ada", peer="")
    assert refused.value.field == "email"
