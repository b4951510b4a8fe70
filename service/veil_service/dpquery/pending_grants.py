"""Grants on a dataset that is not registered yet (Lomas lets an admin give a user a budget on a
dataset name before the dataset exists).

A pending grant names the dataset; registering that name turns every pending grant on it into a
grant in the registration's transaction, budget and any spent part included (Lomas's YAML import
carries budgets already spent). Until then the user sees nothing of the dataset: every analyst
lookup goes through ``grants.find_access``, which reads grants only.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from veil_service.errors import InvalidArgumentError
from veil_service.storage import schema


@dataclass(frozen=True)
class PendingGrant:
    """A budget waiting for its dataset.

    Attributes:
        id: Pending grant id.
        user_id: The analyst.
        username: The analyst's login name.
        dataset_name: The dataset name the grant waits for.
        initial_epsilon: ε granted in total.
        initial_delta: δ granted in total.
        spent_epsilon: ε already spent (imported budgets; 0 otherwise).
        spent_delta: δ already spent.
        created_at: Epoch seconds.
    """

    id: str
    user_id: str
    username: str
    dataset_name: str
    initial_epsilon: float
    initial_delta: float
    spent_epsilon: float
    spent_delta: float
    created_at: float


def _select() -> sa.Select[tuple[object, ...]]:
    p, u = schema.dp_pending_grants, schema.users
    return sa.select(p, u.c.username).join(u, u.c.id == p.c.user_id)


def _to_pending(row: sa.RowMapping) -> PendingGrant:
    return PendingGrant(
        row["id"],
        row["user_id"],
        row["username"],
        row["dataset_name"],
        row["initial_epsilon"],
        row["initial_delta"],
        row["spent_epsilon"],
        row["spent_delta"],
        row["created_at"],
    )


def find(conn: sa.Connection, user_id: str, dataset_name: str) -> PendingGrant | None:
    """The user's pending grant on a dataset name, if any."""
    p = schema.dp_pending_grants
    row = (
        conn.execute(_select().where(p.c.user_id == user_id, p.c.dataset_name == dataset_name))
        .mappings()
        .first()
    )
    return None if row is None else _to_pending(row)


def put(
    conn: sa.Connection,
    *,
    user_id: str,
    username: str,
    dataset_name: str,
    epsilon: float,
    delta: float,
    spent_epsilon: float | None = None,
    spent_delta: float | None = None,
) -> PendingGrant:
    """Create or change a pending grant; ``spent_*`` None keeps what is recorded (0 when new).

    Raises:
        InvalidArgumentError: the budget is below what is spent.
    """
    p = schema.dp_pending_grants
    existing = find(conn, user_id, dataset_name)
    spent_e = (
        spent_epsilon
        if spent_epsilon is not None
        else (existing.spent_epsilon if existing else 0.0)
    )
    spent_d = (
        spent_delta if spent_delta is not None else (existing.spent_delta if existing else 0.0)
    )
    if spent_e > epsilon or spent_d > delta:
        raise InvalidArgumentError(
            f"{username} already spent epsilon={spent_e!r}, delta={spent_d!r} on "
            f"{dataset_name}; the budget must be at least that.",
            field="epsilon",
        )
    values = {
        "initial_epsilon": float(epsilon),
        "initial_delta": float(delta),
        "spent_epsilon": float(spent_e),
        "spent_delta": float(spent_d),
    }
    if existing is None:
        conn.execute(
            sa.insert(p).values(
                id=str(uuid.uuid4()),
                user_id=user_id,
                dataset_name=dataset_name,
                created_at=time.time(),
                **values,
            )
        )
    else:
        conn.execute(sa.update(p).where(p.c.id == existing.id).values(**values))
    pending = find(conn, user_id, dataset_name)
    assert pending is not None
    return pending


def delete(conn: sa.Connection, pending_id: str) -> None:
    """Drop a pending grant."""
    conn.execute(
        sa.delete(schema.dp_pending_grants).where(schema.dp_pending_grants.c.id == pending_id)
    )


def list_pending(
    conn: sa.Connection, *, user_id: str = "", dataset: str = ""
) -> list[PendingGrant]:
    """Pending grants, optionally of one user id or one dataset name."""
    p = schema.dp_pending_grants
    query = _select()
    if user_id:
        query = query.where(p.c.user_id == user_id)
    if dataset:
        query = query.where(p.c.dataset_name == dataset)
    return [_to_pending(r) for r in conn.execute(query).mappings()]


def activate(conn: sa.Connection, dataset_name: str, dataset_id: str) -> list[PendingGrant]:
    """Turn the pending grants on a newly registered dataset into grants (caller's transaction).

    Returns:
        The pending grants that took effect.
    """
    waiting = list_pending(conn, dataset=dataset_name)
    for pending in waiting:
        conn.execute(
            sa.insert(schema.grants).values(
                id=str(uuid.uuid4()),
                user_id=pending.user_id,
                dataset_id=dataset_id,
                initial_epsilon=pending.initial_epsilon,
                initial_delta=pending.initial_delta,
                spent_epsilon=pending.spent_epsilon,
                spent_delta=pending.spent_delta,
                created_at=pending.created_at,
            )
        )
        delete(conn, pending.id)
    return waiting
