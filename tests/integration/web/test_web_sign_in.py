"""Signing in to the web application: the gRPC API's accounts, sessions, throttling and audit."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa
from support import ServerThread, TestUser, create_user, start_server
from veil.v1 import auth_pb2, auth_pb2_grpc
from veil_service.storage import schema
from web_support import WebSession

SESSION_COOKIE = "__Host-veil-session"


def _events(server: ServerThread, user_id: str | None = None) -> list[tuple[str, dict[str, str]]]:
    events = schema.audit_events
    query = sa.select(events.c.event, events.c.details_json).order_by(events.c.seq)
    if user_id:
        query = query.where(events.c.user_id == user_id)
    with server.app.db.connect() as conn:
        return [(e, json.loads(d)) for e, d in conn.execute(query)]


def _who_am_i(server: ServerThread, token: str) -> str:
    with grpc.insecure_channel(server.url) as channel:
        reply = auth_pb2_grpc.AuthServiceStub(channel).WhoAmI(
            auth_pb2.WhoAmIRequest(), metadata=[("authorization", f"Bearer {token}")]
        )
    return reply.user.username


def test_signing_in_with_an_api_key_opens_a_session_in_a_strict_cookie(
    veil_server: ServerThread, user: TestUser, web: Callable[..., WebSession]
) -> None:
    session = web()
    assert session.get("/runs").headers["location"] == "/login?next=/runs"
    response = session.login_with_key(user.api_key)
    assert response.status_code == 303
    assert response.headers["location"] == "/runs"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)
    )
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"secure", "httponly", "samesite=strict", "path=/"} <= flags
    assert not any(flag.startswith("domain") for flag in flags)
    token = session.cookies[SESSION_COOKIE]
    assert token.startswith("veilsess_") and user.api_key not in cookie
    # The browser's session is the gRPC API's: the same token works as a Bearer credential.
    assert _who_am_i(veil_server, token) == user.username
    assert session.get("/runs").status_code == 200
    event, details = _events(veil_server, user.id)[-1]
    assert event == "login.ok" and details["method"] == "api_key"


def test_password_sign_in_works_but_says_it_is_deprecated(
    veil_server: ServerThread, web: Callable[..., WebSession]
) -> None:
    member = create_user(veil_server, password="correct horse battery staple 1")
    session = web()
    response = session.login_with_password(member.username, member.password)
    assert response.status_code == 303
    page = session.get(response.headers["location"])
    assert "deprecated" in page.text
    assert _events(veil_server, member.id)[-1][0] == "login.ok"


def test_signing_out_ends_the_session_everywhere(
    veil_server: ServerThread, user: TestUser, web: Callable[..., WebSession]
) -> None:
    session = web(user)
    token = session.cookies[SESSION_COOKIE]
    session.get("/runs")
    assert session.post("/logout").headers["location"] == "/login"
    assert SESSION_COOKIE not in session.cookies
    with pytest.raises(grpc.RpcError) as caught:
        _who_am_i(veil_server, token)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    session.cookies[SESSION_COOKIE] = token  # a stolen copy of the cookie is dead too
    assert session.get("/runs").status_code == 303


def test_a_wrong_key_is_refused_and_audited_without_echoing_it(
    veil_server: ServerThread, web: Callable[..., WebSession]
) -> None:
    session = web()
    wrong = "veil_" + "x" * 43
    response = session.login_with_key(wrong)
    assert response.status_code == 401
    assert "unknown API key" in response.text and wrong not in response.text
    event, details = _events(veil_server)[-1]
    assert (event, details["method"], details["cause"]) == (
        "login.failed",
        "api_key",
        "invalid_credentials",
    )


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """A server that throttles after 3 failed logins, with the web application on."""
    server = start_server(
        Path(tmp_path_factory.mktemp("strict")),
        web_port=0,
        extra={"login_throttle": {"max_per_account": 3, "max_per_peer": 100}},
    )
    yield server
    server.stop()


def test_web_and_grpc_failures_count_against_the_same_throttle(
    strict_server: ServerThread,
) -> None:
    member = create_user(strict_server, password="correct horse battery staple 2")
    session = WebSession(strict_server.server.web_port)
    try:
        for _ in range(3):
            assert session.login_with_password(member.username, "wrong").status_code == 401
        refused = session.login_with_password(member.username, member.password)
        assert refused.status_code == 429
        assert "too many failed logins" in refused.text
        with (
            grpc.insecure_channel(strict_server.url) as channel,
            pytest.raises(grpc.RpcError) as caught,
        ):
            auth_pb2_grpc.AuthServiceStub(channel).Login(
                auth_pb2.LoginRequest(username=member.username, password=member.password)
            )
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert [e for e, _ in _events(strict_server, member.id)][-2:] == [
            "login.throttled",
            "login.throttled",
        ]
    finally:
        session.close()


def test_wrong_api_keys_are_throttled_per_address(strict_server: ServerThread) -> None:
    member = create_user(strict_server)
    session = WebSession(strict_server.server.web_port)
    try:
        for _ in range(3):
            assert session.login_with_key("veil_wrong").status_code == 401
        assert session.login_with_key(member.api_key).status_code == 429
    finally:
        session.close()
