"""Loaded tables are conformed to the metadata: columns, order and types; errors name columns."""

from __future__ import annotations

import pandas as pd
import pytest
from support import FIXTURES
from veil_service.engine.dp.frames import conform_to_metadata
from veil_service.engine_contract.dp_metadata import load_metadata_file, parse_metadata
from veil_service.errors import InvalidArgumentError

LOMAS = FIXTURES / "lomas"

METADATA = parse_metadata(
    {
        "max_ids": 1,
        "rows": 3,
        "row_privacy": True,
        "columns": {
            "n": {"type": "int", "precision": 32, "lower": 0, "upper": 9},
            "flag": {"type": "boolean"},
            "day": {"type": "datetime", "lower": "2020-01-01", "upper": "2021-01-01"},
            "x": {"type": "float", "precision": 64, "lower": 0.0, "upper": 1.0},
        },
    }
)


def test_types_and_order() -> None:
    raw = pd.DataFrame(
        {
            "x": ["0.5", "0.25", None],
            "extra": [1, 2, 3],
            "n": ["1", None, "3"],
            "flag": ["True", "no", None],
            "day": ["2020-02-01", "2020-03-01", None],
        }
    )
    df = conform_to_metadata(raw, METADATA)
    assert list(df.columns) == ["n", "flag", "day", "x"]
    assert [str(t) for t in df.dtypes] == ["Int32", "boolean", "datetime64[ns]", "float64"]
    assert df["flag"].tolist()[:2] == [True, False]


def test_penguins_csv() -> None:
    penguin = load_metadata_file(LOMAS / "metadata" / "penguin_metadata.yaml")
    df = conform_to_metadata(pd.read_csv(LOMAS / "datasets" / "penguins.csv"), penguin)
    assert df.shape == (344, 7) and str(df["species"].dtype) == "string"


def test_errors_name_columns_not_values() -> None:
    with pytest.raises(InvalidArgumentError, match="lacks column") as info:
        conform_to_metadata(pd.DataFrame({"n": [1]}), METADATA)
    assert info.value.field == "metadata.columns"
    raw = pd.DataFrame({"n": ["secret-value"], "flag": [True], "day": ["2020-01-01"], "x": [0.1]})
    with pytest.raises(InvalidArgumentError) as info:
        conform_to_metadata(raw, METADATA)
    assert info.value.field == "metadata.columns.n" and "secret" not in info.value.message
