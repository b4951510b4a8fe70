"""Defect 4: no user can starve the engine for everyone else (issue 19).

The attack: two free dummy-mode RandomForest fits with 100,000 trees made another user's private
COUNT wait 70 s. Now short DP tasks (smartnoise-sql, OpenDP, costs, dummy datasets) run in a lane
of their own that long tasks never occupy; one user holds at most ``capacity - 1`` worker slots
(while others wait); and every task kind has a server-side time limit the operator sets
(``--task-time-limit KIND=SECONDS``; dummy DP queries have a short default), which bounds what a
free dummy query may cost.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from dp_support import grant, manager, register
from support import ServerThread, assert_eventually, create_user, start_server
from veil_service.errors import ResourceExhaustedError

# Measures wall-clock time: runs alone after the parallel part of `make test`.
pytestmark = pytest.mark.serial


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> ServerThread:
    started = start_server(tmp_path_factory.mktemp("veil-starve"), task_time_limits=("sleep=8",))
    yield started
    started.stop()


def _sleep(server: ServerThread, owner: str, seconds: float) -> object:
    return server.run(
        server.app.engines.run("sleep", {"seconds": seconds}, [], owner=owner), timeout=120
    )


def test_short_dp_queries_do_not_wait_behind_long_tasks(server: ServerThread) -> None:
    analyst = create_user(server)
    dataset = register(server)
    grant(server, analyst, dataset, 10.0, 1e-3)
    client = manager(server, analyst).dp(dataset)
    count = "SELECT COUNT(*) AS n FROM df"
    client.smartnoise_sql.query(count, 0.1, 1e-5)  # warm: the engine holds the dataset
    slots = sum(s.capacity for s in server.app.engines.slots)
    with ThreadPoolExecutor(slots * 2) as pool:
        hogs = [pool.submit(_sleep, server, f"hog{i}", 2.5) for i in range(slots * 2)]
        assert_eventually(
            lambda: all(s.running >= s.capacity for s in server.app.engines.slots),
            message="the worker slots were not all taken",
        )
        began = time.monotonic()
        client.smartnoise_sql.query(count, 0.1, 1e-5)
        waited = time.monotonic() - began
        for hog in hogs:
            hog.result()
    assert waited < 2.0, f"the COUNT waited {waited:.1f} s behind long tasks"


def test_one_user_cannot_hold_every_worker_slot(server: ServerThread) -> None:
    slots = sum(s.capacity for s in server.app.engines.slots)
    with ThreadPoolExecutor(slots + 1) as pool:
        greedy = [pool.submit(_sleep, server, "greedy", 2.5) for _ in range(slots)]
        assert_eventually(
            lambda: any(s.running for s in server.app.engines.slots), message="nothing started"
        )
        time.sleep(0.3)
        began = time.monotonic()
        pool.submit(_sleep, server, "other", 0.2).result()
        waited = time.monotonic() - began
        for task in greedy:
            task.result()
    assert waited < 2.0, f"another user waited {waited:.1f} s for a slot"


def test_tasks_stop_at_the_operators_time_limit(server: ServerThread) -> None:
    began = time.monotonic()
    with pytest.raises(ResourceExhaustedError) as stopped:
        _sleep(server, "slow", 30)
    assert time.monotonic() - began < 20
    assert stopped.value.reason == "TASK_TIME_LIMIT"
    assert "--task-time-limit" in stopped.value.message


def test_time_limits_parse(tmp_path: Path) -> None:
    from veil_service.engine_client.pool import parse_time_limits

    assert parse_time_limits(("sleep=3", "dp_query:dummy=60")) == {
        "sleep": 3.0,
        "dp_query:dummy": 60.0,
    }
    with pytest.raises(ValueError):
        parse_time_limits(("sleep=-1",))
