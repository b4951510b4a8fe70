"""Column types as the Runner declares them: inferred from a DataFrame, or given by the user.

A table's columns travel with a declared type (``int``, ``float``, ``bool``, ``category``,
``datetime``, ``datetime_tz``) that decides how the engine treats them: continuous, categorical,
or seconds since the epoch. The checks here run before anything is uploaded, so a typo in
``types={...}`` costs no upload and leaves the runner as it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
import pyarrow as pa
from veil_wire.pandas_dtypes import is_date_column

from veil_client.config import ColumnType
from veil_client.errors import InvalidArgument

ALLOWED = tuple(t.value for t in ColumnType)
"""Every declared type the server knows, in the order error messages list them."""


def _arrow_kind(arrow: pa.DataType) -> str:
    if pa.types.is_timestamp(arrow):
        return "datetime_tz" if arrow.tz is not None else "datetime"
    if pa.types.is_date(arrow):
        return "datetime"
    if pa.types.is_boolean(arrow):
        return "bool"
    if pa.types.is_integer(arrow):
        return "int"
    if pa.types.is_floating(arrow) or pa.types.is_decimal(arrow):
        return "float"
    return "category"


def dtype_kind(dtype: Any) -> str:
    """The declared type of a pandas dtype, numpy, nullable or Arrow-backed alike.

    Decided by the dtype's kind, not its name: ``double[pyarrow]`` and
    ``timestamp[ns][pyarrow]`` do not start with ``float`` or ``datetime``, and were declared
    categories (their values came back as pseudonyms).
    """
    if isinstance(dtype, pd.ArrowDtype):
        return _arrow_kind(dtype.pyarrow_dtype)
    if isinstance(dtype, pd.DatetimeTZDtype):
        return "datetime_tz"
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    return "category"


def infer_types(frame: pd.DataFrame) -> dict[str, str]:
    """Octopize's dtype inference for DataFrames (explicit ``types`` override it).

    An ``object`` column of ``datetime.date`` objects is a datetime (at day resolution: the
    avatars come back as dates), not a category.
    """
    out: dict[str, str] = {}
    for position, (column, dtype) in enumerate(frame.dtypes.items()):
        kind = dtype_kind(dtype)
        if is_date_column(frame.iloc[:, position]):
            kind = "datetime"
        out[str(column)] = kind
    return out


def declared_types(types: Mapping[str, Any] | None) -> dict[str, str]:
    """The user's ``types={...}`` as column name -> type value, checked.

    Raises:
        InvalidArgument: ``types`` is not a dict, a key is not a column name, or a value is
            not one of the column types (the message names the column, the value and the
            allowed types).
    """
    if types is None:
        return {}
    if not isinstance(types, Mapping):
        raise InvalidArgument(
            f"types must be a dict of column name -> column type; got {types!r}.", field="types"
        )
    out: dict[str, str] = {}
    for column, kind in types.items():
        if not isinstance(column, str) or not column:
            raise InvalidArgument(
                f"types must be keyed by column names; got the key {column!r}.", field="types"
            )
        value = getattr(kind, "value", kind)
        if value not in ALLOWED:
            raise InvalidArgument(
                f"types[{column!r}] is {kind!r}, which is not a column type; use one of "
                f"{', '.join(ALLOWED)} (or veil_client.config.ColumnType).",
                field=f"types[{column}]",
            )
        out[column] = str(value)
    return out


def column_names(field: str, value: Any) -> list[str]:
    """A list of column names argument (``columns_to_drop``...), checked.

    Raises:
        InvalidArgument: not a list of non-empty strings (a bare string would be read as
            one column name per character).
    """
    if value is None:
        return []
    if not isinstance(value, list | tuple) or not all(
        isinstance(name, str) and name for name in value
    ):
        raise InvalidArgument(
            f"{field} must be a list of column names; got {value!r}.", field=field
        )
    return list(value)


def check_named_columns(named: Iterable[str], columns: Iterable[str]) -> None:
    """Refuse declared types for columns the uploaded table does not have (or drops): the job
    would fail on them long after the upload.

    Raises:
        InvalidArgument: naming the missing columns and the table's columns.
    """
    present = list(columns)
    missing = sorted(set(named) - set(present))
    if missing:
        raise InvalidArgument(
            f"types names columns the table does not have (or drops): {missing}; its columns: "
            f"{present[:20]}.",
            field="types",
        )
