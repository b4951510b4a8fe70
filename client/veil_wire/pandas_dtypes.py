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
