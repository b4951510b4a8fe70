"""The archive of private queries: who asked what, on which dataset, when, and what it cost.

A record is opened in the transaction that charges the budget, so every charge has its record. It
holds a placeholder summary until the result exists; a query that fails before that is refunded
and its record removed in one transaction. A record still pending after a crash therefore marks a
charge that stands (fail closed): the result may have been computed.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from veil_service.dpquery.budget import PrivacyCost
from veil_service.storage import schema

PENDING_SUMMARY = "pending: the server stopped before recording the result; the charge stands"


@dataclass(frozen=True)
class QueryRecord:
    """One archived private query.

    Attributes:
        id: Query id.
        dataset: Dataset name.
        library: ``smartnoise_sql``, ``opendp``, ``diffprivlib`` or ``smartnoise_synth``.
        request_json: The request as run (JSON; pipelines included).
        cost: (ε, δ) charged.
        created_at: Epoch seconds.
        result_summary: Shape of the result (never its values).
    """

    id: str
    dataset: str
    library: str
    request_json: str
    cost: PrivacyCost
    created_at: float
    result_summary: str


def open_record(
    conn: sa.Connection,
    *,
    user_id: str,
    dataset_id: str,
    library: str,
    request_json: str,
    cost: PrivacyCost,
) -> str:
    """Insert a pending record (in the charging transaction); return its id."""
    query_id = str(uuid.uuid4())
    conn.execute(
        sa.insert(schema.dp_queries).values(
            id=query_id,
            user_id=user_id,
            dataset_id=dataset_id,
            library=library,
            request_json=request_json,
            epsilon=cost.epsilon,
            delta=cost.delta,
            result_summary=PENDING_SUMMARY,
            created_at=time.time(),
        )
    )
    return query_id


def close_record(
    conn: sa.Connection, query_id: str, *, summary: str, cost: PrivacyCost | None = None
) -> None:
    """Record the result's summary (and the final cost when the library accounted less)."""
    values: dict[str, object] = {"result_summary": summary[:1000]}
    if cost is not None:
        values.update(epsilon=cost.epsilon, delta=cost.delta)
    conn.execute(
        sa.update(schema.dp_queries).where(schema.dp_queries.c.id == query_id).values(**values)
    )


def drop_record(conn: sa.Connection, query_id: str) -> None:
    """Remove the record of a query that was refunded."""
    conn.execute(sa.delete(schema.dp_queries).where(schema.dp_queries.c.id == query_id))


def list_records(
    conn: sa.Connection, *, user_id: str, dataset_id: str, limit: int, offset: int
) -> list[QueryRecord]:
    """A user's records on a dataset, newest first."""
    q, d = schema.dp_queries, schema.datasets
    rows = conn.execute(
        sa.select(q, d.c.name.label("dataset_name"))
        .join(d, d.c.id == q.c.dataset_id)
        .where(q.c.user_id == user_id, q.c.dataset_id == dataset_id)
        .order_by(q.c.seq.desc())
        .limit(limit)
        .offset(offset)
    ).mappings()
    return [
        QueryRecord(
            r["id"],
            r["dataset_name"],
            r["library"],
            r["request_json"],
            PrivacyCost(r["epsilon"], r["delta"]),
            r["created_at"],
            r["result_summary"],
        )
        for r in rows
    ]
