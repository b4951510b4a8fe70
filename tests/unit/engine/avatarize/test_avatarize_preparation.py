"""A prepared avatarization, reused across k, seeds and noise settings, gives the avatars of a
fresh run with the same parameters, bit for bit."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from veil_service.engine.avatarize import AvatarizationParameters, run_avatarization
from veil_service.engine.avatarize.pipeline import AvatarizationResult, run_prepared
from veil_service.engine.avatarize.preparation import (
    RUN_FIELDS,
    parameters_from_options,
    prepare_avatarization,
)


def _table(rows: int = 160, missing: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    age = rng.integers(20, 80, rows)
    df = pd.DataFrame(
        {
            "age": age,
            "income": np.round(age * 300 + rng.normal(0, 4000, rows), -3),
            "sex": rng.choice(["F", "M"], rows),
            "smoker": rng.choice(["no", "yes"], rows, p=[0.8, 0.2]),
            "grade": rng.choice(["a", "b", "c"], rows),
        }
    )
    if missing:
        df.loc[rng.choice(rows, 12, replace=False), "income"] = np.nan
    return df


def _assert_same(left: AvatarizationResult, right: AvatarizationResult) -> None:
    pd.testing.assert_frame_equal(left.avatars, right.avatars, check_exact=True)
    pd.testing.assert_frame_equal(left.unshuffled, right.unshuffled, check_exact=True)
    pd.testing.assert_frame_equal(
        left.avatar_projections, right.avatar_projections, check_exact=True
    )
    pd.testing.assert_frame_equal(
        left.original_projections, right.original_projections, check_exact=True
    )
    assert (left.redrawn_rows, left.unique_copies) == (right.redrawn_rows, right.unique_copies)
    assert left.warnings == right.warnings
    if left.neighbours is not None and right.neighbours is not None:
        assert np.array_equal(left.neighbours, right.neighbours)
        assert np.array_equal(left.coefficients, right.coefficients)  # type: ignore[arg-type]


RUNS = [
    {"k": 5, "seed": 0},
    {"k": 5, "seed": 1},
    {"k": 12, "seed": 0, "coupled_noise": True},
    {"k": 12, "seed": 2, "coupled_noise": True, "keep": True},
    {"k": 3, "seed": 3, "max_weight": 1.0, "local_noise": 0.0, "ncp": 2},
    {"k": 5, "seed": 1, "redraw_unique_copies": False, "n_jobs": 1},
]


@pytest.mark.parametrize(
    ("case", "options"),
    [
        ("one batch, nothing missing", {}),
        ("missing values", {"missing": True}),
        ("several batches", {"max_rows_per_batch": 100, "rows": 250}),
    ],
)
def test_a_prepared_table_gives_the_avatars_of_fresh_runs(
    case: str, options: dict[str, object]
) -> None:
    options = dict(options)
    df = _table(int(options.pop("rows", 160)), missing=bool(options.pop("missing", False)))
    base = AvatarizationParameters(k=5, seed=0, **options)  # type: ignore[arg-type]
    prepared = prepare_avatarization(df, base)
    # The fit is shared only when it draws nothing from the seed.
    assert (prepared.fitted is not None) == (case == "one batch, nothing missing")
    redrawn = 0
    for run in RUNS:
        settings = {key: value for key, value in run.items() if key != "keep"}
        params = replace(base, **settings)  # type: ignore[arg-type]
        keep = bool(run.get("keep"))
        fresh = run_avatarization(df, params, keep_weights=keep)
        reused = run_prepared(prepared, params, keep_weights=keep)
        _assert_same(reused, fresh)
        redrawn += reused.redrawn_rows
    # Some runs redrew copies of unique rows: the redraws read the shared neighbours too.
    assert redrawn > 0


def test_neighbours_are_searched_once_per_k_and_kept_read_only() -> None:
    df = _table()
    prepared = prepare_avatarization(df, AvatarizationParameters(k=5, seed=0))
    first = prepared.neighbours(5, 5, 1)
    assert first is not None
    assert prepared.neighbours(5, 5, 2) is first
    assert not first[0].flags.writeable and not first[1].flags.writeable
    other = prepared.neighbours(8, 5, 1)
    assert other is not None and other[1].shape == (len(df), 8)


def test_a_run_that_changes_the_preparation_is_refused() -> None:
    df = _table()
    base = AvatarizationParameters(k=5, seed=0)
    prepared = prepare_avatarization(df, base)
    assert "k" in RUN_FIELDS and "column_weights" not in RUN_FIELDS
    with pytest.raises(ValueError, match="prepare the table again"):
        run_prepared(prepared, replace(base, column_weights={"age": 2.0}))
    with pytest.raises(ValueError, match="prepare the table again"):
        run_prepared(prepared, replace(base, categorical_columns=("age",)))


def test_k_is_still_checked_against_the_rows() -> None:
    df = _table(rows=30)
    prepared = prepare_avatarization(df, AvatarizationParameters(k=5, seed=0))
    with pytest.raises(Exception, match="k must be smaller than the number of rows"):
        run_prepared(prepared, AvatarizationParameters(k=30, seed=0))


def test_options_give_the_parameters_avatarize_builds() -> None:
    options = {"k": 7, "categorical_columns": ["age"], "column_weights": {"age": 2.0}}
    assert parameters_from_options(options) == AvatarizationParameters(
        k=7, categorical_columns=("age",), column_weights={"age": 2.0}
    )
    assert parameters_from_options({}) == AvatarizationParameters()
    with pytest.raises(TypeError):
        parameters_from_options({"kk": 3})
