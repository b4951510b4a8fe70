"""Real public tables with the columns real tables have (issue 13, must-show): avatarize, metrics
and report all succeed, or the job fails with one sentence naming the column and the fix.

The tables come from tests/fixtures (sources in its README): a census wage extract (UCI Adult,
one country only), a clinical trial (ACTG 175, the avatar paper's AIDS table), the Titanic
passenger list and a synthetic Swiss COVID line list. Each keeps its own awkward columns (a
protocol flag that never varies, a country that never varies, a follow-up never measured (all
missing), names and ticket numbers that are one row per value, a cabin column mostly missing,
counts with missing values) and gains the
dtypes a pandas user gives them: ``Int64`` with ``pd.NA``, nullable ``boolean``, time-zone-aware
datetimes, ``category``, ``string``, and one very long free-text column.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support import FIXTURES, ServerThread, TestUser
from veil_client import Manager
from veil_client.models import JobKind, JobStatus


def census(fixtures: Path) -> tuple[pd.DataFrame, set[str]]:
    adult = pd.read_csv(fixtures / "tables" / "adult_6000.csv.gz", na_values="?")
    adult = adult.sample(1500, random_state=0).reset_index(drop=True)
    adult["native-country"] = "United-States"  # a one-country extract: a constant column
    adult["hours-per-week"] = adult["hours-per-week"].astype("Int64")
    adult.loc[adult.index % 17 == 0, "hours-per-week"] = pd.NA
    adult["interviewed_at"] = pd.Timestamp("1994-03-01", tz="America/New_York") + pd.to_timedelta(
        np.arange(len(adult)) % 90, unit="D"
    )
    adult["workclass"] = adult["workclass"].astype("category")
    return adult, {"native-country"}


def clinical_trial(fixtures: Path) -> tuple[pd.DataFrame, set[str]]:
    # The trial's own file is written the European way: ';' between quoted fields.
    trial = pd.read_csv(fixtures / "tables" / "aids_original_data.csv.gz", sep=";")
    trial["cd496"] = trial["cd496"].round().astype("Int64")  # missing at week 96
    trial["offtrt"] = trial["offtrt"].astype("boolean")
    trial.loc[trial.index % 29 == 0, "offtrt"] = pd.NA
    trial["enrolled"] = pd.Timestamp("1991-12-01", tz="America/Chicago") + pd.to_timedelta(
        trial.index % 700, unit="D"
    )
    trial["site_notes"] = pd.Series(
        [f"visit log {i % 40}: " + "stable, no adverse event reported; " * 60 for i in trial.index],
        dtype="string",
    )  # very long strings (2,100 characters), 40 templates: data, not an identifier
    trial["cd4_week144"] = pd.array([pd.NA] * len(trial), dtype="Float64")  # never measured
    constant = {c for c in trial.columns if trial[c].nunique(dropna=False) == 1}
    assert "zprior" in constant  # ACTG 175's prior-treatment flag is 1 for every patient
    assert "cd4_week144" in constant  # all missing: set aside like a constant column
    assert trial["pidnum"].is_unique  # the patient number: one row per value
    return trial, constant


def titanic(fixtures: Path) -> tuple[pd.DataFrame, set[str]]:
    passengers = pd.read_csv(fixtures / "tables" / "titanic_1309.csv.gz", na_values="?")
    passengers["age"] = passengers["age"].round().astype("Int64")
    passengers["survived"] = passengers["survived"].astype("boolean")
    passengers["name"] = passengers["name"].astype("string")  # one row per value
    return passengers, set()


def covid(fixtures: Path) -> tuple[pd.DataFrame, set[str]]:
    cases = pd.read_csv(fixtures / "lomas" / "datasets" / "covid_synthetic_data.csv")
    cases["date"] = pd.to_datetime(cases["date"]).dt.tz_localize("Europe/Zurich")
    for column in ("hospitalization", "death"):
        cases[column] = cases[column].astype("boolean")
    cases.loc[::9, "hospitalization"] = pd.NA
    cases["patient_id"] = cases["patient_id"].astype(str)
    return cases, {c for c in cases.columns if cases[c].nunique(dropna=False) == 1}


TABLES: dict[str, Callable[[Path], tuple[pd.DataFrame, set[str]]]] = {
    "census": census,
    "clinical_trial": clinical_trial,
    "titanic": titanic,
    "covid": covid,
}

IDENTIFIERS = {
    "census": set(),  # the census weight (97 % distinct, some repeated) is a measure
    "clinical_trial": {"pidnum"},  # the patient number
    "titanic": {"name"},
    "covid": {"patient_id"},
}
"""The columns advice excludes as identifiers: the avatars carry pseudonyms in their place."""


@pytest.fixture()
def manager(veil_server: ServerThread, user: TestUser) -> Manager:
    return Manager(base_url=veil_server.url, api_key=user.api_key)


@pytest.mark.parametrize("name", list(TABLES))
def test_advised_run_of_a_real_table_succeeds_end_to_end(
    name: str, manager: Manager, tmp_path: Path
) -> None:
    table, constant = TABLES[name](FIXTURES)
    runner = manager.create_runner(f"real_{name}")
    runner.add_table(name, table)
    runner.advise_parameters(name)
    runner.run()
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        results = runner.get_all_results()
    assert set(runner.statuses().values()) == {JobStatus.finished}
    told = " ".join(str(w.message) for w in said)
    for column in constant:
        assert repr(column) in told and "released unchanged" in told
    identifiers = IDENTIFIERS[name]
    for column in identifiers:
        assert f"column {column!r} looks like an identifier" in told

    avatars = results.shuffled[name]
    assert list(avatars.columns) == list(table.columns)
    assert dict(avatars.dtypes) == dict(table.dtypes)
    assert len(avatars) == len(table)
    for column in constant:
        assert avatars[column].equals(table[column])
    for column in identifiers:
        # Real names and patient numbers are never released next to the avatars.
        assert not set(avatars[column].dropna()) & set(table[column].dropna()), column
    privacy = results.privacy_metrics[name][0]
    assert set(privacy["metadata"]["set_aside_columns"]) == constant
    assert set(privacy["metadata"]["pseudonymized_identifier_columns"]) == identifiers
    assert 0 <= privacy["hidden_rate"] <= 100
    assert 0 <= results.signal_metrics[name][0]["hellinger_mean"] <= 1
    (report,) = runner.download_report(str(tmp_path / "report.pdf"))
    assert Path(report).read_bytes().startswith(b"%PDF")


def test_unadvised_identifiers_are_released_as_pseudonyms(manager: Manager) -> None:
    # Before: the names made the projection 1,309 columns wider and the job failed; with
    # categorical reduction (or a smaller table) each avatar got a real passenger's name.
    passengers, _ = titanic(FIXTURES)
    runner = manager.create_runner("real_titanic_raw")
    runner.add_table("titanic", passengers)
    runner.set_parameters("titanic", k=10)
    runner.run(jobs_to_run=[JobKind.standard])
    with pytest.warns(UserWarning, match=r"column 'name' looks like an identifier \(1307"):
        avatars = runner.shuffled("titanic")
    assert dict(avatars.dtypes) == dict(passengers.dtypes)
    assert not set(avatars["name"].dropna()) & set(passengers["name"].dropna())
    assert avatars["name"].str.fullmatch(r"name_\d{4}").all()
    # Nor do the figures show them (a distribution plot of 'name' listed real names).
    figures = runner.get_all_results().figures["titanic"]
    html = "".join(page for pages in figures.values() for page in pages)
    assert "sex" in html  # the other columns are plotted
    plain = [n for n in passengers["name"] if re.fullmatch(r"[A-Za-z ,.]+", n)]  # unescaped
    assert plain and not [n for n in plain if n[:20] in html]  # labels are cut at 24
