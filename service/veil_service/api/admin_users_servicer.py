"""AdminService RPCs about users, their keys, the audit trail and the server's state."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from veil.v1 import admin_pb2, auth_pb2

from veil_service import server_state
from veil_service.accounts import administration, api_keys, audit, users
from veil_service.accounts.audit import AuditRecord
from veil_service.api import ServicerContext, convert
from veil_service.api.paging import next_token, page_bounds
from veil_service.auth.principal import current_peer, current_principal
from veil_service.context import AppContext
from veil_service.errors import InvalidArgumentError
from veil_service.storage.db_calls import db_read, db_write

ALL_KEYS_LIMIT = 500


def _role(value: auth_pb2.UserRole.ValueType, *, default: str | None) -> str:
    if value == auth_pb2.USER_ROLE_UNSPECIFIED and default is not None:
        return default
    role = convert.USER_ROLE_FROM_PROTO.get(value)
    if role is None:
        raise InvalidArgumentError("role must be USER_ROLE_USER or USER_ROLE_ADMIN.", field="role")
    return role


def _audit_event(record: AuditRecord) -> admin_pb2.AuditEvent:
    return admin_pb2.AuditEvent(
        id=record.id,
        created_at=convert.timestamp(record.created_at),
        event=record.event,
        user_id=record.user_id or "",
        actor_id=record.actor_id or "",
        peer=record.peer or "",
        details_json=record.details_json,
    )


class AdminUsersServicer:
    """CreateUser, ListUsers, DisableUser, EnableUser, SetUserRole, ListUserApiKeys,
    RevokeUserApiKey, ListAuditEvents, GetServerState (see admin.proto). The interceptor admits
    admins only."""

    app: AppContext

    async def CreateUser(  # noqa: N802
        self, request: admin_pb2.CreateUserRequest, context: ServicerContext
    ) -> admin_pb2.CreateUserResponse:
        actor = current_principal()
        user, token = await asyncio.to_thread(
            administration.create_user,
            self.app.db,
            username=request.username,
            email=request.email,
            role=_role(request.role, default="user"),
            password=request.password,
            actor_id=actor.user_id,
            peer=current_peer(),
        )
        administration.invite(self.app.mailer, user, token)
        return admin_pb2.CreateUserResponse(user=convert.user(user))

    async def ListUsers(  # noqa: N802
        self, request: admin_pb2.ListUsersRequest, context: ServicerContext
    ) -> admin_pb2.ListUsersResponse:
        limit, offset = page_bounds(request.page_size, request.page_token)
        records = await db_read(self.app.db, users.list_users, limit=limit, offset=offset)
        return admin_pb2.ListUsersResponse(
            users=[convert.user(r) for r in records],
            next_page_token=next_token(offset, limit, len(records)),
        )

    async def DisableUser(  # noqa: N802
        self, request: admin_pb2.DisableUserRequest, context: ServicerContext
    ) -> admin_pb2.DisableUserResponse:
        actor = current_principal()
        record = await db_write(
            self.app.db,
            administration.disable_user,
            user=request.user,
            actor_id=actor.user_id,
            peer=current_peer(),
        )
        return admin_pb2.DisableUserResponse(user=convert.user(record))

    async def EnableUser(  # noqa: N802
        self, request: admin_pb2.EnableUserRequest, context: ServicerContext
    ) -> admin_pb2.EnableUserResponse:
        actor = current_principal()
        record = await db_write(
            self.app.db,
            administration.enable_user,
            user=request.user,
            actor_id=actor.user_id,
            peer=current_peer(),
        )
        return admin_pb2.EnableUserResponse(user=convert.user(record))

    async def SetUserRole(  # noqa: N802
        self, request: admin_pb2.SetUserRoleRequest, context: ServicerContext
    ) -> admin_pb2.SetUserRoleResponse:
        actor = current_principal()
        role = _role(request.role, default=None)
        record = await db_write(
            self.app.db,
            administration.set_role,
            user=request.user,
            role=role,
            actor_id=actor.user_id,
            peer=current_peer(),
        )
        return admin_pb2.SetUserRoleResponse(user=convert.user(record))

    async def ListUserApiKeys(  # noqa: N802
        self, request: admin_pb2.ListUserApiKeysRequest, context: ServicerContext
    ) -> admin_pb2.ListUserApiKeysResponse:
        records = await db_read(self.app.db, _all_keys_of, request.user)
        return admin_pb2.ListUserApiKeysResponse(api_keys=[convert.api_key(r) for r in records])

    async def RevokeUserApiKey(  # noqa: N802
        self, request: admin_pb2.RevokeUserApiKeyRequest, context: ServicerContext
    ) -> admin_pb2.RevokeUserApiKeyResponse:
        actor = current_principal()
        record = await db_write(
            self.app.db,
            api_keys.revoke_api_key,
            key_id=request.api_key_id,
            user_id=None,
            actor_id=actor.user_id,
            peer=current_peer(),
        )
        return admin_pb2.RevokeUserApiKeyResponse(api_key=convert.api_key(record))

    async def ListAuditEvents(  # noqa: N802
        self, request: admin_pb2.ListAuditEventsRequest, context: ServicerContext
    ) -> admin_pb2.ListAuditEventsResponse:
        limit, offset = page_bounds(request.page_size, request.page_token)
        records = await db_read(
            self.app.db, audit.list_events, user_id=request.user_id, limit=limit, offset=offset
        )
        return admin_pb2.ListAuditEventsResponse(
            events=[_audit_event(r) for r in records],
            next_page_token=next_token(offset, limit, len(records)),
        )

    async def GetServerState(  # noqa: N802
        self, request: admin_pb2.GetServerStateRequest, context: ServicerContext
    ) -> admin_pb2.GetServerStateResponse:
        state = await asyncio.to_thread(
            server_state.snapshot, self.app.db, self.app.engines.state()
        )
        return admin_pb2.GetServerStateResponse(
            version=state.version,
            queued_jobs=state.queued_jobs,
            running_jobs=state.running_jobs,
            stored_bytes=state.stored_bytes,
            engines=[
                admin_pb2.EngineState(
                    address=e["address"], healthy=e["healthy"], running_tasks=e["running"]
                )
                for e in state.engines
            ],
        )


def _all_keys_of(conn: sa.Connection, user: str) -> list[api_keys.ApiKeyRecord]:
    owner = users.find_user(conn, user)
    return api_keys.list_api_keys(
        conn, user_id=owner.id, include_inactive=True, limit=ALL_KEYS_LIMIT, offset=0
    )
