"""Conversions between domain records and protobuf messages (the edge only)."""

from __future__ import annotations

from google.protobuf import timestamp_pb2
from veil.v1 import auth_pb2, common_pb2

from veil_service.accounts.api_keys import ApiKeyRecord
from veil_service.accounts.users import UserRecord
from veil_service.runs.tables import StoredTable

ROLE_TO_PROTO = {"original": common_pb2.TABLE_ROLE_ORIGINAL, "avatar": common_pb2.TABLE_ROLE_AVATAR}
ROLE_FROM_PROTO = {v: k for k, v in ROLE_TO_PROTO.items()}
USER_ROLE_TO_PROTO = {"user": auth_pb2.USER_ROLE_USER, "admin": auth_pb2.USER_ROLE_ADMIN}
USER_ROLE_FROM_PROTO = {v: k for k, v in USER_ROLE_TO_PROTO.items()}


def timestamp(epoch_seconds: float | None) -> timestamp_pb2.Timestamp | None:
    """A Timestamp from epoch seconds (None stays None)."""
    if epoch_seconds is None:
        return None
    ts = timestamp_pb2.Timestamp()
    ts.FromNanoseconds(int(epoch_seconds * 1e9))
    return ts


def table_role(value: common_pb2.TableRole.ValueType, *, default: str = "original") -> str:
    """Domain role of a proto TableRole (unspecified -> default)."""
    if value == common_pb2.TABLE_ROLE_UNSPECIFIED:
        return default
    return ROLE_FROM_PROTO.get(value, default)


def table_info(table: StoredTable) -> common_pb2.TableInfo:
    """TableInfo of a stored table."""
    return common_pb2.TableInfo(
        name=table.name,
        role=ROLE_TO_PROTO[table.role],
        num_rows=table.num_rows,
        num_columns=len(table.columns),
        size_bytes=table.size_bytes,
        sha256=table.sha256,
        columns=[
            common_pb2.ColumnInfo(name=c.name, arrow_type=c.arrow_type, nullable=c.nullable)
            for c in table.columns
        ],
        created_at=timestamp(table.created_at),
    )


def user(record: UserRecord) -> auth_pb2.User:
    """User message of a user record."""
    return auth_pb2.User(
        id=record.id,
        username=record.username,
        email=record.email,
        role=USER_ROLE_TO_PROTO[record.role],
        active=record.active,
        created_at=timestamp(record.created_at),
    )


def api_key(record: ApiKeyRecord) -> auth_pb2.ApiKey:
    """ApiKey message of a key record."""
    return auth_pb2.ApiKey(
        id=record.id,
        name=record.name,
        prefix=record.prefix,
        created_at=timestamp(record.created_at),
        expires_at=timestamp(record.expires_at),
        revoked_at=timestamp(record.revoked_at),
        last_used_at=timestamp(record.last_used_at),
        user_id=record.user_id,
    )
