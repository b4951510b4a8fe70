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


def test_plain_number_columns_align_as_the_general_path_reads_them() -> None:
    """Numpy number columns skip the Series conversion: the same float64 values (and index)."""
    from veil_service.engine.metrics.tables import _continuous

    rng = np.random.default_rng(3)
    original = pd.DataFrame(
        {
            "small": rng.integers(0, 200, 30).astype(np.uint8),
            "count": rng.integers(-5, 5, 30).astype(np.int32),
            "ratio": rng.random(30).astype(np.float32),
            "income": np.where(rng.random(30) < 0.2, np.nan, rng.normal(3000, 500, 30)),
            "sex": rng.choice(["F", "M"], 30),
        },
        index=pd.RangeIndex(50, 80),
    )
    release = original.sample(frac=1.0, random_state=4)  # a shuffled index
    aligned = align_tables(original, release)
    for column in ("small", "count", "ratio", "income"):
        general = _continuous(release[column], original[column], column, "avatar")
        pd.testing.assert_series_equal(
            aligned.avatars[column], general, check_names=False, check_exact=True
        )
        assert aligned.avatars[column].dtype == np.float64
    assert list(aligned.avatars.index) == list(range(30))
