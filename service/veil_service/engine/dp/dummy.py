"""Dummy datasets: random tables shaped like a private dataset, built from its metadata alone.

Analysts write and debug queries on a dummy dataset before spending budget on the private one. A
dummy reads nothing but the metadata, so it reveals nothing beyond it. The generator follows
Lomas's ``make_dummy_dataset`` (lomas.md §1.7) draw for draw: one ``numpy`` generator seeded once,
columns drawn in metadata order, so the same metadata, size and seed give the same table.
"""

from __future__ import annotations

import datetime as dt
import string

import numpy as np
import pandas as pd

from veil_service.engine_contract.dp_metadata import ColumnMetadata, Metadata
from veil_service.engine_contract.dp_tasks import DEFAULT_NB_ROWS, DEFAULT_SEED, MAX_NB_ROWS
from veil_service.errors import InvalidArgumentError

# Lomas sets this many random cells to null in every nullable column.
NB_RANDOM_NONE = 5

_STRING_ALPHABET = list(string.ascii_lowercase + string.ascii_uppercase + string.digits)


def make_dummy_dataset(
    metadata: Metadata, nb_rows: int = DEFAULT_NB_ROWS, seed: int = DEFAULT_SEED
) -> pd.DataFrame:
    """Build a seeded random table that follows the metadata.

    Categorical columns draw from their categories, numbers uniformly within ``[lower, upper]``,
    datetimes among the days between the bounds, free strings are single random characters.
    Nullable columns get a few nulls so that queries meet them as they would on real data.

    Args:
        metadata: Validated metadata of the dataset.
        nb_rows: Number of rows, 1 to 1,000,000.
        seed: Seed of the random generator; same seed, same table.

    Returns:
        A DataFrame with the metadata's columns, in order, typed as the metadata says
        (``string``, ``int32``/``int64`` (``Int32``/``Int64`` when nullable), ``float32``/
        ``float64``, ``boolean``, ``datetime64[ns]``).

    Raises:
        InvalidArgumentError: ``nb_rows`` out of range.
    """
    if isinstance(nb_rows, bool) or not isinstance(nb_rows, int) or not 0 < nb_rows <= MAX_NB_ROWS:
        raise InvalidArgumentError(
            f"nb_rows must be an integer between 1 and {MAX_NB_ROWS:,}", field="nb_rows"
        )
    rng = np.random.default_rng(seed)
    data: dict[str, pd.Series] = {}
    for col in metadata.columns:
        series = _draw_column(col, nb_rows, rng)
        if col.nullable:
            series = _with_nulls(series, col, rng)
        data[col.name] = series
    return pd.DataFrame(data)


def _draw_column(col: ColumnMetadata, size: int, rng: np.random.Generator) -> pd.Series:
    if col.categories is not None:
        values = rng.choice(np.asarray(col.categories, dtype=object), size=size)
        if col.type == "int":
            return pd.Series(values.astype(f"int{col.precision}"))
        return pd.Series(values, dtype="string")
    if col.type == "string":
        return pd.Series(rng.choice(_STRING_ALPHABET, size=size), dtype="string")
    if col.type == "boolean":
        return pd.Series(rng.choice([True, False], size=size), dtype="boolean")
    if col.type == "int":
        ints = rng.integers(int(col.lower), int(col.upper), size=size, endpoint=True)  # type: ignore[arg-type]
        return pd.Series(ints.astype(f"int{col.precision}"))
    if col.type == "float":
        dtype = np.float32 if col.precision == 32 else np.float64
        lower, upper = float(col.lower), float(col.upper)  # type: ignore[arg-type]
        floats = lower + (upper - lower) * rng.random(size=size, dtype=dtype)
        return pd.Series(floats.astype(dtype))
    assert isinstance(col.lower, dt.datetime) and isinstance(col.upper, dt.datetime)
    days = pd.date_range(col.lower, col.upper, freq="D")
    drawn = pd.DatetimeIndex(rng.choice(days.to_numpy(), size=size))
    return pd.Series(drawn, dtype="datetime64[ns]")


def _with_nulls(series: pd.Series, col: ColumnMetadata, rng: np.random.Generator) -> pd.Series:
    if col.type == "int":
        series = series.astype(pd.Int32Dtype() if col.precision == 32 else pd.Int64Dtype())
    for _ in range(NB_RANDOM_NONE):
        index = int(rng.integers(0, len(series)))
        series.iloc[index] = None
    return series
