"""``veil serve --dask-scheduler``: a table above the threshold is read by the Dask workers as
Parquet partitions from the blob store, never by the engine.

A real ``dask scheduler`` and two ``dask worker`` processes (tests/dask_support.py), a real
server on port 0 whose partition threshold is set low, the real client. The avatars downloaded
must be those of the same partitioned run done directly (same seed); the engine must not have
received the table; cancelling the job must leave nothing on the scheduler; a worker killed
mid-job must not change the avatars. Serial: the cluster and the jobs take a minute or two.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from dask_support import DaskCluster
from support import ServerThread, adult, assert_eventually, create_user, start_server
from veil_client import Manager
from veil_client.models import JobKind, JobStatus
from veil_service.engine import dask_partitions
from veil_service.engine.dask_cluster import disconnect
from veil_service.engine.parquet_partitions import ipc_to_parquet
from veil_service.engine.tasks.partitioned import metric_parameters
from veil_service.runs import tables
from veil_service.runs.config import RunConfig
from veil_service.storage import schema

pytestmark = pytest.mark.serial

SEED = 4
PARTITION_ROWS = 1_500  # the 6,000-row table: four partitions
PARAMETERS = {"k": 10}


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    cluster = DaskCluster(2, tmp_path_factory.mktemp("dask"))
    yield cluster
    disconnect()
    cluster.stop()


@pytest.fixture(scope="module")
def server(
    dask_cluster: DaskCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerThread]:
    running = start_server(
        tmp_path_factory.mktemp("server"),
        dask_scheduler=dask_cluster.address,
        dask_partition_threshold_rows=1_000,
        dask_partition_rows=PARTITION_ROWS,
    )
    yield running
    running.stop()


def _counts(cluster: DaskCluster) -> dict[str, int]:
    """Tasks the scheduler has seen finish, by function name."""
    from distributed import Client

    def finished(dask_scheduler: Any) -> dict[str, int]:
        # state_counts counts the transitions into each state: "memory" once per result.
        return {
            name: int(prefix.state_counts["memory"])
            for name, prefix in dask_scheduler.task_prefixes.items()
        }

    with Client(cluster.address, set_as_default=False, timeout=30) as client:
        counts: dict[str, int] = client.run_on_scheduler(finished)
    return counts


def _scheduler_tasks(cluster: DaskCluster) -> int:
    """Tasks the scheduler still knows (queued, processing or held in memory)."""
    from distributed import Client

    with Client(cluster.address, set_as_default=False, timeout=30) as client:
        known: int = client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks))
    return known


def _runner(server: ServerThread, table: pd.DataFrame, name: str) -> Any:
    user = create_user(server)
    runner = Manager(base_url=server.url, api_key=user.api_key).create_runner(name, seed=SEED)
    runner.add_table("adult", table)
    runner.set_parameters("adult", **PARAMETERS)
    return runner


def _stored(server: ServerThread, run_id: str) -> tables.StoredTable:
    with server.app.db.connect() as conn:
        return tables.get_table(conn, run_id, "adult", "original")


def _direct(
    server: ServerThread, cluster: DaskCluster, run_id: str, work: Path
) -> tuple[pd.DataFrame, dask_partitions.PartitionedRun]:
    """The same partitioned run done here, on the upload's own bytes and its declared types."""
    stored = _stored(server, run_id)
    with server.app.db.connect() as conn:
        saved = conn.execute(
            sa.select(schema.runs.c.config_json).where(schema.runs.c.id == run_id)
        ).scalar_one()
    config = RunConfig.from_dict(json.loads(saved))
    table_config = config.find("adult")
    assert table_config is not None and table_config.column_types
    source = work / "original.parquet"
    ipc_to_parquet(str(server.app.blobs.path(stored.relative_path)), str(source), PARTITION_ROWS)
    params = {"table_name": "adult", "avatarization": PARAMETERS}
    run = dask_partitions.run_partitioned(
        cluster.address,
        source,
        work / "out",
        seed=SEED,
        parameters=PARAMETERS,
        metric_parameters=metric_parameters(params, "privacy_metrics"),
        signal_parameters=metric_parameters(params, "signal_metrics"),
        column_types=table_config.column_types,
        table_name="adult",
    )
    avatars = pd.concat(
        [pd.read_parquet(p) for p in sorted(run.avatars_dir.glob("*.parquet"))], ignore_index=True
    )
    return avatars, run


def _partition_files(server: ServerThread) -> list[Path]:
    return [p for p in (server.app.blobs.root / "partitioned").rglob("*") if p.is_file()]


def test_a_large_table_is_avatarized_from_parquet_partitions_on_the_workers(
    server: ServerThread, dask_cluster: DaskCluster, tmp_path: Path
) -> None:
    before = _counts(dask_cluster)
    runner = _runner(server, adult(), "partitioned")
    runner.run(jobs_to_run=[JobKind.standard, JobKind.privacy_metrics, JobKind.signal_metrics])
    with pytest.warns(UserWarning, match="avatarized on the Dask cluster in 4 partitions"):
        runner.get_all_results()
    for kind in (JobKind.standard, JobKind.privacy_metrics, JobKind.signal_metrics):
        assert runner.get_status(kind) == JobStatus.finished, runner.get_job(kind)
    on_server = runner.shuffled("adult")
    stored = _stored(server, runner.set_name)
    after = _counts(dask_cluster)
    done = {name: after.get(name, 0) - before.get(name, 0) for name in after}

    # The workers converted the upload and ran every partition; the engine never got the table
    # (a table sent on the task stream lands in the engine's cache under its sha256).
    assert done["ipc_to_parquet"] == 1
    assert done["avatarize_partition"] == 4
    assert done["partition_privacy_metrics"] == 4
    assert done["partition_signal_metrics"] == 4
    assert not (server.settings.data_dir / "engine" / "cache" / f"{stored.sha256}.arrows").exists()
    assert not _partition_files(server), "the job's work directory was not removed"

    expected, run = _direct(server, dask_cluster, runner.set_name, tmp_path)
    assert len(on_server) == stored.num_rows == 6_000
    pd.testing.assert_frame_equal(on_server, expected)
    # The metrics jobs record what the partitions measured: worst and mean, then the mean.
    assert runner.privacy_metrics("adult") == json.loads(json.dumps(run.privacy))
    assert runner.signal_metrics("adult") == json.loads(json.dumps(run.signal))
    # Projections and figures: the first partition's (each partition has its own projection).
    original_projections, avatar_projections = runner.projections("adult")
    assert len(original_projections) == len(avatar_projections) == PARTITION_ROWS
    first = pd.read_parquet(run.avatars_dir.parent / "original_projections" / "part-00000.parquet")
    pd.testing.assert_frame_equal(original_projections, first)
    kinds = {r.kind for r in runner._list_results(JobKind.standard)}
    assert {"figures", "figures_metadata", "shuffled", "unshuffled"} <= kinds
    assert [m["metadata"]["computation_type"] for m in runner.privacy_metrics("adult")] == [
        "batch_worst",
        "batch_mean",
    ]


def test_the_report_draws_on_the_first_partition_and_the_aggregated_metrics(
    server: ServerThread, tmp_path: Path
) -> None:
    runner = _runner(server, adult(), "reported")
    runner.run()  # the default jobs: standard, signal and privacy metrics, report
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        runner.get_all_results()
    for kind in (JobKind.standard, JobKind.privacy_metrics, JobKind.signal_metrics, JobKind.report):
        assert runner.get_status(kind) == JobStatus.finished, runner.get_job(kind)
    # The report task read 1,500 rows of each table (the count is of what it read).
    assert runner.get_job(JobKind.report).warnings == (
        "table 'adult' was avatarized in Dask partitions: the report's metrics are the worst "
        "and the mean over partitions, its figures show the first partition (1500 rows).",
    )
    assert any("on the Dask cluster in 4 partitions" in str(w.message) for w in said)
    written = runner.download_report(str(tmp_path / "report.pdf"))
    assert written and all(Path(path).read_bytes()[:4] == b"%PDF" for path in written)


def _csv_avatars(server: ServerThread, path: Path, name: str) -> pd.DataFrame:
    user = create_user(server)
    runner = Manager(base_url=server.url, api_key=user.api_key).create_runner(name, seed=SEED)
    runner.add_table(
        "codes", path, types=dict.fromkeys(("stage", "grade", "zip", "ward"), "category")
    )
    runner.set_parameters("codes", k=10, ncp=3)
    runner.run(jobs_to_run=[JobKind.standard])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runner.get_all_results()
    assert runner.get_status(JobKind.standard) == JobStatus.finished, runner.get_job(
        JobKind.standard
    )
    avatars: pd.DataFrame = runner.shuffled("codes")
    return avatars


def test_a_csv_gives_the_same_dtypes_on_the_partition_path_as_in_memory(
    server: ServerThread, tmp_path: Path
) -> None:
    """A CSV's integer codes declared ``category`` came back as integers from the in-memory
    path but as the strings '1', '2' from the partitions (each read by ``to_pandas`` alone, not
    as the engine reads a table), and an integer column with blanks as floats, not ``Int64``.
    The codes are judged on the whole table: ``ward`` is integers in the first partition only,
    and stays text in both, as in memory."""
    rng = np.random.default_rng(5)
    rows = 2_000  # above the server's threshold: two partitions of 1,500 and 500 rows
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 90, rows),
            "visits": pd.array(
                [None if i % 7 == 0 else int(v) for i, v in enumerate(rng.integers(0, 9, rows))],
                dtype="Int64",
            ),
            "stage": rng.integers(1, 5, rows),
            "grade": pd.array(
                [None if i % 5 == 0 else int(g) for i, g in enumerate(rng.integers(-2, 3, rows))],
                dtype="Int64",
            ),
            "zip": rng.choice(["04748", "75001", "13002"], rows),
            "ward": [
                *rng.choice(["1", "2", "3"], PARTITION_ROWS),
                *["A"] * (rows - PARTITION_ROWS),
            ],
        }
    )
    path = tmp_path / "codes.csv"
    frame.to_csv(path, index=False)
    plain = start_server(tmp_path / "plain")  # no Dask scheduler: the in-memory path
    try:
        in_memory = _csv_avatars(plain, path, "codes_in_memory")
    finally:
        plain.stop()
    partitioned = _csv_avatars(server, path, "codes_partitioned")

    assert len(partitioned) == len(in_memory) == rows
    assert partitioned.dtypes.to_dict() == in_memory.dtypes.to_dict()
    assert partitioned["stage"].dtype == np.int64
    assert set(partitioned["stage"]) <= {1, 2, 3, 4}
    assert (partitioned["grade"].dtype, partitioned["visits"].dtype) == ("Int64", "Int64")
    assert partitioned["grade"].isna().any()
    assert set(partitioned["grade"].dropna()) <= {-2, -1, 0, 1, 2}
    assert set(partitioned["zip"]) <= {"04748", "75001", "13002"}
    assert partitioned["ward"].dtype == object
    assert set(partitioned["ward"]) <= {"1", "2", "3", "A"}


def test_a_small_table_keeps_the_in_memory_path(server: ServerThread) -> None:
    runner = _runner(server, adult().head(900), "small")  # under the 1,000-row threshold
    runner.run(jobs_to_run=[JobKind.standard])
    runner.get_all_results()
    assert runner.get_status(JobKind.standard) == JobStatus.finished
    stored = _stored(server, runner.set_name)
    assert (server.settings.data_dir / "engine" / "cache" / f"{stored.sha256}.arrows").exists()
    assert len(runner.shuffled("adult")) == 900


def test_cancelling_the_job_cancels_its_dask_futures(
    server: ServerThread, dask_cluster: DaskCluster
) -> None:
    before = _counts(dask_cluster)
    runner = _runner(server, adult(copies=4), "cancelled")  # 16 partitions
    runner.run(jobs_to_run=[JobKind.standard])

    def started() -> bool:
        return _counts(dask_cluster).get("avatarize_partition", 0) > before.get(
            "avatarize_partition", 0
        )

    assert_eventually(started, timeout=120, message="no partition was avatarized")
    runner.cancel()
    assert_eventually(
        lambda: runner.get_status(JobKind.standard) == JobStatus.cancelled, timeout=30
    )
    # The engine killed the task's process: the scheduler released its client's futures.
    assert_eventually(
        lambda: _scheduler_tasks(dask_cluster) == 0,
        timeout=60,
        message="the cancelled job's tasks stayed on the scheduler",
    )
    finished = _counts(dask_cluster).get("avatarize_partition", 0)
    assert finished - before.get("avatarize_partition", 0) < 16


def test_a_worker_killed_mid_job_changes_no_avatar(
    server: ServerThread, dask_cluster: DaskCluster, tmp_path: Path
) -> None:
    """Last in the module: it leaves the cluster with one worker."""

    def job() -> tuple[pd.DataFrame, str]:
        runner = _runner(server, adult(), "killed")
        runner.run(jobs_to_run=[JobKind.standard])
        with pytest.warns(UserWarning, match="on the Dask cluster"):
            runner.get_all_results()
        assert runner.get_status(JobKind.standard) == JobStatus.finished
        return runner.shuffled("adult"), runner.set_name

    on_server, run_id = dask_cluster.kill_a_busy_worker_during(job)
    expected, _ = _direct(server, dask_cluster, run_id, tmp_path)
    pd.testing.assert_frame_equal(on_server, expected)
