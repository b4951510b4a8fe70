"""Failed logins are throttled per account and per peer (RESOURCE_EXHAUSTED with a delay).

Runs on the mail server, whose limits are low (``smtp_inbox.MAIL_SERVER_THROTTLE``); every test
clears the failures it leaves, since all tests share the loopback peer address.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
import sqlalchemy as sa
from fast_hashing import fast_password_hashing  # noqa: F401 - autouse fixture
from smtp_inbox import MAIL_SERVER_THROTTLE, shared_mail_server
from support import ServerThread, create_user
from veil.v1 import admin_pb2, admin_pb2_grpc, auth_pb2, auth_pb2_grpc
from veil_client import Manager, ResourceExhausted, Unauthenticated
from veil_service.storage import schema

PASSWORD = "Throttle-Passw0rd"


@pytest.fixture()
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerThread]:
    mail_server, _ = shared_mail_server(request, tmp_path_factory)
    _forget_failures(mail_server)
    yield mail_server
    _forget_failures(mail_server)


def _forget_failures(server: ServerThread) -> None:
    with server.app.db.begin() as conn:
        conn.execute(sa.delete(schema.login_failures))


def _login(server: ServerThread, username: str, password: str) -> grpc.StatusCode:
    stub = auth_pb2_grpc.AuthServiceStub(grpc.insecure_channel(server.url))
    try:
        stub.Login(auth_pb2.LoginRequest(username=username, password=password), timeout=10)
    except grpc.RpcError as error:
        return error.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


def test_too_many_failures_lock_the_account_even_for_the_right_password(
    server: ServerThread,
) -> None:
    person = create_user(server, "user", password=PASSWORD)
    limit = MAIL_SERVER_THROTTLE["max_per_account"]
    manager = Manager(base_url=server.url)
    for _ in range(int(limit)):
        with pytest.raises(Unauthenticated):
            manager.authenticate(username=person.username, password="Wrong-Passw0rd")
    with pytest.raises(ResourceExhausted) as throttled:
        manager.authenticate(username=person.username, password=PASSWORD)
    assert throttled.value.reason == "LOGIN_THROTTLED"
    assert 0 < (throttled.value.retry_after or 0) <= MAIL_SERVER_THROTTLE["window_seconds"]
    assert PASSWORD not in throttled.value.message
    # By email too: the limit belongs to the account, not to the name typed.
    assert _login(server, person.email, PASSWORD) == grpc.StatusCode.RESOURCE_EXHAUSTED
    # Another account from the same address is still fine (below the peer limit).
    other = create_user(server, "user", password=PASSWORD)
    assert _login(server, other.username, PASSWORD) == grpc.StatusCode.OK


def test_too_many_failures_from_one_peer_lock_every_account_from_it(server: ServerThread) -> None:
    person = create_user(server, "user", password=PASSWORD)
    for attempt in range(int(MAIL_SERVER_THROTTLE["max_per_peer"])):
        assert (
            _login(server, f"nobody-{attempt}", "Wrong-Passw0rd") == grpc.StatusCode.UNAUTHENTICATED
        )
    assert _login(server, person.username, PASSWORD) == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_failures_and_throttling_are_audited(server: ServerThread) -> None:
    person = create_user(server, "user", password=PASSWORD)
    admin = create_user(server, "admin")
    for _ in range(int(MAIL_SERVER_THROTTLE["max_per_account"]) + 1):
        _login(server, person.username, "Wrong-Passw0rd")
    stub = admin_pb2_grpc.AdminServiceStub(grpc.insecure_channel(server.url))
    events = stub.ListAuditEvents(
        admin_pb2.ListAuditEventsRequest(user_id=person.id),
        metadata=[("x-api-key", admin.api_key)],
        timeout=10,
    ).events
    names = [e.event for e in events]
    assert names[0] == "login.throttled"
    assert names.count("login.failed") == MAIL_SERVER_THROTTLE["max_per_account"]
    assert all("Wrong-Passw0rd" not in e.details_json for e in events)
