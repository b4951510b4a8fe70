"""The budget ledger under concurrency, on SQLite and on a real PostgreSQL.

Each charge runs on its own connection in its own thread, all released together by a barrier,
and holds its transaction open a moment after charging (as a query does while it archives
itself), so that the transactions overlap. The conditional UPDATE of ``budget.charge`` must let
exactly as many through as the grant holds. The same harness with a read-then-write charge
overspends on PostgreSQL, which shows the harness does create the race it guards against.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from postgres_cluster import PostgresCluster
from veil_service.accounts import users
from veil_service.dpquery import budget
from veil_service.dpquery.budget import PrivacyCost
from veil_service.storage import schema
from veil_service.storage.db import open_database

QUERIES = 40
COST = PrivacyCost(0.1, 1e-6)
GRANT = PrivacyCost(1.0, 1e-5)  # room for exactly ten queries


def _grant(db: sa.Engine) -> str:
    with db.begin() as conn:
        user = users.create_user(conn, username="ana", email="ana@example.org")
        conn.execute(
            sa.insert(schema.blobs).values(
                id="b1", relative_path="blobs/b1", size_bytes=1, sha256="0" * 64, created_at=0.0
            )
        )
        conn.execute(
            sa.insert(schema.datasets).values(
                id="d1",
                name="penguin",
                blob_id="b1",
                num_rows=1,
                num_columns=1,
                schema_json="{}",
                metadata_json="{}",
                created_at=0.0,
            )
        )
        conn.execute(
            sa.insert(schema.grants).values(
                id="g1",
                user_id=user.id,
                dataset_id="d1",
                initial_epsilon=GRANT.epsilon,
                initial_delta=GRANT.delta,
                spent_epsilon=0.0,
                spent_delta=0.0,
                created_at=0.0,
            )
        )
    return "g1"


def _race(db: sa.Engine, charge: Callable[[sa.Connection, str, PrivacyCost], bool]) -> int:
    """Run :data:`QUERIES` charges at once; returns how many were accepted."""
    grant_id = _grant(db)
    barrier = threading.Barrier(QUERIES)
    accepted: list[bool] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            barrier.wait(30)
            with db.begin() as conn:
                ok = charge(conn, grant_id, COST)
                time.sleep(0.02)  # the archive insert of a real query, inside the transaction
            accepted.append(ok)
        except BaseException as exc:  # reported below, with the thread's failure
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(QUERIES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors[:3]
    return sum(accepted)


@pytest.fixture()
def pooled(db: sa.Engine) -> Iterator[sa.Engine]:
    """The migrated database with a pool as wide as the race (one connection per query)."""
    if db.dialect.name == "sqlite":
        yield db  # one file; SQLite's own lock serializes writers
        return
    engine = sa.create_engine(db.url, pool_size=QUERIES, max_overflow=0)
    yield engine
    engine.dispose()


def test_concurrent_charges_never_exceed_the_grant(pooled: sa.Engine) -> None:
    assert _race(pooled, budget.charge) == 10
    with pooled.connect() as conn:
        left = budget.remaining(conn, "g1")
        spent = conn.execute(sa.select(schema.grants.c.spent_epsilon)).scalar_one()
    assert spent == pytest.approx(1.0)
    assert left.epsilon == pytest.approx(0.0, abs=1e-9)
    assert left.delta == pytest.approx(0.0, abs=1e-12)


def _read_then_write(conn: sa.Connection, grant_id: str, cost: PrivacyCost) -> bool:
    """The unsafe charge (Lomas's): read what is left, decide, then write."""
    g = schema.grants
    spent = conn.execute(sa.select(g.c.spent_epsilon).where(g.c.id == grant_id)).scalar_one()
    if spent + cost.epsilon > GRANT.epsilon + budget.EPSILON_TOLERANCE:
        return False
    time.sleep(0.01)
    conn.execute(sa.update(g).where(g.c.id == grant_id).values(spent_epsilon=spent + cost.epsilon))
    return True


def test_the_race_is_real_a_read_then_write_charge_overspends_on_postgresql(
    postgres: PostgresCluster,
) -> None:
    # PostgreSQL is where several servers race, and the backend this control is about.
    url = postgres.create_database()
    open_database(url).dispose()
    engine = sa.create_engine(url, pool_size=QUERIES, max_overflow=0)
    try:
        assert _race(engine, _read_then_write) > 10
    finally:
        engine.dispose()
        postgres.drop_database(url)


@pytest.mark.parametrize(
    "cost",
    [PrivacyCost(-1000.0, 0.0), PrivacyCost(0.1, -1e-6), PrivacyCost(float("nan"), 0.0)],
)
def test_the_ledger_never_charges_a_cost_that_would_give_budget_back(
    db: sa.Engine, cost: PrivacyCost
) -> None:
    # The DP dispatch refuses such costs first (engine.dp.dispatch.check_cost); the ledger
    # still refuses to write one, whatever the caller.
    _grant(db)
    with db.begin() as conn, pytest.raises(ValueError, match="negative or non-finite"):
        budget.charge(conn, "g1", cost)
    with db.connect() as conn:
        assert budget.remaining(conn, "g1") == GRANT
