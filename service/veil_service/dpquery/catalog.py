"""What an analyst may read about the datasets they hold a grant on: list, metadata, budget,
previous queries. Every function answers NOT_FOUND for a dataset the caller has no grant on."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from veil_service.dpquery import archive, grants
from veil_service.dpquery.archive import QueryRecord
from veil_service.dpquery.datasets import DatasetRecord
from veil_service.dpquery.grants import Grant


def my_datasets(db: sa.Engine, user_id: str) -> list[tuple[Grant, DatasetRecord]]:
    """The caller's datasets with their grants, by name."""
    with db.connect() as conn:
        return grants.list_access(conn, user_id)


def metadata_of(db: sa.Engine, user_id: str, dataset: str) -> dict[str, Any]:
    """A dataset's metadata (Lomas format)."""
    with db.connect() as conn:
        _, record = grants.find_access(conn, user_id, dataset)
    return record.metadata_dict


def budget_of(db: sa.Engine, user_id: str, dataset: str) -> Grant:
    """The caller's grant on a dataset: initial, spent and remaining (ε, δ)."""
    with db.connect() as conn:
        grant, _ = grants.find_access(conn, user_id, dataset)
    return grant


def previous_queries(
    db: sa.Engine,
    user_id: str,
    dataset: str,
    *,
    limit: int,
    offset: int,
    oldest_first: bool = False,
) -> list[QueryRecord]:
    """The caller's private queries on a dataset with their answers, newest first (or oldest
    first)."""
    with db.connect() as conn:
        _, record = grants.find_access(conn, user_id, dataset)
        return archive.list_records(
            conn,
            user_id=user_id,
            dataset_id=record.id,
            limit=limit,
            offset=offset,
            oldest_first=oldest_first,
        )
