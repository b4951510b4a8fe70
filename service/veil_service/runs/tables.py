"""Tables of runs: streamed upload into the blob store, registration, lookup, download.

An upload becomes visible only when it is complete and valid: bytes go to a temp file (hashed and
decoded as an Arrow stream on the way, which proves it whole), are fsynced, renamed into the blob
store, and registered in one database transaction. Any failure before that leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pyarrow as pa
import sqlalchemy as sa
from veil_wire.ipc import ChunkReader
from veil_wire.malloc_tuning import release_free_memory

from veil_service.arrow_tables import ColumnDescription, TableShape, validate_ipc_source
from veil_service.errors import (
    AlreadyExistsError,
    CancelledError,
    InvalidArgumentError,
    NotFoundError,
    Reason,
)
from veil_service.storage import schema
from veil_service.storage.blobs import BlobStore, BlobWriter, ChunkPipe, StoredBlob

MAX_MESSAGE_BODY_BYTES = 64 << 20
"""Largest Arrow IPC message (record batch body) an upload may hold; bounds server memory."""

TABLE_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")


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
            field="table_name",
        )


async def receive_stream(
    blobs: BlobStore,
    chunks: AsyncIterator[object],
    *,
    expected_sha256: str = "",
    finite: bool = False,
) -> tuple[StoredBlob, TableShape]:
    """Write an incoming Arrow IPC stream to the blob store and validate it.

    The event loop only receives messages and hands them to one worker thread through a
    :class:`ChunkPipe`; the thread writes and decodes the stream as it arrives, while a helper
    thread of the :class:`BlobWriter` computes the sha256 (file writes, sha256 and Arrow decoding
    release the GIL, so the three overlap), then fsyncs. Validating on the way, rather than
    reading the file back afterwards, saves a whole pass over the table and rejects a corrupt
    stream as soon as its first bad message arrives; chunks cut between IPC messages (as Veil's
    client sends them) are decoded in place, without a copy. The pipe and the hasher hold a few
    chunks each and the decoder one record batch, so server memory does not grow with the table
    (a batch larger than :data:`MAX_MESSAGE_BODY_BYTES` is refused).

    The blob is durable on return, but not registered: the caller registers it (or deletes it).

    Args:
        finite: Refuse a float column holding ``inf`` or ``-inf`` (a run's tables, which are
            avatarized; see :func:`~veil_service.arrow_tables.validate_ipc_source`).

    Raises:
        InvalidArgumentError: a second header, a corrupt or truncated stream, a sha mismatch,
            with ``finite`` an infinite value.
        CancelledError: the client went away.
    """
    with blobs.writer(".arrows", hash_in_background=True) as writer:
        pipe = ChunkPipe()
        storing = _in_thread(_store_and_validate, writer, pipe, finite)
        try:
            async for chunk in chunks:
                if not isinstance(chunk, memoryview):
                    raise InvalidArgumentError(
                        "only the first message may be a header; the rest must be arrow_ipc bytes.",
                        field="header",
                        reason=Reason.UNEXPECTED_HEADER,
                    )
                if not await pipe.put(chunk):
                    break  # the thread stopped early: awaiting it below raises its error
            pipe.finish()
        except asyncio.CancelledError:
            await _abandon(pipe, storing)
            raise CancelledError(
                "the upload was cancelled before it completed; nothing was stored."
            ) from None
        except BaseException:
            await _abandon(pipe, storing)
            raise
        try:
            shape = await storing
        except InvalidArgumentError:
            if writer.size_bytes == 0:
                raise InvalidArgumentError(
                    "no table bytes were sent after the header; send the Arrow IPC stream.",
                    field="arrow_ipc",
                    reason=Reason.EMPTY_STREAM,
                ) from None
            raise
        if expected_sha256 and expected_sha256.lower() != writer.sha256:
            raise InvalidArgumentError(
                "the received bytes do not match expected_sha256; the "
                "upload was corrupted in transit. Retry.",
                field="expected_sha256",
                reason=Reason.CHECKSUM_MISMATCH,
            )
        return writer.commit(), shape


def _store_and_validate(writer: BlobWriter, pipe: ChunkPipe, finite: bool) -> TableShape:
    """Worker thread of :func:`receive_stream`: store every chunk, decode the stream, fsync."""
    try:

        def stored() -> Iterator[bytes | memoryview]:
            while (chunk := pipe.get()) is not None:
                writer.write(chunk)
                yield chunk

        chunks = stored()
        shape = validate_ipc_source(_BoundedReader(chunks), finite=finite)
        for _ in chunks:  # bytes after the end-of-stream marker are stored (and hashed) too
            pass
        writer.close_temp()
        return shape
    finally:
        pipe.consumer_stopped()
        # Hand the decoder's freed batch buffers and the heap's free chunks back to the OS now
        # rather than keeping them between uploads, so an idle server's RSS stays at baseline.
        pa.default_memory_pool().release_unused()
        release_free_memory()


class _BoundedReader(ChunkReader):
    """A :class:`ChunkReader` that refuses reads larger than :data:`MAX_MESSAGE_BODY_BYTES`.

    The Arrow reader asks for each message body in one read, which the server must hold in
    memory to decode; bounding it bounds server memory whatever a client sends.
    """

    def __init__(self, chunks: Iterator[bytes | memoryview]) -> None:
        super().__init__(chunks, digest=False)

    def read(self, size: int = -1) -> Any:
        if size is None or size < 0 or size > MAX_MESSAGE_BODY_BYTES:
            raise InvalidArgumentError(
                f"the uploaded bytes are not a usable Arrow IPC stream: a message claims {size} "
                f"bytes, over the {MAX_MESSAGE_BODY_BYTES >> 20} MiB limit. Send the Arrow IPC "
                "*stream* format (pyarrow.ipc.new_stream) in record batches of at most "
                f"{MAX_MESSAGE_BODY_BYTES >> 20} MiB (e.g. 65,536 rows).",
                field="arrow_ipc",
                reason=Reason.CORRUPT_STREAM,
            )
        return super().read(size)


T = TypeVar("T")


def _in_thread(function: Callable[..., T], *args: object) -> asyncio.Future[T]:
    """Run ``function`` in a dedicated thread; the returned future resolves on this loop.

    A dedicated thread rather than the loop's default executor: an upload holds its thread for
    as long as the client sends, and must not starve short ``to_thread`` calls.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        try:
            result = function(*args)
        except BaseException as error:  # handed to the awaiting coroutine, never hidden
            loop.call_soon_threadsafe(settle, None, error)
        else:
            loop.call_soon_threadsafe(settle, result, None)

    threading.Thread(target=run, name="veil-upload", daemon=True).start()
    return future


async def _abandon(pipe: ChunkPipe, storing: asyncio.Future[TableShape]) -> None:
    """Stop the worker thread and wait until it no longer touches the temp file."""
    pipe.abort()
    with contextlib.suppress(BaseException):
        await asyncio.shield(storing)


def register_table(
    conn: sa.Connection,
    released: list[str],
    *,
    run_id: str,
    name: str,
    role: str,
    stored: StoredBlob,
    shape: TableShape,
    replace: bool,
) -> StoredTable:
    """Register a received blob as a run's table in the caller's transaction.

    The file of a replaced table's blob is added to ``released`` (see
    :meth:`BlobStore.releasing`), for deletion once the transaction has committed.

    Raises:
        AlreadyExistsError: a table of that name and role exists and ``replace`` is false.
    """
    rt = schema.run_tables
    existing = conn.execute(
        sa.select(rt.c.id, rt.c.blob_id).where(
            rt.c.run_id == run_id, rt.c.name == name, rt.c.role == role
        )
    ).first()
    if existing is not None:
        if not replace:
            raise AlreadyExistsError(
                f"run already has a {role} table named {name!r}; delete it or upload with "
                "replace=True.",
                field="table_name",
            )
        conn.execute(sa.delete(rt).where(rt.c.id == existing[0]))
        release_blob(conn, released, existing[1])
    now = time.time()
    conn.execute(
        sa.insert(schema.blobs).values(
            id=stored.blob_id,
            relative_path=stored.relative_path,
            size_bytes=stored.size_bytes,
            sha256=stored.sha256,
            created_at=now,
        )
    )
    table_id = str(uuid.uuid4())
    conn.execute(
        sa.insert(rt).values(
            id=table_id,
            run_id=run_id,
            name=name,
            role=role,
            blob_id=stored.blob_id,
            num_rows=shape.num_rows,
            num_columns=shape.num_columns,
            schema_json=shape.schema_json(),
            created_at=now,
        )
    )
    return StoredTable(
        table_id,
        run_id,
        name,
        role,
        shape.num_rows,
        shape.columns,
        stored.size_bytes,
        stored.sha256,
        stored.relative_path,
        now,
    )


def release_blob(conn: sa.Connection, released: list[str], blob_id: str) -> None:
    """Delete a blob's row once no table, result or dataset references it.

    Its file's path goes to ``released``, to be deleted after the commit
    (:meth:`BlobStore.releasing`), never inside the transaction.
    """
    referenced = any(
        conn.execute(
            sa.select(sa.literal(1)).select_from(t).where(t.c.blob_id == blob_id).limit(1)
        ).first()
        is not None
        for t in (schema.run_tables, schema.results, schema.datasets)
    )
    if referenced:
        return
    row = conn.execute(
        sa.select(schema.blobs.c.relative_path).where(schema.blobs.c.id == blob_id)
    ).first()
    if row is not None:
        conn.execute(sa.delete(schema.blobs).where(schema.blobs.c.id == blob_id))
        released.append(row[0])


def _select_tables() -> sa.Select[tuple[object, ...]]:
    rt, b = schema.run_tables, schema.blobs
    return sa.select(rt, b.c.size_bytes, b.c.sha256, b.c.relative_path).join(
        b, b.c.id == rt.c.blob_id
    )


def _to_stored(row: sa.RowMapping) -> StoredTable:
    return StoredTable(
        row["id"],
        row["run_id"],
        row["name"],
        row["role"],
        row["num_rows"],
        TableShape.columns_from_json(row["schema_json"]),
        row["size_bytes"],
        row["sha256"],
        row["relative_path"],
        row["created_at"],
    )


def list_tables(conn: sa.Connection, run_id: str) -> list[StoredTable]:
    """Tables of a run, by name then role."""
    rows = conn.execute(
        _select_tables()
        .where(schema.run_tables.c.run_id == run_id)
        .order_by(schema.run_tables.c.name, schema.run_tables.c.role)
    ).mappings()
    return [_to_stored(r) for r in rows]


def find_table(conn: sa.Connection, run_id: str, name: str, role: str) -> StoredTable | None:
    """One table of a run, or None."""
    rt = schema.run_tables
    row = (
        conn.execute(
            _select_tables().where(rt.c.run_id == run_id, rt.c.name == name, rt.c.role == role)
        )
        .mappings()
        .first()
    )
    return None if row is None else _to_stored(row)


def get_table(conn: sa.Connection, run_id: str, name: str, role: str) -> StoredTable:
    """One table of a run.

    Raises:
        NotFoundError: no such table.
    """
    table = find_table(conn, run_id, name, role)
    if table is None:
        raise NotFoundError(
            f"the run has no {role} table named {name!r}; upload it first (add_table).",
            field="table_name",
        )
    return table


def delete_table(
    conn: sa.Connection, released: list[str], run_id: str, name: str, role: str | None
) -> int:
    """Delete a table (every role when ``role`` is None); return how many rows went.

    Blob files to delete after the commit are added to ``released``.
    """
    rt = schema.run_tables
    query = sa.select(rt.c.id, rt.c.blob_id).where(rt.c.run_id == run_id, rt.c.name == name)
    if role:
        query = query.where(rt.c.role == role)
    rows = conn.execute(query).all()
    if not rows:
        raise NotFoundError(f"the run has no table named {name!r}.", field="table_name")
    for table_id, blob_id in rows:
        conn.execute(sa.delete(rt).where(rt.c.id == table_id))
        release_blob(conn, released, blob_id)
    return len(rows)
