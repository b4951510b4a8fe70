"""What a new user porting Octopize code saw (issue 13, "what was seen"), item by item, through
the real client and a real server. Each test failed before its fix; the failure is quoted.

Items 1, 3 and 4 also run inside the tutorials (tests/e2e/test_octopize_tutorials.py), item 12's
bar is unit-tested (tests/unit/client/test_client_progress.py) and item 11 has its own module.
"""

from __future__ import annotations

import http.server
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from pypdf import PdfReader
from support import FIXTURES, ServerThread, TestUser
from veil_client import InvalidArgument, Manager, Unavailable
from veil_client.config import ColumnType
from veil_client.constants import PlotKind, Results
from veil_client.models import JobKind, JobStatus
from veil_service.engine.reports import build_report_figures

METRIC_JOBS = [JobKind.standard, JobKind.privacy_metrics, JobKind.signal_metrics]


@pytest.fixture()
def manager(veil_server: ServerThread, user: TestUser) -> Manager:
    return Manager(base_url=veil_server.url, api_key=user.api_key)


@pytest.fixture(scope="module")
def wbcd() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "tables" / "wbcd.csv")


@pytest.fixture(scope="module")
def iris() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "tables" / "iris.csv")


def test_item_1_use_categorical_reduction_reaches_the_metrics(
    manager: Manager, wbcd: pd.DataFrame
) -> None:
    # Before: "job privacy_metrics did not finish (error): unknown metrics parameters
    # ['use_categorical_reduction']", and the report ended in parent_error.
    runner = manager.create_runner("reduction")
    runner.add_table("wbcd", wbcd.astype({"Class": "category"}))
    runner.set_parameters("wbcd", k=15, use_categorical_reduction=True)
    runner.run(jobs_to_run=[*METRIC_JOBS, JobKind.report])
    privacy = runner.privacy_metrics("wbcd")[0]
    assert privacy["metadata"]["parameters"]["use_categorical_reduction"] is True
    assert runner.signal_metrics("wbcd")[0]["hellinger_mean"] < 0.5
    runner.get_all_results()
    assert runner.get_status(JobKind.report) == JobStatus.finished


def test_item_2_constant_and_empty_columns_pass_through(
    manager: Manager, wbcd: pd.DataFrame, tmp_path: Path
) -> None:
    # Before: "job standard did not finish (error): Column 'region' is constant (one value)".
    table = wbcd.assign(region="Vaud", protocol=7, notes=np.nan)
    runner = manager.create_runner("constants")
    runner.add_table("trial", table)
    runner.set_parameters("trial", k=15, known_variables=["Class", "region"], target="Mitoses")
    runner.run(jobs_to_run=[*METRIC_JOBS, JobKind.report])
    with pytest.warns(UserWarning) as caught:
        avatars = runner.shuffled("trial")
    said = [str(w.message) for w in caught]
    assert any(
        "'region', 'protocol' have one value in every row: released unchanged" in w for w in said
    )
    assert any("'notes' has no value in any row" in w for w in said)
    assert list(avatars.columns) == list(table.columns)
    assert (avatars["region"] == "Vaud").all() and (avatars["protocol"] == 7).all()
    assert avatars["notes"].isna().all()
    job = runner.get_job(JobKind.standard)
    assert any("columns 'region', 'protocol' have one value" in w for w in job.warnings)
    with pytest.warns(UserWarning) as caught:  # the metrics jobs say it too, once each
        privacy = runner.privacy_metrics("trial")[0]
    assert len(caught) == 2
    assert privacy["metadata"]["set_aside_columns"] == ["region", "protocol", "notes"]
    assert "region" not in privacy["details"]["column_direct_match_protection_per_column"]
    report = tmp_path / "report.pdf"
    runner.download_report(str(report))  # the report job succeeded too
    assert report.read_bytes().startswith(b"%PDF")


def test_item_3_ncp_is_capped_with_a_warning(manager: Manager, iris: pd.DataFrame) -> None:
    # Before: "ncp must be at most the number of projection dimensions (7); got ncp=20. Lower
    # ncp to 5 or less."
    runner = manager.create_runner("ncp20")
    runner.add_table("iris", iris)
    runner.set_parameters("iris", k=10, ncp=20)
    runner.run(jobs_to_run=[JobKind.standard])
    with pytest.warns(UserWarning, match=r"ncp=20 is more than the 7 dimensions.*capped at 7"):
        assert runner.shuffled("iris").shape == (150, 5)


def test_item_5_the_missing_client_surface(
    manager: Manager, iris: pd.DataFrame, tmp_path: Path
) -> None:
    # Before: AttributeError for each of these, TypeError for the keyword arguments.
    runner = manager.create_runner("surface", output_format="parquet")
    runner.add_table("iris", iris)
    runner.add_annotations({"project": "trial-42"})
    runner.set_parameters("iris", k=10)
    runner.run(jobs_to_run=METRIC_JOBS)
    exported = runner.get_yaml()
    metadata = next(d for d in yaml.safe_load_all(exported) if d["kind"] == "AvatarMetadata")
    assert metadata["annotations"]["project"] == "trial-42"
    assert manager.create_runner_from_id(runner.set_name).config.annotations == {
        "project": "trial-42"
    }
    urls = runner.get_specific_result_urls(JobKind.standard, Results.SHUFFLED)
    assert len(urls) == 1
    with pytest.deprecated_call():
        assert runner.get_status(job_name=JobKind.standard) == JobStatus.finished
    originals, avatars = runner.projections("iris", job_name=JobKind.standard)
    assert len(originals) == len(avatars) == 150
    with pytest.raises(ValueError, match=r"for multi-table runs .*this run has no link"):
        runner.render_privacy_metrics_summary()
    with pytest.raises(ValueError, match="multi-table runs"):
        runner.render_signal_metrics_summary()
    summary = runner.metrics_summary()
    assert list(summary.index) == ["iris"]
    assert list(summary.columns) == [("standalone", "privacy"), ("standalone", "signal")]
    hidden_rate = runner.privacy_metrics("iris")[0]["hidden_rate"]
    assert summary.loc["iris", ("standalone", "privacy")] == pytest.approx(hidden_rate)
    with pytest.raises(ValueError, match="advise_links needs at least two tables"):
        runner.advise_links()

    assert {j.id for j in manager.get_jobs_by_id(runner.set_name)} == set(runner.jobs.values())
    assert {j.id for j in manager.get_jobs_by_name("surface")} == set(runner.jobs.values())
    assert {j.id for j in manager.get_last_set()} == set(runner.jobs.values())
    assert manager.cancel_jobs(list(runner.jobs.values())) == []  # all done already
    unknown = "00000000-0000-4000-8000-000000000000"
    deleted = manager.delete_jobs([runner.jobs[JobKind.signal_metrics], unknown])
    assert deleted == {
        "deleted_jobs": [runner.jobs[JobKind.signal_metrics]],
        "failed_jobs": [unknown],
    }
    yaml_path = tmp_path / "surface.yaml"
    yaml_path.write_text(exported)
    from_yaml = manager.create_runner_from_yaml(str(yaml_path), "surface_again")
    assert from_yaml.config.tables["iris"].avatarization == {"k": 10}

    slow = manager.create_runner("to_kill")
    slow.add_table("iris", iris)
    slow.set_parameters("iris", k=10)
    slow.run(jobs_to_run=METRIC_JOBS)
    slow.kill()
    # Jobs waiting on a cancelled one end in parent_error.
    assert set(slow.statuses().values()) <= {
        JobStatus.cancelled,
        JobStatus.finished,
        JobStatus.parent_error,
    }


def test_item_6_get_all_results_has_octopizes_shape(manager: Manager, iris: pd.DataFrame) -> None:
    # Before: a dict of lists per kind; Results.REPORT gave the PIA DOCX; no metadata kinds.
    runner = manager.create_runner("organizer")
    runner.add_table("iris", iris)
    runner.set_parameters("iris", k=10)
    runner.run()
    results = runner.get_all_results()
    assert results.shuffled["iris"].shape == (150, 5)
    assert results.sensitive_unshuffled["iris"].shape == (150, 5)
    assert len(results.original_projections["iris"]) == 150
    assert len(results.avatars_projections["iris"]) == 150
    assert results.privacy_metrics["iris"][0]["hidden_rate"] >= 0
    assert results.signal_metrics["iris"][0]["hellinger_mean"] >= 0
    assert "<" in results.figures["iris"]["2d_projection"][0]
    assert set(results.run_metadata) == {"standard", "privacy_metrics", "signal_metrics", "report"}
    # Each task's computing, placed in time: the standard job's ended before a metrics job began.
    timing = {kind: meta["tables"][0] for kind, meta in results.run_metadata.items()}
    standard_ended = (
        timing["standard"]["engine_compute_started_at"]
        + timing["standard"]["engine_compute_seconds"]
    )
    assert (
        0 < timing["standard"]["engine_compute_seconds"] < timing["standard"]["task_wall_seconds"]
    )
    assert standard_ended <= timing["privacy_metrics"]["engine_compute_started_at"] <= time.time()
    assert results.privacy_metrics_summary["iris"]["standalone"] == pytest.approx(
        results.privacy_metrics["iris"][0]["hidden_rate"]
    )
    assert results.signal_metrics_summary["iris"]["standalone"] == pytest.approx(
        100 * (1 - results.signal_metrics["iris"][0]["hellinger_mean"])
    )
    report = runner.get_specific_result("iris", JobKind.report, Results.REPORT)
    assert report.startswith(b"%PDF")
    # Octopize's PIA report job is "report_pia"; Veil's report job makes both reports. Before:
    # "ValueError: 'report_pia' is not a valid JobKind".
    assert runner.get_job("report_pia").id == runner.jobs[JobKind.report]
    assert runner.get_status("report_pia") == JobStatus.finished
    # Octopize's statuses() lists report_pia with the jobs a report launches.
    assert list(runner.statuses()) == [*(kind.value for kind in runner.jobs), "report_pia"]
    assert runner.statuses()["report_pia"] == runner.statuses()["report"] == JobStatus.finished
    figures_metadata = runner.get_specific_result(
        "iris", JobKind.standard, Results.FIGURES_METADATA
    )
    assert {
        "kind": "2d_projection",
        "filename": "iris_2d_projection_0.html",
        "table_name": "iris",
    } in (figures_metadata)
    images = runner.get_specific_result_urls(JobKind.report, Results.REPORT_IMAGES)
    assert images
    # The report's projection is the run's own (the standard job's FAMD coordinates), drawn as
    # its page is: the same picture as build_report_figures draws from the downloaded ones.
    drawn = {
        info.subkind: data for info, data in (runner.api.download_result(image) for image in images)
    }
    expected = next(
        f.png
        for f in build_report_figures(
            iris,
            results.sensitive_unshuffled["iris"],
            original_projections=results.original_projections["iris"],
            avatar_projections=results.avatars_projections["iris"],
            privacy=None,
            signal=None,
            table_name="iris",
        )
        if f.kind == "2d_projection"
    )
    assert drawn["2d_projection:0"] == expected
    metadata = runner.get_specific_result("iris", JobKind.standard, Results.METADATA)
    assert metadata["kind"] == "standard"


def test_item_7_dtypes_come_back_as_they_went_in(manager: Manager, iris: pd.DataFrame) -> None:
    # Before: int64, float64, object (categories lost) and the strings '1'..'10'.
    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        {
            "i32": pd.Series(rng.integers(0, 100, 150), dtype="int32"),
            "f32": iris["sepal.length"].astype("float32"),
            "cat": pd.Categorical(iris["variety"], categories=[*iris["variety"].unique(), "Other"]),
            "s": iris["variety"].astype("string"),
            "codes": pd.Series(rng.integers(1, 11, 150), dtype="int64"),
        }
    )
    runner = manager.create_runner("dtypes")
    runner.add_table("t", table, types={"codes": ColumnType.CATEGORY})
    runner.set_parameters("t", k=10)
    runner.run(jobs_to_run=[JobKind.standard])
    avatars = runner.shuffled("t")
    assert dict(avatars.dtypes) == dict(table.dtypes)
    assert list(avatars["cat"].cat.categories) == list(table["cat"].cat.categories)
    assert set(avatars["codes"]) <= set(range(1, 11))


def test_missing_values_come_back_as_the_inputs(manager: Manager, iris: pd.DataFrame) -> None:
    # An object column read with pd.read_csv holds NaN; Arrow carries null, and pyarrow gives
    # None back for it: the avatars of a NaN came back None (astype(str) and unique() differ
    # from the input's). Each missing value comes back in the kind the column's dtype uses.
    rng = np.random.default_rng(1)
    holes = rng.random(150) < 0.2
    table = pd.DataFrame(
        {
            "length": iris["sepal.length"].where(~holes),
            "variety": iris["variety"].where(~holes),  # object, NaN where missing
            "s": iris["variety"].astype("string").where(~holes),  # string, pd.NA
            "cat": iris["variety"].astype("category").where(~holes),  # category, NaN
        }
    )
    runner = manager.create_runner("missing values")
    runner.add_table("t", table)
    runner.set_parameters("t", k=10)
    runner.run(jobs_to_run=[JobKind.standard])
    for avatars in (runner.shuffled("t"), runner.sensitive_unshuffled("t")):
        assert dict(avatars.dtypes) == dict(table.dtypes)
        assert avatars["variety"].isna().any()
        for column in ("length", "variety", "cat"):
            missing = avatars[column][avatars[column].isna()]
            assert all(isinstance(v, float) and np.isnan(v) for v in missing), column
        assert all(v is pd.NA for v in avatars["s"][avatars["s"].isna()])
        assert "None" not in set(avatars["variety"].astype(str))
    downloaded = manager.runs_api.download_dataframe(runner._ensure_run(), "t", "original")
    pd.testing.assert_frame_equal(downloaded, table)
    assert downloaded["variety"].astype(str).equals(table["variety"].astype(str))


def test_item_8_job_response_has_octopizes_fields(manager: Manager, iris: pd.DataFrame) -> None:
    # Before: AttributeError 'parameters_name', 'model_dump'; set_name a str.
    import uuid

    runner = manager.create_runner("fields")
    runner.add_table("iris", iris)
    runner.set_parameters("iris", k=10)
    runner.run(jobs_to_run=[JobKind.standard])
    runner.shuffled("iris")
    job = runner.get_job(JobKind.standard)
    assert job.parameters_name == "standard"
    assert (job.phase_done, job.phase_total) == (1, 1)
    assert job.deleted_at is None
    assert job.set_name == uuid.UUID(runner.set_name)
    dumped = job.model_dump()
    assert dumped["status"] == JobStatus.finished and dumped["set_name"] == job.set_name
    as_json = job.model_dump(mode="json")
    assert as_json["status"] == "finished" and as_json["set_name"] == runner.set_name


def test_item_9_parameters_are_checked_and_honoured(
    manager: Manager, iris: pd.DataFrame, tmp_path: Path
) -> None:
    runner = manager.create_runner("My report run")
    # Before: NotImplementedError "['kk'] is not supported by Veil yet".
    runner.add_table("iris", iris, individual_level=False)
    with pytest.raises(InvalidArgument, match=r"unknown parameter 'kk'; did you mean 'k'\?"):
        runner.set_parameters("iris", kk=5)
    # Before: InvalidArgument "k must be an integer; got 5".
    runner.set_parameters(
        "iris", k=np.int64(10), ncp=np.int32(3), exclude_variable_names=["variety"]
    )
    assert runner.config.tables["iris"].avatarization["k"] == 10
    # Excluded variables stay out of the metrics' projection unless asked for.
    assert runner.config.tables["iris"].privacy_metrics["exclude_variable_names"] == ["variety"]
    runner.update_parameters("iris", use_excluded_variables_in_metrics=True)
    assert "exclude_variable_names" not in runner.config.tables["iris"].privacy_metrics
    runner.run()
    privacy = runner.privacy_metrics("iris")[0]
    assert privacy["metadata"]["parameters"]["exclude_variable_names"] == []
    exported = list(yaml.safe_load_all(runner.get_yaml()))
    schema = next(d for d in exported if d["kind"] == "AvatarSchema")
    assert schema["spec"]["tables"][0]["individual_level"] is False
    # Before: the report's title was generic.
    runner.download_report(str(tmp_path / "report.pdf"))
    title = PdfReader(tmp_path / "report.pdf").metadata.title
    assert title == "Avatarization technical report: My report run"

    missing = iris.copy()
    missing.loc[::6, "sepal.width"] = np.nan
    imputed = manager.create_runner("imputed")
    imputed.add_table("iris", missing)
    # Before: accepted and ignored.
    imputed.set_parameters("iris", k=10, imputation_return_data_imputed=True)
    imputed.run(jobs_to_run=[JobKind.standard])
    assert imputed.shuffled("iris")["sepal.width"].notna().all()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture()
def http_server() -> Iterator[int]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_item_10_connection_problems_say_what_is_wrong(http_server: int) -> None:
    # Before: raw gRPC text at the first call ("failed to connect to all addresses; last error:
    # UNKNOWN: ipv4:127.0.0.1:...: Failed to connect to remote host: Connection refused").
    port = _free_port()
    with pytest.raises(Unavailable) as down:
        Manager(base_url=f"localhost:{port}", api_key="veil_x")
    assert down.value.message == (
        f"cannot reach a Veil server at localhost:{port}: nothing listens there (connection "
        "refused); start it (veil serve) or check base_url."
    )
    with pytest.raises(Unavailable) as wrong_host:
        Manager(base_url="no-such-host.invalid:50051", api_key="veil_x")
    assert wrong_host.value.message == (
        "cannot find the host 'no-such-host.invalid' of base_url "
        "'no-such-host.invalid:50051': check the address."
    )
    with pytest.raises(Unavailable) as http_port:
        Manager(base_url=f"127.0.0.1:{http_server}", api_key="veil_x")
    assert http_port.value.message == (
        f"127.0.0.1:{http_server} answers HTTP, not gRPC: base_url must be the gRPC port of "
        "veil serve (--port), not a web server's."
    )
    with pytest.raises(InvalidArgument, match="HTTP URL; Veil speaks gRPC"):
        Manager(base_url=f"http://localhost:{http_server}", api_key="veil_x")


def test_item_10_csv_files_are_checked_before_upload(manager: Manager, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    header_only = tmp_path / "header.csv"
    header_only.write_text("a,b,c\n")
    runner = manager.create_runner("csv")
    # Before: the empty table was stored, and the run failed later.
    with pytest.raises(InvalidArgument, match="is empty"):
        runner.add_table("empty", empty)
    with pytest.raises(InvalidArgument, match=r"has a header .* but no row"):
        runner.add_table("header", header_only)
    # Before: read as one column named 'a;b;c'.
    european = tmp_path / "european.csv"
    european.write_text(
        "age;weight;city\n"
        + "".join(f"{20 + i};{60 + i},5;{['Lyon', 'Nantes'][i % 2]}\n" for i in range(40))
    )
    runner.add_table("european", european)
    assert runner.config.tables["european"].types == {}
    stored = manager.runs_api.list_tables(runner.set_name)
    assert [c.name for c in stored[0].columns] == ["age", "weight", "city"]
    assert dict((c.name, c.arrow_type) for c in stored[0].columns)["weight"] == "double"


def test_item_10_advice_never_proposes_a_k_it_warns_about(manager: Manager) -> None:
    small = pd.DataFrame({"x": np.arange(30.0), "y": ["a", "b", "c"] * 10})
    runner = manager.create_runner("small")
    runner.add_table("small", small)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # before: "k=2 is the minimum allowed value"
        runner.advise_parameters("small")
    assert runner.config.tables["small"].avatarization["k"] == 3


def test_set_parameters_takes_octopizes_positional_arguments(
    manager: Manager, iris: pd.DataFrame
) -> None:
    # Octopize's set_parameters(table_name, k, ncp, use_categorical_reduction, ...) takes them
    # by position too. Before: "TypeError: Runner.set_parameters() takes 2 positional
    # arguments but 4 were given".
    runner = manager.create_runner("positional")
    runner.add_table("iris", iris)
    runner.set_parameters("iris", 5, 3)
    assert runner.config.tables["iris"].avatarization == {"k": 5, "ncp": 3}
    runner.run(jobs_to_run=[JobKind.standard, JobKind.privacy_metrics])
    privacy = runner.privacy_metrics("iris")[0]
    assert privacy["metadata"]["parameters"]["ncp"] == 3
    assert runner.get_job(JobKind.standard).status == JobStatus.finished
    # Veil's own parameters stay keyword-only, after Octopize's.
    with pytest.raises(TypeError):
        runner.set_parameters("iris", *([None] * 26), 1000)


def test_get_specific_result_gives_metrics_as_octopizes_lists(
    manager: Manager, iris: pd.DataFrame
) -> None:
    # Octopize keeps one list of computations per table, so get_specific_result returns a list
    # for metrics, as runner.privacy_metrics(table) does. Before: a bare dict for a one-table
    # run (``result[0]`` raised KeyError: 0).
    runner = manager.create_runner("metrics_lists")
    runner.add_table("iris", iris)
    runner.set_parameters("iris", k=10)
    runner.run(jobs_to_run=METRIC_JOBS)
    privacy = runner.get_specific_result("iris", JobKind.privacy_metrics, Results.PRIVACY_METRICS)
    signal = runner.get_specific_result("iris", "signal_metrics", Results.SIGNAL_METRICS)
    assert isinstance(privacy, list) and isinstance(signal, list)
    assert [p["metadata"]["table_name"] for p in privacy] == ["iris"]
    assert privacy == runner.privacy_metrics("iris")
    assert signal == runner.signal_metrics("iris")
    assert 0 <= signal[0]["hellinger_mean"] <= 1


def test_kill_after_the_jobs_were_deleted_does_not_fail(
    manager: Manager, iris: pd.DataFrame
) -> None:
    # Octopize's kill() does nothing; Veil's cancels the unfinished jobs, and must not fail on
    # jobs already deleted. Before: "NotFound: no job '<id>'".
    runner = manager.create_runner("kill_deleted")
    runner.add_table("iris", iris)
    runner.set_parameters("iris", k=10)
    runner.run(jobs_to_run=[JobKind.standard])
    assert runner.shuffled("iris").shape == (150, 5)
    deleted = manager.delete_job("kill_deleted")
    assert deleted["deleted_jobs"] == [runner.jobs[JobKind.standard]]
    runner.kill()
    assert manager.get_jobs_by_name("kill_deleted") == []


def test_a_reloaded_runner_reruns_under_its_own_versioned_name(
    manager: Manager, iris: pd.DataFrame, tmp_path: Path
) -> None:
    # Octopize names a runner made from an earlier run "<name>-v1" (then -v2...), and its
    # run() creates the set under that name; a runner run twice keeps its name. Before: the
    # reloaded runner kept "versioned", and its rerun was listed under "versioned".
    runner = manager.create_runner("versioned")
    runner.add_table("iris", iris)
    runner.set_parameters("iris", k=10)
    runner.run(jobs_to_run=[JobKind.standard])
    first_id = runner.set_name
    first = runner.shuffled("iris")

    loaded = manager.create_runner_from_id(first_id)
    assert loaded.display_name == "versioned-v1"
    assert loaded.set_name == first_id
    pd.testing.assert_frame_equal(loaded.shuffled("iris"), first)
    loaded.run(jobs_to_run=[JobKind.standard], ignore_warnings=True)
    second_id = loaded.set_name
    assert second_id != first_id
    assert loaded.shuffled("iris").shape == (150, 5)
    assert loaded.api.get_run(second_id).display_name == "versioned-v1"
    assert {j.id for j in manager.get_jobs_by_name("versioned-v1")} == set(loaded.jobs.values())
    assert [run_id for run_id, _ in manager.find_ids_by_name("versioned")] == [first_id]
    assert loaded.api.get_run(first_id).display_name == "versioned"

    again = manager.create_runner_from_name("versioned-v1")
    assert again.display_name == "versioned-v2" and again.set_name == second_id
    yaml_path = tmp_path / "versioned.yaml"
    runner.get_yaml(str(yaml_path))
    assert manager.create_runner_from_yaml(str(yaml_path), "versioned").display_name == (
        "versioned-v1"
    )
    assert manager.create_runner_from_yaml(str(yaml_path), "x-v9").display_name == "x-v10"

    # A runner run again keeps its name (a new version of it), as Octopize's does.
    runner.run(jobs_to_run=[JobKind.standard], ignore_warnings=True)
    assert runner.display_name == "versioned"
    assert [run_id for run_id, _ in manager.find_ids_by_name("versioned")] == [
        runner.set_name,
        first_id,
    ]

    with pytest.raises(InvalidArgument, match="reuse_run adds the jobs") as refused:
        runner.api.start_jobs(
            runner.set_name, [JobKind.privacy_metrics], reuse_run=True, display_name="other"
        )
    assert refused.value.field == "display_name"


def test_figures_come_by_kind_and_bad_run_ids_are_named(
    manager: Manager, iris: pd.DataFrame
) -> None:
    # Octopize's get_specific_result(table, job, Results.FIGURES) gives the table's figures by
    # kind ({PlotKind: [HTML, ...]}, what its render_plot reads). Before: one HTML page (the
    # last figure), every other one out of reach.
    runner = manager.create_runner("figures_by_kind")
    runner.add_table("iris", iris)
    runner.set_parameters("iris", k=10)
    runner.run(jobs_to_run=[JobKind.standard])
    figures = runner.get_specific_result("iris", JobKind.standard, Results.FIGURES)
    assert isinstance(figures, dict)
    assert figures == runner.get_all_results().figures["iris"]
    assert {PlotKind.PROJECTION_2D, PlotKind.PROJECTION_3D, PlotKind.DISTRIBUTION} <= set(figures)
    projection = figures[PlotKind.PROJECTION_2D]
    assert len(projection) == 1 and "<svg" in projection[0]

    # Octopize's create_runner_from_id errors: TypeError for a non-string, ValueError naming
    # the format. Before: "badly formed hexadecimal UUID string" for both.
    with pytest.raises(TypeError, match="set_name must be a str or UUID, got int"):
        manager.create_runner_from_id(5)  # type: ignore[arg-type]
    with pytest.raises(
        InvalidArgument,
        match=r"Invalid set_name format: 'figures_by_kind'.*"
        r"create_runner_from_name\('figures_by_kind'\)",
    ) as bad:
        manager.create_runner_from_id("figures_by_kind")
    assert bad.value.field == "set_name"
    with pytest.raises(InvalidArgument, match="Invalid id format"):
        manager.get_jobs_by_id("figures_by_kind")
    with pytest.raises(InvalidArgument, match="Invalid id format"):
        manager.delete_job_by_id("figures_by_kind")
    assert manager.get_jobs_by_id(runner.set_name)[0].id == runner.jobs[JobKind.standard]


def test_changes_after_run_wait_for_the_next_run(manager: Manager, iris: pd.DataFrame) -> None:
    # Octopize keeps a runner's changes local until the next run(), which makes a new resource
    # set: the jobs already started keep the configuration they were started with. Before:
    # the change rewrote the run's configuration, and the privacy_metrics job (which starts
    # after the avatarization) ran with it: ncp 2 for a run started without ncp.
    runner = manager.create_runner("changed_after_run")
    runner.add_table("iris", iris)
    runner.set_parameters("iris", k=10)
    runner.run(jobs_to_run=[JobKind.standard, JobKind.privacy_metrics])
    first_id = runner.set_name
    runner.set_parameters("iris", k=20, ncp=2)
    runner.upload_file("iris", iris.head(100))
    assert runner.set_name == first_id  # still the run of the jobs and results
    assert runner.privacy_metrics("iris")[0]["metadata"]["parameters"]["ncp"] is None  # unset
    assert runner.shuffled("iris").shape == (150, 5)
    first = runner.api.get_run(first_id)
    assert first.config.tables["iris"].avatarization == {"k": 10}
    assert [t.num_rows for t in first.tables if t.role == "original"] == [150]

    runner.run(jobs_to_run=[JobKind.standard, JobKind.privacy_metrics], ignore_warnings=True)
    assert runner.set_name != first_id
    assert runner.privacy_metrics("iris")[0]["metadata"]["parameters"]["ncp"] == 2
    assert runner.shuffled("iris").shape == (100, 5)
    assert runner.api.get_run(runner.set_name).config.tables["iris"].avatarization == {
        "k": 20,
        "ncp": 2,
    }
    # One new version for the changes and the rerun, listed under the runner's name.
    assert [run_id for run_id, _ in manager.find_ids_by_name("changed_after_run")] == [
        runner.set_name,
        first_id,
    ]
    # Reading the configuration changes nothing: no version is made for it.
    runs = len(manager.runs_api.list_runs(display_name="changed_after_run").items)
    runner.get_yaml()
    reloaded = manager.create_runner_from_id(first_id)
    reloaded.get_yaml()
    assert reloaded.set_name == first_id
    assert len(manager.runs_api.list_runs(display_name="changed_after_run").items) == runs
    assert manager.runs_api.list_runs(display_name="changed_after_run-v1").items == []
