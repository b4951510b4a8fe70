"""Arrow tables to pandas with the dtypes their writer had: shared by the server and the client.

A table crosses the wire as Arrow, with pandas' metadata naming each column's dtype when a
DataFrame was uploaded. ``pyarrow.Table.to_pandas`` honours most of it but not all: a column the
metadata calls ``string[pyarrow]`` (an ``ArrowDtype``, what ``pd.read_csv(...,
dtype_backend="pyarrow")`` gives) is read back as pandas' ``StringDtype``, whose name is the same
string. Both sides convert through :func:`arrow_to_pandas`, so a column uploaded Arrow-backed is
avatarized and handed back Arrow-backed.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from typing import Any

import pandas as pd
import pyarrow as pa

_ARROW_BACKED = "[pyarrow]"


def recorded_dtypes(schema: pa.Schema) -> dict[str, str]:
    """Column name -> the pandas dtype name the writer recorded (none without pandas metadata:
    a CSV, a Parquet file written by Arrow or Spark)."""
    metadata = schema.metadata or {}
    if b"pandas" not in metadata:
        return {}
    described: dict[str, Any] = json.loads(metadata[b"pandas"])
    return {
        str(column.get("field_name", column.get("name"))): str(column.get("numpy_type"))
        for column in described.get("columns", [])
    }


def arrow_to_pandas(table: pa.Table) -> pd.DataFrame:
    """``table`` as pandas, each column with the dtype its writer recorded.

    Columns recorded Arrow-backed (``double[pyarrow]``, ``string[pyarrow]``...) keep their
    Arrow type as a ``pd.ArrowDtype``; integer columns with nulls and no recorded dtype become
    nullable integers (``Int64``...); the others are converted as ``to_pandas`` does.
    """
    frame: pd.DataFrame = table.to_pandas()
    recorded = recorded_dtypes(table.schema)
    for position, field in enumerate(table.schema):
        column = table.column(position)
        if recorded.get(field.name, "").endswith(_ARROW_BACKED) and not isinstance(
            frame.dtypes.iloc[position], pd.ArrowDtype
        ):
            frame.isetitem(position, pd.arrays.ArrowExtensionArray(column))
        elif field.name not in recorded and field.type in _NULLABLE_INTEGERS and column.null_count:
            frame.isetitem(position, column.to_pandas(types_mapper=_NULLABLE_INTEGERS.get).array)
    return frame


_NULLABLE_INTEGERS: dict[pa.DataType, Any] = {
    pa.int8(): pd.Int8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.uint8(): pd.UInt8Dtype(),
    pa.uint16(): pd.UInt16Dtype(),
    pa.uint32(): pd.UInt32Dtype(),
    pa.uint64(): pd.UInt64Dtype(),
}
"""An integer column with nulls that no pandas dtype was recorded for (a CSV, a Parquet file
written by Arrow or Spark) becomes pandas' nullable integer of its width: ``to_pandas`` would
make it float64, and its avatars came back with decimals (ages of 71.09)."""


def is_date_column(series: pd.Series[Any]) -> bool:
    """Whether ``series`` is an ``object`` column of ``datetime.date`` objects (and missing
    values). pandas has no date dtype of its own, so no algorithm reads such a column as it
    is: the client declares it a datetime and the engine avatarizes it as days, and both must
    recognise it the same way."""
    if not pd.api.types.is_object_dtype(series.dtype):
        return False
    sample = series.dropna().head(1000)
    return not sample.empty and all(
        isinstance(v, datetime.date) and not isinstance(v, datetime.datetime) for v in sample
    )


TEXT_CODES_KEY = b"veil.text_codes"
"""Field metadata the client puts on a CSV column it read as text because it was declared
``category``: the text is the file's, not a type the user chose (a DataFrame's or a Parquet
file's string column carries no such mark). See :func:`integer_codes`."""

_CANONICAL_INTEGER = r"^(0|-?[1-9][0-9]{0,17})$"
"""An integer as a CSV writes one: no sign but ``-``, no leading zero, no spaces, and at most 18
digits (always within int64). ``"04748"`` or ``"+1"`` is text the cast would change."""


def integer_codes(table: pa.Table) -> pa.Table:
    """``table`` with each column marked :data:`TEXT_CODES_KEY` as ``int64`` when all its
    values are plain integers.

    A CSV column declared ``category`` is read by the client as text, whatever it holds, so
    that codes with leading zeros stay themselves and a column whose first rows look numeric
    but whose later rows do not still reads. Integer codes then looked like strings to the
    engine, and their avatars came back as ``'1'``, ``'2'`` where the same codes uploaded as a
    DataFrame column (``pd.read_csv`` reads them as integers) came back as integers. Read as
    ``int64`` here (nulls and all: :func:`arrow_to_pandas` makes such a column ``Int64``), the
    column is what ``pd.read_csv`` would have made of it; codes that are not plain integers
    stay text.
    """
    return cast_integer_codes(table, integer_code_columns([table]))


def integer_code_columns(parts: Iterable[pa.Table | pa.RecordBatch]) -> list[str]:
    """The columns marked :data:`TEXT_CODES_KEY` whose values are plain integers in every one
    of ``parts`` (the slices of one table: its record batches, its partitions' row groups),
    with at least one value; see :func:`integer_codes`.

    The decision is the whole table's: a table read in slices (the Dask partition path) whose
    codes turn to letters past its first slice keeps the column as text in every slice, as
    read whole, instead of giving ``int64`` slices and ``string`` ones.
    """
    import pyarrow.compute as pc

    candidates: dict[str, bool] | None = None  # name -> a value seen
    for part in parts:
        if candidates is None:
            candidates = {
                field.name: False
                for field in part.schema
                if (field.metadata or {}).get(TEXT_CODES_KEY) is not None
                and (pa.types.is_string(field.type) or pa.types.is_large_string(field.type))
            }
        for name in list(candidates):
            column = part.column(name)
            if column.null_count == len(column):
                continue
            if pc.all(pc.match_substring_regex(column, _CANONICAL_INTEGER)).as_py():
                candidates[name] = True
            else:
                del candidates[name]
    return [name for name, seen in (candidates or {}).items() if seen]


def cast_integer_codes(table: pa.Table, names: Iterable[str]) -> pa.Table:
    """``table`` with the columns ``names`` (from :func:`integer_code_columns`) as ``int64``."""
    import pyarrow.compute as pc

    for name in names:
        position = table.schema.get_field_index(name)
        table = table.set_column(
            position, pa.field(name, pa.int64()), pc.cast(table.column(position), pa.int64())
        )
    return table
