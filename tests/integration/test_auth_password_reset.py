"""ForgottenPassword and ResetPassword against a real SMTP server on loopback."""

from __future__ import annotations

import statistics
import time
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from fast_hashing import fast_password_hashing  # noqa: F401 - autouse fixture
from smtp_inbox import Mailbox, body, shared_mail_server, token_in
from support import ServerThread, assert_eventually, create_user
from support import TestUser as Person
from veil.v1 import admin_pb2, admin_pb2_grpc, auth_pb2, auth_pb2_grpc
from veil_client import InvalidArgument, Manager, PermissionDenied, Unauthenticated
from veil_service.api.auth_servicer import FORGOTTEN_PASSWORD_MIN_SECONDS
from veil_service.auth.secrets import hash_secret
from veil_service.storage import schema

OLD_PASSWORD = "Old-password-2024"
NEW_PASSWORD = "Brand-new-Passw0rd"


@pytest.fixture()
def mail(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[ServerThread, Mailbox]:
    return shared_mail_server(request, tmp_path_factory)


def _ask_token(server: ServerThread, mailbox: Mailbox, person: Person) -> str:
    before = len(mailbox.to(person.email))
    Manager(base_url=server.url).forgotten_password(person.email)
    return token_in(mailbox.wait_for(person.email, before + 1)[-1])


def _login(server: ServerThread, username: str, password: str) -> Any:
    stub = auth_pb2_grpc.AuthServiceStub(grpc.insecure_channel(server.url))
    return stub.Login(auth_pb2.LoginRequest(username=username, password=password), timeout=10)


def test_reset_by_emailed_token_sets_password_ends_sessions_and_confirms(
    mail: tuple[ServerThread, Mailbox],
) -> None:
    server, mailbox = mail
    person = create_user(server, "user", password=OLD_PASSWORD)
    session = _login(server, person.username, OLD_PASSWORD).session_token

    token = _ask_token(server, mailbox, person)
    assert mailbox.to(person.email)[0]["From"] == "veil@test.invalid"
    Manager(base_url=server.url).reset_password(person.email, NEW_PASSWORD, NEW_PASSWORD, token)

    assert _login(server, person.username, NEW_PASSWORD).session_token
    with pytest.raises(grpc.RpcError) as wrong:
        _login(server, person.username, OLD_PASSWORD)
    assert wrong.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(Unauthenticated):  # the session opened before the reset is over
        Manager(base_url=server.url, api_key=session).whoami()
    confirmation = mailbox.wait_for(person.email, 2)[-1]
    assert "was just reset" in body(confirmation)
    assert "Token: " not in body(confirmation)


def test_token_is_single_use(mail: tuple[ServerThread, Mailbox]) -> None:
    server, mailbox = mail
    person = create_user(server, "user", password=OLD_PASSWORD)
    token = _ask_token(server, mailbox, person)
    manager = Manager(base_url=server.url)
    manager.reset_password(person.email, NEW_PASSWORD, NEW_PASSWORD, token)
    with pytest.raises(PermissionDenied) as reused:
        manager.reset_password(person.email, "Another-Passw0rd!", "Another-Passw0rd!", token)
    assert reused.value.reason == "RESET_TOKEN_USED"


def test_wrong_token_or_other_email_is_refused(mail: tuple[ServerThread, Mailbox]) -> None:
    server, mailbox = mail
    person, other = create_user(server, "user"), create_user(server, "user")
    token = _ask_token(server, mailbox, person)
    manager = Manager(base_url=server.url)
    for email, candidate in ((person.email, "not-the-token"), (other.email, token)):
        with pytest.raises(PermissionDenied) as refused:
            manager.reset_password(email, NEW_PASSWORD, NEW_PASSWORD, candidate)
        assert refused.value.reason == "RESET_TOKEN_INVALID"
        assert candidate not in refused.value.message
    manager.reset_password(person.email, NEW_PASSWORD, NEW_PASSWORD, token)  # still unused


def test_expired_token_is_refused(mail: tuple[ServerThread, Mailbox]) -> None:
    server, mailbox = mail
    person = create_user(server, "user")
    token = _ask_token(server, mailbox, person)
    with server.app.db.begin() as conn:
        conn.execute(
            sa.update(schema.reset_tokens)
            .where(schema.reset_tokens.c.token_hash == hash_secret(token))
            .values(expires_at=time.time() - 1)
        )
    with pytest.raises(PermissionDenied) as expired:
        Manager(base_url=server.url).reset_password(person.email, NEW_PASSWORD, NEW_PASSWORD, token)
    assert expired.value.reason == "RESET_TOKEN_EXPIRED"


@pytest.mark.parametrize(
    ("new", "repeated", "reason", "field"),
    [
        (NEW_PASSWORD, NEW_PASSWORD + "x", "PASSWORDS_DIFFER", "new_password_repeated"),
        ("short1A!", "short1A!", "WEAK_PASSWORD", "new_password"),
        ("alllowercaseletters", "alllowercaseletters", "WEAK_PASSWORD", "new_password"),
    ],
)
def test_bad_new_password_is_refused_without_burning_the_token(
    mail: tuple[ServerThread, Mailbox], new: str, repeated: str, reason: str, field: str
) -> None:
    server, mailbox = mail
    person = create_user(server, "user")
    token = _ask_token(server, mailbox, person)
    manager = Manager(base_url=server.url)
    with pytest.raises(InvalidArgument) as refused:
        manager.reset_password(person.email, new, repeated, token)
    assert (refused.value.reason, refused.value.field) == (reason, field)
    assert new not in refused.value.message
    manager.reset_password(person.email, NEW_PASSWORD, NEW_PASSWORD, token)


@pytest.mark.serial  # compares wall-clock times: runs alone after the parallel part
def test_forgotten_password_reveals_nothing(mail: tuple[ServerThread, Mailbox]) -> None:
    server, mailbox = mail
    person = create_user(server, "user")
    manager = Manager(base_url=server.url)
    unknown = "nobody-here@example.org"

    def timed(email: str) -> float:
        began = time.perf_counter()
        assert manager.forgotten_password(email) is None
        return time.perf_counter() - began

    # Interleaved, so load on a shared machine affects both alike.
    known_times, unknown_times = [], []
    for _ in range(3):
        known_times.append(timed(person.email))
        unknown_times.append(timed(unknown))
    assert min(known_times + unknown_times) >= FORGOTTEN_PASSWORD_MIN_SECONDS
    assert abs(statistics.median(known_times) - statistics.median(unknown_times)) < 0.2
    mailbox.wait_for(person.email, 3)
    assert mailbox.to(unknown) == []
    with pytest.raises(InvalidArgument) as not_email:
        manager.forgotten_password("not an address")
    assert not_email.value.field == "email"


def test_disabled_user_gets_no_token(mail: tuple[ServerThread, Mailbox]) -> None:
    server, mailbox = mail
    person = create_user(server, "user")
    with server.app.db.begin() as conn:
        conn.execute(
            sa.update(schema.users).where(schema.users.c.id == person.id).values(active=False)
        )
    Manager(base_url=server.url).forgotten_password(person.email)
    time.sleep(0.3)  # a send would have been queued before the answer; give it time to land
    assert mailbox.to(person.email) == []


def test_admin_created_user_without_password_gets_a_token_by_email(
    mail: tuple[ServerThread, Mailbox],
) -> None:
    server, mailbox = mail
    admin = create_user(server, "admin")
    stub = admin_pb2_grpc.AdminServiceStub(grpc.insecure_channel(server.url))
    email = f"new-{admin.username}@example.org"
    created = stub.CreateUser(
        admin_pb2.CreateUserRequest(username=f"new-{admin.username}", email=email),
        timeout=10,
        metadata=[("x-api-key", admin.api_key)],
    )
    assert created.user.role == auth_pb2.USER_ROLE_USER
    invitation = mailbox.wait_for(email)[0]
    assert created.user.username in body(invitation)
    Manager(base_url=server.url).reset_password(
        email, NEW_PASSWORD, NEW_PASSWORD, token_in(invitation)
    )
    assert _login(server, email, NEW_PASSWORD).session_token


def test_without_smtp_host_messages_go_to_the_outbox(veil_server: ServerThread) -> None:
    person = create_user(veil_server, "user")
    outbox = veil_server.settings.data_dir / "outbox"
    Manager(base_url=veil_server.url).forgotten_password(person.email)

    def mine() -> list[str]:
        texts = [p.read_text() for p in outbox.glob("*.eml")] if outbox.exists() else []
        return [t for t in texts if f"To: {person.email}" in t]

    assert_eventually(lambda: len(mine()) == 1, timeout=10, message="no outbox file")
    token = next(
        line.removeprefix("Token: ")
        for line in mine()[0].splitlines()
        if line.startswith("Token: ")
    )
    Manager(base_url=veil_server.url).reset_password(
        person.email, NEW_PASSWORD, NEW_PASSWORD, token
    )
