"""The linked search's trials reuse one preparation of the searched table (column analysis,
encoding, projection, each k's neighbours) and get the avatars of whole runs, bit for bit."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from linked_data import hospital
from veil_service.engine.avatarize import pipeline as avatarize_pipeline
from veil_service.engine.avatarize import preparation
from veil_service.engine.multitable import Link, Schema, TableKeys, TableParameters
from veil_service.engine.multitable import avatarize_tables as whole_run
from veil_service.engine.multitable.table_trials import prepare_table_trials


def _schema() -> Schema:
    return Schema(
        (
            TableKeys("region", "r_id"),
            TableKeys("patient", "p_id", ("r_id",)),
            TableKeys("doctor", "d_id"),
            TableKeys("visit", "visit_id", ("p_id", "d_id")),
        ),
        (
            Link("region", "r_id", "patient", "r_id"),
            Link("patient", "p_id", "visit", "p_id"),
            Link("doctor", "d_id", "visit", "d_id"),
        ),
    )


GIVEN = {
    "region": TableParameters({"k": 4}),
    "patient": TableParameters({"k": 7}),
    "doctor": TableParameters({"k": 6, "column_weights": {"seniority": 2.0}}),
    "visit": TableParameters({"k": 9}),
}
#: A search's order: k up and down, both noises, a k seen again after another.
SETTINGS = [
    {"k": 5, "coupled_noise": False},
    {"k": 9, "coupled_noise": False},
    {"k": 9, "coupled_noise": True},
    {"k": 5, "coupled_noise": True},
    {"k": 5, "coupled_noise": False, "local_noise": 0.5},
]


@pytest.mark.parametrize("name", ["patient", "doctor", "visit"])
def test_trials_from_one_preparation_get_the_avatars_of_whole_runs(name: str) -> None:
    tables = hospital(300, 3.0, seed=5, n_doctors=30, n_regions=20)
    schema = _schema()
    trials = prepare_table_trials(schema, tables, GIVEN, name)
    assert trials is not None
    seeds = range(2, 4)
    engine = None
    for settings in SETTINGS:
        alone = trials.avatars(settings, seeds)
        # One preparation serves every setting, its projection fitted once for every seed.
        engine = engine or trials._engine
        assert trials._engine is engine and engine is not None and engine.fitted is not None
        table = GIVEN[name]
        chosen = {**GIVEN, name: TableParameters({**table.avatarization, **settings})}
        for seed, avatars in zip(seeds, alone, strict=True):
            whole = whole_run(schema, tables, chosen, seed=seed).tables[name].unshuffled
            expected = whole[list(avatars.columns)].reset_index(drop=True)
            pd.testing.assert_frame_equal(avatars, expected, check_exact=True)


def test_a_table_with_missing_values_fits_its_projection_once_per_seed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Missing values make the projection depend on the seed (the imputation draws donors):
    the trials fit it once per seed, not once per trial, and still get the whole runs'
    avatars bit for bit."""
    tables = hospital(300, 3.0, seed=5, n_doctors=30, n_regions=20)
    patients = tables["patient"]
    patients["income"] = patients["income"].astype("float64")
    patients.loc[patients.index[::7], "income"] = np.nan
    patients.loc[patients.index[3::11], "sex"] = None
    schema = _schema()
    trials = prepare_table_trials(schema, tables, GIVEN, "patient")
    assert trials is not None
    seeds = range(2, 4)
    fits: list[int] = []
    original = preparation.fit_projection

    def counted(*args: Any, **kwargs: Any) -> Any:
        fits.append(1)
        return original(*args, **kwargs)

    # Both places a projection is fitted: ahead for a seed, and within a run.
    monkeypatch.setattr(preparation, "fit_projection", counted)
    monkeypatch.setattr(avatarize_pipeline, "fit_projection", counted)
    runs = [trials.avatars(settings, seeds) for settings in SETTINGS]
    monkeypatch.undo()
    assert trials._engine is not None and trials._engine.fitted is None
    assert len(fits) == len(seeds)  # was one per trial: len(SETTINGS) x len(seeds)
    for settings, alone in zip(SETTINGS, runs, strict=True):
        chosen = {
            **GIVEN,
            "patient": TableParameters({**GIVEN["patient"].avatarization, **settings}),
        }
        for seed, avatars in zip(seeds, alone, strict=True):
            whole = whole_run(schema, tables, chosen, seed=seed).tables["patient"].unshuffled
            expected = whole[list(avatars.columns)].reset_index(drop=True)
            pd.testing.assert_frame_equal(avatars, expected, check_exact=True)


def test_a_setting_that_changes_the_preparation_is_refused() -> None:
    tables = hospital(200, 3.0, seed=5, n_doctors=20, n_regions=10)
    trials = prepare_table_trials(_schema(), tables, GIVEN, "patient")
    assert trials is not None
    with pytest.raises(ValueError, match="change the table's preparation"):
        trials.avatars({"column_weights": {"age": 2.0}}, range(1))
    with pytest.raises(ValueError, match="change the table's preparation"):
        trials.avatars({"seed": 3}, range(1))
