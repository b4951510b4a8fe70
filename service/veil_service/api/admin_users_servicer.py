"""AdminService RPCs about users, their keys, and the audit trail."""

from __future__ import annotations

from veil_service.context import AppContext


class AdminUsersServicer:
    """CreateUser, ListUsers, DisableUser, SetUserRole, ListUserApiKeys, RevokeUserApiKey,
    ListAuditEvents, GetServerState (see admin.proto)."""

    app: AppContext
