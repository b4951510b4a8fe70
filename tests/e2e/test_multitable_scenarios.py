"""Multi-table runs through the real client and server: YAML files, hierarchies, edge shapes,
and bad input refused with a clear error before anything runs."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pypdf import PdfReader
from support import FIXTURES, ServerThread, TestUser, octopize_fixtures
from veil_client import FailedPrecondition, InvalidArgument, Manager
from veil_client.config import AlignmentMethod, LinkMethod, ProjectionType
from veil_client.models import JobKind, JobStatus


@pytest.fixture()
def manager(veil_server: ServerThread, user: TestUser) -> Manager:
    return Manager(base_url=veil_server.url, api_key=user.api_key)


@pytest.fixture(scope="session")
def fixtures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Octopize client's fixtures as the tutorials read them (``name.csv``)."""
    return octopize_fixtures(tmp_path_factory.mktemp("octopize") / "fixtures")


@pytest.fixture(scope="session")
def yaml_dir() -> Path:
    return FIXTURES / "avatar" / "yaml"


def _hierarchy(seed: int = 3) -> dict[str, pd.DataFrame]:
    """hospital (grandparent) -> patient (parent; a quarter without visits) -> visit (child)."""
    rng = np.random.default_rng(seed)
    hospitals = pd.DataFrame(
        {
            "h_id": np.arange(100, 116),
            "beds": rng.integers(50, 900, 16),
            "region": rng.choice(["north", "south", "east"], 16),
        }
    )
    n = 160
    hospital = rng.choice(hospitals["h_id"], n)
    age = rng.integers(18, 90, n)
    patients = pd.DataFrame(
        {
            "p_id": np.arange(n) * 7 + 1,
            "hospital_id": hospital,
            "age": age,
            "sex": rng.choice(["F", "M"], n),
        }
    )
    # Older patients visit more; a quarter of the patients never visit.
    counts = np.where(rng.random(n) < 0.25, 0, 1 + rng.poisson(age / 25))
    owner = np.repeat(patients["p_id"].to_numpy(), counts)
    visits = pd.DataFrame(
        {
            "v_id": np.arange(len(owner)),
            "patient_id": owner,
            "cost": np.round(rng.gamma(2.0, 40.0, len(owner)) + np.repeat(age, counts), 2),
            "kind": rng.choice(["consult", "imaging", "surgery"], len(owner), p=[0.7, 0.2, 0.1]),
        }
    )
    return {"hospital": hospitals, "patient": patients, "visit": visits}


def test_three_level_hierarchy_with_childless_parents(manager: Manager) -> None:
    frames = _hierarchy()
    runner = manager.create_runner("three_levels", seed=5)
    runner.add_table("hospital", frames["hospital"], primary_key="h_id")
    runner.add_table("patient", frames["patient"], primary_key="p_id", foreign_keys=["hospital_id"])
    runner.add_table("visit", frames["visit"], primary_key="v_id", foreign_keys=["patient_id"])
    runner.add_link("hospital", "h_id", "patient", "hospital_id")
    runner.add_link(
        "patient", "p_id", "visit", "patient_id", LinkMethod.MINIMUM_DISTANCE_ASSIGNMENT
    )
    runner.set_parameters("hospital", k=3)
    runner.set_parameters("patient", k=10)
    runner.set_parameters("visit", k=10)
    runner.run(
        jobs_to_run=[
            JobKind.standard,
            JobKind.privacy_metrics,
            JobKind.signal_metrics,
            JobKind.report,
        ]
    )

    hospitals, patients, visits = (runner.shuffled(t) for t in ("hospital", "patient", "visit"))
    assert [len(hospitals), len(patients), len(visits)] == [len(f) for f in frames.values()]
    assert set(patients["hospital_id"]) <= set(hospitals["h_id"])
    assert set(visits["patient_id"]) <= set(patients["p_id"])
    # New keys, numbered like the originals' kind, revealing nothing of them.
    assert sorted(hospitals["h_id"]) == list(range(16))
    original_childless = 1 - frames["patient"]["p_id"].isin(frames["visit"]["patient_id"]).mean()
    avatar_childless = 1 - patients["p_id"].isin(visits["patient_id"]).mean()
    assert original_childless > 0.2
    assert abs(avatar_childless - original_childless) < 0.12
    # Grandparent summaries carry patient counts: hospitals keep their size ranking roughly.
    sizes_o = frames["patient"]["hospital_id"].value_counts()
    sizes_a = patients["hospital_id"].value_counts()
    assert abs(sizes_a.mean() - sizes_o.mean()) < 1e-9  # same total over the same hospital count
    middle = [m["metadata"]["computation_type"] for m in runner.privacy_metrics("patient")]
    assert middle == ["to_top_enriched", "to_bottom_id_propagated", "full_enriched"]
    top_signal = runner.signal_metrics("patient")[1]
    assert top_signal["childless_share_original"] == pytest.approx(100 * original_childless)
    assert abs(top_signal["childless_share_avatar"] - 100 * avatar_childless) < 1e-6
    summary = runner.render_signal_metrics_summary()
    assert set(summary) == {"hospital", "patient", "visit"}


def test_child_table_fifty_times_its_parent(manager: Manager) -> None:
    rng = np.random.default_rng(11)
    parents = pd.DataFrame(
        {
            "id": [f"acct-{i:03d}" for i in range(60)],
            "segment": rng.choice(["a", "b"], 60),
            "region": rng.choice(["north", "south", "east", "west"], 60),
            "age_years": rng.integers(1, 30, 60),
        }
    )
    parents["limit"] = np.where(parents["segment"] == "a", 1000.0, 5000.0) * rng.uniform(
        0.8, 1.2, 60
    )
    owner = np.repeat(parents["id"].to_numpy(), 50)
    limits = np.repeat(parents["limit"].to_numpy(), 50)
    children = pd.DataFrame(
        {
            "tx": np.arange(len(owner)),
            "account": owner,
            "amount": np.round(limits * rng.uniform(0.01, 0.1, len(owner)), 2),
        }
    )
    runner = manager.create_runner("fifty_children", seed=2)
    runner.add_table("account", parents, primary_key="id")
    runner.add_table("transaction", children, primary_key="tx", foreign_keys=["account"])
    runner.add_link("account", "id", "transaction", "account")
    runner.set_parameters("account", k=5)
    runner.set_parameters("transaction", k=20)
    runner.run(jobs_to_run=[JobKind.standard, JobKind.signal_metrics])
    accounts, transactions = runner.shuffled("account"), runner.shuffled("transaction")
    assert len(transactions) == 50 * len(accounts) == 3000
    # String keys stay strings, renumbered.
    assert set(accounts["id"]) == {str(i) for i in range(60)}
    per_account = transactions.groupby("account")["amount"].mean()
    joined = accounts.set_index("id").join(per_account)
    # The parent's limit still drives its transactions' amounts after assignment.
    assert joined["limit"].corr(joined["amount"]) > 0.5
    top = runner.signal_metrics("account")[1]
    assert top["child_count_mean_original"] == top["child_count_mean_avatar"] == 50


def test_twin_links_to_one_parent_keep_their_own_references(manager: Manager) -> None:
    """Flights linked twice to airports (origin, destination): each link's results and summary
    columns are named by the link, where the table name alone made them one."""
    rng = np.random.default_rng(4)
    airports = pd.DataFrame(
        {
            "code": [f"A{i:02d}" for i in range(25)],
            "size": rng.gamma(2, 10, 25).round(1),
            "country": rng.choice(["FR", "DE", "IT"], 25),
        }
    )
    n = 200
    origin = rng.integers(0, 25, n)
    dest = (origin + rng.integers(1, 25, n)) % 25
    flights = pd.DataFrame(
        {
            "fid": np.arange(n),
            "origin": airports["code"].to_numpy()[origin],
            "dest": airports["code"].to_numpy()[dest],
            "dur": rng.gamma(3, 1, n).round(2),
        }
    )
    runner = manager.create_runner("twin_links", seed=1)
    runner.add_table("airport", airports, primary_key="code", individual_level=True)
    runner.add_table("flight", flights, primary_key="fid", foreign_keys=["origin", "dest"])
    runner.add_link("airport", "code", "flight", "origin")
    runner.add_link("airport", "code", "flight", "dest")
    runner.set_parameters("airport", k=4)
    runner.set_parameters("flight", k=5)
    runner.run(jobs_to_run=[JobKind.standard, JobKind.privacy_metrics, JobKind.signal_metrics])

    def references(results: list[dict[str, object]]) -> list[tuple[object, object]]:
        return [(r["metadata"]["computation_type"], r["metadata"]["reference"]) for r in results]  # type: ignore[index]

    assert references(runner.privacy_metrics("airport")) == [
        ("standalone", None),
        ("to_top_enriched", "flight.origin"),
        ("to_top_enriched", "flight.dest"),
    ]
    assert references(runner.privacy_metrics("flight")) == [
        ("to_bottom_id_propagated", "airport.origin"),
        ("full_enriched", "airport.origin"),
        ("to_bottom_id_propagated", "airport.dest"),
        ("full_enriched", "airport.dest"),
    ]
    assert references(runner.signal_metrics("flight"))[1:] == [
        ("to_bottom_information_propagated", "airport.origin"),
        ("to_bottom_information_propagated", "airport.dest"),
    ]
    privacy = runner.render_privacy_metrics_summary()
    assert set(privacy["airport"]) == {"standalone", "flight.origin", "flight.dest"}
    assert set(privacy["flight"]) == {"airport.origin", "airport.dest"}
    top = runner.privacy_metrics("airport")
    assert privacy["airport"]["flight.dest"] == pytest.approx(top[2]["hidden_rate"])
    summary = runner.metrics_summary()
    assert {"flight.origin", "flight.dest", "airport.origin", "airport.dest"} <= {
        reference for reference, _ in summary.columns
    }


def test_multi_yaml_loads_runs_and_exports_back(
    manager: Manager, fixtures: Path, yaml_dir: Path, tmp_path: Path
) -> None:
    runner = manager.create_runner("from_multi_yaml")
    runner.from_yaml(str(yaml_dir / "multi.yaml"))
    for table in ("patient", "doctor", "visit"):
        runner.upload_file(table, str(fixtures / f"{table}.csv"))
    assert {(lk.parent_table, lk.child_table) for lk in runner.config.links} == {
        ("patient", "visit"),
        ("doctor", "visit"),
    }
    runner.run(jobs_to_run=[JobKind.standard, JobKind.privacy_metrics])
    assert [m["metadata"]["computation_type"] for m in runner.privacy_metrics("doctor")] == [
        "standalone",
        "to_top_enriched",
    ]
    assert runner.get_status(JobKind.privacy_metrics) == JobStatus.finished
    visits = runner.shuffled("visit")
    assert set(visits["doctor_id"]) <= set(runner.shuffled("doctor")["d_id"])
    exported = runner.get_yaml(str(tmp_path / "again.yaml"))
    assert "method: linear_sum_assignment" in exported and "individual_level: false" in exported
    clone = manager.create_runner("multi_yaml_again")
    clone.from_yaml(str(tmp_path / "again.yaml"))
    assert clone.config.links == runner.config.links
    assert clone.config.tables["visit"] == runner.config.tables["visit"]


@pytest.mark.timeout(1200)  # ends with the linked advice's search (both noises, 5 seeds per k)
def test_ts_yaml_loads_runs_and_exports_back(
    manager: Manager, fixtures: Path, yaml_dir: Path, tmp_path: Path
) -> None:
    runner = manager.create_runner("from_ts_yaml")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        runner.from_yaml(str(yaml_dir / "ts.yaml"))
    notes = " ".join(str(w.message) for w in caught)
    assert "time series" not in notes and "time_series" not in notes
    sensor1 = runner.config.tables["sensor1"]
    assert (sensor1.time_series_time, sensor1.foreign_keys) == ("t", ["id"])
    assert sensor1.time_series == {"projection_type": "flatten", "nf": 10}
    runner.upload_file("vanilla", str(fixtures / "sensors_vanilla.csv"))
    runner.upload_file("sensor1", str(fixtures / "sensors_timeseries1.csv"))
    # ts.yaml asks data augmentation (minority on income) and a processor for 'vanilla': both
    # apply. The extra individuals are fresh avatars, each with its own rebuilt series.
    assert runner.config.tables["vanilla"].avatarization["processors"] == [
        {"target": "capital-gain", "references": ["capital-loss"]}
    ]
    runner.run(
        jobs_to_run=[
            JobKind.standard,
            JobKind.privacy_metrics,
            JobKind.signal_metrics,
            JobKind.report,
        ]
    )
    # The processor applies around the linked pipeline (no warning that anything was set
    # aside), and the avatars come back in the original columns and dtypes.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        series = runner.shuffled("sensor1")
        individuals = runner.shuffled("vanilla")
    vanilla = pd.read_csv(fixtures / "sensors_vanilla.csv")
    assert list(individuals.columns) == list(vanilla.columns)
    assert individuals["capital-gain"].dtype == vanilla["capital-gain"].dtype
    assert set(individuals["native-country"]) <= set(vanilla["native-country"])
    original = pd.read_csv(fixtures / "sensors_timeseries1.csv")
    assert list(series.columns) == list(original.columns)
    assert set(series["id"]) <= set(runner.shuffled("vanilla")["id"])
    assert 0 <= runner.signal_metrics("sensor1")[0]["pointwise_hellinger_mean"] <= 1
    counts = individuals["income"].value_counts()
    assert len(individuals) > len(vanilla) and counts.max() == counts.min()
    assert set(individuals["income"]) == set(vanilla["income"])
    assert set(series["id"]) == set(individuals["id"])
    assert [m["metadata"]["computation_type"] for m in runner.privacy_metrics("vanilla")] == [
        "standalone",
        "to_top_enriched",
        "barycentered",
        "class_balancing_barycenter",
    ]
    report = runner.download_report(str(tmp_path / "ts.pdf"))
    pages = PdfReader(report[0]).pages
    text = " ".join(" ".join(page.extract_text().split()) for page in pages)
    # The report says what was done to vanilla besides the avatar method, as a single-table
    # report does: augmentation (with its barycentre metrics) and the processor.
    assert "Data augmentation" in text and "class_balancing_barycenter" in text
    assert "capital-gain" in text
    exported = runner.get_yaml(str(tmp_path / "ts_again.yaml"))
    assert "time_series_time: true" in exported and "projection_type: flatten" in exported
    clone = manager.create_runner("ts_yaml_again")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clone.from_yaml(str(tmp_path / "ts_again.yaml"))
    assert clone.config.tables["sensor1"] == runner.config.tables["sensor1"]
    assert clone.config.links == runner.config.links
    # The individuals' k is searched with their series: the k advised meets vanilla's own
    # target and sensor1's (each its fresh-sample reference), or is the nearest.
    runner.advise_parameters("vanilla")
    search = runner.linked_k_search("vanilla")
    assert set(search.series_targets) == {"sensor1"} and 0 < search.series_targets["sensor1"] < 100
    chosen = search.to_frame().query("chosen").iloc[0]
    margins = [chosen["rate"] - search.target]
    margins.append(chosen["rate_sensor1"] - search.series_targets["sensor1"])
    # Met means beyond the seeds' noise (mean less one standard error), so the means pass.
    assert not search.met or min(margins) >= 0
    # ... and the advised setting's rate on held-out seeds reaches it too.
    assert not search.met or search.held_out_rate >= search.target
    assert runner.config.tables["vanilla"].avatarization["k"] == search.chosen_k
    assert runner.config.tables["vanilla"].avatarization["coupled_noise"] == (
        search.chosen_coupled_noise
    )


def _tutorial_tables(fixtures: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_csv(fixtures / f"{name}.csv") for name in ("patient", "doctor", "visit")}


def _linked_runner(manager: Manager, frames: dict[str, pd.DataFrame], name: str) -> object:
    runner = manager.create_runner(name)
    runner.add_table("patient", frames["patient"], primary_key="p_id")
    runner.add_table("doctor", frames["doctor"], primary_key="d_id")
    runner.add_table(
        "visit", frames["visit"], primary_key="visit_id", foreign_keys=["patient_id", "doctor_id"]
    )
    runner.add_link("patient", "p_id", "visit", "patient_id")
    runner.add_link("doctor", "d_id", "visit", "doctor_id")
    for table in frames:
        runner.set_parameters(table, k=5)
    return runner


def _refused(runner: object, pattern: str) -> None:
    """StartJobs answers INVALID_ARGUMENT with ``pattern`` and queues nothing."""
    with pytest.raises(InvalidArgument, match=pattern):
        runner.run(jobs_to_run=[JobKind.standard])  # type: ignore[attr-defined]
    assert runner.jobs == {}  # type: ignore[attr-defined]
    run_id = runner.set_name  # type: ignore[attr-defined]
    assert runner.api.list_jobs(run_id=run_id).items == []  # type: ignore[attr-defined]
    assert runner.api.list_results(run_id=run_id) == []  # type: ignore[attr-defined]


def test_foreign_key_without_parent_row_is_refused(manager: Manager, fixtures: Path) -> None:
    frames = _tutorial_tables(fixtures)
    frames["visit"].loc[[3, 7, 8], "patient_id"] = 9999
    runner = _linked_runner(manager, frames, "orphans")
    _refused(
        runner,
        r"table 'visit', column 'patient_id': 3 row\(s\) of 300 have a foreign key with no row "
        r"in 'patient'",
    )


def test_advise_links_proposes_and_applies_the_tutorial_links(
    manager: Manager, fixtures: Path
) -> None:
    """Tutorial 3's tables with their keys but no links: the advice finds both, by name and
    values (``doctor_id``'s values 0-49 also lie within ``p_id``'s, the name decides), and
    ``apply=True`` adds them so that the run goes through."""
    frames = _tutorial_tables(fixtures)
    runner = manager.create_runner("advised_links")
    runner.add_table("patient", frames["patient"], primary_key="p_id")
    runner.add_table("doctor", frames["doctor"], primary_key="d_id")
    runner.add_table(
        "visit", frames["visit"], primary_key="visit_id", foreign_keys=["patient_id", "doctor_id"]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every key has its parent: no warning
        advice = runner.advise_links(apply=True)
    assert advice.unlinked_foreign_keys == []
    proposed = {
        (a.parent_table, a.parent_field, a.child_table, a.child_field): a for a in advice.links
    }
    assert set(proposed) == {
        ("patient", "p_id", "visit", "patient_id"),
        ("doctor", "d_id", "visit", "doctor_id"),
    }
    for advised in proposed.values():
        assert (advised.confidence, advised.overlap, advised.method) == (
            "high",
            1.0,
            "linear_sum_assignment",
        )
        assert (advised.rows_without_parent, advised.child_rows) == (0, 300)
    applied = {
        (x.parent_table, x.parent_field, x.child_table, x.child_field) for x in runner.config.links
    }
    assert applied == set(proposed)
    for table in frames:
        runner.set_parameters(table, k=5)
    runner.run(jobs_to_run=[JobKind.standard])
    assert len(runner.shuffled("visit")) == 300


def test_advise_links_warns_of_rows_the_run_would_refuse(manager: Manager, fixtures: Path) -> None:
    """Real tables have foreign keys without a parent row: the advice counts them per link and
    warns, and the run then names every link at fault in one message."""
    frames = _tutorial_tables(fixtures)
    frames["visit"]["patient_id"] = frames["visit"]["patient_id"].astype("float64")
    frames["visit"].loc[[0, 1], "patient_id"] = np.nan
    frames["visit"].loc[[3, 7, 8], "patient_id"] = 9999
    frames["visit"].loc[[5], "doctor_id"] = 777
    runner = manager.create_runner("advised_orphans")
    runner.add_table("patient", frames["patient"], primary_key="p_id")
    runner.add_table("doctor", frames["doctor"], primary_key="d_id")
    runner.add_table(
        "visit", frames["visit"], primary_key="visit_id", foreign_keys=["patient_id", "doctor_id"]
    )
    with pytest.warns(UserWarning) as caught:
        advice = runner.advise_links(apply=True)
    messages = sorted(str(w.message) for w in caught)
    assert messages == [
        "link doctor.d_id -> visit.doctor_id: 1 of 300 'visit' rows have no row in 'doctor' "
        "(empty, or a key it does not hold); run() refuses them: remove those rows or add "
        "their parents.",
        "link patient.p_id -> visit.patient_id: 5 of 300 'visit' rows have no row in 'patient' "
        "(empty, or a key it does not hold); run() refuses them: remove those rows or add "
        "their parents.",
    ]
    by_field = {a.child_field: a for a in advice.links}
    assert by_field["patient_id"].rows_without_parent == 5
    assert by_field["doctor_id"].rows_without_parent == 1
    assert len(runner.config.links) == 2
    for table in frames:
        runner.set_parameters(table, k=5)
    _refused(
        runner,
        r"table 'visit', column 'patient_id': 5 row\(s\) of 300 have a foreign key with no row "
        r"in 'patient' \(column 'p_id'; 2 empty, 3 with a value 'patient' does not hold\); "
        r"table 'visit', column 'doctor_id': 1 row\(s\) of 300 .* 'doctor' \(column 'd_id'; 1 "
        r"with a value 'doctor' does not hold\)\. Remove those rows",
    )


def test_a_key_column_the_table_lacks_is_refused_at_add_table(
    manager: Manager, fixtures: Path
) -> None:
    """A misspelt key, or one dropped with columns_to_drop, fails at add_table (it passed
    add_table, add_link and set_parameters and failed at run()); nothing stays uploaded and
    the retry works."""
    frames = _tutorial_tables(fixtures)
    runner = manager.create_runner("missing_keys")
    runner.add_table("patient", frames["patient"], primary_key="p_id")
    cases = [
        ({"primary_key": "visitid"}, "primary_key", "'visitid'"),
        ({"primary_key": "visit_id", "foreign_keys": ["patient"]}, "foreign_keys", "'patient'"),
        (
            {
                "primary_key": "visit_id",
                "columns_to_drop": ["patient_id"],
                "foreign_keys": ["patient_id"],
            },
            "foreign_keys",
            "'patient_id'",
        ),
    ]
    for arguments, field, column in cases:
        with pytest.raises(
            InvalidArgument, match=f"table 'visit' has no column {column} \\({field}\\)"
        ) as refused:
            runner.add_table("visit", frames["visit"], **arguments)
        assert refused.value.field == field
        assert "its columns: 'visit_id', 'patient_id', 'doctor_id'" in refused.value.message or (
            "columns_to_drop" in arguments
        )
        assert set(runner.config.tables) == {"patient"}
        assert [t.name for t in runner.api.list_tables(runner.set_name)] == ["patient"]
    runner.add_table("visit", frames["visit"], primary_key="visit_id", foreign_keys=["patient_id"])
    assert set(runner.config.tables) == {"patient", "visit"}


def test_duplicate_primary_keys_are_refused(manager: Manager, fixtures: Path) -> None:
    frames = _tutorial_tables(fixtures)
    frames["doctor"].loc[[1, 2], "d_id"] = frames["doctor"].loc[0, "d_id"]
    runner = _linked_runner(manager, frames, "duplicates")
    _refused(
        runner, r"table 'doctor', primary key 'd_id': 3 row\(s\) share 1 duplicated value\(s\)"
    )


def test_missing_key_column_is_refused_listing_every_column(
    manager: Manager, fixtures: Path
) -> None:
    frames = _tutorial_tables(fixtures)
    runner = _linked_runner(manager, frames, "missing_key")
    # add_table refuses such a table (test_a_key_column_the_table_lacks_is_refused_at_add_table);
    # a re-upload without the key reaches the run's own check.
    with pytest.warns(UserWarning, match=r"no column\(s\) \['patient_id'\]"):
        runner.upload_file("visit", frames["visit"].drop(columns=["patient_id"]))  # type: ignore[attr-defined]
    # The pre-run check reads only key columns; the message still lists all the table has.
    _refused(
        runner,
        r"table 'visit' has no column\(s\) \['patient_id'\] declared as keys; its columns: "
        r"\['visit_id', 'doctor_id', 'day_visit', 'exam'\]\.",
    )


@pytest.mark.parametrize(
    ("table", "parameters", "message"),
    [
        (
            "patient",
            {"known_variables": ["gender", "agee"]},
            r"table 'patient': known_variables names columns that are not in the table: "
            r"\['agee'\]",
        ),
        (
            "visit",
            {"target": "patient_id"},
            r"table 'visit': target 'patient_id' is not a column of the table; choose among "
            r"\['day_visit', 'exam'\]",
        ),
    ],
)
def test_bad_metrics_parameters_are_refused_before_any_job(
    manager: Manager, fixtures: Path, table: str, parameters: dict[str, object], message: str
) -> None:
    """They failed the privacy metrics job after the avatarization, without naming the table."""
    runner = _linked_runner(manager, _tutorial_tables(fixtures), f"bad_metrics_{table}")
    runner.set_parameters(table, k=5, **parameters)  # type: ignore[attr-defined]
    with pytest.raises(InvalidArgument, match=message):
        runner.run(jobs_to_run=[JobKind.standard, JobKind.privacy_metrics])  # type: ignore[attr-defined]
    assert runner.api.list_jobs(run_id=runner.set_name).items == []  # type: ignore[attr-defined]


def _series_runner(manager: Manager, fixtures: Path, series: pd.DataFrame, name: str) -> object:
    runner = manager.create_runner(name)
    runner.add_table("vanilla", pd.read_csv(fixtures / "sensors_vanilla.csv"), primary_key="id")
    runner.add_table(
        "sensor", series, primary_key="primary_key", foreign_keys=["id"], time_series_time="t"
    )
    runner.add_link("vanilla", "id", "sensor", "id", LinkMethod.TIME_SERIES)
    runner.set_parameters("vanilla", k=5)
    return runner


def test_unparsable_time_values_are_refused(manager: Manager, fixtures: Path) -> None:
    # As a CSV with a few words among the times reads: the whole column as text.
    series = pd.read_csv(fixtures / "sensors_timeseries2.csv").astype({"t": str})
    series.loc[[10, 20, 30, 40], "t"] = "soon"
    runner = _series_runner(manager, fixtures, series, "bad_times")
    _refused(
        runner,
        r"table 'sensor', time column 't': 4 row\(s\) of 10000 are not numbers like the rest",
    )


def test_series_of_one_point_is_refused(manager: Manager, fixtures: Path) -> None:
    series = pd.read_csv(fixtures / "sensors_timeseries2.csv")
    lonely = series.groupby("id").head(1).head(2)
    series = pd.concat([series[~series["id"].isin(lonely["id"])], lonely], ignore_index=True)
    runner = _series_runner(manager, fixtures, series, "one_point")
    ids = ", ".join(str(i) for i in sorted(lonely["id"]))
    _refused(
        runner,
        rf"table 'sensor', column 'id': 2 series of 200 have a single point \(id {ids}\)",
    )


def test_short_panel_runs_with_the_default_nf(
    manager: Manager, fixtures: Path, tmp_path: Path
) -> None:
    # A yearly panel read 3 times per individual (linearmodels' jobtraining: firms in 1987-89),
    # time_series_nf never set: the default of 5 numbers per variable was refused ("nf=5 but
    # FPCA can give at most 3"), a parameter the owner never wrote.
    series = pd.read_csv(fixtures / "sensors_timeseries2.csv").groupby("id").head(3)
    series["t"] = series.groupby("id").cumcount() + 1987
    runner = _series_runner(manager, fixtures, series, "short_panel")
    runner.run()  # type: ignore[attr-defined]
    avatars = runner.shuffled("sensor")  # type: ignore[attr-defined]
    assert len(avatars) == len(series)
    assert sorted(avatars["t"].unique()) == [1987, 1988, 1989]
    low, high = series["sensor3"].min(), series["sensor3"].max()
    assert avatars["sensor3"].between(low, high).all()
    # The report says which nf the series were projected with (the stored settings have none).
    pdf = tmp_path / "short_panel.pdf"
    runner.download_report(str(pdf))  # type: ignore[attr-defined]
    text = " ".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert re.search(r"sensor\.nf\s+3\b", text), text[text.find("Parameters used") :][:300]


def test_nf_above_the_grid_is_refused_when_run_is_called(manager: Manager, fixtures: Path) -> None:
    # An unbalanced panel whose shortest series has 2 readings, FLATTEN with nf=3 on the MIN
    # grid: run() returned and the standard job failed after starting, its metrics and report
    # jobs after it ("parent_error"); refused up front now, as a one-point series is.
    series = pd.read_csv(fixtures / "sensors_timeseries2.csv")
    short = series.groupby("id").cumcount() < np.where(series["id"] % 7 == 0, 2, 10)
    runner = _series_runner(manager, fixtures, series[short], "flatten_nf")
    runner.set_parameters(  # type: ignore[attr-defined]
        "sensor",
        time_series_projection_type=ProjectionType.FLATTEN,
        time_series_nf=3,
        time_series_method=AlignmentMethod.MIN,
    )
    _refused(runner, r"table 'sensor': time_series_nf=3 but FLATTEN reads at most the grid's 2")


def test_links_to_missing_tables_and_unready_links_are_refused(
    manager: Manager, fixtures: Path, yaml_dir: Path
) -> None:
    frames = _tutorial_tables(fixtures)
    runner = manager.create_runner("missing_table")
    runner.add_table("patient", frames["patient"], primary_key="p_id")
    runner.add_table(
        "visit", frames["visit"], primary_key="visit_id", foreign_keys=["patient_id", "doctor_id"]
    )
    with pytest.raises(InvalidArgument, match=r"child_table_name 'visits' is not an added table"):
        runner.add_link("patient", "p_id", "visits", "patient_id")
    # The server applies the same rules whoever calls: a link to a missing table, through YAML.
    text = (yaml_dir / "multi.yaml").read_text().replace("table: visit", "table: visits")
    with pytest.raises(InvalidArgument, match=r"child table 'visits' does not exist"):
        runner.api.import_yaml(runner.set_name, text, runner.config)
    with pytest.raises(
        InvalidArgument,
        match=r"must be the primary key 'p_id' of table 'patient', not 'age'",
    ):
        runner.add_link("patient", "age", "visit", "patient_id")
    with pytest.raises(InvalidArgument, match=r"'gender' is not a foreign key of 'visit'"):
        runner.add_link("patient", "p_id", "visit", "gender")
    assert runner.config.links == []
    runner.add_link("patient", "p_id", "visit", "patient_id")
    runner.set_parameters("patient", k=5)
    runner.set_parameters("visit", k=5)
    # doctor_id is declared a foreign key but has no link: nothing may run yet.
    with pytest.raises(FailedPrecondition, match=r"foreign key\(s\) \['doctor_id'\] of table "):
        runner.run(jobs_to_run=[JobKind.standard])
    assert runner.jobs == {}


def _tutorial_8_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The linked tables of Tutorial 8's multi-table part, less its pseudonymized columns."""
    patients = pd.DataFrame(
        {
            "patient_id": [f"P{i:03d}" for i in range(40)],
            "age": [20 + (i * 7) % 60 for i in range(40)],
            "weight": [50.0 + (i * 13) % 45 for i in range(40)],
        }
    )
    visits = pd.DataFrame(
        {
            "visit_id": [f"V{i:04d}" for i in range(100)],
            "patient_id": [f"P{(i * 7) % 40:03d}" for i in range(100)],
            "duration": [10 + (i * 11) % 50 for i in range(100)],
            "cost": [30.0 + (i * 17) % 120 for i in range(100)],
        }
    )
    return patients, visits


def _tutorial_8_run(manager: Manager, seed: int) -> object:
    patients, visits = _tutorial_8_tables()
    runner = manager.create_runner(f"t8_seed_{seed}", seed=seed, compute_figures=False)
    runner.add_table("patients", patients, primary_key="patient_id")
    runner.add_table("visits", visits, primary_key="visit_id", foreign_keys=["patient_id"])
    runner.add_link("patients", "patient_id", "visits", "patient_id")
    runner.set_parameters("patients", k=3)
    runner.set_parameters("visits", k=3)
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        runner.run(jobs_to_run=[JobKind.standard])
    # The default ncp (5) is capped by visits' 4 dimensions without a word: the user never set it.
    assert [str(w.message) for w in said] == []
    return runner


def test_one_seed_pins_every_linked_table(manager: Manager) -> None:
    """Same seed, same avatars in every table (keys, links, values); the projection of visits
    is always its 2 variables and its patient's 2 broadcast ones."""
    first, again = (_tutorial_8_run(manager, 13) for _ in range(2))
    for table in ("patients", "visits"):
        pd.testing.assert_frame_equal(first.shuffled(table), again.shuffled(table))
        pd.testing.assert_frame_equal(
            first.sensitive_unshuffled(table), again.sensitive_unshuffled(table)
        )
    # Not a constant output: the avatars are not the originals, and other seeds give others
    # (tests/unit/engine/multitable/test_multitable_pipeline.py).
    assert not np.allclose(
        first.sensitive_unshuffled("visits")["cost"], _tutorial_8_tables()[1]["cost"]
    )
    for runner in (first, again):
        original, avatar = runner.projections("visits")
        assert original.shape == avatar.shape == (100, 4)
        assert runner.projections("patients")[1].shape == (40, 5)


def test_parameters_a_linked_run_does_not_use_are_said(manager: Manager, fixtures: Path) -> None:
    # Octopize's client takes them, so they stay accepted; they passed without a word.
    series = pd.read_csv(fixtures / "sensors_timeseries2.csv")
    runner = _series_runner(manager, fixtures, series, "unused_parameters")
    runner.set_parameters("vanilla", k=5, time_series_nf=3)  # type: ignore[attr-defined]
    runner.set_parameters("sensor", k=3, time_series_nb_points=7)  # type: ignore[attr-defined]
    runner.run(jobs_to_run=[JobKind.standard])  # type: ignore[attr-defined]
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        runner.shuffled("sensor")  # type: ignore[attr-defined]
    notes = [str(w.message) for w in said]
    assert any(
        "table 'sensor' is a time series: its avatarization parameters (k) are not used" in n
        and "columns of 'vanilla', with that table's k" in n
        for n in notes
    ), notes
    assert any(
        "time_series_nb_points=7 is not used with time_series_method='mean'" in n for n in notes
    )
    assert any(
        "table 'vanilla' has no time column (time_series_time): its time_series_* parameters "
        "(nf) are not used" in n
        for n in notes
    ), notes
