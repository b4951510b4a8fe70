"""``veil serve --dask-scheduler``: a job's avatarization batches run on the Dask cluster.

A real ``dask scheduler`` and two ``dask worker`` processes; the server's engine child gets the
scheduler's address and sends each batch there. The avatars are those of a server without Dask
for the same seed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from dask_support import DaskCluster
from support import adult, create_user, start_server
from veil_client import Manager
from veil_client.models import JobKind, JobStatus


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    cluster = DaskCluster(2, tmp_path_factory.mktemp("dask"))
    yield cluster
    cluster.stop()


def _avatars(data_dir: Path, table: pd.DataFrame, **settings: str) -> pd.DataFrame:
    server = start_server(data_dir, **settings)
    try:
        user = create_user(server)
        runner = Manager(base_url=server.url, api_key=user.api_key).create_runner("d", seed=4)
        runner.add_table("adult", table)
        runner.set_parameters("adult", k=10, max_rows_per_batch=1500)  # four batches
        runner.run(jobs_to_run=[JobKind.standard])
        runner.get_all_results()
        assert runner.get_status(JobKind.standard) == JobStatus.finished
        return runner.shuffled("adult")
    finally:
        server.stop()


def test_a_servers_batches_run_on_the_cluster_with_the_same_avatars(
    dask_cluster: DaskCluster, tmp_path: Path
) -> None:
    from distributed import Client

    def computed(dask_scheduler: object) -> int:
        prefix = dask_scheduler.task_prefixes.get("avatarize_batch")  # type: ignore[attr-defined]
        return 0 if prefix is None else int(prefix.state_counts["memory"])

    table = adult()
    with Client(dask_cluster.address, set_as_default=False, timeout=30) as client:
        before = client.run_on_scheduler(computed)
        on_dask = _avatars(tmp_path / "dask", table, dask_scheduler=dask_cluster.address)
        assert client.run_on_scheduler(computed) - before == 4
    local = _avatars(tmp_path / "local", table)
    pd.testing.assert_frame_equal(on_dask, local)
