"""Registering DP datasets: from an uploaded Arrow stream, a file on the server or a file at a
URL; and replacing a registered dataset's metadata.

Both paths validate the metadata first (Lomas format; an error names the field and the reason),
then write a blob holding exactly the metadata's columns with its types, then register it in one
transaction. Nothing is left behind on failure.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import sqlalchemy as sa

from veil_service.arrow_tables import TableShape
from veil_service.dpquery import dataset_files, url_source
from veil_service.dpquery.datasets import (
    DatasetRecord,
    ensure_name_free,
    register_dataset,
    replace_metadata,
    validate_dataset_name,
)
from veil_service.engine_contract.dp_metadata import Metadata, load_metadata_text
from veil_service.errors import (
    FailedPreconditionError,
    InvalidArgumentError,
    PermissionDeniedError,
)
from veil_service.runs.tables import receive_stream
from veil_service.storage.blobs import BlobStore, StoredBlob
from veil_service.storage.db_calls import db_read


def parse_metadata_text(text: str) -> Metadata:
    """Validate metadata given as Lomas YAML (or JSON).

    Raises:
        InvalidArgumentError: empty, unparsable or invalid; the field is named
            (e.g. ``metadata.columns.bill_length_mm.lower``).
    """
    if not (text or "").strip():
        raise InvalidArgumentError(
            "metadata is empty; send the dataset's metadata in Lomas YAML "
            "format (max_ids, rows, row_privacy, columns).",
            field="metadata",
        )
    return load_metadata_text(text)


def update_metadata(
    db: sa.Engine, *, name: str, metadata_text: str, actor_id: str | None, peer: str
) -> DatasetRecord:
    """Validate new metadata (as at registration) and put it in place of the dataset's.

    Raises:
        InvalidArgumentError: empty, unparsable or invalid metadata, or metadata that does not
            describe the stored table (``datasets.replace_metadata``).
        NotFoundError: no such dataset.
    """
    metadata = parse_metadata_text(metadata_text)
    with db.begin() as conn:
        return replace_metadata(conn, name, metadata, actor_id=actor_id, peer=peer)


def _commit(
    db: sa.Engine,
    blobs: BlobStore,
    name: str,
    stored: StoredBlob,
    shape: TableShape,
    metadata: Metadata,
    actor_id: str | None,
    peer: str,
) -> DatasetRecord:
    try:
        with db.begin() as conn:
            return register_dataset(
                conn,
                name=name,
                stored=stored,
                shape=shape,
                metadata=metadata,
                actor_id=actor_id,
                peer=peer,
            )
    except BaseException:
        blobs.delete(stored.relative_path)
        raise


def register_from_path(
    db: sa.Engine,
    blobs: BlobStore,
    *,
    name: str,
    path: str,
    metadata_text: str,
    actor_id: str | None = None,
    peer: str = "",
) -> DatasetRecord:
    """Register a CSV or Parquet file readable by the server (blocking; used by the CLI too).

    Raises:
        InvalidArgumentError: bad name, metadata, path or data.
        AlreadyExistsError: the name is taken.
    """
    validate_dataset_name(name)
    metadata = parse_metadata_text(metadata_text)
    with db.connect() as conn:
        ensure_name_free(conn, name)
    stored, shape = dataset_files.write_from_path(blobs, Path(path).expanduser(), metadata)
    return _commit(db, blobs, name, stored, shape, metadata, actor_id, peer)


def register_from_url(
    db: sa.Engine,
    blobs: BlobStore,
    *,
    name: str,
    url: str,
    metadata_text: str,
    prefixes: tuple[str, ...],
    limit_bytes: int,
    max_bytes: int = 0,
    sha256: str = "",
    fmt: str = "",
    actor_id: str | None = None,
    peer: str = "",
) -> tuple[DatasetRecord, url_source.Downloaded]:
    """Register a CSV or Parquet file downloaded from ``url`` (blocking; see ``url_source``).

    Everything is checked before the download (name, metadata, free name, URL), and the
    download is deleted whatever happens, so a failure leaves no file and no row.

    Returns:
        The dataset and the download (its path no longer exists; sha256 and size remain).

    Raises:
        InvalidArgumentError, NotFoundError, PermissionDeniedError, FailedPreconditionError,
        ResourceExhaustedError, UnavailableError: see ``url_source.download``.
        AlreadyExistsError: the name is taken.
    """
    validate_dataset_name(name)
    metadata = parse_metadata_text(metadata_text)
    with db.connect() as conn:
        ensure_name_free(conn, name)
    downloaded = url_source.download(
        url,
        prefixes=prefixes,
        temp_dir=blobs.temp_dir,
        max_bytes=max_bytes,
        limit_bytes=limit_bytes,
        sha256=sha256,
        fmt=fmt,
    )
    try:
        stored, shape = dataset_files.write_from_path(blobs, downloaded.path, metadata, field="url")
    finally:
        downloaded.path.unlink(missing_ok=True)
    return _commit(db, blobs, name, stored, shape, metadata, actor_id, peer), downloaded


def confine_path(path: str, roots: tuple[str, ...]) -> Path:
    """``path`` resolved (symlinks followed), if it lies inside one of ``roots``.

    Used for paths that arrive over the network (RegisterDatasetFromPath): an admin's key must
    not read every file the server can (a symlink to /etc/shadow did), only the folders the
    operator set aside for datasets.

    Raises:
        FailedPreconditionError: the server has no dataset roots.
        PermissionDeniedError: the path, once resolved, is outside every root.
        InvalidArgumentError: an empty or relative path, or no such file.
    """
    if not roots:
        raise FailedPreconditionError(
            "this server reads no dataset from its own disk: start it with --dataset-root DIR "
            "(or VEIL_DATASET_ROOTS), or upload the file with RegisterDataset.",
            field="path",
        )
    if not path.strip() or not Path(path).expanduser().is_absolute():
        raise InvalidArgumentError(
            "path must be an absolute path to a CSV or Parquet file under one of the server's "
            "dataset roots.",
            field="path",
        )
    candidate = Path(path).expanduser()
    try:
        resolved = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        resolved = None
    allowed = [Path(root).expanduser().resolve() for root in roots]
    if resolved is None:
        inside = candidate.is_absolute() and any(
            Path(os.path.normpath(candidate)).is_relative_to(root) for root in allowed
        )
        if inside:
            raise InvalidArgumentError(f"path: no file at {path}.", field="path")
        raise PermissionDeniedError(
            "path is outside the server's dataset roots; put the file under one of them.",
            field="path",
        )
    if not any(resolved.is_relative_to(root) for root in allowed):
        raise PermissionDeniedError(
            "path is outside the server's dataset roots (symbolic links are followed); put the "
            "file under one of them.",
            field="path",
        )
    return resolved


async def register_from_upload(
    db: sa.Engine,
    blobs: BlobStore,
    *,
    name: str,
    metadata_text: str,
    chunks: AsyncIterator[object],
    actor_id: str | None = None,
    peer: str = "",
) -> DatasetRecord:
    """Register an uploaded Arrow IPC stream (the chunks after the header).

    The upload is stored and validated first, then rewritten with the metadata's columns and
    types (the raw upload is deleted).

    Raises:
        InvalidArgumentError: bad name, metadata or stream.
        AlreadyExistsError: the name is taken.
    """
    validate_dataset_name(name)
    # Off the event loop: metadata YAML may be up to yaml_limits.METADATA_LIMITS long.
    metadata = await asyncio.to_thread(parse_metadata_text, metadata_text)
    await db_read(db, ensure_name_free, name)
    raw, _ = await receive_stream(blobs, chunks)
    try:
        stored, shape = await asyncio.to_thread(
            dataset_files.write_from_ipc, blobs, blobs.path(raw.relative_path), metadata
        )
    finally:
        blobs.delete(raw.relative_path)
    return _commit(db, blobs, name, stored, shape, metadata, actor_id, peer)
