"""AdminService, one typed method per RPC (admin role; ``DPAdminClient`` builds on it)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from veil.v1 import admin_pb2, auth_pb2, dpquery_pb2
from veil_wire.ipc import StreamStats

from veil_client.api.auth import ROLES, ApiKey, User
from veil_client.api.common import Page, TableInfo, timestamp
from veil_client.api.dpquery import PrivacyCost
from veil_client.errors import InvalidArgument
from veil_client.tables import TableSource, open_source, upload_messages
from veil_client.transport import LONG_TIMEOUT_S, Transport, table_upload, unary

_S = "veil.v1.AdminService"

CREATE_USER = unary(_S, "CreateUser", admin_pb2.CreateUserRequest, admin_pb2.CreateUserResponse)
LIST_USERS = unary(
    _S, "ListUsers", admin_pb2.ListUsersRequest, admin_pb2.ListUsersResponse, idempotent=True
)
DISABLE_USER = unary(_S, "DisableUser", admin_pb2.DisableUserRequest, admin_pb2.DisableUserResponse)
ENABLE_USER = unary(
    _S, "EnableUser", admin_pb2.EnableUserRequest, admin_pb2.EnableUserResponse, idempotent=True
)
SET_USER_ROLE = unary(
    _S,
    "SetUserRole",
    admin_pb2.SetUserRoleRequest,
    admin_pb2.SetUserRoleResponse,
    idempotent=True,
)
LIST_USER_API_KEYS = unary(
    _S,
    "ListUserApiKeys",
    admin_pb2.ListUserApiKeysRequest,
    admin_pb2.ListUserApiKeysResponse,
    idempotent=True,
)
REVOKE_USER_API_KEY = unary(
    _S, "RevokeUserApiKey", admin_pb2.RevokeUserApiKeyRequest, admin_pb2.RevokeUserApiKeyResponse
)
LIST_AUDIT_EVENTS = unary(
    _S,
    "ListAuditEvents",
    admin_pb2.ListAuditEventsRequest,
    admin_pb2.ListAuditEventsResponse,
    idempotent=True,
)
REGISTER_DATASET = table_upload(
    _S, "RegisterDataset", admin_pb2.RegisterDatasetRequest, admin_pb2.RegisterDatasetResponse
)
REGISTER_DATASET_FROM_PATH = unary(
    _S,
    "RegisterDatasetFromPath",
    admin_pb2.RegisterDatasetFromPathRequest,
    admin_pb2.RegisterDatasetFromPathResponse,
    timeout=LONG_TIMEOUT_S,
)
LIST_ALL_DATASETS = unary(
    _S,
    "ListAllDatasets",
    admin_pb2.ListAllDatasetsRequest,
    admin_pb2.ListAllDatasetsResponse,
    idempotent=True,
)
UPDATE_DATASET_METADATA = unary(
    _S,
    "UpdateDatasetMetadata",
    admin_pb2.UpdateDatasetMetadataRequest,
    admin_pb2.UpdateDatasetMetadataResponse,
    idempotent=True,
)
DELETE_DATASET = unary(
    _S, "DeleteDataset", admin_pb2.DeleteDatasetRequest, admin_pb2.DeleteDatasetResponse
)
GRANT_ACCESS = unary(
    _S, "GrantAccess", admin_pb2.GrantAccessRequest, admin_pb2.GrantAccessResponse, idempotent=True
)
LIST_GRANTS = unary(
    _S, "ListGrants", admin_pb2.ListGrantsRequest, admin_pb2.ListGrantsResponse, idempotent=True
)
REVOKE_ACCESS = unary(
    _S, "RevokeAccess", admin_pb2.RevokeAccessRequest, admin_pb2.RevokeAccessResponse
)
REGISTER_DATASET_FROM_URL = unary(
    _S,
    "RegisterDatasetFromUrl",
    admin_pb2.RegisterDatasetFromUrlRequest,
    admin_pb2.RegisterDatasetFromUrlResponse,
    timeout=LONG_TIMEOUT_S,
)
SET_MAY_QUERY = unary(
    _S, "SetMayQuery", admin_pb2.SetMayQueryRequest, admin_pb2.SetMayQueryResponse, idempotent=True
)
IMPORT_LOMAS_USERS = unary(
    _S, "ImportLomasUsers", admin_pb2.ImportLomasUsersRequest, admin_pb2.ImportLomasUsersResponse
)
GET_SERVER_STATE = unary(
    _S,
    "GetServerState",
    admin_pb2.GetServerStateRequest,
    admin_pb2.GetServerStateResponse,
    idempotent=True,
)


@dataclass(frozen=True)
class AuditEvent:
    """One entry of the audit log (``details_json`` never holds a secret)."""

    id: str
    created_at: dt.datetime | None
    event: str
    user_id: str
    actor_id: str
    peer: str
    details_json: str


@dataclass(frozen=True)
class Dataset:
    """A DP dataset: its stored table and its Lomas metadata."""

    name: str
    table: TableInfo
    metadata_json: str
    created_at: dt.datetime | None

    @staticmethod
    def from_proto(message: admin_pb2.Dataset) -> Dataset:
        """From the Dataset message."""
        return Dataset(
            name=message.name,
            table=TableInfo.from_proto(message.table),
            metadata_json=message.metadata_json,
            created_at=timestamp(message.created_at, message.HasField("created_at")),
        )


@dataclass(frozen=True)
class Grant:
    """A user's access to a dataset: the (ε, δ) granted and spent."""

    username: str
    dataset: str
    initial: PrivacyCost
    spent: PrivacyCost
    pending: bool = False

    @staticmethod
    def from_proto(message: admin_pb2.Grant) -> Grant:
        """From the Grant message."""
        return Grant(
            message.username,
            message.dataset,
            PrivacyCost.from_proto(message.initial),
            PrivacyCost.from_proto(message.spent),
            message.pending,
        )


@dataclass(frozen=True)
class EngineState:
    """One engine the server dispatches to."""

    address: str
    healthy: bool
    running_tasks: int


@dataclass(frozen=True)
class ServerState:
    """The server's version, engines, job queue and stored bytes."""

    version: str
    engines: tuple[EngineState, ...]
    queued_jobs: int
    running_jobs: int
    stored_bytes: int


def _role(role: str) -> auth_pb2.UserRole.ValueType:
    if role not in ROLES:
        raise InvalidArgument(f"role must be one of {sorted(ROLES)}; got {role!r}.", field="role")
    return ROLES[role]


class AdminApi:
    """AdminService: every RPC, with typed arguments and dataclass results."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    # -- users and keys -----------------------------------------------------------------------

    def create_user(
        self, username: str, email: str, role: str = "user", password: str = ""
    ) -> User:
        """Create a user (``role``: ``user`` or ``admin``; no password: API keys only)."""
        response = self.transport.call(
            CREATE_USER,
            admin_pb2.CreateUserRequest(
                username=username, email=email, role=_role(role), password=password
            ),
        )
        return User.from_proto(response.user)

    def list_users(self, *, page_size: int = 0, page_token: str = "") -> Page[User]:
        """Users, newest first."""
        response = self.transport.call(
            LIST_USERS, admin_pb2.ListUsersRequest(page_size=page_size, page_token=page_token)
        )
        return Page([User.from_proto(u) for u in response.users], response.next_page_token)

    def disable_user(self, user: str) -> User:
        """Disable a user (id or username) and revoke their keys and sessions at once."""
        return User.from_proto(
            self.transport.call(DISABLE_USER, admin_pb2.DisableUserRequest(user=user)).user
        )

    def enable_user(self, user: str) -> User:
        """Enable a disabled user again; the keys and sessions revoked with it stay revoked."""
        return User.from_proto(
            self.transport.call(ENABLE_USER, admin_pb2.EnableUserRequest(user=user)).user
        )

    def set_user_role(self, user: str, role: str) -> User:
        """Change a user's role (``user`` or ``admin``)."""
        response = self.transport.call(
            SET_USER_ROLE, admin_pb2.SetUserRoleRequest(user=user, role=_role(role))
        )
        return User.from_proto(response.user)

    def list_user_api_keys(self, user: str) -> list[ApiKey]:
        """A user's API keys (never the keys themselves)."""
        response = self.transport.call(
            LIST_USER_API_KEYS, admin_pb2.ListUserApiKeysRequest(user=user)
        )
        return [ApiKey.from_proto(k) for k in response.api_keys]

    def revoke_user_api_key(self, api_key_id: str) -> ApiKey:
        """Revoke any user's API key."""
        response = self.transport.call(
            REVOKE_USER_API_KEY, admin_pb2.RevokeUserApiKeyRequest(api_key_id=api_key_id)
        )
        return ApiKey.from_proto(response.api_key)

    def list_audit_events(
        self, *, user_id: str = "", page_size: int = 0, page_token: str = ""
    ) -> Page[AuditEvent]:
        """Audit events, newest first (optionally about one user)."""
        response = self.transport.call(
            LIST_AUDIT_EVENTS,
            admin_pb2.ListAuditEventsRequest(
                user_id=user_id, page_size=page_size, page_token=page_token
            ),
        )
        events = [
            AuditEvent(
                id=e.id,
                created_at=timestamp(e.created_at, e.HasField("created_at")),
                event=e.event,
                user_id=e.user_id,
                actor_id=e.actor_id,
                peer=e.peer,
                details_json=e.details_json,
            )
            for e in response.events
        ]
        return Page(events, response.next_page_token)

    # -- DP datasets and grants ---------------------------------------------------------------

    def register_dataset(
        self, name: str, data: TableSource, metadata_yaml: str, *, encoding: str | None = None
    ) -> Dataset:
        """Upload a table (streamed) as a DP dataset with its Lomas metadata.

        Args:
            encoding: A CSV file's text encoding (``"latin-1"``...); None for UTF-8.
        """
        header = admin_pb2.RegisterDatasetRequest(
            header=admin_pb2.RegisterDatasetHeader(name=name, metadata_yaml=metadata_yaml)
        )
        encoded = open_source(data, encoding=encoding)
        response = self.transport.upload(
            REGISTER_DATASET,
            upload_messages(header, encoded, StreamStats(), f"upload {name}"),
        )
        return Dataset.from_proto(response.dataset)

    def register_dataset_from_path(self, name: str, path: str, metadata_yaml: str) -> Dataset:
        """Register a CSV or Parquet file the server can read at ``path``."""
        response = self.transport.call(
            REGISTER_DATASET_FROM_PATH,
            admin_pb2.RegisterDatasetFromPathRequest(
                name=name, path=path, metadata_yaml=metadata_yaml
            ),
        )
        return Dataset.from_proto(response.dataset)

    def register_dataset_from_url(
        self,
        name: str,
        url: str,
        metadata_yaml: str,
        *,
        sha256: str = "",
        max_bytes: int = 0,
        fmt: str = "",
    ) -> tuple[Dataset, str, int]:
        """Register a CSV or Parquet file the server downloads from ``url``; returns the dataset,
        the sha256 and the size of what was downloaded."""
        response = self.transport.call(
            REGISTER_DATASET_FROM_URL,
            admin_pb2.RegisterDatasetFromUrlRequest(
                name=name,
                url=url,
                metadata_yaml=metadata_yaml,
                sha256=sha256,
                max_bytes=max_bytes,
                format=fmt,
            ),
        )
        return Dataset.from_proto(response.dataset), response.source_sha256, response.source_bytes

    def set_may_query(self, user: str, may_query: bool) -> bool:
        """Turn ``user``'s may_query switch on or off; returns it as it is now."""
        response = self.transport.call(
            SET_MAY_QUERY, admin_pb2.SetMayQueryRequest(user=user, may_query=may_query)
        )
        return response.may_query

    def import_lomas_users(
        self, users_yaml: str, *, email_domain: str = ""
    ) -> tuple[list[str], list[Grant]]:
        """Import a Lomas user collection; returns the users created and the grants set."""
        response = self.transport.call(
            IMPORT_LOMAS_USERS,
            admin_pb2.ImportLomasUsersRequest(users_yaml=users_yaml, email_domain=email_domain),
        )
        return list(response.created_users), [Grant.from_proto(g) for g in response.grants]

    def list_all_datasets(self) -> list[Dataset]:
        """Every DP dataset."""
        response = self.transport.call(LIST_ALL_DATASETS, admin_pb2.ListAllDatasetsRequest())
        return [Dataset.from_proto(d) for d in response.datasets]

    def update_dataset_metadata(self, name: str, metadata_yaml: str) -> Dataset:
        """Replace a dataset's metadata (same columns, order and types as the stored table)."""
        response = self.transport.call(
            UPDATE_DATASET_METADATA,
            admin_pb2.UpdateDatasetMetadataRequest(name=name, metadata_yaml=metadata_yaml),
        )
        return Dataset.from_proto(response.dataset)

    def delete_dataset(self, name: str) -> None:
        """Delete a dataset with its grants and query archive."""
        self.transport.call(DELETE_DATASET, admin_pb2.DeleteDatasetRequest(name=name))

    def grant_access(
        self,
        user: str,
        dataset: str,
        epsilon: float,
        delta: float,
        *,
        allow_unregistered: bool = False,
    ) -> Grant:
        """Give ``user`` access to ``dataset`` with an initial budget (ε, δ), or change it
        (``allow_unregistered``: a dataset not registered yet gets a pending grant)."""
        response = self.transport.call(
            GRANT_ACCESS,
            admin_pb2.GrantAccessRequest(
                user=user,
                dataset=dataset,
                initial=dpquery_pb2.PrivacyCost(epsilon=epsilon, delta=delta),
                allow_unregistered=allow_unregistered,
            ),
        )
        return Grant.from_proto(response.grant)

    def list_grants(self, *, user: str = "", dataset: str = "") -> list[Grant]:
        """Grants, optionally of one user or one dataset."""
        response = self.transport.call(
            LIST_GRANTS, admin_pb2.ListGrantsRequest(user=user, dataset=dataset)
        )
        return [Grant.from_proto(g) for g in response.grants]

    def revoke_access(self, user: str, dataset: str) -> Grant:
        """Take ``user``'s grant on ``dataset`` away; returns it as it was (with what was spent)."""
        response = self.transport.call(
            REVOKE_ACCESS, admin_pb2.RevokeAccessRequest(user=user, dataset=dataset)
        )
        return Grant.from_proto(response.grant)

    def get_server_state(self) -> ServerState:
        """The server's version, engines and queue."""
        response = self.transport.call(GET_SERVER_STATE, admin_pb2.GetServerStateRequest())
        return ServerState(
            version=response.version,
            engines=tuple(
                EngineState(e.address, e.healthy, e.running_tasks) for e in response.engines
            ),
            queued_jobs=response.queued_jobs,
            running_jobs=response.running_jobs,
            stored_bytes=response.stored_bytes,
        )
