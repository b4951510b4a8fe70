"""The ``veil admin`` backend that talks to a running server's AdminService with an admin key."""

from __future__ import annotations

import datetime as dt
from typing import Any

import grpc
from google.protobuf import timestamp_pb2
from veil.v1 import admin_pb2, admin_pb2_grpc, auth_pb2
from veil_wire.channel import AddressError, open_channel, parse_base_url

from veil_service.admin_cli.backends import Row
from veil_service.errors import InvalidArgumentError, error_from_code

CALL_TIMEOUT_S = 60.0

_ROLE_NAMES = {auth_pb2.USER_ROLE_USER: "user", auth_pb2.USER_ROLE_ADMIN: "admin"}
_ROLES = {name: value for value, name in _ROLE_NAMES.items()}


def _iso(ts: timestamp_pb2.Timestamp, present: bool = True) -> str:
    if not present:
        return ""
    return ts.ToDatetime(tzinfo=dt.UTC).isoformat(timespec="seconds")


def _user(user: Any) -> Row:
    return {
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "role": _ROLE_NAMES.get(user.role, "unspecified"),
        "active": user.active,
        "created_at": _iso(user.created_at),
    }


def _key(key: Any) -> Row:
    return {
        "id": key.id,
        "user_id": key.user_id,
        "name": key.name,
        "prefix": key.prefix,
        "expires_at": _iso(key.expires_at),
        "revoked_at": _iso(key.revoked_at, key.HasField("revoked_at")),
    }


class ServerBackend:
    """Acts through AdminService, so the server's authorization and audit apply.

    Args:
        url: Server address (``localhost:50051``, ``grpc://``, ``grpcs://``).
        api_key: An admin's API key.
    """

    def __init__(self, url: str, api_key: str) -> None:
        try:
            target, tls = parse_base_url(url)
        except AddressError as exc:
            raise InvalidArgumentError(str(exc), field="url") from None
        self.channel = open_channel(target, tls=tls)
        self.stub = admin_pb2_grpc.AdminServiceStub(self.channel)
        self._metadata = (("authorization", f"Bearer {api_key}"),)

    def _call(self, method: Any, request: Any) -> Any:
        """One AdminService call; a failure becomes the domain error of its status code, whose
        message is the server's (it names the field and the fix)."""
        try:
            return method(request, metadata=self._metadata, timeout=CALL_TIMEOUT_S)
        except grpc.RpcError as error:
            call: Any = error
            raise error_from_code(call.code().name, call.details() or call.code().name) from None

    def list_users(self, limit: int) -> list[Row]:
        response = self._call(self.stub.ListUsers, admin_pb2.ListUsersRequest(page_size=limit))
        return [_user(u) for u in response.users]

    def disable_user(self, user: str) -> Row:
        response = self._call(self.stub.DisableUser, admin_pb2.DisableUserRequest(user=user))
        return _user(response.user)

    def enable_user(self, user: str) -> Row:
        response = self._call(self.stub.EnableUser, admin_pb2.EnableUserRequest(user=user))
        return _user(response.user)

    def set_role(self, user: str, role: str) -> Row:
        response = self._call(
            self.stub.SetUserRole,
            admin_pb2.SetUserRoleRequest(
                user=user, role=_ROLES.get(role, auth_pb2.USER_ROLE_UNSPECIFIED)
            ),
        )
        return _user(response.user)

    def list_keys(self, user: str) -> list[Row]:
        response = self._call(
            self.stub.ListUserApiKeys, admin_pb2.ListUserApiKeysRequest(user=user)
        )
        return [_key(k) for k in response.api_keys]

    def revoke_key(self, key_id: str) -> Row:
        response = self._call(
            self.stub.RevokeUserApiKey, admin_pb2.RevokeUserApiKeyRequest(api_key_id=key_id)
        )
        return _key(response.api_key)

    def audit(self, user_id: str, limit: int) -> list[Row]:
        response = self._call(
            self.stub.ListAuditEvents,
            admin_pb2.ListAuditEventsRequest(user_id=user_id, page_size=limit),
        )
        return [
            {
                "created_at": _iso(e.created_at),
                "event": e.event,
                "user_id": e.user_id,
                "actor_id": e.actor_id,
                "peer": e.peer,
                "details": e.details_json,
            }
            for e in response.events
        ]

    def close(self) -> None:
        """Close the connection."""
        self.channel.close()
