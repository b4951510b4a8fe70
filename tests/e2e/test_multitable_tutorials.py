"""Octopize's Tutorial 3 (multi-table) and Tutorial 4 (time series), run through the real client
against a real server (port 0, SQLite file, engine child).

Each ``*_CODE`` string is the tutorial's steps as ../shared/reference/avatar_client.md section 8.1
lists them, in order, with the Octopize import lines changed to Veil's (``avatars`` ->
``veil_client``, ``avatar_yaml.models.*`` -> ``veil_client.config``) and nothing else: the
notebooks connect with ``Manager(api_key=os.environ.get("AVATAR_API_KEY"))``, and the server's
address reaches ``Manager()`` through ``VEIL_URL``. The tests then check what the notebooks show.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from octopize_port import show_figures_inline
from pypdf import PdfReader
from support import ServerThread, TestUser, octopize_fixtures
from veil_client.constants import Results
from veil_client.models import JobStatus

TUTORIAL_3_CODE = """\
import os

import pandas as pd
from veil_client.config import LinkMethod

from veil_client import Manager
from veil_client.models import JobKind

manager = Manager(api_key=os.environ.get("AVATAR_API_KEY"))

doctor = pd.read_csv("../fixtures/doctor.csv", sep=",")
patient = pd.read_csv("../fixtures/patient.csv", sep=",")
visit = pd.read_csv("../fixtures/visit.csv", sep=",")

runner = manager.create_runner(set_name="tutorial_multitable")
runner.add_table("patient", patient, primary_key="p_id", individual_level=True)
runner.add_table("doctor", doctor, primary_key="d_id", individual_level=True)
runner.add_table(
    "visit",
    visit,
    primary_key="visit_id",
    foreign_keys=["patient_id", "doctor_id"],
    individual_level=False,
)

runner.add_link(
    parent_table_name="patient",
    child_table_name="visit",
    parent_field="p_id",
    child_field="patient_id",
    method=LinkMethod.LINEAR_SUM_ASSIGNMENT,
)
runner.add_link(
    parent_table_name="doctor",
    child_table_name="visit",
    parent_field="d_id",
    child_field="doctor_id",
    method=LinkMethod.LINEAR_SUM_ASSIGNMENT,
)

runner.advise_parameters()
runner.update_parameters("patient", known_variables=["gender", "age"])
runner.print_parameters()

runner.run()

patient_avatar = runner.shuffled("patient")
doctor_avatar = runner.shuffled("doctor")
visit_avatar = runner.shuffled("visit")

runner.get_status(JobKind.privacy_metrics)
for table in ("patient", "doctor"):
    for method in runner.privacy_metrics(table):
        print(f"Computation type : {method['metadata']['computation_type']}")
        print(f"   Hidden rate : {method['hidden_rate']}")
for method in runner.privacy_metrics("visit"):
    print(
        f"Computation type : {method['metadata']['computation_type']} with table "
        f"{method['metadata']['reference']}"
    )
    print(f"   Hidden rate : {method['hidden_rate']}")

privacy_summary = runner.render_privacy_metrics_summary()

runner.get_status(JobKind.signal_metrics)
for table in ("patient", "doctor"):
    for method in runner.signal_metrics(table):
        print(f"Computation type : {method['metadata']['computation_type']}")
        print(f"   Hellinger mean : {method['hellinger_mean']}")
for method in runner.signal_metrics("visit"):
    print(
        f"Computation type : {method['metadata']['computation_type']} with table "
        f"{method['metadata']['reference']}"
    )
    if method["metadata"]["computation_type"] == "standalone":
        print(f"   Hellinger mean : {method['hellinger_mean']}")
    print(f"   Correlation difference ratio : {method['correlation_difference_ratio']}")

signal_summary = runner.render_signal_metrics_summary()
summary = runner.metrics_summary()

runner.download_report("multitable-report.pdf")

doctor_avatar_renamed = doctor_avatar.rename(columns={"age": "age_doctor"})
visit_avatar_flat = visit_avatar.join(doctor_avatar_renamed.set_index("d_id"), on="doctor_id")
visit_avatar_flat = visit_avatar_flat.join(patient_avatar.set_index("p_id"), on="patient_id")

doctor_renamed = doctor.rename(columns={"age": "age_doctor"})
visit_flat = visit.join(doctor_renamed.set_index("d_id"), on="doctor_id")
visit_flat = visit_flat.join(patient.set_index("p_id"), on="patient_id")
"""

TUTORIAL_4_CODE = """\
import os

import pandas as pd
from veil_client.config import ProjectionType
from veil_client.config import LinkMethod

from veil_client.constants import PlotKind
from veil_client import Manager

manager = Manager(api_key=os.environ.get("AVATAR_API_KEY"))
manager.get_health()
runner = manager.create_runner("tutorial_time_series")

vanilla_df = pd.read_csv("../fixtures/sensors_vanilla.csv")
ts1_df = pd.read_csv("../fixtures/sensors_timeseries1.csv")
ts2_df = pd.read_csv("../fixtures/sensors_timeseries2.csv")

runner.add_table("vanilla", vanilla_df, individual_level=True, primary_key="id")
runner.add_table(
    "sensor1", ts1_df, primary_key="primary_key", foreign_keys=["id"], time_series_time="t"
)
runner.add_table(
    "sensor2", ts2_df, primary_key="primary_key", foreign_keys=["id"], time_series_time="t"
)

runner.add_link("vanilla", "id", "sensor1", "id", LinkMethod.TIME_SERIES)
runner.add_link("vanilla", "id", "sensor2", "id", LinkMethod.TIME_SERIES)

runner.set_parameters("vanilla", k=5)
runner.set_parameters(
    "sensor1", time_series_projection_type=ProjectionType.FLATTEN, time_series_nf=10
)
runner.set_parameters(
    "sensor2", time_series_projection_type=ProjectionType.FLATTEN, time_series_nf=10
)

runner.run()
results = runner.get_all_results()

avatars_vanilla = runner.shuffled("vanilla")
avatars_ts1_df = runner.shuffled("sensor1")
avatars_ts2_df = runner.shuffled("sensor2")
runner.render_plot("sensor1", plot_kind=PlotKind.RAW_SERIES)
runner.render_plot("sensor2", plot_kind=PlotKind.RAW_SERIES)

for table in ("vanilla", "sensor1", "sensor2"):
    print(runner.privacy_metrics(table)[0])
    print(runner.signal_metrics(table)[0])

runner.download_report("time_series_report.pdf")
"""


@pytest.fixture()
def notebook(
    veil_server: ServerThread,
    user: TestUser,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Path]:
    """A notebook's surroundings: ``../fixtures``, the server's address, the reader's key."""
    monkeypatch.setenv("VEIL_URL", veil_server.url)
    monkeypatch.setenv("AVATAR_API_KEY", user.api_key)
    show_figures_inline(monkeypatch)
    octopize_fixtures(tmp_path / "fixtures")
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    monkeypatch.chdir(notebooks)
    yield notebooks


def _pdf_text(path: Path) -> str:
    return " ".join(page.extract_text() for page in PdfReader(path).pages)


def run(code: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "__tutorial__"}
    exec(compile(code, "<tutorial>", "exec"), namespace)
    return namespace


def test_tutorial_3_multitable(notebook: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ns = run(TUTORIAL_3_CODE)
    runner = ns["runner"]
    patient, doctor, visit = ns["patient"], ns["doctor"], ns["visit"]
    assert set(runner.statuses().values()) == {JobStatus.finished}

    # Avatar tables: same shapes and columns, new keys consistent across tables.
    for original, avatar in ((patient, "patient_avatar"), (doctor, "doctor_avatar")):
        assert ns[avatar].shape == original.shape
        assert list(ns[avatar].columns) == list(original.columns)
    visit_avatar = ns["visit_avatar"]
    assert visit_avatar.shape == visit.shape
    assert set(visit_avatar["patient_id"]) <= set(ns["patient_avatar"]["p_id"])
    assert set(visit_avatar["doctor_id"]) <= set(ns["doctor_avatar"]["d_id"])
    assert ns["patient_avatar"]["p_id"].is_unique and visit_avatar["visit_id"].is_unique
    # The notebook's joins find a parent for every avatar visit.
    assert ns["visit_avatar_flat"][["age_doctor", "gender"]].notna().all().all()
    # Keys are renumbered: they say nothing of the original keys.
    assert sorted(ns["patient_avatar"]["p_id"]) == list(range(len(patient)))

    # Parameters came from the advice, per table (k per table), with the update kept.
    params = runner.config.tables
    assert all(params[t].avatarization and params[t].avatarization["k"] >= 2 for t in params)
    assert params["patient"].privacy_metrics["known_variables"] == ["gender", "age"]

    computations = {
        t: [
            (m["metadata"]["computation_type"], m["metadata"]["reference"])
            for m in runner.privacy_metrics(t)
        ]
        for t in ("patient", "doctor", "visit")
    }
    assert computations["patient"] == [("standalone", None), ("to_top_enriched", "visit")]
    assert computations["doctor"] == [("standalone", None), ("to_top_enriched", "visit")]
    assert computations["visit"] == [
        ("to_bottom_id_propagated", "patient"),
        ("full_enriched", "patient"),
        ("to_bottom_id_propagated", "doctor"),
        ("full_enriched", "doctor"),
    ]
    for table in computations:
        for metrics in runner.privacy_metrics(table):
            assert 0 <= metrics["hidden_rate"] <= 100
            assert metrics["metadata"]["table_name"] == table
    visit_signal = runner.signal_metrics("visit")
    assert [m["metadata"]["computation_type"] for m in visit_signal] == [
        "standalone",
        "to_bottom_information_propagated",
        "to_bottom_information_propagated",
    ]
    patient_top = runner.signal_metrics("patient")[1]
    assert patient_top["metadata"]["computation_type"] == "to_top_enriched"
    assert patient_top["child_count_mean_original"] == pytest.approx(len(visit) / len(patient))
    assert 0 <= patient_top["child_count_hellinger"] <= 1

    privacy_summary, signal_summary = ns["privacy_summary"], ns["signal_summary"]
    assert set(privacy_summary) == {"patient", "doctor", "visit"}
    assert set(privacy_summary["visit"]) == {"patient", "doctor"}
    assert (
        privacy_summary["patient"]["standalone"]
        == runner.privacy_metrics("patient")[0]["hidden_rate"]
    )
    assert set(signal_summary["patient"]) == {"standalone", "visit"}
    summary: pd.DataFrame = ns["summary"]
    assert list(summary.index) == ["patient", "doctor", "visit"]
    assert ("standalone", "privacy") in summary.columns and ("visit", "signal") in summary.columns

    report = " ".join(_pdf_text(Path("multitable-report.pdf")).split())
    # Titled with the run's display name, as a single-table report is (it read "run": the
    # claimed job carried no display name).
    assert PdfReader("multitable-report.pdf").metadata.title == (
        "Avatarization technical report: tutorial_multitable"
    )
    assert "Veil technical report · tutorial_multitable" in report
    assert "Linked tables" in report
    for line in ("patient.p_id → visit.patient_id", "doctor.d_id → visit.doctor_id"):
        assert line in report
    for table in ("patient", "doctor", "visit"):
        assert f"Table {table}" in report
    assert "full_enriched" in report and "Privacy breach" not in report
    printed = capsys.readouterr().out
    assert "Computation type : full_enriched with table doctor" in printed
    assert "time_series" not in printed  # print_parameters shows no series for plain tables


def test_tutorial_3_with_minimum_distance_assignment(notebook: Path) -> None:
    code = TUTORIAL_3_CODE.replace(
        "LinkMethod.LINEAR_SUM_ASSIGNMENT", "LinkMethod.MINIMUM_DISTANCE_ASSIGNMENT"
    ).split("runner.get_status(JobKind.privacy_metrics)")[0]
    ns = run(code.replace("runner.run()", "runner.run(jobs_to_run=[JobKind.standard])"))
    runner = ns["runner"]
    assert {link.method for link in runner.config.links} == {"minimum_distance_assignment"}
    visit_avatar = ns["visit_avatar"]
    assert len(visit_avatar) == len(ns["visit"])
    assert set(visit_avatar["doctor_id"]) <= set(ns["doctor_avatar"]["d_id"])
    yaml_text = runner.get_yaml()
    assert yaml_text.count("method: minimum_distance_assignment") == 2


def test_tutorial_3_with_the_sensitive_original_order_is_flagged(notebook: Path) -> None:
    code = TUTORIAL_3_CODE.replace(
        "LinkMethod.LINEAR_SUM_ASSIGNMENT", "LinkMethod.SENSITIVE_ORIGINAL_ORDER_ASSIGNMENT", 1
    )
    # The job's warning reaches the user when the results are read (Runner warns once per job).
    with pytest.warns(UserWarning, match="HIGH PRIVACY BREACH"):
        ns = run(code)
    runner = ns["runner"]
    # The structure of the patient link is the original one: each avatar patient has as many
    # visits as the original patient of the same row.
    visits = runner.sensitive_unshuffled("visit")
    patients = runner.sensitive_unshuffled("patient")
    original_counts = ns["visit"]["patient_id"].value_counts()
    avatar_counts = visits["patient_id"].value_counts()
    for row in (0, 10, 50):
        assert avatar_counts.get(patients["p_id"][row], 0) == original_counts.get(
            ns["patient"]["p_id"][row], 0
        )
    report = " ".join(_pdf_text(Path("multitable-report.pdf")).split())
    assert "Privacy breach: the link patient.p_id → visit.patient_id uses" in report
    assert "doctor.d_id → visit.doctor_id uses" not in report
    standard = runner.get_all_results()[Results.METADATA.value]["standard"]  # keyed by job kind
    assert standard["kind"] == "standard"
    assert any("HIGH PRIVACY BREACH" in w for w in standard["warnings"])


def test_tutorial_4_time_series(notebook: Path) -> None:
    ns = run(TUTORIAL_4_CODE)
    runner = ns["runner"]
    vanilla, ts1, ts2 = ns["vanilla_df"], ns["ts1_df"], ns["ts2_df"]
    assert set(runner.statuses().values()) == {JobStatus.finished}
    avatars = ns["avatars_vanilla"]
    assert avatars.shape == vanilla.shape
    for original, name in ((ts1, "avatars_ts1_df"), (ts2, "avatars_ts2_df")):
        series = ns[name]
        assert list(series.columns) == list(original.columns)
        assert set(series["id"]) <= set(avatars["id"])
        assert series["primary_key"].is_unique
        # uniform unalignment: as many readings as the originals, on the original time range
        assert len(series) == len(original)
        assert series["t"].min() >= original["t"].min()
        assert series["t"].max() <= original["t"].max()
    for table in ("sensor1", "sensor2"):
        figures = [
            r
            for r in runner.api.list_results(job_id=runner.jobs["standard"])
            if r.table_name == table and r.kind == "figures"
        ]
        assert {f.subkind.split(":")[0] for f in figures} == {"raw_series", "normalized_series"}
        signal = runner.signal_metrics(table)[0]
        assert 0 <= signal["pointwise_hellinger_mean"] <= 1
        assert 0 <= signal["density_hellinger_mean"] <= 1
        assert "pointwise_hellinger_std" in signal and "density_hellinger_std" in signal
        privacy = runner.privacy_metrics(table)[0]
        assert privacy["metadata"]["computation_type"] == "standalone"
        assert 0 <= privacy["hidden_rate"] <= 100
    assert Path("time_series_report.pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize(
    ("projection", "method", "nb_points"),
    [
        ("FPCA", "MEAN", None),
        ("FPCA", "MAX", None),
        ("FLATTEN", "MIN", None),
        ("FPCA", "SPECIFIED", 40),
    ],
)
def test_tutorial_4_projections_and_alignments(
    notebook: Path, projection: str, method: str, nb_points: int | None
) -> None:
    setting = (
        f"time_series_projection_type=ProjectionType.{projection}, time_series_nf=4, "
        f"time_series_method=AlignmentMethod.{method}"
        + (f", time_series_nb_points={nb_points}" if nb_points else "")
    )
    code = (
        TUTORIAL_4_CODE.split("runner.run()")[0]
        .replace("time_series_projection_type=ProjectionType.FLATTEN, time_series_nf=10", setting)
        .replace(
            "from veil_client.config import ProjectionType",
            "from veil_client.config import AlignmentMethod, ProjectionType",
        )
    )
    ns = run(
        code
        + "from veil_client.models import JobKind\n"
        + "runner.run(jobs_to_run=[JobKind.standard, JobKind.signal_metrics])\n"
    )
    runner = ns["runner"]
    assert runner.config.tables["sensor2"].time_series["method"] == method.lower()
    series = runner.shuffled("sensor2")
    assert set(series.columns) == set(ns["ts2_df"].columns)
    signal = runner.signal_metrics("sensor2")[0]
    assert signal["pointwise_hellinger_mean"] < 0.6
