"""AdminService: users, roles, keys of others, audit trail, server state."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from fast_hashing import fast_password_hashing  # noqa: F401 - autouse fixture
from support import ServerThread, create_user
from support import TestUser as Person
from veil.v1 import admin_pb2, admin_pb2_grpc, auth_pb2, auth_pb2_grpc

PASSWORD = "Admin-made-Passw0rd"


class Caller:
    """Stubs bound to one credential."""

    def __init__(self, server: ServerThread, credential: str) -> None:
        channel = grpc.insecure_channel(server.url)
        self.metadata = [("authorization", f"Bearer {credential}")]
        self.admin = admin_pb2_grpc.AdminServiceStub(channel)
        self.auth = auth_pb2_grpc.AuthServiceStub(channel)

    def __call__(self, method: Any, request: Any) -> Any:
        return method(request, metadata=self.metadata, timeout=10)


def _code(call: Any) -> grpc.StatusCode:
    try:
        call()
    except grpc.RpcError as error:
        return error.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


def _whoami(server: ServerThread, credential: str) -> grpc.StatusCode:
    caller = Caller(server, credential)
    return _code(lambda: caller(caller.auth.WhoAmI, auth_pb2.WhoAmIRequest()))


def test_create_user_with_password_and_refuse_bad_or_taken_identities(
    veil_server: ServerThread, admin: Person
) -> None:
    call = Caller(veil_server, admin.api_key)
    name = f"made_{admin.username}"
    created = call(
        call.admin.CreateUser,
        admin_pb2.CreateUserRequest(
            username=name,
            email=f"{name}@example.org",
            role=auth_pb2.USER_ROLE_ADMIN,
            password=PASSWORD,
        ),
    ).user
    assert (created.username, created.role, created.active) == (
        name,
        auth_pb2.USER_ROLE_ADMIN,
        True,
    )
    assert call.auth.Login(
        auth_pb2.LoginRequest(username=name, password=PASSWORD), timeout=10
    ).session_token
    for request, code, field in (
        (
            admin_pb2.CreateUserRequest(username=name, email="other@example.org"),
            grpc.StatusCode.ALREADY_EXISTS,
            "username",
        ),
        (
            admin_pb2.CreateUserRequest(username="x" + name, email=f"{name}@example.org"),
            grpc.StatusCode.ALREADY_EXISTS,
            "email",
        ),
        (
            admin_pb2.CreateUserRequest(username=" bad name", email="b@example.org"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "username",
        ),
        (
            admin_pb2.CreateUserRequest(username="y" + name, email="not-an-email"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "email",
        ),
        (
            admin_pb2.CreateUserRequest(
                username="z" + name, email="z@example.org", password="weak"
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "password",
        ),
    ):
        with pytest.raises(grpc.RpcError) as refused:
            call(call.admin.CreateUser, request)
        assert refused.value.code() == code
        assert field in refused.value.details()


def test_list_users_pages_newest_first(veil_server: ServerThread, admin: Person) -> None:
    newest = [create_user(veil_server, "user") for _ in range(3)][::-1]
    call = Caller(veil_server, admin.api_key)
    first = call(call.admin.ListUsers, admin_pb2.ListUsersRequest(page_size=2))
    second = call(
        call.admin.ListUsers,
        admin_pb2.ListUsersRequest(page_size=2, page_token=first.next_page_token),
    )
    listed = [u.id for u in (*first.users, *second.users)]
    assert listed[:3] == [p.id for p in newest]
    assert len(set(listed)) == 4


def test_disable_user_revokes_keys_and_sessions_at_once(
    veil_server: ServerThread, admin: Person
) -> None:
    person = create_user(veil_server, "user", password=PASSWORD)
    call = Caller(veil_server, admin.api_key)
    session = call.auth.Login(
        auth_pb2.LoginRequest(username=person.username, password=PASSWORD), timeout=10
    ).session_token
    assert _whoami(veil_server, person.api_key) == grpc.StatusCode.OK

    disabled = call(call.admin.DisableUser, admin_pb2.DisableUserRequest(user=person.username))
    assert not disabled.user.active
    assert _whoami(veil_server, person.api_key) == grpc.StatusCode.UNAUTHENTICATED
    assert _whoami(veil_server, session) == grpc.StatusCode.UNAUTHENTICATED
    assert (
        _code(
            lambda: call.auth.Login(
                auth_pb2.LoginRequest(username=person.username, password=PASSWORD), timeout=10
            )
        )
        == grpc.StatusCode.UNAUTHENTICATED
    )
    keys = call(call.admin.ListUserApiKeys, admin_pb2.ListUserApiKeysRequest(user=person.id))
    assert all(k.HasField("revoked_at") for k in keys.api_keys)

    assert (
        _code(lambda: call(call.admin.DisableUser, admin_pb2.DisableUserRequest(user=admin.id)))
        == grpc.StatusCode.FAILED_PRECONDITION
    )
    assert (
        _code(
            lambda: call(call.admin.DisableUser, admin_pb2.DisableUserRequest(user="no-such-user"))
        )
        == grpc.StatusCode.NOT_FOUND
    )
    events = call(
        call.admin.ListAuditEvents, admin_pb2.ListAuditEventsRequest(user_id=person.id)
    ).events
    assert [(e.event, e.actor_id) for e in events[:2]] == [
        ("login.failed", ""),
        ("user.disabled", admin.id),
    ]


def test_enable_user_brings_the_account_back_but_not_its_revoked_keys(
    veil_server: ServerThread, admin: Person
) -> None:
    person = create_user(veil_server, "user", password=PASSWORD)
    call = Caller(veil_server, admin.api_key)
    call(call.admin.DisableUser, admin_pb2.DisableUserRequest(user=person.username))

    enabled = call(call.admin.EnableUser, admin_pb2.EnableUserRequest(user=person.username))
    assert enabled.user.active
    again = call(call.admin.EnableUser, admin_pb2.EnableUserRequest(user=person.id))
    assert again.user.active  # enabling an enabled user changes nothing
    session = call.auth.Login(
        auth_pb2.LoginRequest(username=person.username, password=PASSWORD), timeout=10
    ).session_token
    assert _whoami(veil_server, session) == grpc.StatusCode.OK
    # A key revoked with the account stays revoked: it may have leaked meanwhile.
    assert _whoami(veil_server, person.api_key) == grpc.StatusCode.UNAUTHENTICATED
    assert (
        _code(lambda: call(call.admin.EnableUser, admin_pb2.EnableUserRequest(user="no-such")))
        == grpc.StatusCode.NOT_FOUND
    )
    bystander = Caller(veil_server, create_user(veil_server, "user").api_key)
    refused = _code(
        lambda: bystander(bystander.admin.EnableUser, admin_pb2.EnableUserRequest(user=person.id))
    )
    assert refused == grpc.StatusCode.PERMISSION_DENIED
    events = call(
        call.admin.ListAuditEvents, admin_pb2.ListAuditEventsRequest(user_id=person.id)
    ).events
    assert [e.event for e in events].count("user.enabled") == 1
    assert next(e for e in events if e.event == "user.enabled").actor_id == admin.id


def test_set_user_role_changes_what_the_user_may_call(
    veil_server: ServerThread, admin: Person
) -> None:
    person = create_user(veil_server, "user")
    call, as_person = Caller(veil_server, admin.api_key), Caller(veil_server, person.api_key)

    def list_users() -> grpc.StatusCode:
        return _code(lambda: as_person(as_person.admin.ListUsers, admin_pb2.ListUsersRequest()))

    assert list_users() == grpc.StatusCode.PERMISSION_DENIED
    promoted = call(
        call.admin.SetUserRole,
        admin_pb2.SetUserRoleRequest(user=person.username, role=auth_pb2.USER_ROLE_ADMIN),
    ).user
    assert promoted.role == auth_pb2.USER_ROLE_ADMIN
    assert list_users() == grpc.StatusCode.OK
    call(
        call.admin.SetUserRole,
        admin_pb2.SetUserRoleRequest(user=person.id, role=auth_pb2.USER_ROLE_USER),
    )
    assert list_users() == grpc.StatusCode.PERMISSION_DENIED
    assert (
        _code(lambda: call(call.admin.SetUserRole, admin_pb2.SetUserRoleRequest(user=person.id)))
        == grpc.StatusCode.INVALID_ARGUMENT
    )


def test_admin_lists_and_revokes_another_users_key(
    veil_server: ServerThread, admin: Person
) -> None:
    person = create_user(veil_server, "user")
    call = Caller(veil_server, admin.api_key)
    keys = call(
        call.admin.ListUserApiKeys, admin_pb2.ListUserApiKeysRequest(user=person.username)
    ).api_keys
    assert [k.user_id for k in keys] == [person.id]
    revoked = call(
        call.admin.RevokeUserApiKey, admin_pb2.RevokeUserApiKeyRequest(api_key_id=keys[0].id)
    ).api_key
    assert revoked.HasField("revoked_at")
    assert _whoami(veil_server, person.api_key) == grpc.StatusCode.UNAUTHENTICATED
    assert (
        _code(
            lambda: call(
                call.admin.RevokeUserApiKey, admin_pb2.RevokeUserApiKeyRequest(api_key_id="nope")
            )
        )
        == grpc.StatusCode.NOT_FOUND
    )
    assert (
        _code(
            lambda: call(
                call.admin.ListUserApiKeys, admin_pb2.ListUserApiKeysRequest(user="nobody-at-all")
            )
        )
        == grpc.StatusCode.NOT_FOUND
    )


def test_audit_events_page_newest_first(veil_server: ServerThread, admin: Person) -> None:
    person = create_user(veil_server, "user")  # user.created, api_key.created
    call = Caller(veil_server, admin.api_key)
    call(
        call.admin.SetUserRole,
        admin_pb2.SetUserRoleRequest(user=person.id, role=auth_pb2.USER_ROLE_ADMIN),
    )
    first = call(
        call.admin.ListAuditEvents, admin_pb2.ListAuditEventsRequest(user_id=person.id, page_size=2)
    )
    rest = call(
        call.admin.ListAuditEvents,
        admin_pb2.ListAuditEventsRequest(
            user_id=person.id, page_size=2, page_token=first.next_page_token
        ),
    )
    names = [e.event for e in (*first.events, *rest.events)]
    assert names == ["user.role_changed", "api_key.created", "user.created"]
    assert rest.next_page_token == ""
    assert first.events[0].actor_id == admin.id
    everything = call(call.admin.ListAuditEvents, admin_pb2.ListAuditEventsRequest(page_size=5))
    assert len(everything.events) == 5 and everything.next_page_token


def test_server_state(veil_server: ServerThread, admin: Person) -> None:
    call = Caller(veil_server, admin.api_key)
    state = call(call.admin.GetServerState, admin_pb2.GetServerStateRequest())
    assert state.version == "0.1.0"
    assert state.engines and all(e.address for e in state.engines)
    assert state.queued_jobs >= 0 and state.running_jobs >= 0 and state.stored_bytes >= 0
