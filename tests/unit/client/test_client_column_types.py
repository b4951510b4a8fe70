"""The client's column types: inferred from every pandas dtype by its kind, and checked."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from veil_client import InvalidArgument
from veil_client.column_types import declared_types, dtype_kind


@pytest.mark.parametrize(
    ("dtype", "kind"),
    [
        (np.dtype("int16"), "int"),
        (np.dtype("uint8"), "int"),
        (pd.Int64Dtype(), "int"),
        (pd.ArrowDtype(pa.int64()), "int"),
        (pd.ArrowDtype(pa.uint8()), "int"),
        (np.dtype("float32"), "float"),
        (pd.Float64Dtype(), "float"),
        (pd.ArrowDtype(pa.float64()), "float"),
        (pd.ArrowDtype(pa.decimal128(10, 2)), "float"),
        (np.dtype("bool"), "bool"),
        (pd.BooleanDtype(), "bool"),
        (pd.ArrowDtype(pa.bool_()), "bool"),
        (np.dtype("datetime64[ns]"), "datetime"),
        (pd.ArrowDtype(pa.timestamp("ns")), "datetime"),
        (pd.ArrowDtype(pa.timestamp("us")), "datetime"),
        (pd.ArrowDtype(pa.date32()), "datetime"),
        (pd.DatetimeTZDtype("ns", "Europe/Paris"), "datetime_tz"),
        (pd.ArrowDtype(pa.timestamp("ns", tz="UTC")), "datetime_tz"),
        (pd.CategoricalDtype(["a"]), "category"),
        (pd.StringDtype(), "category"),
        (pd.ArrowDtype(pa.string()), "category"),
        (np.dtype("object"), "category"),
    ],
)
def test_every_dtype_is_typed_by_its_kind(dtype: object, kind: str) -> None:
    assert dtype_kind(dtype) == kind


def test_declared_types_are_normalised_or_refused_naming_column_value_and_choices() -> None:
    assert declared_types({"a": "int", "b": "category"}) == {"a": "int", "b": "category"}
    with pytest.raises(InvalidArgument) as caught:
        declared_types({"age": "integer"})
    assert str(caught.value) == (
        "types['age'] is 'integer', which is not a column type; use one of int, bool, category, "
        "float, datetime, datetime_tz (or veil_client.config.ColumnType)."
    )
    assert caught.value.field == "types[age]"
