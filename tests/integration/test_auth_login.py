"""Deprecated password login, logout, and the client's ways in (seed user guide, item 6)."""

from __future__ import annotations

import hashlib
import logging
import time
import warnings

import grpc
import pytest
import sqlalchemy as sa
from fast_hashing import fast_password_hashing  # noqa: F401 - autouse fixture
from support import ServerThread, assert_eventually, create_user
from veil.v1 import auth_pb2, auth_pb2_grpc
from veil_client import InvalidArgument, Manager, NotFound, Unauthenticated
from veil_client.models import CreateApiKeyRequest, ExpirationDays
from veil_service.logs import JsonFormatter
from veil_service.storage import schema

PASSWORD = "Login-Passw0rd-ok"


def _stub(server: ServerThread) -> auth_pb2_grpc.AuthServiceStub:
    return auth_pb2_grpc.AuthServiceStub(grpc.insecure_channel(server.url))


def _outbox_token(server: ServerThread, email: str) -> str:
    """The reset token the embedded outbox received for ``email`` (waits for it)."""
    found: list[str] = []

    def arrived() -> bool:
        for path in (server.settings.data_dir / "outbox").glob("*.eml"):
            text = path.read_text()
            if f"To: {email}" in text:
                found.extend(
                    line.removeprefix("Token: ")
                    for line in text.splitlines()
                    if line.startswith("Token: ")
                )
        return bool(found)

    assert_eventually(arrived, timeout=10, message="no reset email in the outbox")
    return found[0]


def test_login_gives_a_session_with_expiry_and_deprecation_notice(
    veil_server: ServerThread,
) -> None:
    person = create_user(veil_server, "user", password=PASSWORD)
    stub = _stub(veil_server)
    response = stub.Login(
        auth_pb2.LoginRequest(username=person.username, password=PASSWORD), timeout=10
    )
    assert response.session_token.startswith("veilsess_")
    lifetime = response.expires_at.ToSeconds() - time.time()
    assert 11.9 * 3600 < lifetime <= 12 * 3600
    assert "deprecated" in response.deprecation_notice and "API key" in response.deprecation_notice
    bearer = [("authorization", f"Bearer {response.session_token}")]
    me = stub.WhoAmI(auth_pb2.WhoAmIRequest(), metadata=bearer, timeout=10)
    assert (me.user.id, me.credential_kind, me.api_key_id) == (person.id, "session", "")

    stub.Logout(auth_pb2.LogoutRequest(), metadata=bearer, timeout=10)
    with pytest.raises(grpc.RpcError) as after:
        stub.WhoAmI(auth_pb2.WhoAmIRequest(), metadata=bearer, timeout=10)
    assert after.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_wrong_password_and_unknown_user_look_the_same(veil_server: ServerThread) -> None:
    person = create_user(veil_server, "user", password=PASSWORD)
    stub = _stub(veil_server)
    answers = []
    for username in (person.username, f"ghost-{person.username}"):
        with pytest.raises(grpc.RpcError) as failed:
            stub.Login(
                auth_pb2.LoginRequest(username=username, password="Wrong-Passw0rd-x"), timeout=10
            )
        answers.append((failed.value.code(), failed.value.details()))
    assert answers[0] == answers[1]
    assert answers[0][0] == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as empty:
        stub.Login(auth_pb2.LoginRequest(username=person.username), timeout=10)
    assert empty.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_logout_with_an_api_key_does_nothing(veil_server: ServerThread) -> None:
    person = create_user(veil_server, "user")
    manager = Manager(base_url=veil_server.url, api_key=person.api_key)
    manager.auth_client.logout()
    assert manager.whoami()["credential_kind"] == "api_key"


def test_seed_guide_flow_authenticate_then_create_and_use_an_api_key(
    veil_server: ServerThread,
) -> None:
    person = create_user(veil_server, "user", password=PASSWORD)
    manager = Manager(base_url=veil_server.url)
    with pytest.deprecated_call(match="API key"):
        manager.authenticate(username=person.username, password=PASSWORD)
    assert manager.whoami()["credential_kind"] == "session"

    response = manager.auth_client.api_keys.create_api_key(
        CreateApiKeyRequest(name="my-key", expiration_days=ExpirationDays.integer_365)
    )
    plaintext = response.get("api_key").get("plaintext")
    assert plaintext.startswith("veil_")

    with Manager(base_url=veil_server.url, api_key=plaintext) as keyed:  # ready at once
        assert keyed.whoami()["user"]["id"] == person.id
        keys = keyed.auth_client.api_keys
        key_id = response["api_key"]["id"]
        assert key_id in [k["id"] for k in keys.list_api_keys()]
        assert keys.get_api_key(key_id)["name"] == "my-key"
        assert "plaintext" not in keys.get_api_key(key_id)
        keys.revoke_api_key(key_id)
        with pytest.raises(Unauthenticated):
            keyed.whoami()
    with pytest.raises(NotFound):
        manager.auth_client.api_keys.get_api_key("00000000-0000-0000-0000-000000000000")


def test_wrong_password_through_the_client_warns_nothing(veil_server: ServerThread) -> None:
    person = create_user(veil_server, "user", password=PASSWORD)
    manager = Manager(base_url=veil_server.url)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(Unauthenticated) as failed:
            manager.authenticate(username=person.username, password="Not-the-Passw0rd")
    assert failed.value.reason == "INVALID_LOGIN"
    assert not manager.transport.has_credential


def test_api_key_and_password_are_mutually_exclusive(veil_server: ServerThread) -> None:
    person = create_user(veil_server, "user", password=PASSWORD)
    manager = Manager(base_url=veil_server.url, api_key=person.api_key)
    with pytest.raises(ValueError, match="mutually exclusive"):
        manager.authenticate(username=person.username, password=PASSWORD)


def test_manager_reads_url_and_key_from_the_environment(
    veil_server: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    person = create_user(veil_server, "user")
    monkeypatch.setenv("VEIL_URL", veil_server.url)
    monkeypatch.setenv("VEIL_API_KEY", person.api_key)
    assert Manager().whoami()["user"]["username"] == person.username
    monkeypatch.delenv("VEIL_API_KEY")
    with pytest.raises(Unauthenticated):
        Manager().whoami()


def test_api_key_creation_rules(user: object, veil_server: ServerThread) -> None:
    person = create_user(veil_server, "user")
    keys = Manager(base_url=veil_server.url, api_key=person.api_key).auth_client.api_keys
    with pytest.raises(InvalidArgument) as bad_days:
        keys.create_api_key(CreateApiKeyRequest(name="k", expiration_days=7))
    assert bad_days.value.field == "expiration_days"
    for days in ExpirationDays:
        created = keys.create_api_key(
            CreateApiKeyRequest(name=f"k{days.value}", expiration_days=days)
        )["api_key"]
        assert created["prefix"] == created["plaintext"][: len(created["prefix"])]
    assert len(keys.list_api_keys()) == 1 + len(ExpirationDays)
    assert keys.revoke_all_api_keys() == 1 + len(ExpirationDays)


def test_no_secret_reaches_the_logs(
    veil_server: ServerThread, caplog: pytest.LogCaptureFixture
) -> None:
    person = create_user(veil_server, "user", password=PASSWORD)
    caplog.set_level(logging.DEBUG)
    manager = Manager(base_url=veil_server.url)
    with pytest.deprecated_call():
        manager.authenticate(username=person.username, password=PASSWORD)
    session = manager.transport.metadata()[0][1].removeprefix("Bearer ")
    created = manager.auth_client.api_keys.create_api_key(CreateApiKeyRequest(name="logged"))
    with pytest.raises(Unauthenticated):
        Manager(base_url=veil_server.url).authenticate(
            username=person.username, password=PASSWORD + "x"
        )
    manager.forgotten_password(person.email)
    reset_token = _outbox_token(veil_server, person.email)
    logged = "\n".join(JsonFormatter().format(record) for record in caplog.records)
    assert "AuthService/Login" in logged  # the calls were logged, with their extras ...
    for secret in (PASSWORD, session, created["api_key"]["plaintext"], person.api_key, reset_token):
        assert secret not in logged  # ... without their secrets


def test_only_hashes_of_secrets_are_stored(veil_server: ServerThread) -> None:
    person = create_user(veil_server, "user", password=PASSWORD)
    manager = Manager(base_url=veil_server.url)
    with pytest.deprecated_call():
        manager.authenticate(username=person.username, password=PASSWORD)
    session = manager.transport.metadata()[0][1].removeprefix("Bearer ")
    key = manager.auth_client.api_keys.create_api_key(CreateApiKeyRequest(name="stored"))
    manager.forgotten_password(person.email)
    reset_token = _outbox_token(veil_server, person.email)

    with veil_server.app.db.connect() as conn:
        stored = "\n".join(
            str(tuple(row))
            for table in (
                schema.users,
                schema.api_keys,
                schema.sessions,
                schema.reset_tokens,
                schema.audit_events,
            )
            for row in conn.execute(sa.select(table))
        )
    secrets = (PASSWORD, session, key["api_key"]["plaintext"], reset_token)
    for secret in secrets:
        assert secret not in stored
        assert hashlib.sha256(secret.encode()).hexdigest() in stored or secret == PASSWORD
    assert "$argon2id$" in stored
