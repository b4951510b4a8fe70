"""Grants: which user may query which dataset, with what initial (ε, δ) budget.

For analysts a dataset they hold no grant on does not exist: every lookup by an analyst goes
through :func:`find_access`, which answers NOT_FOUND with the same message whether the dataset is
missing or merely not granted, so names of other datasets are not revealed.
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from veil_service.accounts import audit, users
from veil_service.dpquery import pending_grants
from veil_service.dpquery.datasets import (
    DatasetRecord,
    get_dataset,
    to_record,
    validate_dataset_name,
)
from veil_service.errors import InvalidArgumentError, Message, NotFoundError, Reason
from veil_service.storage import schema


@dataclass(frozen=True)
class Grant:
    """A user's budget on a dataset (ε: privacy loss, natural log; δ: failure probability).

    Attributes:
        id: Grant id.
        user_id: The analyst.
        username: The analyst's login name.
        dataset_id: The dataset.
        dataset_name: The dataset's name.
        initial_epsilon: ε granted in total.
        initial_delta: δ granted in total.
        spent_epsilon: ε charged so far (including queries running now).
        spent_delta: δ charged so far.
        created_at: Epoch seconds.
        pending: The dataset is not registered yet (``dataset_id`` is empty); the grant takes
            effect when it is.
    """

    id: str
    user_id: str
    username: str
    dataset_id: str
    dataset_name: str
    initial_epsilon: float
    initial_delta: float
    spent_epsilon: float
    spent_delta: float
    created_at: float
    pending: bool = False

    @property
    def remaining_epsilon(self) -> float:
        """ε left (never negative)."""
        return max(0.0, self.initial_epsilon - self.spent_epsilon)

    @property
    def remaining_delta(self) -> float:
        """δ left (never negative)."""
        return max(0.0, self.initial_delta - self.spent_delta)


def _select() -> sa.Select[Any]:
    g, u, d = schema.grants, schema.users, schema.datasets
    return (
        sa.select(g, u.c.username, d.c.name.label("dataset_name"))
        .join(u, u.c.id == g.c.user_id)
        .join(d, d.c.id == g.c.dataset_id)
    )


def _to_grant(row: sa.RowMapping) -> Grant:
    return Grant(
        row["id"],
        row["user_id"],
        row["username"],
        row["dataset_id"],
        row["dataset_name"],
        row["initial_epsilon"],
        row["initial_delta"],
        row["spent_epsilon"],
        row["spent_delta"],
        row["created_at"],
    )


def _from_pending(value: pending_grants.PendingGrant) -> Grant:
    return Grant(
        value.id,
        value.user_id,
        value.username,
        "",
        value.dataset_name,
        value.initial_epsilon,
        value.initial_delta,
        value.spent_epsilon,
        value.spent_delta,
        value.created_at,
        pending=True,
    )


def _dataset_id(conn: sa.Connection, name: str) -> str | None:
    return conn.execute(
        sa.select(schema.datasets.c.id).where(schema.datasets.c.name == name)
    ).scalar()


def check_budget_value(value: float, name: str) -> None:
    """Refuse a budget that is not a finite number >= 0."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
    ):
        raise InvalidArgumentError(
            f"{name} must be a finite number >= 0; got {value!r}.",
            field=name,
            code=Message.BUDGET_NOT_POSITIVE,
            params={"field": name, "value": value},
        )


def grant_access(
    conn: sa.Connection,
    *,
    user: str,
    dataset: str,
    epsilon: float,
    delta: float,
    allow_unregistered: bool = False,
    spent_epsilon: float | None = None,
    spent_delta: float | None = None,
    actor_id: str | None = None,
    peer: str = "",
) -> Grant:
    """Give a user access to a dataset with an initial budget, or change that budget.

    Changing a budget is one conditional update, so it cannot drop below what a concurrent
    query has just been charged. With ``allow_unregistered`` a dataset name not registered yet
    gets a pending grant that takes effect when the name is registered (Lomas allows it; off by
    default so that a mistyped name is refused, not parked). ``spent_*`` (imports of Lomas
    collections) set what was already spent, exactly; None keeps what is recorded.

    Raises:
        NotFoundError: unknown user, or unknown dataset without ``allow_unregistered``.
        InvalidArgumentError: a negative budget, or one below what the user already spent.
    """
    check_budget_value(epsilon, "epsilon")
    check_budget_value(delta, "delta")
    for value, name in ((spent_epsilon, "spent_epsilon"), (spent_delta, "spent_delta")):
        if value is not None:
            check_budget_value(value, name)
    target = users.find_user(conn, user)
    dataset_id = _dataset_id(conn, dataset)
    if dataset_id is None:
        if not allow_unregistered:
            raise NotFoundError(
                f"no dataset named {dataset!r}; list them with ListAllDatasets. To grant before "
                "registering it, set allow_unregistered (CLI: --allow-unregistered): the grant "
                "takes effect when the dataset is registered.",
                field="dataset",
            )
        validate_dataset_name(dataset, "dataset")  # it must be registrable later
        waiting = pending_grants.put(
            conn,
            user_id=target.id,
            username=target.username,
            dataset_name=dataset,
            epsilon=epsilon,
            delta=delta,
            spent_epsilon=spent_epsilon,
            spent_delta=spent_delta,
        )
        audit.record(
            conn,
            "grant.set_pending",
            user_id=target.id,
            actor_id=actor_id,
            peer=peer,
            dataset=dataset,
            epsilon=float(epsilon),
            delta=float(delta),
            spent_epsilon=waiting.spent_epsilon,
            spent_delta=waiting.spent_delta,
        )
        return _from_pending(waiting)
    g = schema.grants
    existing = conn.execute(
        sa.select(g.c.id).where(g.c.user_id == target.id, g.c.dataset_id == dataset_id)
    ).first()
    if existing is None:
        grant_id = str(uuid.uuid4())
        conn.execute(
            sa.insert(g).values(
                id=grant_id,
                user_id=target.id,
                dataset_id=dataset_id,
                initial_epsilon=float(epsilon),
                initial_delta=float(delta),
                spent_epsilon=0.0,
                spent_delta=0.0,
                created_at=time.time(),
            )
        )
    else:
        grant_id = existing[0]
    values: dict[str, float] = {"initial_epsilon": float(epsilon), "initial_delta": float(delta)}
    if spent_epsilon is not None:
        values["spent_epsilon"] = float(spent_epsilon)
    if spent_delta is not None:
        values["spent_delta"] = float(spent_delta)
    # One conditional write: the budget never drops below what is (or is being) spent.
    updated = conn.execute(
        sa.update(g)
        .where(
            g.c.id == grant_id,
            (g.c.spent_epsilon if spent_epsilon is None else sa.literal(float(spent_epsilon)))
            <= float(epsilon),
            (g.c.spent_delta if spent_delta is None else sa.literal(float(spent_delta)))
            <= float(delta),
        )
        .values(**values)
    )
    if updated.rowcount != 1:
        spent = conn.execute(
            sa.select(g.c.spent_epsilon, g.c.spent_delta).where(g.c.id == grant_id)
        ).one()
        spent_e = spent[0] if spent_epsilon is None else spent_epsilon
        spent_d = spent[1] if spent_delta is None else spent_delta
        raise InvalidArgumentError(
            f"{target.username} already spent epsilon={spent_e!r}, delta={spent_d!r} on "
            f"{dataset}; the new budget must be at least that.",
            field="epsilon",
        )
    audit.record(
        conn,
        "grant.set",
        user_id=target.id,
        actor_id=actor_id,
        peer=peer,
        dataset=dataset,
        epsilon=float(epsilon),
        delta=float(delta),
    )
    return get_grant(conn, grant_id)


def revoke_access(
    conn: sa.Connection,
    *,
    user: str,
    dataset: str,
    actor_id: str | None = None,
    peer: str = "",
) -> Grant:
    """Take one user's grant on one dataset away (Lomas's ``del_dataset_to_user``).

    Every analyst lookup goes through :func:`find_access`, so with the grant go the dataset's
    metadata, dummy data and queries for that user; other users' grants and the query archive
    stay (the archive is the record of what was released). A later grant starts a new budget.

    A pending grant (dataset not registered yet) is revoked the same way.

    Returns:
        The grant as it was, with what had been spent.

    Raises:
        NotFoundError: unknown user or dataset, or the user holds no grant on it.
    """
    target = users.find_user(conn, user)
    waiting = pending_grants.find(conn, target.id, dataset)
    if waiting is not None:
        pending_grants.delete(conn, waiting.id)
        audit.record(
            conn,
            "grant.revoke_pending",
            user_id=target.id,
            actor_id=actor_id,
            peer=peer,
            dataset=dataset,
        )
        return _from_pending(waiting)
    record = get_dataset(conn, dataset)
    g = schema.grants
    row = conn.execute(
        sa.select(g.c.id).where(g.c.user_id == target.id, g.c.dataset_id == record.id)
    ).first()
    if row is None:
        raise NotFoundError(
            f"{target.username} holds no grant on {dataset}: nothing to revoke (ListGrants "
            "shows the grants).",
            field="user",
        )
    before = get_grant(conn, row[0])
    conn.execute(sa.delete(g).where(g.c.id == row[0]))
    audit.record(
        conn,
        "grant.revoke",
        user_id=target.id,
        actor_id=actor_id,
        peer=peer,
        dataset=dataset,
        spent_epsilon=before.spent_epsilon,
        spent_delta=before.spent_delta,
    )
    return before


def get_grant(conn: sa.Connection, grant_id: str) -> Grant:
    """A grant by id (current spent values)."""
    row = conn.execute(_select().where(schema.grants.c.id == grant_id)).mappings().one()
    return _to_grant(row)


def list_grants(conn: sa.Connection, *, user: str = "", dataset: str = "") -> list[Grant]:
    """Grants, optionally of one user (id or username) or one dataset, by dataset then user;
    pending grants (``pending=True``) included."""
    query = _select()
    user_id = users.find_user(conn, user).id if user else ""
    if user_id:
        query = query.where(schema.grants.c.user_id == user_id)
    if dataset:
        query = query.where(schema.datasets.c.name == dataset)
    found = [_to_grant(r) for r in conn.execute(query).mappings()]
    found += [
        _from_pending(p)
        for p in pending_grants.list_pending(conn, user_id=user_id, dataset=dataset)
    ]
    return sorted(found, key=lambda grant: (grant.dataset_name, grant.username))


def not_found(dataset: str) -> NotFoundError:
    """The error of a dataset the caller may not see (same whether it exists or not).

    It joins Lomas's two messages ("Dataset X does not exist." and "U does not have access to
    X."), since Veil answers both cases the same way.
    """
    return NotFoundError(
        f"Dataset {dataset} does not exist or you do not have access to {dataset}. Please, "
        "verify the client object initialisation: check the name (ListDatasets shows yours) or "
        "ask an admin for a grant.",
        field="dataset",
        reason=Reason.DATASET_NOT_FOUND,
    )


def find_access(conn: sa.Connection, user_id: str, dataset: str) -> tuple[Grant, DatasetRecord]:
    """The caller's grant on a dataset and the dataset itself.

    Raises:
        NotFoundError: no such dataset, or no grant on it (indistinguishable on purpose).
    """
    g, d, b = schema.grants, schema.datasets, schema.blobs
    row = (
        conn.execute(
            sa.select(
                g.c.id.label("grant_id"),
                g.c.user_id,
                g.c.initial_epsilon,
                g.c.initial_delta,
                g.c.spent_epsilon,
                g.c.spent_delta,
                g.c.created_at.label("granted_at"),
                d,
                b.c.relative_path,
                b.c.sha256,
                b.c.size_bytes,
                schema.users.c.username,
            )
            .join(d, d.c.id == g.c.dataset_id)
            .join(b, b.c.id == d.c.blob_id)
            .join(schema.users, schema.users.c.id == g.c.user_id)
            .where(g.c.user_id == user_id, d.c.name == dataset)
        )
        .mappings()
        .first()
    )
    if row is None:
        raise not_found(dataset)
    grant = Grant(
        row["grant_id"],
        row["user_id"],
        row["username"],
        row["id"],
        row["name"],
        row["initial_epsilon"],
        row["initial_delta"],
        row["spent_epsilon"],
        row["spent_delta"],
        row["granted_at"],
    )
    return grant, to_record(row)


def list_access(conn: sa.Connection, user_id: str) -> list[tuple[Grant, DatasetRecord]]:
    """Every dataset the caller holds a grant on, by name."""
    names = conn.execute(
        sa.select(schema.datasets.c.name)
        .join(schema.grants, schema.grants.c.dataset_id == schema.datasets.c.id)
        .where(schema.grants.c.user_id == user_id)
        .order_by(schema.datasets.c.name)
    ).scalars()
    return [find_access(conn, user_id, name) for name in names]
