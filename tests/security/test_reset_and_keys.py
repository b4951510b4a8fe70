"""A password reset after a suspected theft can end every credential the thief may hold.

The attack (S42 security round, design note 3): Login with a stolen password, CreateApiKey for
3650 days; the owner resets the password; the key still works, for ten years. A reset ended the
user's sessions but said nothing about API keys. Now ResetPassword (and ``reset_password`` in the
client) takes ``revoke_api_keys``, which revokes every key of the account in the same
transaction, and always answers, and emails, how many keys stay valid. Keys survive a plain
reset: a forgotten password says nothing about a pipeline's keys. Web sign-ins end as password
sessions do.
"""

from __future__ import annotations

import json

import grpc
import pytest
import sqlalchemy as sa
from fast_hashing import fast_password_hashing  # noqa: F401 - autouse fixture
from smtp_inbox import Mailbox, body, shared_mail_server, token_in
from support import ServerThread, TestUser, create_user
from veil.v1 import auth_pb2, auth_pb2_grpc
from veil_client import Manager, Unauthenticated
from veil_service.storage import schema
from web_support import WebSession

OLD_PASSWORD = "Old-password-2024"
NEW_PASSWORD = "Brand-new-Passw0rd"


@pytest.fixture()
def mail(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[ServerThread, Mailbox]:
    return shared_mail_server(request, tmp_path_factory)


def _thief_key(server: ServerThread, person: TestUser) -> str:
    """What a thief does with the password: log in, create a ten-year API key."""
    with grpc.insecure_channel(server.url) as channel:
        stub = auth_pb2_grpc.AuthServiceStub(channel)
        session = stub.Login(
            auth_pb2.LoginRequest(username=person.username, password=OLD_PASSWORD), timeout=10
        ).session_token
        created = stub.CreateApiKey(
            auth_pb2.CreateApiKeyRequest(name="backup", expiration_days=3650),
            metadata=(("authorization", f"Bearer {session}"),),
            timeout=10,
        )
    return created.plaintext


def _web_signed_in(server: ServerThread, person: TestUser) -> WebSession:
    web = WebSession(server.server.web_port)
    assert web.login_with_key(person.api_key).status_code == 303
    assert web.get("/runs").status_code == 200
    return web


def _token(server: ServerThread, mailbox: Mailbox, person: TestUser) -> str:
    before = len(mailbox.to(person.email))
    Manager(base_url=server.url).forgotten_password(person.email)
    return token_in(mailbox.wait_for(person.email, before + 1)[-1])


def _confirmation(mailbox: Mailbox, person: TestUser) -> str:
    """The body of the newest email to ``person`` (the reset's confirmation)."""
    count = len(mailbox.to(person.email))
    return body(mailbox.wait_for(person.email, count)[-1])


def _reset_audit(server: ServerThread, person: TestUser) -> dict[str, int]:
    events = schema.audit_events
    with server.app.db.connect() as conn:
        details = conn.execute(
            sa.select(events.c.details_json).where(
                events.c.user_id == person.id, events.c.event == "password_reset.done"
            )
        ).scalar_one()
    return dict(json.loads(details))


def test_a_plain_reset_keeps_keys_and_says_how_many(mail: tuple[ServerThread, Mailbox]) -> None:
    server, mailbox = mail
    person = create_user(server, "user", password=OLD_PASSWORD)
    thief = _thief_key(server, person)
    web = _web_signed_in(server, person)
    try:
        token = _token(server, mailbox, person)
        outcome = Manager(base_url=server.url).reset_password(
            person.email, NEW_PASSWORD, NEW_PASSWORD, token
        )
        # The thief's login session and the web sign-in ended; both keys stay, and are counted.
        assert outcome == {"sessions_ended": 2, "api_keys_revoked": 0, "api_keys_active": 2}
        page = web.get("/runs")
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
    finally:
        web.close()
    assert Manager(base_url=server.url, api_key=thief).whoami()["user"]["id"] == person.id
    mailbox.wait_for(person.email, 2)
    text = _confirmation(mailbox, person)
    assert "2 API key(s) of your account are still valid" in text
    assert "revoke" in text
    assert _reset_audit(server, person) == {
        "sessions_ended": 2,
        "api_keys_revoked": 0,
        "api_keys_active": 2,
    }


def test_a_reset_can_revoke_every_key(mail: tuple[ServerThread, Mailbox]) -> None:
    server, mailbox = mail
    person = create_user(server, "user", password=OLD_PASSWORD)
    thief = _thief_key(server, person)
    token = _token(server, mailbox, person)
    outcome = Manager(base_url=server.url).reset_password(
        person.email, NEW_PASSWORD, NEW_PASSWORD, token, revoke_api_keys=True
    )
    assert outcome == {"sessions_ended": 1, "api_keys_revoked": 2, "api_keys_active": 0}
    for key in (thief, person.api_key):
        with pytest.raises(Unauthenticated) as refused:
            Manager(base_url=server.url, api_key=key).whoami()
        assert refused.value.reason == "REVOKED_CREDENTIALS"
    mailbox.wait_for(person.email, 2)
    text = _confirmation(mailbox, person)
    assert "2 API key(s) of your account were revoked" in text
    assert "No API key of your account is valid any more." in text
    assert _reset_audit(server, person)["api_keys_revoked"] == 2


def test_a_refused_reset_revokes_nothing(mail: tuple[ServerThread, Mailbox]) -> None:
    server, mailbox = mail
    person = create_user(server, "user", password=OLD_PASSWORD)
    _token(server, mailbox, person)
    with grpc.insecure_channel(server.url) as channel, pytest.raises(grpc.RpcError) as refused:
        auth_pb2_grpc.AuthServiceStub(channel).ResetPassword(
            auth_pb2.ResetPasswordRequest(
                email=person.email,
                new_password=NEW_PASSWORD,
                new_password_repeated=NEW_PASSWORD,
                token="not-the-token",
                revoke_api_keys=True,
            ),
            timeout=10,
        )
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert Manager(base_url=server.url, api_key=person.api_key).whoami()["user"]["id"] == person.id
