"""Column types: from a pandas table to model arrays and back, with the original dtypes.

The projection works on two arrays: continuous values (float64, NaN where missing) and categorical
codes (int32, -1 where missing). This module decides which column goes where (int, float and
datetimes are continuous; bool, category, strings and numeric columns the caller declares
categorical are categorical), and rebuilds a DataFrame of the original dtypes from decoded arrays:
integers rounded, values clipped to the observed range, datetimes back at their resolution and
time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from veil_service.errors import InvalidArgumentError

FloatArray = npt.NDArray[np.float64]
CodeArray = npt.NDArray[np.int32]

_NS_PER_SECOND = 1_000_000_000
# Resolutions tried when restoring datetimes, coarsest first (nanoseconds).
_DATETIME_RESOLUTIONS_NS = (
    86_400 * _NS_PER_SECOND,
    3_600 * _NS_PER_SECOND,
    60 * _NS_PER_SECOND,
    _NS_PER_SECOND,
    1_000_000,
    1_000,
)


class ColumnKind(Enum):
    """How a column enters the projection."""

    CONTINUOUS = "continuous"
    CATEGORICAL = "categorical"
    DATETIME = "datetime"


@dataclass(frozen=True)
class ColumnSpec:
    """What the engine must know to encode a column and restore it.

    Attributes:
        name: Column label, as in the table (usually a string).
        kind: Continuous, categorical or datetime (datetimes are continuous seconds since epoch).
        dtype: The original pandas dtype, restored on output.
        is_integer: Continuous values are rounded to whole numbers on output.
        low: Smallest observed value (continuous and datetime; output is clipped to it).
        high: Largest observed value.
        categories: Observed modalities of a categorical column, in code order.
        resolution_ns: Datetime resolution the output is rounded to.
        missing_value: The input's own missing marker of a categorical column (NaN, None or
            pd.NA): the avatars' missing values are written with it, so that an avatar table
            compares and serialises as the input did.
    """

    name: Any
    kind: ColumnKind
    dtype: Any
    is_integer: bool = False
    low: float = 0.0
    high: float = 0.0
    categories: tuple[Any, ...] = ()
    resolution_ns: int = 1
    missing_value: Any = np.nan


def analyse_columns(df: pd.DataFrame, declared_categorical: set[str]) -> list[ColumnSpec]:
    """Classify every column of ``df`` and record what restoring it needs.

    Raises:
        InvalidArgumentError: a column is all null, constant, or of an unsupported type.
    """
    specs = []
    for name in df.columns:
        series = df[name]
        observed = series.dropna()
        if observed.empty:
            raise InvalidArgumentError(
                f"Column {name!r} has no value (all null). Drop it before avatarization, or list "
                "it in exclude_variable_names.",
                field="exclude_variable_names",
            )
        specs.append(_analyse_column(name, series, observed, name in declared_categorical))
        # One value and some missing ones is not constant: the missingness is information.
        if observed.nunique() < 2 and len(observed) == len(series):
            raise InvalidArgumentError(
                f"Column {name!r} is constant (one value): it carries no information to "
                "avatarize. Drop it and add it back afterwards, or list it in "
                "exclude_variable_names.",
                field="exclude_variable_names",
            )
    return specs


def _analyse_column(
    name: Any, series: pd.Series[Any], observed: pd.Series[Any], declared: bool
) -> ColumnSpec:
    dtype = series.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        ns = _datetime_ns(observed)
        resolution = next(r for r in (*_DATETIME_RESOLUTIONS_NS, 1) if np.all(ns % r == 0))
        return ColumnSpec(
            name,
            ColumnKind.DATETIME,
            dtype,
            True,
            float(ns.min()),
            float(ns.max()),
            resolution_ns=resolution,
        )
    if pd.api.types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype) or declared:
        return ColumnSpec(
            name,
            ColumnKind.CATEGORICAL,
            dtype,
            categories=_modalities(observed),
            missing_value=_missing_marker(series),
        )
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        values = observed.to_numpy(dtype=np.float64)
        is_integer = pd.api.types.is_integer_dtype(dtype)
        return ColumnSpec(
            name, ColumnKind.CONTINUOUS, dtype, is_integer, float(values.min()), float(values.max())
        )
    if (pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)) and all(
        isinstance(v, str | bool | int | float) for v in observed.head(1000)
    ):
        return ColumnSpec(
            name,
            ColumnKind.CATEGORICAL,
            dtype,
            categories=_modalities(observed),
            missing_value=_missing_marker(series),
        )
    raise InvalidArgumentError(
        f"Column {name!r} has the unsupported type {dtype}. Supported: int, float, bool, "
        "category, string, datetime and datetime with time zone. Convert it (for a duration, to "
        "a number of seconds) or list it in exclude_variable_names.",
        field="exclude_variable_names",
    )


def _missing_marker(series: pd.Series[Any]) -> Any:
    """The value the column uses for missing (its first one; NaN when it has none)."""
    missing = series[series.isna()]
    return missing.iloc[0] if len(missing) else np.nan


def _modalities(observed: pd.Series[Any]) -> tuple[Any, ...]:
    if isinstance(observed.dtype, pd.CategoricalDtype):
        used = set(observed.unique())
        return tuple(c for c in observed.cat.categories if c in used)
    unique = pd.unique(observed)
    try:
        return tuple(sorted(unique))
    except TypeError:
        # Mixed types that do not compare: keep first-occurrence order (deterministic too).
        return tuple(unique)


def _numpy_datetime_dtype(dtype: Any) -> Any:
    """The numpy-backed datetime dtype (ns) holding the same instants as ``dtype``.

    Arrow-backed timestamps (``timestamp[us, tz=...][pyarrow]``, from Arrow IPC tables) are
    handled as the numpy ones and restored to their Arrow dtype on output.
    """
    tz = getattr(dtype, "tz", None)
    if isinstance(dtype, pd.ArrowDtype):
        tz = getattr(dtype.pyarrow_dtype, "tz", None)
    return pd.DatetimeTZDtype("ns", tz) if tz is not None else np.dtype("datetime64[ns]")


def _datetime_ns(series: pd.Series[Any]) -> npt.NDArray[np.int64]:
    values = series.astype(_numpy_datetime_dtype(series.dtype))
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    return values.astype("datetime64[ns]").to_numpy().astype(np.int64)


def encode_continuous(df: pd.DataFrame, specs: list[ColumnSpec]) -> FloatArray:
    """Continuous and datetime columns as float64 (datetimes in seconds), NaN where missing."""
    columns = [s for s in specs if s.kind is not ColumnKind.CATEGORICAL]
    out = np.empty((len(df), len(columns)), dtype=np.float64)
    for j, spec in enumerate(columns):
        series = df[spec.name]
        if spec.kind is ColumnKind.DATETIME:
            mask = series.isna().to_numpy()
            filled = series.where(~mask, series.dropna().iloc[0])
            seconds = _datetime_ns(filled).astype(np.float64) / _NS_PER_SECOND
            seconds[mask] = np.nan
            out[:, j] = seconds
        else:
            out[:, j] = series.astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)
    return out


def encode_categorical(df: pd.DataFrame, specs: list[ColumnSpec]) -> CodeArray:
    """Categorical columns as int32 codes into ``spec.categories``, -1 where missing."""
    columns = [s for s in specs if s.kind is ColumnKind.CATEGORICAL]
    out = np.empty((len(df), len(columns)), dtype=np.int32)
    for j, spec in enumerate(columns):
        lookup = pd.Index(list(spec.categories))
        out[:, j] = lookup.get_indexer(df[spec.name].astype(object)).astype(np.int32)
    return out


def decode_columns(
    specs: list[ColumnSpec],
    continuous: FloatArray,
    codes: CodeArray,
    index: pd.Index[Any],
    column_order: list[str],
) -> pd.DataFrame:
    """Rebuild a DataFrame with the original dtypes from decoded arrays (NaN / -1 = missing).

    Columns of numpy number dtypes are built as arrays, and object columns without a cast copy:
    the same values as a Series per column cast to its dtype, at a third of the cost on the
    small tables a parameter search decodes hundreds of times.
    """
    data: dict[str, pd.Series[Any] | np.ndarray[Any, Any]] = {}
    c = q = 0
    for spec in specs:
        if spec.kind is ColumnKind.CATEGORICAL:
            data[spec.name] = _decode_categorical(spec, codes[:, q], index)
            q += 1
        else:
            data[spec.name] = _decode_continuous(spec, continuous[:, c], index)
            c += 1
    return pd.DataFrame({name: data[name] for name in column_order}, index=index)


def is_numpy_number(dtype: Any) -> bool:
    """Whether ``dtype`` is a numpy bool, integer or float dtype (not an extension, not a
    date): one whose values a plain array holds and ``astype`` reads as numbers."""
    return isinstance(dtype, np.dtype) and dtype.kind in "biuf"


def in_column_order(frame: pd.DataFrame, columns: list[Any]) -> pd.DataFrame:
    """``frame[columns]``, or ``frame`` itself when its columns are already those, in that
    order (a selection copies every column)."""
    return frame if list(frame.columns) == list(columns) else frame[columns]


def _decode_continuous(
    spec: ColumnSpec, values: FloatArray, index: pd.Index[Any]
) -> pd.Series[Any] | np.ndarray[Any, Any]:
    missing = np.isnan(values)
    if spec.kind is ColumnKind.DATETIME:
        ns = np.clip(np.nan_to_num(values) * _NS_PER_SECOND, spec.low, spec.high)
        ns = np.round(ns / spec.resolution_ns) * spec.resolution_ns
        stamps = pd.Series(pd.to_datetime(ns.astype(np.int64), unit="ns"), index=index)
        stamps = stamps.mask(missing)
        numpy_dtype = _numpy_datetime_dtype(spec.dtype)
        if isinstance(numpy_dtype, pd.DatetimeTZDtype):
            stamps = stamps.dt.tz_localize("UTC").dt.tz_convert(numpy_dtype.tz)
        return stamps.astype(spec.dtype)
    clipped = np.clip(values, spec.low, spec.high)
    if spec.is_integer:
        clipped = np.round(clipped)
    if (
        missing.any()
        and pd.api.types.is_integer_dtype(spec.dtype)
        and not isinstance(spec.dtype, pd.api.extensions.ExtensionDtype)
    ):
        # A numpy int column cannot hold NA: the original had none, so this cannot happen unless
        # the caller's table had a float column; keep float so NAs survive.
        return clipped
    if is_numpy_number(spec.dtype):
        out: np.ndarray[Any, Any] = clipped.astype(spec.dtype)
        return out
    return pd.Series(clipped, index=index).astype(spec.dtype)


def _decode_categorical(spec: ColumnSpec, codes: CodeArray, index: pd.Index[Any]) -> pd.Series[Any]:
    categories = np.empty(len(spec.categories), dtype=object)
    categories[:] = list(spec.categories)
    values = categories[np.clip(codes, 0, None)]
    values[codes < 0] = spec.missing_value
    # A Series even for object columns: pandas would read a bare object array of dates as a
    # date column. ``values`` is this call's own array, so it is not copied.
    series = pd.Series(values, index=index, dtype=object, copy=False)
    if isinstance(spec.dtype, np.dtype) and spec.dtype.kind == "O":
        return series  # casting would only copy it
    if isinstance(spec.dtype, pd.CategoricalDtype):
        return series.astype(spec.dtype)
    if (
        (codes < 0).any()
        and (pd.api.types.is_bool_dtype(spec.dtype) or pd.api.types.is_numeric_dtype(spec.dtype))
        and not isinstance(spec.dtype, pd.api.extensions.ExtensionDtype)
    ):
        return series.astype("float64") if pd.api.types.is_numeric_dtype(spec.dtype) else series
    return series.astype(spec.dtype)
