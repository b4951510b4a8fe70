"""Data augmentation in a linked run: a top table whose children are time series grows extra
individuals, each with its own rebuilt series; elsewhere it is refused, naming the table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from linked_fixtures import sensors
from veil_service.engine.multitable import TableParameters, avatarize_tables
from veil_service.engine.multitable.metrics import (
    LinkedTables,
    augmented_privacy_metrics,
    first_avatars,
    linked_privacy_metrics,
)
from veil_service.engine.multitable.pipeline import check_parameters
from veil_service.engine.timeseries import TimeSeriesParameters
from veil_service.errors import InvalidArgumentError

SERIES = TimeSeriesParameters("flatten", nf=8)
MINORITY = {
    "k": 5,
    "data_augmentation_strategy": "minority",
    "data_augmentation_target_column": "income",
}


def parameters(vanilla: dict[str, object]) -> dict[str, TableParameters]:
    return {
        "vanilla": TableParameters(vanilla),
        "sensor1": TableParameters(time_series=SERIES),
        "sensor2": TableParameters(time_series=SERIES),
    }


def test_minority_grows_individuals_each_with_their_own_series() -> None:
    schema, frames = sensors()
    vanilla = frames["vanilla"]
    result = avatarize_tables(schema, frames, parameters(MINORITY), seed=3)
    grown = result.tables["vanilla"]
    # Class counts are taken on the released first avatars (an avatar may change class), and
    # the minority is raised to the majority's count.
    first = grown.unshuffled["income"].iloc[: len(vanilla)].value_counts()
    extra = int(first.max() - first.min())
    assert extra > 50
    assert len(grown.avatars) == len(vanilla) + extra
    assert grown.augmentation is not None
    assert grown.augmentation["extra_rows"] == {str(first.idxmin()): extra}
    released = grown.avatars["income"].value_counts()
    assert released.max() == released.min() == first.max()
    assert grown.sources is not None and len(grown.sources) == len(grown.unshuffled)
    np.testing.assert_array_equal(grown.sources[: len(vanilla)], np.arange(len(vanilla)))
    extra_sources = grown.sources[len(vanilla) :]
    assert (vanilla["income"].to_numpy()[extra_sources] == first.idxmin()).all()
    assert (grown.unshuffled["income"].iloc[len(vanilla) :] == first.idxmin()).all()
    # Keys: new, unique, and every individual (extra ones included) owns a series in each
    # time-series table, its readings pointing at an existing key.
    keys = grown.avatars["id"]
    assert keys.is_unique and set(keys) == set(range(len(grown.avatars)))
    for table in ("sensor1", "sensor2"):
        readings = result.tables[table].avatars
        assert set(readings["id"]) == set(keys)
    # Extra rows are fresh avatars, not copies of an original row.
    variables = [c for c in vanilla.columns if c != "id"]
    originals = {tuple(row) for row in vanilla[variables].itertuples(index=False)}
    extra_rows = grown.unshuffled[variables].iloc[len(vanilla) :]
    copies = sum(tuple(row) in originals for row in extra_rows.itertuples(index=False))
    assert copies == 0
    # Same seed, same release.
    again = avatarize_tables(schema, frames, parameters(MINORITY), seed=3)
    pd.testing.assert_frame_equal(again.tables["sensor1"].avatars, result.tables["sensor1"].avatars)


def test_metrics_pair_first_avatars_and_measure_the_extra_rows_by_barycentres() -> None:
    schema, frames = sensors()
    result = avatarize_tables(schema, frames, parameters(MINORITY), seed=3)
    unshuffled = {n: t.unshuffled for n, t in result.tables.items()}
    sources = result.tables["vanilla"].sources
    assert sources is not None
    paired = first_avatars(schema, unshuffled, {"vanilla": sources}, frames)
    assert len(paired["vanilla"]) == len(frames["vanilla"])
    for table in ("sensor1", "sensor2"):
        assert set(paired[table]["id"]) == set(paired["vanilla"]["id"])
        assert len(paired[table]) < len(unshuffled[table])
    tables = LinkedTables(schema, frames, paired, series={"sensor1": SERIES, "sensor2": SERIES})
    privacy = linked_privacy_metrics(tables, {})
    assert privacy["vanilla"][0]["metadata"]["computation_type"] == "standalone"
    extra = augmented_privacy_metrics(
        tables, unshuffled["vanilla"], sources, "vanilla", {"table_name": "vanilla"}
    )
    assert [r["metadata"]["computation_type"] for r in extra] == [
        "barycentered",
        "class_balancing_barycenter",
    ]
    assert 0 <= extra[0]["hidden_rate"] <= 100


def test_a_child_table_or_a_parent_of_plain_children_cannot_grow() -> None:
    from test_multitable_processors import SCHEMA, tables

    frames = tables()
    stay = TableParameters({"k": 5, "data_augmentation_strategy": 2})
    with pytest.raises(
        InvalidArgumentError, match=r"table 'stay'.*parent table\(s\) \['patient'\]"
    ):
        check_parameters("stay", frames["stay"], stay, SCHEMA)
    patient = TableParameters({"k": 5, "data_augmentation_strategy": 2})
    with pytest.raises(InvalidArgumentError, match=r"child table\(s\) \['stay'\]") as caught:
        check_parameters("patient", frames["patient"], patient, SCHEMA)
    assert caught.value.field == "tables[patient].data_augmentation_strategy"


def test_a_bad_target_names_the_table() -> None:
    schema, frames = sensors()
    bad = {**MINORITY, "data_augmentation_target_column": "salary"}
    with pytest.raises(InvalidArgumentError, match=r"table 'vanilla'.*'salary'") as caught:
        avatarize_tables(schema, frames, parameters(bad), seed=1)
    assert caught.value.field == "tables[vanilla].data_augmentation_target_column"
