"""Results of jobs: files in the blob store, listed and downloaded by their owner."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from veil_service.errors import NotFoundError
from veil_service.storage import schema
from veil_service.storage.blobs import StoredBlob


@dataclass(frozen=True)
class ResultRecord:
    """A result file."""

    id: str
    job_id: str
    run_id: str
    kind: str
    subkind: str
    table_name: str
    filename: str
    media_type: str
    size_bytes: int
    sha256: str
    relative_path: str


def add_result(
    conn: sa.Connection,
    *,
    job_id: str,
    run_id: str,
    kind: str,
    subkind: str,
    table_name: str,
    filename: str,
    media_type: str,
    stored: StoredBlob,
) -> str:
    """Register a committed blob as a job result; returns its id."""
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
    result_id = str(uuid.uuid4())
    conn.execute(
        sa.insert(schema.results).values(
            id=result_id,
            job_id=job_id,
            run_id=run_id,
            kind=kind,
            subkind=subkind,
            table_name=table_name,
            filename=filename,
            media_type=media_type,
            blob_id=stored.blob_id,
            created_at=now,
        )
    )
    return result_id


def _select() -> sa.Select[tuple[object, ...]]:
    r, b = schema.results, schema.blobs
    return sa.select(r, b.c.size_bytes, b.c.sha256, b.c.relative_path).join(
        b, b.c.id == r.c.blob_id
    )


def _to_record(row: sa.RowMapping) -> ResultRecord:
    return ResultRecord(
        row["id"],
        row["job_id"],
        row["run_id"],
        row["kind"],
        row["subkind"],
        row["table_name"],
        row["filename"],
        row["media_type"],
        row["size_bytes"],
        row["sha256"],
        row["relative_path"],
    )


def list_results(conn: sa.Connection, *, run_id: str = "", job_id: str = "") -> list[ResultRecord]:
    """Results of a run or a job, in creation order."""
    query = _select()
    if job_id:
        query = query.where(schema.results.c.job_id == job_id)
    if run_id:
        query = query.where(schema.results.c.run_id == run_id)
    rows = conn.execute(query.order_by(schema.results.c.created_at, schema.results.c.id))
    return [_to_record(r) for r in rows.mappings()]


def get_owned_result(conn: sa.Connection, result_id: str, owner_id: str) -> ResultRecord:
    """A result whose run belongs to the owner.

    Raises:
        NotFoundError: no such result or not the caller's.
    """
    row = (
        conn.execute(
            _select()
            .join(schema.runs, schema.runs.c.id == schema.results.c.run_id)
            .where(schema.results.c.id == result_id, schema.runs.c.owner_id == owner_id)
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFoundError(f"no result {result_id!r}.", field="result_id")
    return _to_record(row)
