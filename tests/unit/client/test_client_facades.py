"""Manager and Runner over FakeTransport: what they send, and what they make of the answers."""

from __future__ import annotations

import pandas as pd
import pytest
from fake_runs_server import FakeRunsServer
from veil.v1 import runs_pb2
from veil_client import FailedPrecondition, InvalidArgument, Manager
from veil_client.models import JobKind, JobStatus
from veil_client.testing import FakeTransport

IRIS = pd.DataFrame(
    {
        "sepal.length": [5.1, 4.9, 4.7, 4.6, 5.0, 5.4],
        "variety": ["Setosa", "Setosa", "Versicolor", "Versicolor", "Virginica", "Virginica"],
    }
)


@pytest.fixture()
def server() -> FakeRunsServer:
    return FakeRunsServer()


@pytest.fixture()
def transport(server: FakeRunsServer) -> FakeTransport:
    return FakeTransport(server)


@pytest.fixture()
def manager(transport: FakeTransport) -> Manager:
    return Manager(transport=transport)


def test_a_first_avatarization_sends_the_table_the_parameters_and_the_jobs(
    manager: Manager, transport: FakeTransport, server: FakeRunsServer
) -> None:
    runner = manager.create_runner("iris_k3", seed=3)
    runner.add_table("iris", IRIS)
    runner.set_parameters("iris", k=3, ncp=1)
    runner.run(jobs_to_run=[JobKind.standard, JobKind.privacy_metrics])

    assert transport.methods()[:3] == ["CreateRun", "UploadTable", "SetConfig"]
    config = server.runs[runner.set_name].config
    (table,) = config.tables
    assert (table.avatarization.k, table.avatarization.ncp, config.seed) == (3, 1, 3)
    assert {c.name: c.type for c in table.columns} == {
        "sepal.length": runs_pb2.COLUMN_TYPE_NUMERIC,
        "variety": runs_pb2.COLUMN_TYPE_CATEGORY,
    }
    start = next(c for c in transport.calls if c.method == "StartJobs")
    assert list(start.request.kinds) == [
        runs_pb2.JOB_KIND_STANDARD,
        runs_pb2.JOB_KIND_PRIVACY_METRICS,
    ]
    avatars = runner.shuffled("iris")
    pd.testing.assert_frame_equal(avatars, IRIS.iloc[::-1].reset_index(drop=True))
    assert runner.privacy_metrics("iris") == [
        {"hidden_rate": 91.5, "metadata": {"table_name": "iris"}}
    ]
    assert runner.statuses() == {
        "standard": JobStatus.finished,
        "privacy_metrics": JobStatus.finished,
    }


def test_a_failed_job_surfaces_its_exception(manager: Manager) -> None:
    runner = manager.create_runner("iris_fail")
    runner.add_table("iris", IRIS)
    runner.set_parameters("iris", k=500)
    runner.run(jobs_to_run=[JobKind.standard])
    job = runner.get_job(JobKind.standard)
    assert job.status == JobStatus.error and "number of rows (6)" in job.exception
    with pytest.raises(FailedPrecondition, match=r"did not finish \(error\): k must be smaller"):
        runner.shuffled("iris")


def test_a_refused_parameter_is_rolled_back(manager: Manager, transport: FakeTransport) -> None:
    runner = manager.create_runner("bad")
    runner.add_table("iris", IRIS)
    runner.set_parameters("iris", k=3)
    with pytest.raises(InvalidArgument, match="must be >= 2") as refused:
        runner.set_parameters("iris", k=1)
    assert refused.value.field == "avatarization.k"
    assert runner.config.tables["iris"].avatarization == {"k": 3}
    with pytest.raises(InvalidArgument, match="k must be an integer; got 'x'"):
        runner.set_parameters("iris", k="x")  # type: ignore[arg-type]
    # add_table, k=3 and the refused k=1 reached the server; the wrong type never left the client
    assert transport.methods().count("SetConfig") == 3


def test_delete_and_cancel_by_name(manager: Manager, server: FakeRunsServer) -> None:
    for _ in range(2):
        runner = manager.create_runner("twice")
        runner.add_table("iris", IRIS)
        runner.set_parameters("iris", k=3)
        runner.run(jobs_to_run=[JobKind.standard])
    groups = manager.find_ids_by_name("twice")
    assert len(groups) == 2 and groups[0][0] == runner.set_name  # newest first
    with pytest.raises(ValueError, match=r"manager\.delete_job_by_id\(UUID\('"):
        manager.delete_job("twice")
    assert manager.cancel_job_by_id(groups[0][0]) == []  # finished jobs are left alone
    deleted = manager.delete_job_by_id(groups[1][0])
    assert len(deleted["deleted_jobs"]) == 1
    assert [run_id for run_id, _ in manager.find_ids_by_name("twice")] == [groups[0][0]]


def test_reload_by_id_registers_the_jobs(manager: Manager, server: FakeRunsServer) -> None:
    runner = manager.create_runner("reload", seed=5)
    runner.add_table("iris", IRIS)
    runner.set_parameters("iris", k=3)
    runner.run(jobs_to_run=[JobKind.standard])
    loaded = manager.create_runner_from_id(runner.set_name)
    assert loaded.display_name == "reload-v1" and loaded.config.seed == 5
    assert loaded.config.tables["iris"].avatarization == {"k": 3}
    pd.testing.assert_frame_equal(loaded.shuffled("iris"), runner.shuffled("iris"))


def test_yaml_export(manager: Manager, tmp_path: object) -> None:
    runner = manager.create_runner("yaml")
    runner.add_table("iris", IRIS)
    assert runner.get_yaml() == "tables: ['iris']\n"


def test_database_job_kinds_are_refused_before_anything_starts(
    manager: Manager, transport: FakeTransport
) -> None:
    from veil_client import Unimplemented

    runner = manager.create_runner("db")
    runner.add_table("iris", IRIS)
    with pytest.raises(Unimplemented, match=r"\['extract'\] belong to Octopize's database runs"):
        runner.run(jobs_to_run=[JobKind.extract, JobKind.standard])
    assert "StartJobs" not in transport.methods()


def test_columns_to_drop_never_leave_the_client(
    manager: Manager, server: FakeRunsServer, tmp_path: object
) -> None:
    import pyarrow as pa
    import pyarrow.ipc as ipc

    runner = manager.create_runner("dropped")
    runner.add_table("iris", IRIS, columns_to_drop=["variety"])
    stored = ipc.open_stream(pa.py_buffer(server.runs[runner.set_name].tables["iris"])).read_all()
    assert stored.column_names == ["sepal.length"]
    assert stored.to_pandas().dtypes.to_dict() == {"sepal.length": IRIS["sepal.length"].dtype}
    assert runner.config.tables["iris"].types == {"sepal.length": "float"}
    with pytest.raises(InvalidArgument, match=r"columns_to_drop names columns .*\['nope'\]"):
        runner.add_table("again", IRIS, columns_to_drop=["nope"])
