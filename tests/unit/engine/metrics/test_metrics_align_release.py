"""Another release of an aligned original aligned alone (engine/metrics/tables.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from veil_service.engine.metrics.tables import align_release, align_tables
from veil_service.errors import InvalidArgumentError


def _original() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 90, 40),
            "income": rng.normal(3000, 500, 40),
            "sex": rng.choice(["F", "M"], 40),
            "when": pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, 40), "D"),
        }
    )


def test_a_release_aligned_against_an_aligned_original_equals_aligning_both() -> None:
    original = _original()
    first = original.sample(frac=1.0, random_state=1).reset_index(drop=True)
    aligned = align_tables(original, first)
    # A CSV round trip's types: integers as floats, dates as strings, a new category.
    other = original.sample(frac=1.0, random_state=2).reset_index(drop=True)
    other["age"] = other["age"].astype(float)
    other["when"] = other["when"].astype(str)
    other.loc[:3, "sex"] = "X"
    again = align_release(original, aligned, other)
    expected = align_tables(original, other)
    pd.testing.assert_frame_equal(again.avatars, expected.avatars)
    pd.testing.assert_frame_equal(again.original, expected.original)
    assert (again.continuous, again.categorical) == (expected.continuous, expected.categorical)
    assert again.holdout is None


def test_a_release_of_another_shape_is_refused_as_by_align_tables() -> None:
    original = _original()
    aligned = align_tables(original, original)
    with pytest.raises(InvalidArgumentError, match="rows"):
        align_release(original, aligned, original.iloc[:10])
    with pytest.raises(InvalidArgumentError):
        align_release(original, aligned, original.drop(columns=["sex"]))
