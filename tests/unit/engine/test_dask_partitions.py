"""A Parquet table avatarized and measured partition by partition on a real Dask cluster.

A real ``dask scheduler`` and two ``dask worker`` processes (tests/dask_support.py). Each
partition's avatars and privacy metrics must be those the same functions give in this process for
the same seed; cancelling cancels the futures on the scheduler; a worker killed mid-run changes
nothing. Serial: the cluster's start and the runs take about a minute together.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dask_support import DaskCluster
from veil_service.engine import dask_partitions as dp
from veil_service.engine.dask_cluster import disconnect
from veil_service.engine.metrics import aggregate_privacy_batches
from veil_service.errors import InvalidArgumentError

pytestmark = pytest.mark.serial

ROWS_PER_GROUP = 250
GROUPS = 6
SEED = 5
PARAMETERS = {"k": 10}
METRICS = {"n_attacks": 50}


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    cluster = DaskCluster(2, tmp_path_factory.mktemp("dask"))
    yield cluster
    disconnect()
    cluster.stop()


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Parquet file of GROUPS row groups (the partitions)."""
    rng = np.random.default_rng(2)
    rows = ROWS_PER_GROUP * GROUPS
    age = rng.integers(18, 90, rows)
    table = pd.DataFrame(
        {
            "age": age,
            "income": age * 800.0 + rng.normal(0, 4000, rows),
            "hours": rng.normal(38, 6, rows),
            "region": rng.choice(["north", "south", "east", "west"], rows),
            "smoker": rng.choice(["yes", "no"], rows, p=[0.2, 0.8]),
        }
    )
    path = tmp_path_factory.mktemp("table") / "table.parquet"
    pq.write_table(pa.Table.from_pandas(table), path, row_group_size=ROWS_PER_GROUP)
    return path


@pytest.fixture(scope="module")
def expected(
    source: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[list[pd.DataFrame], list[dict[str, Any]]]:
    """Each partition's avatars and privacy metrics, computed in this process without Dask."""
    avatars, metrics = [], []
    for part in dp.partitions_of(source, tmp_path_factory.mktemp("local"), SEED):
        done = dp.avatarize_partition(part, PARAMETERS)
        metrics.append(dp.partition_privacy_metrics(part, done, METRICS).result)
        avatars.append(pd.read_parquet(part.path("avatars")))
    return avatars, metrics


def _computed(cluster: DaskCluster, prefix: str) -> int:
    """How many tasks named ``prefix`` the scheduler has seen finish."""
    from distributed import Client

    def count(dask_scheduler: Any) -> int:
        found = dask_scheduler.task_prefixes.get(prefix)
        return 0 if found is None else int(found.state_counts["memory"])

    with Client(cluster.address, set_as_default=False, timeout=30) as client:
        return int(client.run_on_scheduler(count))


def _run(cluster: DaskCluster, source: Path, output: Path, **kwargs: Any) -> dp.PartitionedRun:
    return dp.run_partitioned(
        cluster.address,
        source,
        output,
        seed=SEED,
        parameters=PARAMETERS,
        metric_parameters=METRICS,
        **kwargs,
    )


def _same_as_expected(
    run: dp.PartitionedRun, expected: tuple[list[pd.DataFrame], list[dict[str, Any]]]
) -> None:
    avatars, metrics = expected
    assert run.rows == ROWS_PER_GROUP * GROUPS
    for index, local in enumerate(avatars):
        on_dask = pd.read_parquet(run.avatars_dir / f"part-{index:05d}.parquet")
        pd.testing.assert_frame_equal(on_dask, local)
    assert [m.result for m in run.metrics] == metrics
    assert run.privacy == aggregate_privacy_batches(metrics)


def test_partitions_and_their_metrics_run_as_dask_tasks_with_the_local_results(
    dask_cluster: DaskCluster,
    source: Path,
    expected: tuple[list[pd.DataFrame], list[dict[str, Any]]],
    tmp_path: Path,
) -> None:
    avatar_tasks = _computed(dask_cluster, "avatarize_partition")
    metric_tasks = _computed(dask_cluster, "partition_privacy_metrics")
    progress: list[tuple[int, int]] = []
    run = _run(dask_cluster, source, tmp_path, on_done=lambda d, t: progress.append((d, t)))
    _same_as_expected(run, expected)
    assert _computed(dask_cluster, "avatarize_partition") - avatar_tasks == GROUPS
    assert _computed(dask_cluster, "partition_privacy_metrics") - metric_tasks == GROUPS
    assert progress[-1] == (2 * GROUPS, 2 * GROUPS)
    # Both workers took part: each task reports the process it ran in.
    assert len({p.worker for p in run.partitions} | {m.worker for m in run.metrics}) == 2
    # A task is one thread of its worker (--nthreads 1): its searches start no other thread.
    assert {m.result["metadata"]["threads"] for m in run.metrics} == {1}
    worst, mean = run.privacy
    assert worst["metadata"]["computation_type"] == "batch_worst"
    assert mean["metadata"]["computation_type"] == "batch_mean"
    assert worst["metadata"]["n_batches"] == GROUPS
    assert worst["hidden_rate"] == min(m["hidden_rate"] for m in expected[1])


def test_a_source_without_rows_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match="no Parquet rows") as caught:
        dp.partitions_of(tmp_path, tmp_path / "out", SEED)
    assert caught.value.field == "source"


def test_cancel_cancels_the_futures_on_the_scheduler(
    dask_cluster: DaskCluster, source: Path, tmp_path: Path
) -> None:
    from distributed import Client

    finished: list[int] = []
    with pytest.raises(dp.PartitionsCancelledError):
        _run(
            dask_cluster,
            source,
            tmp_path,
            on_done=lambda done, total: finished.append(done),
            should_stop=lambda: bool(finished),  # cancel once the first task has finished
        )
    with Client(dask_cluster.address, set_as_default=False, timeout=30) as client:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(client.processing().values()):
            time.sleep(0.1)
        assert not any(client.processing().values()), "tasks still run after the cancel"

        def to_run(dask_scheduler: Any) -> list[str]:
            return [
                key
                for key, task in dask_scheduler.tasks.items()
                if task.state in ("waiting", "queued", "no-worker", "processing")
            ]

        assert client.run_on_scheduler(to_run) == []
    time.sleep(1)
    written = list((tmp_path / "avatars").glob("*.parquet"))
    assert 1 <= len(written) < GROUPS  # stopped after the first partition, not all ran


def test_a_worker_killed_mid_run_changes_nothing(
    dask_cluster: DaskCluster,
    source: Path,
    expected: tuple[list[pd.DataFrame], list[dict[str, Any]]],
    tmp_path: Path,
) -> None:
    result = dask_cluster.kill_a_busy_worker_during(lambda: _run(dask_cluster, source, tmp_path))
    _same_as_expected(result, expected)
    # The killed worker's results were lost with it and computed again by the survivor.
    survivor = {f"pid {pid}" for pid in dask_cluster.worker_pids().values()}
    assert {p.worker for p in result.partitions} == survivor


def test_a_partitions_metrics_measure_declared_codes_as_modalities(tmp_path: Path) -> None:
    # As the single-table metrics jobs do: a code avatarized as a category is measured as one.
    rng = np.random.default_rng(4)
    rows = 2 * ROWS_PER_GROUP
    table = pd.DataFrame({"stage": rng.integers(1, 5, rows), "hours": rng.normal(38, 6, rows)})
    path = tmp_path / "coded.parquet"
    pq.write_table(pa.Table.from_pandas(table), path, row_group_size=ROWS_PER_GROUP)
    measured = {}
    for types in ({}, {"stage": "category"}):
        part = next(iter(dp.partitions_of(path, tmp_path / str(len(types)), SEED, types)))
        done = dp.avatarize_partition(part, PARAMETERS)
        measured[len(types)] = dp.partition_privacy_metrics(part, done, METRICS).result
    assert measured[1]["metadata"]["categorical_columns"] == ["stage"]
    assert measured[0]["metadata"]["continuous_columns"] == ["stage", "hours"]
