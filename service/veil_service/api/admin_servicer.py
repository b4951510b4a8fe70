"""AdminService: the users half and the datasets half, served as one service."""

from __future__ import annotations

from veil.v1 import admin_pb2_grpc

from veil_service.api.admin_datasets_servicer import AdminDatasetsServicer
from veil_service.api.admin_users_servicer import AdminUsersServicer
from veil_service.context import AppContext


class AdminServicer(AdminUsersServicer, AdminDatasetsServicer, admin_pb2_grpc.AdminServiceServicer):
    """See admin.proto; every RPC needs the admin role (enforced by the interceptor)."""

    def __init__(self, app: AppContext) -> None:
        self.app = app
