"""Tables of runs: streamed upload into the blob store, registration, lookup, download.

An upload becomes visible only when it is complete and valid: bytes go to a temp file (hashed on
the way), the file is read back as an Arrow stream to prove it whole, renamed into the blob store,
and registered in one database transaction. Any failure before that leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import sqlalchemy as sa

from veil_service.arrow_tables import ColumnDescription, TableShape, validate_ipc_stream
from veil_service.errors import (
    AlreadyExistsError,
    CancelledError,
    InvalidArgumentError,
    NotFoundError,
)
from veil_service.storage import schema
from veil_service.storage.blobs import BlobStore, StoredBlob

TABLE_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")
ROLES = ("original", "avatar")


@dataclass(frozen=True)
class StoredTable:
    """A registered table."""

    id: str
    run_id: str
    name: str
    role: str
    num_rows: int
    columns: tuple[ColumnDescription, ...]
    size_bytes: int
    sha256: str
    relative_path: str
    created_at: float


def validate_table_name(name: str) -> None:
    """Check a table name, naming the fix."""
    if not TABLE_NAME_RE.match(name or ""):
        raise InvalidArgumentError(
            "table_name must be 1-128 characters of letters, digits, '_', '-' or '.'.",
            field="table_name")


def validate_role(role: str) -> None:
    """Check a table role."""
    if role not in ROLES:
        raise InvalidArgumentError(f"role must be one of {list(ROLES)}.", field="role")


async def receive_stream(
    blobs: BlobStore,
    chunks: AsyncIterator[object],
    *,
    expected_sha256: str = "",
) -> tuple[StoredBlob, TableShape]:
    """Write an incoming Arrow IPC stream to the blob store and validate it.

    The blob is durable on return, but not registered: the caller registers it (or deletes it).

    Raises:
        InvalidArgumentError: a second header, a corrupt or truncated stream, a sha mismatch.
        CancelledError: the client went away.
    """
    with blobs.writer(".arrows") as writer:
        try:
            async for chunk in chunks:
                if not isinstance(chunk, memoryview):
                    raise InvalidArgumentError(
                        "only the first message may be a header; the rest must be arrow_ipc "
                        "bytes.", field="header", reason="UNEXPECTED_HEADER")
                writer.write(chunk)
        except asyncio.CancelledError:
            raise CancelledError("the upload was cancelled before it completed; nothing was "
                                 "stored.") from None
        writer.close_temp()
        if writer.size_bytes == 0:
            raise InvalidArgumentError("no table bytes were sent after the header; send the "
                                       "Arrow IPC stream.", field="arrow_ipc",
                                       reason="EMPTY_STREAM")
        if expected_sha256 and expected_sha256.lower() != writer.sha256:
            raise InvalidArgumentError("the received bytes do not match expected_sha256; the "
                                       "upload was corrupted in transit. Retry.",
                                       field="expected_sha256", reason="CHECKSUM_MISMATCH")
        shape = await asyncio.to_thread(validate_ipc_stream, writer.temp_path)
        return writer.commit(), shape


def register_table(conn: sa.Connection, blobs: BlobStore, *, run_id: str, name: str, role: str,
                   stored: StoredBlob, shape: TableShape, replace: bool) -> StoredTable:
    """Register a received blob as a run's table in the caller's transaction.

    Raises:
        AlreadyExistsError: a table of that name and role exists and ``replace`` is false.
    """
    rt = schema.run_tables
    existing = conn.execute(sa.select(rt.c.id, rt.c.blob_id).where(
        rt.c.run_id == run_id, rt.c.name == name, rt.c.role == role)).first()
    if existing is not None:
        if not replace:
            raise AlreadyExistsError(
                f"run already has a {role} table named {name!r}; delete it or upload with "
                "replace=True.", field="table_name")
        conn.execute(sa.delete(rt).where(rt.c.id == existing[0]))
        release_blob(conn, blobs, existing[1])
    now = time.time()
    conn.execute(sa.insert(schema.blobs).values(
        id=stored.blob_id, relative_path=stored.relative_path, size_bytes=stored.size_bytes,
        sha256=stored.sha256, created_at=now))
    table_id = str(uuid.uuid4())
    conn.execute(sa.insert(rt).values(
        id=table_id, run_id=run_id, name=name, role=role, blob_id=stored.blob_id,
        num_rows=shape.num_rows, num_columns=shape.num_columns,
        schema_json=shape.schema_json(), created_at=now))
    return StoredTable(table_id, run_id, name, role, shape.num_rows, shape.columns,
                       stored.size_bytes, stored.sha256, stored.relative_path, now)


def release_blob(conn: sa.Connection, blobs: BlobStore, blob_id: str) -> None:
    """Delete a blob once no table, result or dataset references it."""
    referenced = any(
        conn.execute(sa.select(sa.literal(1)).select_from(t).where(t.c.blob_id == blob_id)
                     .limit(1)).first() is not None
        for t in (schema.run_tables, schema.results, schema.datasets)
    )
    if referenced:
        return
    row = conn.execute(sa.select(schema.blobs.c.relative_path)
                       .where(schema.blobs.c.id == blob_id)).first()
    if row is not None:
        conn.execute(sa.delete(schema.blobs).where(schema.blobs.c.id == blob_id))
        blobs.delete(row[0])


def _select_tables() -> sa.Select[tuple[object, ...]]:
    rt, b = schema.run_tables, schema.blobs
    return sa.select(rt, b.c.size_bytes, b.c.sha256, b.c.relative_path).join(
        b, b.c.id == rt.c.blob_id)


def _to_stored(row: sa.RowMapping) -> StoredTable:
    return StoredTable(row["id"], row["run_id"], row["name"], row["role"], row["num_rows"],
                       TableShape.columns_from_json(row["schema_json"]), row["size_bytes"],
                       row["sha256"], row["relative_path"], row["created_at"])


def list_tables(conn: sa.Connection, run_id: str) -> list[StoredTable]:
    """Tables of a run, by name then role."""
    rows = conn.execute(_select_tables().where(schema.run_tables.c.run_id == run_id)
                        .order_by(schema.run_tables.c.name, schema.run_tables.c.role)).mappings()
    return [_to_stored(r) for r in rows]


def get_table(conn: sa.Connection, run_id: str, name: str, role: str) -> StoredTable:
    """One table of a run.

    Raises:
        NotFoundError: no such table.
    """
    rt = schema.run_tables
    row = conn.execute(_select_tables().where(
        rt.c.run_id == run_id, rt.c.name == name, rt.c.role == role)).mappings().first()
    if row is None:
        raise NotFoundError(f"the run has no {role} table named {name!r}; upload it first "
                            "(add_table).", field="table_name")
    return _to_stored(row)


def delete_table(conn: sa.Connection, blobs: BlobStore, run_id: str, name: str,
                 role: str | None) -> int:
    """Delete a table (every role when ``role`` is None); return how many rows went."""
    rt = schema.run_tables
    query = sa.select(rt.c.id, rt.c.blob_id).where(rt.c.run_id == run_id, rt.c.name == name)
    if role:
        query = query.where(rt.c.role == role)
    rows = conn.execute(query).all()
    if not rows:
        raise NotFoundError(f"the run has no table named {name!r}.", field="table_name")
    for table_id, blob_id in rows:
        conn.execute(sa.delete(rt).where(rt.c.id == table_id))
        release_blob(conn, blobs, blob_id)
    return len(rows)
