"""Admin operations on accounts, at the domain level: the guards that keep an admin around."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from veil_service.accounts import administration, api_keys, sessions, users
from veil_service.accounts.users import UserRecord
from veil_service.errors import FailedPreconditionError, InvalidArgumentError
from veil_service.storage import schema


def _user(db: sa.Engine, name: str, role: str) -> UserRecord:
    with db.begin() as conn:
        return users.create_user(conn, username=name, email=f"{name}@example.org", role=role)


def test_the_last_active_admin_cannot_be_demoted_or_disabled(db: sa.Engine) -> None:
    boss = _user(db, "boss", "admin")
    with db.begin() as conn, pytest.raises(FailedPreconditionError) as demoted:
        administration.set_role(conn, user="boss", role="user", actor_id=None, peer="cli")
    assert demoted.value.reason == "LAST_ADMIN"
    with db.begin() as conn, pytest.raises(FailedPreconditionError):
        administration.disable_user(conn, user=boss.id, actor_id=None, peer="cli")
    _user(db, "deputy", "admin")
    with db.begin() as conn:
        assert (
            administration.set_role(conn, user="boss", role="user", actor_id=None, peer="cli").role
            == "user"
        )


def test_an_admin_cannot_disable_themselves(db: sa.Engine) -> None:
    boss, _ = _user(db, "boss", "admin"), _user(db, "deputy", "admin")
    with db.begin() as conn, pytest.raises(FailedPreconditionError) as refused:
        administration.disable_user(conn, user="boss", actor_id=boss.id, peer="cli")
    assert refused.value.reason == "SELF_DISABLE"


def test_disabling_revokes_everything_in_one_transaction(db: sa.Engine) -> None:
    _user(db, "boss", "admin")
    person = _user(db, "ada", "user")
    with db.begin() as conn:
        api_keys.create_api_key(conn, user_id=person.id, name="k", expiration_days=30)
        sessions.create_session(conn, user_id=person.id, lifetime_hours=1)
    with db.begin() as conn:
        assert not administration.disable_user(conn, user="ada", actor_id=None, peer="cli").active
    with db.connect() as conn:
        open_keys = conn.execute(
            sa.select(schema.api_keys).where(schema.api_keys.c.revoked_at.is_(None))
        ).all()
        open_sessions = conn.execute(
            sa.select(schema.sessions).where(schema.sessions.c.revoked_at.is_(None))
        ).all()
    assert open_keys == [] and open_sessions == []


def test_unknown_role_is_refused(db: sa.Engine) -> None:
    _user(db, "ada", "user")
    with db.begin() as conn, pytest.raises(InvalidArgumentError):
        administration.set_role(conn, user="ada", role="root", actor_id=None, peer="cli")


@pytest.mark.parametrize(
    ("username", "valid"),
    [
        ("Dr. Antartica", True),  # Lomas's demo user (issue 16 item 10)
        ("a b  c", True),
        (" leading", False),
        ("trailing ", False),
        ("tab\tinside", False),
        ("newline\n", False),
        ("x" * 64, True),
        ("x" * 65, False),
    ],
)
def test_usernames_as_lomas_allows_them(username: str, valid: bool) -> None:
    from veil_service.accounts.users import validate_identity
    from veil_service.errors import InvalidArgumentError

    if valid:
        validate_identity(username, "someone@example.org", "user")
    else:
        with pytest.raises(InvalidArgumentError) as info:
            validate_identity(username, "someone@example.org", "user")
        assert info.value.field == "username"
