"""Arrow tables to pandas with the dtypes their writer recorded (veil_wire.pandas_dtypes)."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
from veil_wire.pandas_dtypes import arrow_to_pandas


def test_arrow_backed_columns_come_back_arrow_backed() -> None:
    frame = pd.DataFrame(
        {
            "s": pd.Series(["x", None], dtype=pd.ArrowDtype(pa.string())),
            "f": pd.Series([1.5, None], dtype=pd.ArrowDtype(pa.float64())),
            "i": pd.Series([1, 2], dtype="int32"),
            "n": pd.Series(["x", "y"], dtype="string"),
        }
    )
    back = arrow_to_pandas(pa.Table.from_pandas(frame, preserve_index=False))
    assert back.dtypes.to_dict() == frame.dtypes.to_dict()
    assert str(back["s"].dtype) == "string[pyarrow]"  # pyarrow alone gives StringDtype
    assert back["s"].tolist()[0] == "x" and pd.isna(back["s"].iloc[1])
    assert back["f"].tolist()[0] == 1.5


def test_integers_with_nulls_and_no_recorded_dtype_become_nullable_integers() -> None:
    table = pa.table(
        {
            "age": pa.array([30, None, 41], pa.int64()),
            "code": pa.array([1, None, 2], pa.uint8()),
            "full": pa.array([1, 2, 3], pa.int32()),
        }
    )
    back = arrow_to_pandas(table)
    assert [str(d) for d in back.dtypes] == ["Int64", "UInt8", "int32"]
    assert back["age"].tolist()[0] == 30 and back["age"].isna().tolist() == [False, True, False]
