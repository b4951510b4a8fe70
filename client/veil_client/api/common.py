"""Dataclasses for the messages of ``veil/v1/common.proto``, and paging."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from google.protobuf import timestamp_pb2
from veil.v1 import common_pb2

T = TypeVar("T")

ROLE_TO_PROTO = {"original": common_pb2.TABLE_ROLE_ORIGINAL, "avatar": common_pb2.TABLE_ROLE_AVATAR}
ROLE_FROM_PROTO = {value: name for name, value in ROLE_TO_PROTO.items()}

PAGE_SIZE = 500
"""Items asked for per page when a facade collects a whole listing."""


def timestamp(message: timestamp_pb2.Timestamp, present: bool = True) -> dt.datetime | None:
    """A Timestamp as an aware UTC datetime, or None when the field is unset."""
    if not present or (message.seconds == 0 and message.nanos == 0):
        return None
    return message.ToDatetime(tzinfo=dt.UTC)


@dataclass(frozen=True)
class ColumnInfo:
    """A stored column: its name and Arrow type."""

    name: str
    arrow_type: str
    nullable: bool

    @staticmethod
    def from_proto(message: common_pb2.ColumnInfo) -> ColumnInfo:
        """From the ColumnInfo message."""
        return ColumnInfo(message.name, message.arrow_type, message.nullable)


@dataclass(frozen=True)
class TableInfo:
    """A table as the server stored it.

    Attributes:
        role: ``original`` or ``avatar``.
        size_bytes: Bytes of its Arrow IPC stream.
        sha256: Digest of that stream, computed by the server as it received it.
    """

    name: str
    role: str
    num_rows: int
    num_columns: int
    size_bytes: int
    sha256: str
    columns: tuple[ColumnInfo, ...]
    created_at: dt.datetime | None

    @staticmethod
    def from_proto(message: common_pb2.TableInfo) -> TableInfo:
        """From the TableInfo message."""
        return TableInfo(
            name=message.name,
            role=ROLE_FROM_PROTO.get(message.role, ""),
            num_rows=message.num_rows,
            num_columns=message.num_columns,
            size_bytes=message.size_bytes,
            sha256=message.sha256,
            columns=tuple(ColumnInfo.from_proto(c) for c in message.columns),
            created_at=timestamp(message.created_at, message.HasField("created_at")),
        )


@dataclass(frozen=True)
class ColumnStatistics:
    """Per-column statistics computed by the engine (numbers only for numeric columns)."""

    name: str
    arrow_type: str
    null_count: int
    distinct_count: int
    min: float | None
    max: float | None
    mean: float | None
    std: float | None

    @staticmethod
    def from_proto(message: common_pb2.ColumnStatistics) -> ColumnStatistics:
        """From the ColumnStatistics message."""
        return ColumnStatistics(
            name=message.name,
            arrow_type=message.arrow_type,
            null_count=message.null_count,
            distinct_count=message.distinct_count,
            min=message.min if message.HasField("min") else None,
            max=message.max if message.HasField("max") else None,
            mean=message.mean if message.HasField("mean") else None,
            std=message.std if message.HasField("std") else None,
        )


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing; ``next_page_token`` is empty on the last one."""

    items: list[T]
    next_page_token: str


def collect(fetch: Callable[[str], Page[T]], limit: int | None = None) -> list[T]:
    """Every item of a paged listing (or its first ``limit`` items), following page tokens."""
    out: list[T] = []
    token = ""
    while limit is None or len(out) < limit:
        page = fetch(token)
        out.extend(page.items)
        token = page.next_page_token
        if not token:
            break
    return out if limit is None else out[:limit]
