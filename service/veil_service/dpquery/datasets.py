"""The registry of DP datasets: a stored table (Arrow IPC blob) plus its Lomas metadata.

Registration is all or nothing: the blob is durable first, then its row and the dataset row are
inserted in one transaction (with the grants that waited for the name, ``pending_grants``); a
failure deletes the blob. An admin may replace the metadata later
when it still describes the stored table (same columns, order and types). Deleting a dataset
removes its grants and archive with it, then the blob once nothing else references it.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from veil_service.accounts import audit
from veil_service.arrow_tables import ColumnDescription, TableShape
from veil_service.dpquery import pending_grants
from veil_service.dpquery.dataset_files import target_schema
from veil_service.engine_contract.dp_metadata import Metadata, parse_metadata
from veil_service.errors import AlreadyExistsError, InvalidArgumentError, NotFoundError
from veil_service.runs.tables import release_blob
from veil_service.storage import schema
from veil_service.storage.blobs import StoredBlob

DATASET_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")


@dataclass(frozen=True)
class DatasetRecord:
    """A registered dataset.

    Attributes:
        id: Dataset id.
        name: Unique name analysts use (e.g. ``PENGUIN``).
        num_rows: Rows stored.
        columns: Stored columns (the metadata's, in its order).
        metadata_json: The validated metadata in Lomas's format, as JSON.
        relative_path: Blob path of the Arrow IPC stream.
        sha256: Digest of the stream (the engine caches the table by it).
        size_bytes: Size of the stream.
        created_at: Registration time, epoch seconds.
    """

    id: str
    name: str
    num_rows: int
    columns: tuple[ColumnDescription, ...]
    metadata_json: str
    relative_path: str
    sha256: str
    size_bytes: int
    created_at: float

    @property
    def metadata_dict(self) -> dict[str, Any]:
        """The metadata as a Lomas-format dict."""
        value: dict[str, Any] = json.loads(self.metadata_json)
        return value

    @property
    def metadata(self) -> Metadata:
        """The metadata, parsed."""
        return parse_metadata(self.metadata_dict)


def validate_dataset_name(name: str, field: str = "name") -> None:
    """Check a dataset name, naming the fix."""
    if not DATASET_NAME_RE.match(name or ""):
        raise InvalidArgumentError(
            f"{field} must be 1-128 characters of letters, digits, '_', '-' or '.'; got {name!r}.",
            field=field,
        )


def ensure_name_free(conn: sa.Connection, name: str) -> None:
    """Refuse a name already registered (checked before any upload work)."""
    if (
        conn.execute(sa.select(schema.datasets.c.id).where(schema.datasets.c.name == name)).first()
        is not None
    ):
        raise AlreadyExistsError(
            f"a dataset named {name!r} already exists; delete it first or choose another name.",
            field="name",
        )


def register_dataset(
    conn: sa.Connection,
    *,
    name: str,
    stored: StoredBlob,
    shape: TableShape,
    metadata: Metadata,
    actor_id: str | None = None,
    peer: str = "",
) -> DatasetRecord:
    """Register a durable blob as a dataset, in the caller's transaction.

    Raises:
        AlreadyExistsError: the name is taken.
    """
    validate_dataset_name(name)
    ensure_name_free(conn, name)
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
    dataset_id = str(uuid.uuid4())
    metadata_json = json.dumps(metadata.to_dict(), sort_keys=False)
    conn.execute(
        sa.insert(schema.datasets).values(
            id=dataset_id,
            name=name,
            blob_id=stored.blob_id,
            num_rows=shape.num_rows,
            num_columns=shape.num_columns,
            schema_json=shape.schema_json(),
            metadata_json=metadata_json,
            created_at=now,
        )
    )
    activated = pending_grants.activate(conn, name, dataset_id)
    audit.record(
        conn,
        "dataset.registered",
        actor_id=actor_id,
        peer=peer,
        dataset=name,
        rows=shape.num_rows,
        pending_grants_activated=[p.username for p in activated],
    )
    return DatasetRecord(
        dataset_id,
        name,
        shape.num_rows,
        shape.columns,
        metadata_json,
        stored.relative_path,
        stored.sha256,
        stored.size_bytes,
        now,
    )


def _select() -> sa.Select[Any]:
    d, b = schema.datasets, schema.blobs
    return sa.select(d, b.c.relative_path, b.c.sha256, b.c.size_bytes).join(
        b, b.c.id == d.c.blob_id
    )


def to_record(row: sa.RowMapping) -> DatasetRecord:
    """A dataset record from a row of :func:`_select` (or a join including its columns)."""
    return DatasetRecord(
        row["id"],
        row["name"],
        row["num_rows"],
        TableShape.columns_from_json(row["schema_json"]),
        row["metadata_json"],
        row["relative_path"],
        row["sha256"],
        row["size_bytes"],
        row["created_at"],
    )


def get_dataset(conn: sa.Connection, name: str) -> DatasetRecord:
    """A dataset by name (admin view: existence is not secret to admins).

    Raises:
        NotFoundError: no such dataset.
    """
    row = conn.execute(_select().where(schema.datasets.c.name == name)).mappings().first()
    if row is None:
        raise NotFoundError(
            f"no dataset named {name!r}; list them with ListAllDatasets.", field="dataset"
        )
    return to_record(row)


def list_datasets(conn: sa.Connection) -> list[DatasetRecord]:
    """Every dataset, newest first."""
    rows = conn.execute(_select().order_by(schema.datasets.c.created_at.desc())).mappings()
    return [to_record(r) for r in rows]


def replace_metadata(
    conn: sa.Connection,
    name: str,
    metadata: Metadata,
    *,
    actor_id: str | None = None,
    peer: str = "",
) -> DatasetRecord:
    """Replace a dataset's metadata, in the caller's transaction.

    The stored table was written with the Arrow types its metadata declared
    (``dataset_files.target_schema``) and is kept as it is, so the new metadata must declare the
    same columns, in the same order, with the same stored types; everything else (bounds,
    categories, nullability, ``max_ids``, ``rows``, the privacy unit...) may change. Queries
    already answered stay in the archive with what they cost.

    Raises:
        NotFoundError: no such dataset.
        InvalidArgumentError: the metadata does not describe the stored table (the first
            column that differs is named).
    """
    record = get_dataset(conn, name)
    stored, wanted = target_schema(record.metadata), target_schema(metadata)
    if stored.names != wanted.names:
        raise InvalidArgumentError(
            f"metadata.columns must be the stored table's columns, in its order "
            f"({', '.join(stored.names)}); got {', '.join(wanted.names)}. To change the columns, "
            "delete the dataset and register it again.",
            field="metadata.columns",
        )
    for before, after, column in zip(stored.types, wanted.types, metadata.columns, strict=True):
        if before != after:
            where = f"metadata.columns.{column.name}"
            raise InvalidArgumentError(
                f"{where}: the stored column holds {before} values, so its type (and precision) "
                f"must stay as registered; got a declaration stored as {after}.",
                field=where,
            )
    metadata_json = json.dumps(metadata.to_dict(), sort_keys=False)
    conn.execute(
        sa.update(schema.datasets)
        .where(schema.datasets.c.id == record.id)
        .values(metadata_json=metadata_json)
    )
    audit.record(conn, "dataset.metadata_changed", actor_id=actor_id, peer=peer, dataset=name)
    return get_dataset(conn, name)


def delete_dataset(
    conn: sa.Connection,
    released: list[str],
    name: str,
    *,
    actor_id: str | None = None,
    peer: str = "",
) -> None:
    """Delete a dataset with its grants and query archive.

    The dataset's file goes to ``released``, to be deleted after the commit.

    Raises:
        NotFoundError: no such dataset.
    """
    record = get_dataset(conn, name)
    blob_id = conn.execute(
        sa.select(schema.datasets.c.blob_id).where(schema.datasets.c.id == record.id)
    ).scalar_one()
    conn.execute(sa.delete(schema.dp_queries).where(schema.dp_queries.c.dataset_id == record.id))
    conn.execute(sa.delete(schema.grants).where(schema.grants.c.dataset_id == record.id))
    conn.execute(sa.delete(schema.datasets).where(schema.datasets.c.id == record.id))
    release_blob(conn, released, blob_id)
    audit.record(conn, "dataset.deleted", actor_id=actor_id, peer=peer, dataset=name)
