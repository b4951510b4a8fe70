"""Reading a Lomas dataset collection YAML (``dataset_collection.yaml``) into registrations.

Lomas's format::

    datasets:
    - dataset_name: PENGUIN
      dataset_access:
        database_type: PATH_DB
        path: https://.../penguins.csv      # or a local CSV
      metadata_access:
        database_type: PATH_DB
        path: ../metadata/penguin_metadata.yaml

Relative paths are read relative to ``base_dir`` (default: the YAML's folder). Every entry is
checked (and its metadata read) before anything is registered, so a bad entry registers nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from veil_client.errors import InvalidArgument


@dataclass(frozen=True)
class DatasetPlan:
    """One dataset to register.

    Attributes:
        name: Dataset name.
        url: http(s) URL the server downloads (empty for a local file).
        path: Local CSV or Parquet file to upload (empty for a URL).
        metadata: The metadata YAML text.
    """

    name: str
    url: str
    path: str
    metadata: str


def _refuse(where: str, message: str) -> InvalidArgument:
    return InvalidArgument(f"{where}: {message}", code="INVALID_ARGUMENT", field=where)


def _access(entry: dict[str, Any], key: str, where: str) -> str:
    access = entry.get(key)
    if not isinstance(access, dict):
        raise _refuse(f"{where}.{key}", "must be a mapping with database_type and path.")
    kind = access.get("database_type")
    if kind == "S3_DB":
        raise _refuse(
            f"{where}.{key}.database_type",
            "S3_DB is not read by Veil's import (it would need the bucket's keys on the "
            "server); give an S3 presigned URL as a PATH_DB path, or download the file and give "
            "its path.",
        )
    if kind != "PATH_DB":
        raise _refuse(f"{where}.{key}.database_type", f"must be PATH_DB; got {kind!r}.")
    path = access.get("path")
    if not isinstance(path, str) or not path:
        raise _refuse(f"{where}.{key}.path", "must be a path or an http(s) URL.")
    return path


def plan_datasets(collection: Path, base_dir: Path | None = None) -> list[DatasetPlan]:
    """The registrations a Lomas dataset collection asks for, checked.

    Raises:
        InvalidArgument: unreadable YAML, a bad entry (its YAML path is the field), a metadata
            or data file that does not exist.
    """
    if not collection.is_file():
        raise _refuse("collection", f"no file at {collection}.")
    try:
        root = yaml.safe_load(collection.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise _refuse("collection", f"malformed YAML ({type(exc).__name__}).") from None
    entries = root.get("datasets") if isinstance(root, dict) else None
    if not isinstance(entries, list):
        raise _refuse("datasets", "the collection must have a 'datasets' list.")
    base = base_dir or collection.parent
    plans = []
    for i, entry in enumerate(entries):
        where = f"datasets[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("dataset_name"), str):
            raise _refuse(f"{where}.dataset_name", "must be a dataset name.")
        data = _access(entry, "dataset_access", where)
        meta = _access(entry, "metadata_access", where)
        if meta.startswith(("http://", "https://")):
            raise _refuse(
                f"{where}.metadata_access.path",
                "must be a local file (Lomas reads metadata from local paths too).",
            )
        meta_path = (base / meta).resolve()
        if not meta_path.is_file():
            raise _refuse(f"{where}.metadata_access.path", f"no file at {meta_path}.")
        url = data if data.startswith(("http://", "https://")) else ""
        local = "" if url else str((base / data).resolve())
        if local and not Path(local).is_file():
            raise _refuse(f"{where}.dataset_access.path", f"no file at {local}.")
        plans.append(
            DatasetPlan(entry["dataset_name"], url, local, meta_path.read_text(encoding="utf-8"))
        )
    return plans
