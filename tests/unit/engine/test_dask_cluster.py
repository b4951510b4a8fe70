"""Avatarization batches on a real Dask cluster (a scheduler and two worker processes).

The avatars must be the very ones the local run gives for the same seed, also when a worker is
killed while it runs a batch (Dask reruns that batch on the other worker).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from dask_support import DaskCluster
from veil_service.engine.avatarize import avatarize
from veil_service.engine.dask_cluster import SCHEDULER_ENV, disconnect

ROWS = 6000
# Six batches; n_jobs=1: no local worker processes in the test process (the Dask runs ignore it).
PARAMETERS = {"k": 10, "seed": 11, "max_rows_per_batch": 1000, "n_jobs": 1}


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    cluster = DaskCluster(2, tmp_path_factory.mktemp("dask"))
    yield cluster
    disconnect()
    cluster.stop()


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    age = rng.integers(18, 90, ROWS)
    return pd.DataFrame(
        {
            "age": age,
            "income": age * 800.0 + rng.normal(0, 4000, ROWS),
            "hours": rng.normal(38, 6, ROWS),
            "region": rng.choice(["north", "south", "east", "west"], ROWS),
            "smoker": rng.choice(["yes", "no"], ROWS, p=[0.2, 0.8]),
        }
    )


@pytest.fixture(scope="module")
def local_avatars(table: pd.DataFrame) -> pd.DataFrame:
    return avatarize(table, **PARAMETERS).avatars


def _batches_run_on(cluster: DaskCluster) -> int:
    """How many avatarize_batch tasks the scheduler has seen computed (transitions to memory)."""
    from distributed import Client

    def count(dask_scheduler: object) -> int:
        prefix = dask_scheduler.task_prefixes.get("avatarize_batch")  # type: ignore[attr-defined]
        return 0 if prefix is None else int(prefix.state_counts["memory"])

    with Client(cluster.address, set_as_default=False, timeout=30) as client:
        return int(client.run_on_scheduler(count))


def test_the_batches_run_on_the_cluster_and_give_the_local_avatars(
    dask_cluster: DaskCluster,
    table: pd.DataFrame,
    local_avatars: pd.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = _batches_run_on(dask_cluster)
    monkeypatch.setenv(SCHEDULER_ENV, dask_cluster.address)
    phases: list[str] = []
    result = avatarize(table, **PARAMETERS, progress=lambda f, phase: phases.append(phase))
    pd.testing.assert_frame_equal(result.avatars, local_avatars)
    assert _batches_run_on(dask_cluster) - before == 6
    assert "avatarizing batch 6/6" in phases and phases[-1] == "done"


def test_a_worker_killed_mid_job_changes_nothing(
    dask_cluster: DaskCluster,
    table: pd.DataFrame,
    local_avatars: pd.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(SCHEDULER_ENV, dask_cluster.address)
    avatars = dask_cluster.kill_a_busy_worker_during(lambda: avatarize(table, **PARAMETERS).avatars)
    pd.testing.assert_frame_equal(avatars, local_avatars)
