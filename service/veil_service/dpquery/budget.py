"""The budget ledger: charging and refunding (ε, δ) on a grant, each in one conditional write.

Checking "remaining >= cost" and recording the spend is a single ``UPDATE ... WHERE spent + cost
<= initial``: the database serializes concurrent writers, so any number of simultaneous queries
can never spend more than the grant, and no per-user lock is needed. The caller runs
:func:`charge` in the same transaction as the archive insert, so a charge and its archive record
exist together or not at all.

Units: ε is a privacy loss (natural log), δ a probability. Tolerances absorb the rounding of
repeated float additions (ten charges of 0.1 sum to 0.9999999999999999, or to 1.0000000000000002
in another order); they are far below any cost a DP library produces.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sqlalchemy as sa

from veil_service.errors import Reason, ResourceExhaustedError
from veil_service.storage import schema

EPSILON_TOLERANCE = 1e-12
DELTA_TOLERANCE = 1e-15


@dataclass(frozen=True)
class PrivacyCost:
    """An (ε, δ) pair: a query's cost, a budget or what remains of it."""

    epsilon: float
    delta: float


def charge(conn: sa.Connection, grant_id: str, cost: PrivacyCost) -> bool:
    """Add ``cost`` to the grant's spent budget if it fits; return whether it did.

    Raises:
        ValueError: ``cost`` is negative or not finite. The DP dispatch refuses such costs
            first (``engine.dp.dispatch.check_cost``); this is the ledger's own guard, since a
            negative charge would give budget back.
    """
    if not (
        math.isfinite(cost.epsilon)
        and math.isfinite(cost.delta)
        and cost.epsilon >= 0
        and cost.delta >= 0
    ):
        raise ValueError(f"refusing to charge a negative or non-finite cost {cost}")
    g = schema.grants
    result = conn.execute(
        sa.update(g)
        .where(
            g.c.id == grant_id,
            g.c.spent_epsilon + cost.epsilon <= g.c.initial_epsilon + EPSILON_TOLERANCE,
            g.c.spent_delta + cost.delta <= g.c.initial_delta + DELTA_TOLERANCE,
        )
        .values(
            spent_epsilon=g.c.spent_epsilon + cost.epsilon, spent_delta=g.c.spent_delta + cost.delta
        )
    )
    return result.rowcount == 1


def refund(conn: sa.Connection, grant_id: str, cost: PrivacyCost) -> None:
    """Give ``cost`` back to the grant (a query failed before its result existed)."""
    g = schema.grants
    epsilon = g.c.spent_epsilon - cost.epsilon
    delta = g.c.spent_delta - cost.delta
    conn.execute(
        sa.update(g)
        .where(g.c.id == grant_id)
        .values(
            spent_epsilon=sa.case((epsilon < 0, 0.0), else_=epsilon),
            spent_delta=sa.case((delta < 0, 0.0), else_=delta),
        )
    )


def remaining(conn: sa.Connection, grant_id: str) -> PrivacyCost:
    """What is left on a grant now (never negative)."""
    g = schema.grants
    row = conn.execute(
        sa.select(
            g.c.initial_epsilon - g.c.spent_epsilon, g.c.initial_delta - g.c.spent_delta
        ).where(g.c.id == grant_id)
    ).one()
    return PrivacyCost(max(0.0, float(row[0])), max(0.0, float(row[1])))


def exhausted(dataset: str, cost: PrivacyCost, left: PrivacyCost) -> ResourceExhaustedError:
    """The error of a query whose cost does not fit, stating what remains.

    It starts with Lomas's sentence ("Not enough budget for this query epsilon remaining ...,
    delta remaining ...."), the one Lomas users search for.
    """
    return ResourceExhaustedError(
        f"Not enough budget for this query epsilon remaining {left.epsilon!r}, delta remaining "
        f"{left.delta!r}. On dataset {dataset!r} this query costs epsilon={cost.epsilon!r}, "
        f"delta={cost.delta!r}; nothing was spent. Lower epsilon/delta (EstimateCost shows a "
        "query's cost) or ask an admin for more budget.",
        reason=Reason.BUDGET_EXHAUSTED,
    )
