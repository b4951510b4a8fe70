"""Authorization everywhere: every RPC of every service, called by every kind of caller.

The RPC list comes from the contracts' descriptors, not from the server or the rules, so an RPC
added to a .proto without a rule in ``auth/rules.py`` (or with a looser rule than its service's)
fails here. Each RPC is called with an empty request and, per caller:

- no credentials, a malformed key, an expired key, a revoked key, a disabled user's key:
  UNAUTHENTICATED, except for the three public RPCs (Login, ForgottenPassword, ResetPassword);
- a user's key: PERMISSION_DENIED on AdminService; elsewhere past authorization;
- an admin's key: past authorization everywhere.

"Past authorization" is the exact code for the account RPCs, and for RPCs other features own
(runs, DP, datasets) "neither UNAUTHENTICATED nor PERMISSION_DENIED": an empty request may be
invalid or unknown, but the caller got in.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor
from grpc_health.v1 import health_pb2, health_pb2_grpc
from support import ServerThread, create_user
from support import TestUser as Person
from veil.v1 import admin_pb2, auth_pb2, auth_pb2_grpc, dpquery_pb2, runs_pb2, runs_pb2_grpc
from veil_service.auth.rules import RULES, Access, rule_for
from veil_service.storage import schema

Code = grpc.StatusCode

SERVICES = (
    (auth_pb2, "AuthService"),
    (runs_pb2, "RunsService"),
    (dpquery_pb2, "DPQueryService"),
    (admin_pb2, "AdminService"),
)

PUBLIC = {
    "/veil.v1.AuthService/Login",
    "/veil.v1.AuthService/ForgottenPassword",
    "/veil.v1.AuthService/ResetPassword",
}

# What an authenticated caller gets from an empty request, for the RPCs of the accounts feature.
EXACT = {
    "/veil.v1.AuthService/Login": Code.INVALID_ARGUMENT,
    "/veil.v1.AuthService/ForgottenPassword": Code.INVALID_ARGUMENT,
    "/veil.v1.AuthService/ResetPassword": Code.INVALID_ARGUMENT,
    "/veil.v1.AuthService/Logout": Code.OK,
    "/veil.v1.AuthService/CreateApiKey": Code.INVALID_ARGUMENT,
    "/veil.v1.AuthService/ListApiKeys": Code.OK,
    "/veil.v1.AuthService/GetApiKey": Code.NOT_FOUND,
    "/veil.v1.AuthService/RevokeApiKey": Code.NOT_FOUND,
    "/veil.v1.AuthService/RevokeAllApiKeys": Code.OK,
    "/veil.v1.AuthService/WhoAmI": Code.OK,
    "/veil.v1.AdminService/CreateUser": Code.INVALID_ARGUMENT,
    "/veil.v1.AdminService/ListUsers": Code.OK,
    "/veil.v1.AdminService/DisableUser": Code.NOT_FOUND,
    "/veil.v1.AdminService/EnableUser": Code.NOT_FOUND,
    "/veil.v1.AdminService/SetUserRole": Code.INVALID_ARGUMENT,
    "/veil.v1.AdminService/ListUserApiKeys": Code.NOT_FOUND,
    "/veil.v1.AdminService/RevokeUserApiKey": Code.NOT_FOUND,
    "/veil.v1.AdminService/ListAuditEvents": Code.OK,
    "/veil.v1.AdminService/GetServerState": Code.OK,
}
REFUSED = {Code.UNAUTHENTICATED, Code.PERMISSION_DENIED}
BAD_CREDENTIALS = ("none", "malformed", "expired", "revoked", "disabled")


def _methods() -> list[tuple[str, MethodDescriptor]]:
    found = []
    for module, name in SERVICES:
        service = module.DESCRIPTOR.services_by_name[name]
        found.extend((f"/{service.full_name}/{m.name}", m) for m in service.methods)
    return found


METHODS = _methods()


def _expected_access(path: str) -> Access:
    if path.startswith("/veil.v1.AdminService/"):
        return Access.ADMIN
    return Access.PUBLIC if path in PUBLIC else Access.AUTHENTICATED


def _invoke(
    channel: grpc.Channel, path: str, method: MethodDescriptor, metadata: list[tuple[str, str]]
) -> Code:
    """Call any RPC with an empty request; return the status code (OK when it got through)."""
    request = message_factory.GetMessageClass(method.input_type)()
    codec: dict[str, Any] = {
        "request_serializer": type(request).SerializeToString,
        "response_deserializer": lambda raw: raw,
    }
    options: dict[str, Any] = {"metadata": metadata, "timeout": 5}
    try:
        if method.client_streaming and method.server_streaming:
            responses = channel.stream_stream(path, **codec)(iter([request]), **options)
        elif method.server_streaming:
            responses = channel.unary_stream(path, **codec)(request, **options)
        elif method.client_streaming:
            channel.stream_unary(path, **codec)(iter([request]), **options)
            return Code.OK
        else:
            channel.unary_unary(path, **codec)(request, **options)
            return Code.OK
        next(iter(responses), None)  # the first message (or the error) is enough
        responses.cancel()
        return Code.OK
    except grpc.RpcError as error:
        return error.code()  # type: ignore[no-any-return]


def _key_of(server: ServerThread, change: Any) -> str:
    person = create_user(server, "user")
    with server.app.db.begin() as conn:
        change(conn, person)
    return person.api_key


@pytest.fixture(scope="module")
def bad_credentials(veil_server: ServerThread) -> dict[str, list[tuple[str, str]]]:
    keys, users = schema.api_keys, schema.users
    expired = _key_of(
        veil_server,
        lambda c, p: c.execute(
            sa.update(keys).where(keys.c.user_id == p.id).values(expires_at=time.time() - 1)
        ),
    )
    revoked = _key_of(
        veil_server,
        lambda c, p: c.execute(
            sa.update(keys).where(keys.c.user_id == p.id).values(revoked_at=time.time())
        ),
    )
    disabled = _key_of(
        veil_server,
        lambda c, p: c.execute(sa.update(users).where(users.c.id == p.id).values(active=False)),
    )
    return {
        "none": [],
        "malformed": [("authorization", "Bearer not-a-veil-key")],
        "expired": [("x-api-key", expired)],
        "revoked": [("authorization", f"Bearer {revoked}")],
        "disabled": [("x-api-key", disabled)],
    }


@pytest.fixture(scope="module")
def channel(veil_server: ServerThread) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(veil_server.url) as opened:
        yield opened


def test_the_contracts_have_rpcs_in_every_service() -> None:
    assert {path.split("/")[1] for path, _ in METHODS} == {
        f"veil.v1.{name}" for _, name in SERVICES
    }
    assert len(METHODS) >= 40


@pytest.mark.parametrize(("path", "method"), METHODS, ids=[p for p, _ in METHODS])
def test_every_rpc_has_its_services_rule(path: str, method: MethodDescriptor) -> None:
    assert rule_for(path) is not None, f"{path} has no authorization rule in auth/rules.py"
    assert rule_for(path) == _expected_access(path)


def test_no_rule_names_an_rpc_that_does_not_exist() -> None:
    assert set(RULES) <= {path for path, _ in METHODS}


@pytest.mark.parametrize(("path", "method"), METHODS, ids=[p for p, _ in METHODS])
def test_every_rpc_with_every_caller(
    path: str,
    method: MethodDescriptor,
    channel: grpc.Channel,
    bad_credentials: dict[str, list[tuple[str, str]]],
    user: Person,
    admin: Person,
) -> None:
    access = _expected_access(path)
    got = {kind: _invoke(channel, path, method, bad_credentials[kind]) for kind in BAD_CREDENTIALS}
    got["user"] = _invoke(channel, path, method, [("x-api-key", user.api_key)])
    got["admin"] = _invoke(channel, path, method, [("authorization", f"Bearer {admin.api_key}")])

    for kind in BAD_CREDENTIALS:
        if access is Access.PUBLIC:
            assert got[kind] not in REFUSED, (kind, got)
        else:
            assert got[kind] == Code.UNAUTHENTICATED, (kind, got)
    if access is Access.ADMIN:
        assert got["user"] == Code.PERMISSION_DENIED, got
    for kind in ("user", "admin") if access is not Access.ADMIN else ("admin",):
        if path in EXACT:
            assert got[kind] == EXACT[path], (kind, got)
        else:
            assert got[kind] not in REFUSED, (kind, got)


def test_another_users_api_key_is_not_found(veil_server: ServerThread, user: Person) -> None:
    other = create_user(veil_server, "user")
    stub = auth_pb2_grpc.AuthServiceStub(grpc.insecure_channel(veil_server.url))
    mine = [("x-api-key", user.api_key)]
    theirs = stub.WhoAmI(
        auth_pb2.WhoAmIRequest(), metadata=[("x-api-key", other.api_key)], timeout=10
    ).api_key_id
    for call, request in (
        (stub.GetApiKey, auth_pb2.GetApiKeyRequest(api_key_id=theirs)),
        (stub.RevokeApiKey, auth_pb2.RevokeApiKeyRequest(api_key_id=theirs)),
    ):
        with pytest.raises(grpc.RpcError) as hidden:
            call(request, metadata=mine, timeout=10)
        assert hidden.value.code() == Code.NOT_FOUND
    assert (
        stub.WhoAmI(
            auth_pb2.WhoAmIRequest(), metadata=[("x-api-key", other.api_key)], timeout=10
        ).user.id
        == other.id
    )


def test_another_users_run_is_not_found(veil_server: ServerThread, user: Person) -> None:
    other = create_user(veil_server, "user")
    stub = runs_pb2_grpc.RunsServiceStub(grpc.insecure_channel(veil_server.url))
    run = stub.CreateRun(
        runs_pb2.CreateRunRequest(display_name="private"),
        metadata=[("x-api-key", other.api_key)],
        timeout=10,
    ).run
    with pytest.raises(grpc.RpcError) as hidden:
        stub.GetRun(
            runs_pb2.GetRunRequest(run_id=run.id),
            metadata=[("x-api-key", user.api_key)],
            timeout=10,
        )
    assert hidden.value.code() == Code.NOT_FOUND


def test_health_and_reflection_need_no_credentials(channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert health.status == health_pb2.HealthCheckResponse.SERVING


def test_an_rpc_without_a_rule_is_refused_even_to_admins(
    channel: grpc.Channel, admin: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = "/veil.v1.AuthService/WhoAmI"
    method = next(m for p, m in METHODS if p == path)
    assert _invoke(channel, path, method, [("x-api-key", admin.api_key)]) == Code.OK
    monkeypatch.delitem(RULES, path)
    assert _invoke(channel, path, method, [("x-api-key", admin.api_key)]) == Code.PERMISSION_DENIED
