"""Conform a loaded dataset to its metadata before any DP library sees it.

A CSV read without types gives objects and floats where the metadata promises ints, booleans and
datetimes, and the libraries then either fail late or, worse, treat a column differently from
what the cost was computed for. :func:`conform_to_metadata` selects the metadata's columns in
metadata order (OpenDP's CSV input depends on that order) and casts each one to the type the
metadata declares, the way Lomas's connectors pass ``dtype``/``parse_dates`` to ``read_csv``.
Error messages name columns, never values. :func:`typed_as_metadata` types a synthesizer's samples
the same way, so that a result's column types come from the metadata, not from the values drawn.
"""

from __future__ import annotations

import pandas as pd

from veil_service.engine_contract.dp_metadata import ColumnMetadata, Metadata
from veil_service.errors import InvalidArgumentError

_TRUE = frozenset({"true", "t", "yes", "1"})
_FALSE = frozenset({"false", "f", "no", "0"})


def conform_to_metadata(df: pd.DataFrame, metadata: Metadata) -> pd.DataFrame:
    """The metadata's columns of ``df``, in metadata order, typed as the metadata declares.

    Types: ``string`` → pandas ``string``; ``int`` → ``int32``/``int64`` (``Int32``/``Int64``
    when there are nulls); ``float`` → ``float32``/``float64``; ``boolean`` → ``boolean``
    (accepting true/false, yes/no, 1/0 text); ``datetime`` → ``datetime64[ns]``.

    Raises:
        InvalidArgumentError: A metadata column is missing from the table, or a column's values
            cannot be read as its declared type (``field="metadata.columns.<name>"``).
    """
    missing = [name for name in metadata.column_names if name not in df.columns]
    if missing:
        raise InvalidArgumentError(
            f"the table lacks column(s) declared in the metadata: {', '.join(missing)}",
            field="metadata.columns",
        )
    return pd.DataFrame(
        {col.name: _cast(df[col.name], col) for col in metadata.columns}, index=df.index
    )


def _cast(series: pd.Series, col: ColumnMetadata) -> pd.Series:
    try:
        if col.type == "string":
            return series.astype("string")
        if col.type == "float":
            numbers = pd.to_numeric(series, errors="raise")
            return numbers.astype("float32" if col.precision == 32 else "float64")
        if col.type == "int":
            numbers = pd.to_numeric(series, errors="raise")
            if numbers.isna().any():
                return numbers.astype(pd.Int32Dtype() if col.precision == 32 else pd.Int64Dtype())
            return numbers.astype("int32" if col.precision == 32 else "int64")
        if col.type == "boolean":
            return _booleans(series, col)
        return pd.to_datetime(series, errors="raise").astype("datetime64[ns]")
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidArgumentError(
            f"column {col.name} has values that are not of its declared type {col.type}",
            field=f"metadata.columns.{col.name}",
        ) from exc


def _booleans(series: pd.Series, col: ColumnMetadata) -> pd.Series:
    if pd.api.types.is_bool_dtype(series):
        return series.astype("boolean")
    if pd.api.types.is_numeric_dtype(series) and series.dropna().isin([0, 1]).all():
        return series.astype("boolean")
    text = series.astype("string").str.strip().str.lower()
    known = text.isna() | text.isin(_TRUE | _FALSE)
    if not known.all():
        raise ValueError(f"column {col.name}: not booleans")
    return text.map(lambda v: None if v is pd.NA else v in _TRUE).astype("boolean")


def typed_as_metadata(samples: pd.DataFrame, metadata: Metadata) -> pd.DataFrame:
    """``samples`` with each metadata column typed as the metadata declares, nulls allowed.

    A synthesizer's output types followed its values: a column of only missing values (pacsynth
    leaves attributes it cannot extend empty) was ``object``, so Arrow sent it as nulls without a
    type, while the same column with values arrived as ``string``; dummy and private answers to
    one request then differed in type. Types: ``string`` → ``string``; ``int`` → ``Int32``/
    ``Int64`` (``float64`` if a value is not whole, which a continuous encoder may give);
    ``float`` → ``float32``/``float64``; ``boolean`` → ``boolean``; ``datetime`` →
    ``datetime64[ns]``. Columns the metadata does not declare are left as they are.
    """
    typed = samples.copy()
    for name in samples.columns:
        if name in metadata.column_names:
            typed[name] = _nullable(samples[name], metadata.column(name))
    return typed


def _nullable(series: pd.Series, col: ColumnMetadata) -> pd.Series:
    values = pd.Series(
        [None if pd.isna(v) else v for v in series], index=series.index, dtype=object
    )
    if col.type == "string":
        return values.astype("string")
    if col.type == "boolean":
        return values.astype("boolean")
    if col.type == "datetime":
        return pd.to_datetime(values).astype("datetime64[ns]")
    if col.type == "float":
        return pd.to_numeric(values).astype("float32" if col.precision == 32 else "float64")
    try:  # through object, so that int64 values beyond 2**53 stay exact
        return values.astype(pd.Int32Dtype() if col.precision == 32 else pd.Int64Dtype())
    except (TypeError, ValueError):  # a value that is not whole
        return pd.to_numeric(values).astype("float64")
