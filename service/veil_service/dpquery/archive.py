"""The archive of private queries: who asked what, on which dataset, when, what it cost, and
the DP answer it got.

A record is opened in the transaction that charges the budget, so every charge has its record. It
holds a placeholder summary until the result exists; a query that fails before that is refunded
and its record removed in one transaction. A record still pending after a crash therefore marks a
charge that stands (fail closed): the result may have been computed.

The answer itself is kept, as Lomas keeps it (``get_previous_queries`` returns it): it is the
released, differentially private output, so storing it reveals nothing the analyst was not given.
It is kept up to :data:`RESPONSE_LIMIT_BYTES` (table, values, score and model together); a larger
answer (a big synthetic sample, a pickled synthesizer) keeps only its shape in the summary. Only
its owner reads it: records are listed by user.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from veil_service.dpquery.budget import PrivacyCost
from veil_service.dpquery.specs import ModelBlob
from veil_service.engine_contract.dp_requests import Scalar
from veil_service.storage import schema

PENDING_SUMMARY = "pending: the server stopped before recording the result; the charge stands"
RESPONSE_LIMIT_BYTES = 1 << 20
"""Largest answer (table bytes + model bytes) the archive keeps with its record."""


@dataclass(frozen=True)
class ArchivedAnswer:
    """A released DP answer as the archive keeps it.

    Attributes:
        table_ipc: Result table as a complete Arrow IPC stream (empty when none).
        values: Released scalars (OpenDP).
        model: The fitted model as it was sent, or None.
        score: A diffprivlib score, or None.
    """

    table_ipc: bytes = b""
    values: tuple[Scalar, ...] = ()
    model: ModelBlob | None = None
    score: float | None = None

    @property
    def size_bytes(self) -> int:
        """Bytes the answer takes (table and model)."""
        return len(self.table_ipc) + (len(self.model.data) if self.model is not None else 0)

    def to_columns(self) -> tuple[bytes, str]:
        """``(response_ipc, response_json)`` for the database."""
        model = None
        if self.model is not None:
            model = {
                "format": self.model.format,
                "class_name": self.model.class_name,
                "data": base64.b64encode(self.model.data).decode("ascii"),
            }
        document = {"values": list(self.values), "score": self.score, "model": model}
        return self.table_ipc, json.dumps(document, allow_nan=True)

    @staticmethod
    def from_columns(table_ipc: bytes | None, text: str | None) -> ArchivedAnswer | None:
        """Read back what :meth:`to_columns` stored (None when nothing was kept)."""
        if text is None:
            return None
        document = json.loads(text)
        model = document.get("model")
        blob = None
        if model:
            blob = ModelBlob(
                str(model["format"]), base64.b64decode(model["data"]), str(model["class_name"])
            )
        return ArchivedAnswer(
            table_ipc or b"", tuple(document.get("values") or ()), blob, document.get("score")
        )


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
        result_summary: Shape of the result.
        user_name: Username of the analyst.
        answer: The released answer, when it was kept (see the module docstring).
    """

    id: str
    dataset: str
    library: str
    request_json: str
    cost: PrivacyCost
    created_at: float
    result_summary: str
    user_name: str = ""
    answer: ArchivedAnswer | None = None


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
    conn: sa.Connection,
    query_id: str,
    *,
    summary: str,
    cost: PrivacyCost | None = None,
    answer: ArchivedAnswer | None = None,
) -> None:
    """Record the result's summary, the answer when it fits :data:`RESPONSE_LIMIT_BYTES`, and
    the final cost when the library accounted less."""
    values: dict[str, object] = {"result_summary": summary[:1000]}
    if cost is not None:
        values.update(epsilon=cost.epsilon, delta=cost.delta)
    if answer is not None:
        if answer.size_bytes <= RESPONSE_LIMIT_BYTES:
            values["response_ipc"], values["response_json"] = answer.to_columns()
        else:
            values["result_summary"] = (
                f"{summary} (answer of {answer.size_bytes:,} bytes not archived: the archive "
                f"keeps answers up to {RESPONSE_LIMIT_BYTES:,} bytes)"
            )[:1000]
    conn.execute(
        sa.update(schema.dp_queries).where(schema.dp_queries.c.id == query_id).values(**values)
    )


def drop_record(conn: sa.Connection, query_id: str) -> None:
    """Remove the record of a query that was refunded."""
    conn.execute(sa.delete(schema.dp_queries).where(schema.dp_queries.c.id == query_id))


def list_records(
    conn: sa.Connection,
    *,
    user_id: str,
    dataset_id: str,
    limit: int,
    offset: int,
    oldest_first: bool = False,
) -> list[QueryRecord]:
    """A user's records on a dataset, newest first (or oldest first, Lomas's order)."""
    q, d, u = schema.dp_queries, schema.datasets, schema.users
    rows = conn.execute(
        sa.select(q, d.c.name.label("dataset_name"), u.c.username)
        .join(d, d.c.id == q.c.dataset_id)
        .join(u, u.c.id == q.c.user_id)
        .where(q.c.user_id == user_id, q.c.dataset_id == dataset_id)
        .order_by(q.c.seq.asc() if oldest_first else q.c.seq.desc())
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
            r["username"],
            ArchivedAnswer.from_columns(r["response_ipc"], r["response_json"]),
        )
        for r in rows
    ]
