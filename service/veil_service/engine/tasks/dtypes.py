"""Avatars leave the engine with the original's dtypes.

The avatarization works on float64 and integer codes, and the declared types (``int``,
``float``, ``category``...) are coarser than pandas' dtypes, so without this step an ``int32``
column came back ``int64``, ``float32`` as ``float64``, a ``category`` without its unused
categories (as ``object``), a ``string`` column as ``object``, and integer codes declared
``category`` as the strings ``'1'``..``'10'``. Casting each avatar column to the dtype the original
had when it was uploaded (Arrow's pandas metadata carries it back to the client) makes
``runner.shuffled(table)`` come back as the table went in.

Dates without a time of day (``datetime.date`` objects: what pyarrow makes of a CSV's
``YYYY-MM-DD`` or a Parquet ``date32``, and what a DataFrame of dates holds) are avatarized as
datetimes (:func:`dates_as_datetimes`, at day resolution) and given back as dates.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from veil_wire.pandas_dtypes import is_date_column


def match_dtypes(
    avatars: pd.DataFrame, like: pd.DataFrame, *, keep_values: bool = False
) -> pd.DataFrame:
    """``avatars`` with each column cast to the dtype of the same column of ``like``.

    Values are the avatars' own; only their representation changes. A column whose values
    cannot take the original dtype (which would be a bug upstream) keeps its avatar dtype rather
    than losing values.

    Args:
        keep_values: Cast only where no value changes: text is not read as numbers and
            numbers are not rounded to integers. The release path's columns come out of
            pseudonymization (``"04748"`` is a pseudonym, not the number 4748) and processors
            (a cumulative column's relation to its source breaks if one side is rounded), so
            they keep the type their values need; the plain path's integers are rounded by the
            avatarization itself.
    """
    out = avatars.copy()
    for column in avatars.columns:
        if column not in like.columns:
            continue
        target = like[column].dtype
        if out[column].dtype == target:
            continue
        if pd.api.types.is_datetime64_any_dtype(out[column]) and is_date_column(like[column]):
            out[column] = out[column].dt.date.astype(object).where(out[column].notna(), None)
            continue
        if keep_values and _would_change(out[column], target):
            continue
        cast = _cast(out[column], target)
        if cast is not None:
            out[column] = cast
    return out


def _would_change(series: pd.Series[Any], target: Any) -> bool:
    """Whether casting ``series`` to ``target`` would change a value: text read as numbers, or
    numbers with a fraction rounded to integers."""
    numeric_target = pd.api.types.is_integer_dtype(target) or pd.api.types.is_float_dtype(target)
    if numeric_target and not pd.api.types.is_numeric_dtype(series):
        return True
    if pd.api.types.is_integer_dtype(target) and pd.api.types.is_float_dtype(series):
        values = series.dropna().to_numpy(dtype="float64")
        return bool((values != values.round()).any())
    return False


def dates_as_datetimes(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its date columns as ``datetime64[ns]`` at midnight (the avatarization
    finds their day resolution and rounds the avatars to it); :func:`match_dtypes` turns them
    back into dates."""
    dates = [c for c in frame.columns if is_date_column(frame[c])]
    if not dates:
        return frame
    return frame.assign(**{str(c): pd.to_datetime(frame[c]) for c in dates})


def _cast(series: pd.Series[Any], target: Any) -> pd.Series[Any] | None:
    if series.isna().any() and not _can_hold_missing(target):
        return None  # e.g. an int64 or bool column cannot hold a missing value
    try:
        if isinstance(target, pd.CategoricalDtype):
            return _as_categorical(series, target)
        if pd.api.types.is_integer_dtype(target) or pd.api.types.is_float_dtype(target):
            numeric = series if pd.api.types.is_numeric_dtype(series) else pd.to_numeric(series)
            if pd.api.types.is_integer_dtype(target):
                numeric = numeric.round()
            return numeric.astype(target)
        return series.astype(target)
    except (ValueError, TypeError, OverflowError):
        return None


def _can_hold_missing(dtype: Any) -> bool:
    if isinstance(dtype, pd.api.extensions.ExtensionDtype):
        return True  # Int64, boolean, string, category, datetime with time zone
    return not (pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))


def _as_categorical(series: pd.Series[Any], target: pd.CategoricalDtype) -> pd.Series[Any] | None:
    categories = list(target.categories)
    by_text = {str(c): c for c in categories}
    values = [
        v if pd.isna(v) or v in by_text.values() else by_text.get(str(v), _NOT_A_CATEGORY)
        for v in series.tolist()
    ]
    if any(v is _NOT_A_CATEGORY for v in values):
        return None
    return pd.Series(pd.Categorical(values, dtype=target), index=series.index)


_NOT_A_CATEGORY = object()
