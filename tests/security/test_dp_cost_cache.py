"""Cost estimates are memoized per analyst: one analyst's estimate tells nothing of another's.

The attack (S42 security round, design note 4): the server memoized costs by (metadata,
request), for every analyst of a dataset. Analyst B's EstimateCost answered in a millisecond when
analyst A had already priced the very same request there, and took an engine round trip
otherwise: B learnt what A asked. The cache is now keyed by analyst too (so is the sharing of a
computation in flight, and the engine's own caches of parsed requests, through ``cache_scope``);
an analyst's repeated estimate still skips the engine.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from dp_support import grant, manager
from support import ServerThread, create_user

QUERY = "SELECT COUNT(*) AS n_cost_cache FROM df"


@pytest.fixture()
def cost_tasks(veil_server: ServerThread, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The cache scope of every ``dp_cost`` task the server sends its engines (the server runs
    in this process)."""
    engines = veil_server.app.engines
    real = engines.run
    scopes: list[str] = []

    async def counting(kind: str, params: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        if kind == "dp_cost":
            scopes.append(str(params.get("cache_scope", "")))
            await asyncio.sleep(0.3)  # long enough for concurrent estimates to overlap
        return await real(kind, params, *args, **kwargs)

    monkeypatch.setattr(engines, "run", counting)
    return scopes


def _analyst(server: ServerThread, dataset: str) -> Any:
    analyst = create_user(server, "user")
    grant(server, analyst, dataset, 10.0, 1e-3)
    return manager(server, analyst).dp(dataset)


def test_another_analysts_first_estimate_misses_the_cache(
    veil_server: ServerThread, penguin: str, cost_tasks: list[str]
) -> None:
    a, b = _analyst(veil_server, penguin), _analyst(veil_server, penguin)
    query = QUERY.replace("n_cost_cache", "n_first")
    first = a.smartnoise_sql.cost(query, 0.5, 1e-5)
    assert len(cost_tasks) == 1
    assert a.smartnoise_sql.cost(query, 0.5, 1e-5) == first  # A's repeat: from A's cache
    assert len(cost_tasks) == 1
    assert b.smartnoise_sql.cost(query, 0.5, 1e-5) == first  # B's first: computed for B
    assert len(cost_tasks) == 2
    assert cost_tasks[0] != cost_tasks[1]  # and the engine's caches are not A's either
    assert b.smartnoise_sql.cost(query, 0.5, 1e-5) == first
    assert len(cost_tasks) == 2


def test_concurrent_estimates_of_two_analysts_are_computed_apart(
    veil_server: ServerThread, penguin: str, cost_tasks: list[str]
) -> None:
    a, b = _analyst(veil_server, penguin), _analyst(veil_server, penguin)
    query = QUERY.replace("n_cost_cache", "n_concurrent")
    with ThreadPoolExecutor(2) as pool:
        costs = list(pool.map(lambda c: c.smartnoise_sql.cost(query, 0.5, 1e-5), (a, b)))
    assert costs[0] == costs[1]
    assert len(cost_tasks) == 2 and len(set(cost_tasks)) == 2
