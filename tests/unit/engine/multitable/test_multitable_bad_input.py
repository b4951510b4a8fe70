"""Bad linked tables fail at once with the table, the column and the count, before any work."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from linked_data import hospital
from veil_service.engine.multitable import (
    Link,
    Schema,
    TableKeys,
    TableParameters,
    avatarize_tables,
)
from veil_service.engine.timeseries import TimeSeriesParameters
from veil_service.errors import InvalidArgumentError

SCHEMA = Schema(
    (TableKeys("patient", "p_id"), TableKeys("visit", "visit_id", ("p_id",))),
    (Link("patient", "p_id", "visit", "p_id"),),
)
PARAMS = {"patient": TableParameters({"k": 5}), "visit": TableParameters({"k": 5})}


def series_tables() -> tuple[Schema, dict[str, pd.DataFrame], dict[str, TableParameters]]:
    rng = np.random.default_rng(0)
    people = pd.DataFrame({"id": np.arange(30), "age": rng.integers(20, 80, 30)})
    owner = np.repeat(np.arange(30), 6)
    readings = pd.DataFrame(
        {
            "pk": np.arange(len(owner)),
            "id": owner,
            "t": np.tile(np.arange(6), 30),
            "value": rng.normal(size=len(owner)),
        }
    )
    schema = Schema(
        (TableKeys("people", "id"), TableKeys("readings", "pk", ("id",), time_series_time="t")),
        (Link("people", "id", "readings", "id", "time_series"),),
    )
    params = {
        "people": TableParameters({"k": 5}),
        "readings": TableParameters(time_series=TimeSeriesParameters(nf=3)),
    }
    return schema, {"people": people, "readings": readings}, params


def refused(
    schema: Schema,
    frames: dict[str, pd.DataFrame],
    params: dict[str, TableParameters],
    *fragments: str,
) -> InvalidArgumentError:
    phases: list[str] = []
    with pytest.raises(InvalidArgumentError) as caught:
        avatarize_tables(schema, frames, params, seed=1, progress=lambda f, p: phases.append(p))
    for fragment in fragments:
        assert fragment in caught.value.message, caught.value.message
    # Nothing half-run: the run stopped while checking, before any table was avatarized.
    assert phases == ["checking tables"] or phases[-1] in ("checking tables", "time series")
    return caught.value


def test_foreign_key_without_parent_row() -> None:
    tables = hospital(100, 3.0, seed=1)
    visits = tables["visit"]
    visits.loc[visits.index[:7], "p_id"] = -1
    error = refused(
        SCHEMA,
        tables,
        PARAMS,
        "table 'visit', column 'p_id': 7 row(s)",
        "no row in 'patient'",
    )
    assert error.field == "tables[visit].p_id"


def test_every_link_without_parent_rows_is_named_in_one_message() -> None:
    """A child with two parents: both links' faults come at once, empty keys told apart."""
    tables = hospital(100, 3.0, seed=1)
    doctors = pd.DataFrame({"d_id": np.arange(10), "age": np.arange(30, 40)})
    visits = tables["visit"]
    visits["d_id"] = np.arange(len(visits)) % 10
    visits["p_id"] = visits["p_id"].astype("float64")
    visits.loc[visits.index[:2], "p_id"] = np.nan
    visits.loc[visits.index[2:7], "p_id"] = -1
    visits.loc[visits.index[:4], "d_id"] = 99
    schema = Schema(
        (
            TableKeys("patient", "p_id"),
            TableKeys("doctor", "d_id"),
            TableKeys("visit", "visit_id", ("p_id", "d_id")),
        ),
        (Link("patient", "p_id", "visit", "p_id"), Link("doctor", "d_id", "visit", "d_id")),
    )
    params = {**PARAMS, "doctor": TableParameters({"k": 3})}
    error = refused(
        schema,
        {**tables, "doctor": doctors},
        params,
        f"table 'visit', column 'p_id': 7 row(s) of {len(visits)} have a foreign key with no "
        "row in 'patient' (column 'p_id'; 2 empty, 5 with a value 'patient' does not hold)",
        "; table 'visit', column 'd_id': 4 row(s)",
        "no row in 'doctor' (column 'd_id'; 4 with a value 'doctor' does not hold)",
        "Remove those rows",
    )
    assert error.field == "tables[visit].p_id"


def test_missing_foreign_key_counts_as_orphan() -> None:
    tables = hospital(100, 3.0, seed=1)
    tables["visit"]["p_id"] = tables["visit"]["p_id"].astype("float64")
    tables["visit"].loc[tables["visit"].index[:3], "p_id"] = np.nan
    refused(SCHEMA, tables, PARAMS, "column 'p_id': 3 row(s)")


def test_duplicate_primary_keys() -> None:
    tables = hospital(100, 3.0, seed=2)
    patients = tables["patient"]
    patients.loc[patients.index[1:4], "p_id"] = patients["p_id"].iloc[0]
    error = refused(SCHEMA, tables, PARAMS, "table 'patient', primary key 'p_id': 4 row(s) share 1")
    assert error.field == "tables[patient].p_id"


def test_missing_primary_keys() -> None:
    tables = hospital(100, 3.0, seed=2)
    tables["visit"]["visit_id"] = tables["visit"]["visit_id"].astype("float64")
    tables["visit"].loc[tables["visit"].index[:2], "visit_id"] = np.nan
    refused(SCHEMA, tables, PARAMS, "primary key 'visit_id': 2 row(s) have no value")


def test_link_to_a_missing_table() -> None:
    tables = hospital(100, 3.0, seed=3)
    schema = Schema(
        (TableKeys("patient", "p_id"), TableKeys("visit", "visit_id", ("p_id", "d_id"))),
        (Link("patient", "p_id", "visit", "p_id"), Link("doctor", "d_id", "visit", "d_id")),
    )
    refused(schema, tables, PARAMS, "parent table 'doctor' does not exist")


def test_declared_table_without_data() -> None:
    tables = hospital(100, 3.0, seed=3)
    del tables["visit"]
    refused(SCHEMA, tables, PARAMS, "table 'visit' has no data")


def test_missing_key_column() -> None:
    tables = hospital(100, 3.0, seed=3)
    tables["visit"] = tables["visit"].drop(columns=["p_id"])
    refused(SCHEMA, tables, PARAMS, "table 'visit' has no column(s) ['p_id']")


def test_time_column_with_unparsable_values() -> None:
    schema, frames, params = series_tables()
    readings = frames["readings"]
    readings["t"] = readings["t"].astype(str)
    readings.loc[readings.index[:5], "t"] = "not a time"
    error = refused(schema, frames, params, "table 'readings', time column 't': 5 row(s) of 180")
    assert error.field == "tables[readings].t"


def test_series_of_one_point() -> None:
    schema, frames, params = series_tables()
    readings = frames["readings"]
    frames["readings"] = readings[~((readings["id"] < 4) & (readings["t"] > 0))]
    refused(schema, frames, params, "table 'readings', column 'id': 4 series of 30")


def test_repeated_times_in_one_series() -> None:
    schema, frames, params = series_tables()
    frames["readings"].loc[frames["readings"].index[1], "t"] = 0
    refused(schema, frames, params, "2 row(s) repeat a time")


def test_bad_parameter_of_a_later_table_fails_before_the_first_table() -> None:
    tables = hospital(100, 3.0, seed=4)
    params = {"patient": TableParameters({"k": 5}), "visit": TableParameters({"k": 5000})}
    error = refused(SCHEMA, tables, params, "table 'visit': k must be smaller")
    assert error.field == "tables[visit].k"


def test_table_without_parameters() -> None:
    tables = hospital(100, 3.0, seed=4)
    refused(SCHEMA, tables, {"patient": PARAMS["patient"]}, "set_parameters('visit', k=...)")


def test_engine_errors_name_their_table() -> None:
    tables = hospital(100, 3.0, seed=5)
    # k=1 is refused (an ncp too large is capped with a warning since issue 13 item 3).
    params = {"patient": TableParameters({"k": 1}), "visit": PARAMS["visit"]}
    with pytest.raises(InvalidArgumentError) as caught:
        avatarize_tables(SCHEMA, tables, params, seed=1)
    assert caught.value.message.startswith("table 'patient': ")
    assert caught.value.field is not None and caught.value.field.startswith("tables[patient].")
