"""Decoding model arrays back to columns (engine/avatarize/column_types.py): the plain-array fast
path gives what a Series per column cast to its dtype gives, for every kind of column."""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd
import pytest
from veil_service.engine.avatarize.column_types import (
    ColumnKind,
    _decode_continuous,
    analyse_columns,
    decode_columns,
    encode_categorical,
    encode_continuous,
)


def _objects(values: list[object]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _table(rows: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(4)
    ages = rng.integers(18, 90, rows)
    return pd.DataFrame(
        {
            "age": ages,
            "age32": ages.astype(np.int32),
            "income": rng.normal(3000, 500, rows),
            "ratio32": rng.random(rows).astype(np.float32),
            "visits": pd.array(np.where(rng.random(rows) < 0.2, None, ages % 7), dtype="Int64"),
            "weight": np.where(rng.random(rows) < 0.2, np.nan, rng.normal(70, 9, rows)),
            "sex": rng.choice(["F", "M"], rows).astype(object),
            "town": np.where(rng.random(rows) < 0.2, None, rng.choice(["a", "b", "c"], rows)),
            "grade": pd.Categorical(rng.choice(["x", "y"], rows)),
            "smoker": rng.random(rows) < 0.3,
            # Dates held as objects (pandas reads a bare object array of them as dates).
            "visit": pd.Series(
                _objects(
                    [datetime.datetime(2021, 1, 1 + int(d)) for d in rng.integers(0, 3, rows)]
                ),
                index=pd.RangeIndex(100, 100 + rows),
                dtype=object,
            ),
            "when": pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, rows), "D"),
        },
        index=pd.RangeIndex(100, 100 + rows),
    )


def _series_per_column(specs, continuous, codes, index, order):  # type: ignore[no-untyped-def]
    """The decoding as it was defined: a Series per column, cast to the column's dtype (the
    code before arrays, kept here as the definition)."""
    data = {}
    c = q = 0
    for spec in specs:
        if spec.kind is ColumnKind.CATEGORICAL:
            data[spec.name] = _categorical_series(spec, codes[:, q], index)
            q += 1
        else:
            data[spec.name] = _continuous_series(spec, continuous[:, c], index)
            c += 1
    return pd.DataFrame({name: data[name] for name in order}, index=index)


def _continuous_series(spec, values, index):  # type: ignore[no-untyped-def]
    if spec.kind is ColumnKind.DATETIME:
        return _decode_continuous(spec, values, index)  # a Series on both paths
    clipped = np.clip(values, spec.low, spec.high)
    if spec.is_integer:
        clipped = np.round(clipped)
    series = pd.Series(clipped, index=index)
    if (
        np.isnan(values).any()
        and pd.api.types.is_integer_dtype(spec.dtype)
        and not isinstance(spec.dtype, pd.api.extensions.ExtensionDtype)
    ):
        return series
    return series.astype(spec.dtype)


def _categorical_series(spec, codes, index):  # type: ignore[no-untyped-def]
    categories = np.empty(len(spec.categories), dtype=object)
    categories[:] = list(spec.categories)
    values = categories[np.clip(codes, 0, None)]
    values[codes < 0] = spec.missing_value
    series = pd.Series(values, index=index, dtype=object)
    if isinstance(spec.dtype, pd.CategoricalDtype):
        return series.astype(spec.dtype)
    if (
        (codes < 0).any()
        and (pd.api.types.is_bool_dtype(spec.dtype) or pd.api.types.is_numeric_dtype(spec.dtype))
        and not isinstance(spec.dtype, pd.api.extensions.ExtensionDtype)
    ):
        return series.astype("float64") if pd.api.types.is_numeric_dtype(spec.dtype) else series
    return series.astype(spec.dtype)


@pytest.mark.parametrize("noise", [0.0, 0.37])
def test_decoding_equals_a_series_per_column(noise: float) -> None:
    table = _table()
    assert table["visit"].dtype == object
    specs = analyse_columns(table, {"smoker", "visit"})
    continuous = encode_continuous(table, specs)
    codes = encode_categorical(table, specs)
    rng = np.random.default_rng(9)
    # Values between and beyond the originals (clipped, rounded) and missing ones, as avatars.
    continuous = continuous + noise * rng.normal(size=continuous.shape) * np.nanstd(continuous, 0)
    continuous[rng.random(continuous.shape) < 0.1] = np.nan
    codes = codes.copy()
    codes[rng.random(codes.shape) < 0.1] = -1
    order = list(reversed(table.columns))
    fast = decode_columns(specs, continuous, codes, table.index, order)
    expected = _series_per_column(specs, continuous, codes, table.index, order)
    pd.testing.assert_frame_equal(fast, expected, check_exact=True)
    assert fast["age"].dtype == np.float64  # a missing value in a numpy int column keeps NaN
    assert fast["ratio32"].dtype == np.float32 and fast["sex"].dtype == object
    assert fast["visit"].dtype == object


def test_decoding_the_originals_gives_them_back() -> None:
    table = _table().drop(columns=["visits", "weight", "town"])
    specs = analyse_columns(table, {"visit"})
    decoded = decode_columns(
        specs,
        encode_continuous(table, specs),
        encode_categorical(table, specs),
        table.index,
        list(table.columns),
    )
    pd.testing.assert_frame_equal(decoded, table, check_exact=True)
