"""Arrow tables to pandas with the dtypes their writer recorded (veil_wire.pandas_dtypes)."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest
from veil_wire.pandas_dtypes import TEXT_CODES_KEY, arrow_to_pandas, integer_codes


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


def _marked(values: list[str | None]) -> pa.Table:
    field = pa.field("code", pa.string(), metadata={TEXT_CODES_KEY: b"category"})
    return pa.Table.from_arrays([pa.array(values, pa.string())], schema=pa.schema([field]))


def test_marked_text_of_plain_integers_is_read_as_int64_nulls_and_all() -> None:
    table = integer_codes(_marked(["1", None, "-2", "0", "123456789012345678"]))
    assert table.schema.field("code").type == pa.int64()
    assert table.column("code").to_pylist() == [1, None, -2, 0, 123456789012345678]
    assert arrow_to_pandas(table)["code"].dtype == "Int64"


@pytest.mark.parametrize(
    "odd", ["04748", "+1", " 1", "1.0", "-0", "1e3", "1234567890123456789", "A", ""]
)
def test_marked_text_that_is_not_plain_integers_stays_text(odd: str) -> None:
    table = integer_codes(_marked(["1", "2", odd]))
    assert table.schema.field("code").type == pa.string()
    assert table.column("code").to_pylist() == ["1", "2", odd]


def test_unmarked_text_and_all_null_columns_stay_text() -> None:
    plain = pa.table({"code": pa.array(["1", "2"])})
    assert integer_codes(plain).equals(plain)
    empty = _marked([None, None])
    assert integer_codes(empty).schema.field("code").type == pa.string()
