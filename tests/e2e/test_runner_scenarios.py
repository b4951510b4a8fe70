"""The seed user guide's and the Octopize tutorials' single-table flows, through the real client
against a real server (port 0, SQLite file, engine child process)."""

from __future__ import annotations

import tempfile
import warnings
import webbrowser
from pathlib import Path
from typing import Any

import IPython.display
import pandas as pd
import pytest
import sqlalchemy as sa
from support import FIXTURES, ServerThread, TestUser, adult, assert_eventually
from veil_client import FailedPrecondition, InvalidArgument, Manager, NotFound
from veil_client.config import ColumnType, ReportLanguage, ReportType
from veil_client.constants import PlotKind, Results
from veil_client.models import JobKind, JobStatus
from veil_service.storage import schema

METRIC_JOBS = [JobKind.standard, JobKind.privacy_metrics, JobKind.signal_metrics]


@pytest.fixture()
def manager(veil_server: ServerThread, user: TestUser) -> Manager:
    return Manager(base_url=veil_server.url, api_key=user.api_key)


@pytest.fixture(scope="session")
def tables() -> Path:
    return FIXTURES / "tables"


def test_first_avatarization_of_wbcd(manager: Manager, tables: Path) -> None:
    original = pd.read_csv(tables / "wbcd.csv")
    runner = manager.create_runner(set_name="test_wbcd", seed=7)
    runner.add_table("wbcd", tables / "wbcd.csv")
    runner.set_parameters("wbcd", k=15)
    runner.run(jobs_to_run=METRIC_JOBS)

    avatars = runner.shuffled("wbcd")
    assert avatars.shape == original.shape
    assert list(avatars.columns) == list(original.columns)
    unshuffled = runner.sensitive_unshuffled("wbcd")
    assert unshuffled.shape == original.shape
    assert sorted(map(tuple, avatars.to_numpy())) == sorted(map(tuple, unshuffled.to_numpy()))
    for column in original.columns:
        assert avatars[column].min() >= original[column].min()
        assert avatars[column].max() <= original[column].max()
    privacy = runner.privacy_metrics("wbcd")
    assert len(privacy) == 1
    assert 0 <= privacy[0]["hidden_rate"] <= 100
    assert privacy[0]["targets"]["hidden_rate"]
    assert privacy[0]["metadata"]["table_name"] == "wbcd"
    signal = runner.signal_metrics("wbcd")[0]
    assert 0 <= signal["hellinger_mean"] <= 1
    originals, avatar_coordinates = runner.projections("wbcd")
    assert len(originals) == len(avatar_coordinates) == len(original)
    assert runner.get_status(JobKind.standard) == JobStatus.finished
    assert runner.statuses() == {
        "standard": JobStatus.finished,
        "privacy_metrics": JobStatus.finished,
        "signal_metrics": JobStatus.finished,
    }


def test_same_seed_same_avatars_and_yaml_round_trip(
    manager: Manager, tables: Path, tmp_path: Path
) -> None:
    outputs = []
    for _ in range(2):
        runner = manager.create_runner("seeded", seed=123)
        runner.add_table("wbcd", tables / "wbcd.csv")
        runner.set_parameters("wbcd", k=10, ncp=3)
        runner.run(jobs_to_run=[JobKind.standard])
        outputs.append(runner.shuffled("wbcd"))
    pd.testing.assert_frame_equal(outputs[0], outputs[1])
    text = runner.get_yaml(str(tmp_path / "config.yaml"))
    assert "kind: AvatarParameters" in text and "k: 10" in text
    clone = manager.create_runner("from_own_yaml")
    clone.from_yaml(str(tmp_path / "config.yaml"))
    assert clone.config.tables["wbcd"].avatarization == {"k": 10, "ncp": 3}


def test_quickstart_default_run_with_reports_and_plots(
    manager: Manager, tables: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = manager.create_runner("quickstart", seed=1, report_language=ReportLanguage.FR)
    runner.add_table("wbcd", tables / "wbcd.csv")
    runner.set_parameters("wbcd", k=15)
    runner.run()
    pdf = runner.download_report(str(tmp_path / "report.pdf"))
    assert Path(pdf[0]).read_bytes().startswith(b"%PDF")
    docx = runner.download_report(str(tmp_path / "pia.docx"), report_type=ReportType.PIA)
    assert Path(docx[0]).read_bytes().startswith(b"PK")
    # render_plot does what Octopize's does: inline in a notebook; with open_in_browser=True
    # <table>_<kind>_<i>.html in the current directory, opened in a browser; nothing written
    # otherwise. Before: outside a notebook it wrote the files to the temporary directory.
    work, scratch = tmp_path / "work", tmp_path / "scratch"
    work.mkdir()
    scratch.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", opened.append)
    with pytest.warns(UserWarning, match=r"not in a Jupyter notebook.*open_in_browser=True"):
        assert runner.render_plot("wbcd", PlotKind.PROJECTION_2D) == []
    assert list(work.iterdir()) == list(scratch.iterdir()) == [] and opened == []

    shown: list[Any] = []
    monkeypatch.setattr("veil_client.runner.in_notebook", lambda: True)
    monkeypatch.setattr(IPython.display, "display", shown.append)
    assert runner.render_plot("wbcd", PlotKind.PROJECTION_2D) == []
    assert shown and all(isinstance(h, IPython.display.HTML) for h in shown)
    assert list(work.iterdir()) == [] and opened == []

    paths = runner.render_plot("wbcd", PlotKind.PROJECTION_2D, open_in_browser=True)
    assert paths == [str(work / f"wbcd_2d_projection_{i}.html") for i in range(len(shown))]
    assert opened == [Path(p).as_uri() for p in paths]
    plot = Path(paths[0]).read_text()
    assert "<svg" in plot or "<canvas" in plot
    assert plot == shown[0].data
    assert list(scratch.iterdir()) == []
    with pytest.raises(ValueError, match=r"produced kinds: .*distribution"):
        runner.render_plot("wbcd", PlotKind.RAW_SERIES)


def test_large_dataset_is_avatarized_by_batches(manager: Manager, tables: Path) -> None:
    table = adult().head(3000)
    runner = manager.create_runner("large")
    runner.add_table("adult", table)
    runner.set_parameters("adult", k=10, max_rows_per_batch=1000)
    runner.run(jobs_to_run=[JobKind.standard])
    avatars = runner.shuffled("adult")
    assert avatars.shape == table.shape
    assert set(avatars["sex"]) <= set(table["sex"])


def test_change_variable_types(manager: Manager, tables: Path) -> None:
    original = pd.read_csv(tables / "wbcd.csv")
    runner = manager.create_runner("types")
    runner.add_table("wbcd", tables / "wbcd.csv", types={"Clump_Thickness": ColumnType.CATEGORY})
    runner.set_parameters("wbcd", k=15)
    runner.run(jobs_to_run=[JobKind.standard])
    avatars = runner.shuffled("wbcd")
    assert set(avatars["Clump_Thickness"].astype(int)) <= set(original["Clump_Thickness"])


def test_metrics_only_with_avatar_data(manager: Manager) -> None:
    fixtures = FIXTURES / "avatar" / "fixtures"
    runner = manager.create_runner("only_metrics")
    runner.add_table("iris", fixtures / "iris.csv", avatar_data=fixtures / "iris_avatarized.csv")
    runner.run(jobs_to_run=[JobKind.privacy_metrics, JobKind.signal_metrics])
    privacy = runner.privacy_metrics("iris")[0]
    # The "avatars" are the originals: nothing is hidden and distributions match exactly.
    assert privacy["hidden_rate"] < 10
    assert runner.signal_metrics("iris")[0]["hellinger_mean"] < 1e-6


def test_reload_by_name_and_id_with_versions(manager: Manager, tables: Path) -> None:
    runner = manager.create_runner("reload_me", seed=3)
    runner.add_table("wbcd", tables / "wbcd.csv")
    runner.set_parameters("wbcd", k=20)
    runner.run(jobs_to_run=[JobKind.standard])
    first = runner.shuffled("wbcd")
    first_id = runner.set_name

    loaded = manager.create_runner_from_name("reload_me")
    assert loaded.set_name == first_id
    pd.testing.assert_frame_equal(loaded.shuffled("wbcd"), first)
    with pytest.warns(UserWarning, match=f"already has results for set_name '{first_id}'"):
        loaded.run(jobs_to_run=[JobKind.standard])
    second_id = loaded.set_name
    assert second_id != first_id
    loaded.shuffled("wbcd")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded.run(jobs_to_run=[JobKind.standard], ignore_warnings=True)
    # The reloaded runner is "reload_me-v1" (Octopize's naming): its runs are listed under it.
    assert [g[0] for g in manager.find_ids_by_name("reload_me")] == [first_id]
    groups = manager.find_ids_by_name("reload_me-v1")
    assert [g[0] for g in groups] == [loaded.set_name, second_id]
    assert all(job.kind == JobKind.standard for _, jobs in groups for job in jobs)
    by_id = manager.create_runner_from_id(first_id)
    pd.testing.assert_frame_equal(by_id.shuffled("wbcd"), first)


def test_delete_by_name_with_ambiguity(manager: Manager, tables: Path) -> None:
    for _ in range(2):
        runner = manager.create_runner("twice")
        runner.add_table("wbcd", tables / "wbcd.csv")
        runner.set_parameters("wbcd", k=5)
        runner.run(jobs_to_run=[JobKind.standard])
        runner.get_job(JobKind.standard)
    with pytest.raises(ValueError, match=r"delete_job_by_id\(UUID\('"):
        manager.delete_job("twice")
    run_id = manager.find_ids_by_name("twice")[0][0]
    deleted = manager.delete_job_by_id(run_id)
    assert len(deleted["deleted_jobs"]) == 1
    assert len(manager.find_ids_by_name("twice")) == 1
    manager.delete_job("twice")
    assert manager.find_ids_by_name("twice") == []


def test_view_last_jobs_and_results(manager: Manager, tables: Path) -> None:
    runner = manager.create_runner("last_jobs")
    runner.add_table("wbcd", tables / "wbcd.csv")
    runner.set_parameters("wbcd", k=15)
    runner.run(jobs_to_run=METRIC_JOBS)
    runner.privacy_metrics("wbcd")
    runner.signal_metrics("wbcd")
    last = manager.get_last_jobs(count=2)
    assert len(last) == 2
    kinds = {job.kind for job in last.values()}
    assert kinds <= {JobKind.privacy_metrics, JobKind.signal_metrics}
    results = manager.get_last_results(count=1)
    assert len(results) == 1 and any("metrics" in key for key in results[0])


def test_launch_from_the_web_yaml(manager: Manager) -> None:
    runner = manager.create_runner("from_yaml")
    runner.from_yaml(str(FIXTURES / "avatar" / "yaml" / "yaml_from_web.yaml"))
    runner.upload_file("iris", data=FIXTURES / "avatar" / "fixtures" / "iris.csv")
    assert runner.config.tables["iris"].avatarization["k"] == 30
    runner.run(jobs_to_run=METRIC_JOBS)
    avatars = runner.shuffled("iris")
    assert avatars.shape == (150, 5)
    assert runner.privacy_metrics("iris")[0]["hidden_rate"] > 0


def test_k_500_on_iris_fails_with_an_actionable_message(manager: Manager) -> None:
    # A job error, not a refusal of run(): Octopize's Tutorial 1 runs k=500 on iris and reads
    # the standard job's exception.
    runner = manager.create_runner("k500")
    runner.add_table("iris", FIXTURES / "avatar" / "fixtures" / "iris.csv")
    runner.set_parameters("iris", k=500)
    runner.run(jobs_to_run=METRIC_JOBS)
    with pytest.raises(FailedPrecondition, match="number of rows"):
        runner.shuffled("iris")
    job = runner.get_job(JobKind.standard)
    assert job.status == JobStatus.error
    assert "k must be smaller than the number of rows (150)" in job.exception
    privacy = runner.get_job(JobKind.privacy_metrics)
    assert privacy.status == JobStatus.parent_error
    assert "the standard job" in privacy.exception and "must succeed first" in privacy.exception


def test_parameters_naming_a_missing_column_are_refused_when_the_run_starts(
    manager: Manager, tables: Path
) -> None:
    runner = manager.create_runner("missing_columns")
    runner.add_table("wbcd", tables / "wbcd.csv")
    for parameters, field in (
        ({"column_weights": {"Clump_thicknes": 2.0}}, "avatarization.column_weights"),
        ({"exclude_variable_names": ["Mitoses", "Mitosis"]}, "exclude_variable_names[1]"),
        ({"known_variables": ["Mitosis"]}, "privacy_metrics.known_variables"),
        ({"target": "klass"}, "privacy_metrics.target"),
    ):
        runner.set_parameters("wbcd", k=10, **parameters)
        with pytest.raises(InvalidArgument, match="which table 'wbcd' does not have") as refused:
            runner.run(jobs_to_run=METRIC_JOBS)
        assert field in refused.value.field, refused.value.field
    assert manager.get_jobs_by_name(runner.display_name) == []


def test_bad_parameters_are_refused_naming_the_field(manager: Manager, tables: Path) -> None:
    runner = manager.create_runner("bad_input")
    runner.add_table("wbcd", tables / "wbcd.csv")
    with pytest.raises(InvalidArgument, match=r"avatarization\.k: must be >= 2"):
        runner.set_parameters("wbcd", k=1)
    with pytest.raises(InvalidArgument, match="k must be an integer; got 'many'"):
        runner.set_parameters("wbcd", k="many")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="imputation_method"):
        runner.set_parameters("wbcd", k=5, imputation_method="magic")
    with pytest.raises(ValueError, match="unknown table 'nope'"):
        runner.set_parameters("nope", k=5)
    with pytest.raises(ValueError, match="already added"):
        runner.add_table("wbcd", tables / "wbcd.csv")
    with pytest.raises(InvalidArgument, match="unknown parameter 'magic_parameter'"):
        runner.set_parameters("wbcd", magic_parameter=10)
    runner.set_parameters("wbcd", k=5)
    assert runner.config.tables["wbcd"].avatarization == {"k": 5}


def test_ragged_csv_is_refused_and_nothing_is_stored(
    manager: Manager, tmp_path: Path, veil_server: ServerThread
) -> None:
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b\n1,2\n3,4,5\n")
    runner = manager.create_runner("ragged")
    # Jobs of earlier tests on this session's server may still be writing their results: wait
    # until none runs, so every new file would be this upload's.
    jobs = schema.jobs
    busy = sa.select(sa.func.count()).where(jobs.c.status.in_(("pending", "running")))

    def idle() -> bool:
        with veil_server.app.db.connect() as connection:
            return connection.execute(busy).scalar_one() == 0

    assert_eventually(idle, timeout=240, message="earlier jobs still running")
    before = sorted((veil_server.settings.data_dir / "blobs").rglob("*"))
    with pytest.raises(InvalidArgument, match="CSV"):
        runner.add_table("t", ragged)
    assert "t" not in runner.config.tables
    after = sorted((veil_server.settings.data_dir / "blobs").rglob("*"))
    assert [p for p in after if p not in before and p.is_file()] == []


def test_users_never_see_each_others_runs(veil_server: ServerThread, tables: Path) -> None:
    from support import create_user

    alice = Manager(base_url=veil_server.url, api_key=create_user(veil_server).api_key)
    bob = Manager(base_url=veil_server.url, api_key=create_user(veil_server).api_key)
    runner = alice.create_runner("alice_secret")
    runner.add_table("wbcd", tables / "wbcd.csv")
    runner.set_parameters("wbcd", k=15)
    runner.run(jobs_to_run=[JobKind.standard])
    runner.shuffled("wbcd")
    job_id = runner.jobs[JobKind.standard]
    result_id = alice.runs_api.list_results(job_id=job_id)[0].id
    with pytest.raises(NotFound):
        bob.create_runner_from_id(runner.set_name)
    with pytest.raises(NotFound):
        bob.runs_api.get_job(job_id)
    with pytest.raises(NotFound):
        bob.runs_api.download_result(result_id)
    with pytest.raises(NotFound):
        bob.runs_api.download_dataframe(runner.set_name, "wbcd")
    assert bob.find_ids_by_name("alice_secret") == []
    assert bob.get_last_jobs(count=50) == {}


def test_cancel_stops_a_running_job(manager: Manager, tables: Path) -> None:
    runner = manager.create_runner("to_cancel")
    runner.add_table("adult", adult(copies=20))  # 120,000 rows: long enough to cancel midway
    runner.set_parameters("adult", k=20)
    runner.run(jobs_to_run=[JobKind.standard, JobKind.privacy_metrics])
    assert_eventually(lambda: runner.get_status(JobKind.standard) == JobStatus.pending, 60)
    cancelled = runner.cancel()
    statuses = {job.kind: job.status for job in cancelled}
    assert statuses[JobKind.standard] == JobStatus.cancelled
    assert runner.get_status(JobKind.privacy_metrics) in (
        JobStatus.parent_error,
        JobStatus.cancelled,
    )
    with pytest.raises(FailedPrecondition, match="cancelled"):
        runner.get_specific_result("adult", JobKind.standard, Results.SHUFFLED)


def test_advise_parameters_applies_advice(manager: Manager, tables: Path) -> None:
    runner = manager.create_runner("advice")
    runner.add_table("adult", adult().head(2000))
    runner.advise_parameters("adult")
    avatarization = runner.config.tables["adult"].avatarization
    assert avatarization is not None and 2 <= avatarization["k"] < 2000
    assert avatarization["ncp"] >= 1
    assert avatarization["imputation_method"] in {"knn", "fast_knn", "mode", "median", "mean"}
    runner.run(jobs_to_run=[JobKind.standard])
    assert runner.shuffled("adult").shape == (2000, 15)


def test_tutorials_1_and_2_on_iris(manager: Manager) -> None:
    from veil_client.config import ExcludeVariablesMethod

    iris_path = FIXTURES / "tables" / "iris.csv"
    iris = pd.read_csv(iris_path)
    assert manager.auth_client.health.get_health() == {"status": "SERVING"}
    runner = manager.create_runner("iris_k5")
    runner.add_table("iris", iris)
    runner.advise_parameters("iris")
    runner.update_parameters("iris", k=5)
    assert runner.config.tables["iris"].avatarization["k"] == 5
    summary = runner.table_summary("iris")
    assert list(summary["name"]) == list(iris.columns)
    runner.run(jobs_to_run=METRIC_JOBS)
    assert runner.shuffled("iris").shape == iris.shape

    metrics = {}
    for k in (3, 30):
        tuned = manager.create_runner(f"iris_k{k}", seed=11)
        tuned.add_table("iris", iris_path)
        tuned.set_parameters("iris", k=k)
        tuned.run(jobs_to_run=METRIC_JOBS)
        metrics[k] = tuned.privacy_metrics("iris")[0]
    assert metrics[30]["local_cloaking"] >= metrics[3]["local_cloaking"]

    multi = manager.create_runner("iris_multi_params", seed=2)
    multi.add_table("iris", iris)
    # Tutorial 2 asks ncp=5, but with variety excluded iris has 4 dimensions: Veil refuses
    # ncp=5 with a message naming the limit instead of silently clamping it.
    multi.set_parameters(
        "iris",
        k=30,
        ncp=4,
        column_weights={"variety": 3.0},
        use_categorical_reduction=True,
        exclude_variable_names=["variety"],
        exclude_variable_method=ExcludeVariablesMethod.COORDINATE_SIMILARITY,
    )
    multi.run(jobs_to_run=[JobKind.standard])
    originals, avatars = multi.projections("iris")
    assert len(originals) == len(avatars) == 150
    with pytest.warns(UserWarning, match="not in a Jupyter notebook"):
        assert multi.render_plot("iris", PlotKind.PROJECTION_3D) == []
    assert set(multi.shuffled("iris")["variety"]) <= set(iris["variety"])

    attack = manager.create_runner("iris_attack", seed=3)
    attack.add_table("iris", iris)
    attack.set_parameters(
        "iris",
        k=10,
        known_variables=["sepal.length", "sepal.width"],
        target="variety",
        quantile_threshold=5,
    )
    attack.run(jobs_to_run=[JobKind.standard, JobKind.privacy_metrics])
    privacy = attack.privacy_metrics("iris")[0]
    assert privacy["inference_categorical"] is not None
    assert privacy["correlation_protection_rate"] is not None
    assert privacy["closest_rate"] is not None


def test_a_yaml_table_left_without_data_is_named_at_run(manager: Manager, tmp_path: Path) -> None:
    # multi.yaml declares doctor, patient and visit; the user uploads two of them. run()
    # names the third and the call to make, and queues nothing.
    runner = manager.create_runner("yaml_missing_data")
    runner.from_yaml(str(FIXTURES / "avatar" / "yaml" / "multi.yaml"))
    for name in ("patient", "visit"):
        runner.upload_file(name, str(FIXTURES / "avatar" / "fixtures" / f"{name}.csv"))
    with pytest.raises(FailedPrecondition, match=r"table\(s\) \['doctor'\] have no data"):
        runner.run()
    single = manager.create_runner("yaml_single_missing_data")
    single.from_yaml(str(FIXTURES / "avatar" / "yaml" / "single.yaml"))
    with pytest.raises(FailedPrecondition) as caught:
        single.run()
    assert "table(s) ['iris'] have no data: call upload_file('iris', data)" in str(caught.value)
    assert single.jobs == {}
    single.upload_file("iris", str(FIXTURES / "avatar" / "fixtures" / "iris.csv"))
    single.run(jobs_to_run=[JobKind.standard])
    assert len(single.shuffled("iris")) == 150


def test_a_one_column_table_gets_its_avatars_and_reports(manager: Manager, tmp_path: Path) -> None:
    # One numeric column projects on one dimension: the standard job drew a 2D projection
    # from it and failed (IndexError, an engine incident) after computing the avatars.
    runner = manager.create_runner("one_column", seed=3)
    runner.add_table("line", pd.DataFrame({"v": [float(i % 37) for i in range(120)]}))
    runner.set_parameters("line", k=5)
    runner.run()
    with pytest.warns(UserWarning, match="more than the 1 dimensions of this table's projection"):
        assert list(runner.shuffled("line").columns) == ["v"]
    assert runner.get_job(JobKind.standard).status == JobStatus.finished
    [pdf] = runner.download_report(str(tmp_path / "line.pdf"))
    assert Path(pdf).read_bytes().startswith(b"%PDF")
    [docx] = runner.download_report(str(tmp_path / "line.docx"), report_type=ReportType.PIA)
    assert Path(docx).read_bytes().startswith(b"PK")


def test_a_yaml_declaring_a_number_column_datetime_is_refused_at_run(
    manager: Manager, tmp_path: Path
) -> None:
    # sepal.length declared datetime: its 5.1 was read as 5.1 ns after 1970 and the avatars
    # came back as whole numbers (5.0), the job "finished".
    text = (FIXTURES / "avatar" / "yaml" / "single.yaml").read_text()
    path = tmp_path / "dated.yaml"
    path.write_text(text.replace("type: float", "type: datetime", 1))
    runner = manager.create_runner("dated_numbers")
    runner.from_yaml(str(path))
    runner.upload_file("iris", str(FIXTURES / "avatar" / "fixtures" / "iris.csv"))
    with pytest.raises(InvalidArgument) as caught:
        runner.run()
    assert str(caught.value).startswith(
        "tables[iris].column_types[sepal.length]: declared datetime, but the uploaded column "
        "holds numbers (double)"
    )
    assert runner.jobs == {}


def test_a_yaml_column_the_upload_lacks_is_said_when_uploading(
    manager: Manager, tmp_path: Path
) -> None:
    # A misspelt column in the YAML (varietyX) was dropped without a word when the data came
    # after from_yaml (refused at run() in the other order).
    text = (FIXTURES / "avatar" / "yaml" / "single.yaml").read_text()
    path = tmp_path / "misspelt.yaml"
    path.write_text(text.replace("field: variety", "field: varietyX"))
    runner = manager.create_runner("misspelt_column")
    runner.from_yaml(str(path))
    with pytest.warns(UserWarning) as caught:
        runner.upload_file("iris", str(FIXTURES / "avatar" / "fixtures" / "iris.csv"))
    [message] = [str(w.message) for w in caught]
    assert message.startswith(
        "table 'iris': the uploaded data has no column(s) ['varietyX']; their declared types "
        "were dropped (its columns: sepal.length, sepal.width, petal.length, petal.width, variety)"
    )
