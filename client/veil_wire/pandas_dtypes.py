"""Arrow tables to pandas with the dtypes their writer had: shared by the server and the client.

A table crosses the wire as Arrow, with pandas' metadata naming each column's dtype when a
DataFrame was uploaded. ``pyarrow.Table.to_pandas`` honours most of it but not all: a column the
metadata calls ``string[pyarrow]`` (an ``ArrowDtype``, what ``pd.read_csv(...,
dtype_backend="pyarrow")`` gives) is read back as pandas' ``StringDtype``, whose name is the same
string. Both sides convert through :func:`arrow_to_pandas`, so a column uploaded Arrow-backed is
avatarized and handed back Arrow-backed.
"""

from __future__ import annotations

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
    Arrow type as a ``pd.ArrowDtype``; the others are converted as ``to_pandas`` does.
    """
    frame: pd.DataFrame = table.to_pandas()
    recorded = recorded_dtypes(table.schema)
    for position, name in enumerate(table.schema.names):
        if recorded.get(name, "").endswith(_ARROW_BACKED) and not isinstance(
            frame.dtypes.iloc[position], pd.ArrowDtype
        ):
            frame.isetitem(position, pd.arrays.ArrowExtensionArray(table.column(position)))
    return frame
