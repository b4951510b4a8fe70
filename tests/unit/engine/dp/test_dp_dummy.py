"""Dummy datasets follow the metadata (Lomas test_dummy_generation) and are seeded."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest
from support import FIXTURES
from veil_service.engine.dp.dummy import make_dummy_dataset
from veil_service.engine_contract.dp_metadata import load_metadata_file, parse_metadata
from veil_service.errors import InvalidArgumentError

LOMAS = FIXTURES / "lomas"

METADATA = parse_metadata(
    {
        "max_ids": 1,
        "rows": 100,
        "row_privacy": True,
        "columns": {
            "cat": {"type": "string", "cardinality": 3, "categories": ["a", "b", "c"]},
            "flag": {"type": "boolean"},
            "x": {"type": "float", "precision": 32, "lower": 10.0, "upper": 20.0},
            "n": {"type": "int", "precision": 64, "lower": 100, "upper": 120},
            "code": {"type": "int", "precision": 32, "cardinality": 2, "categories": [7, 9]},
            "text": {"type": "string"},
            "day": {"type": "datetime", "lower": "2020-01-01", "upper": "2020-03-01"},
            "maybe_day": {
                "type": "datetime",
                "lower": "2020-01-01",
                "upper": "2020-03-01",
                "nullable": True,
            },
            "maybe_n": {"type": "int", "precision": 32, "lower": 0, "upper": 5, "nullable": True},
        },
    }
)


def test_types_bounds_and_categories() -> None:
    df = make_dummy_dataset(METADATA)
    assert df.shape == (100, 9)
    assert list(df.columns) == METADATA.column_names
    assert set(df["cat"]) <= {"a", "b", "c"} and df["cat"].nunique() == 3
    assert str(df["flag"].dtype) == "boolean"
    assert str(df["x"].dtype) == "float32" and df["x"].between(10, 20).all()
    assert str(df["n"].dtype) == "int64" and df["n"].between(100, 120).all()
    assert str(df["code"].dtype) == "int32" and set(df["code"]) <= {7, 9}
    assert df["text"].str.len().eq(1).all()
    assert str(df["day"].dtype) == "datetime64[ns]" and not df["day"].isna().any()
    assert df["maybe_day"].isna().any()
    assert str(df["maybe_n"].dtype) == "Int32" and df["maybe_n"].isna().any()


def test_same_seed_same_table_other_seed_other_table() -> None:
    a = make_dummy_dataset(METADATA, 50, seed=1)
    pd.testing.assert_frame_equal(a, make_dummy_dataset(METADATA, 50, seed=1))
    assert not a.equals(make_dummy_dataset(METADATA, 50, seed=2))


def test_matches_lomas_notebook_row() -> None:
    """Lomas's Demo_Client_Notebook shows this first row for PENGUIN, 100 rows, seed 0."""
    penguin = load_metadata_file(LOMAS / "metadata" / "penguin_metadata.yaml")
    row = make_dummy_dataset(penguin, 100, seed=0).iloc[0]
    assert list(row[["species", "island", "sex"]]) == ["Gentoo", "Biscoe", "FEMALE"]
    assert round(row["bill_length_mm"], 6) == 46.799577
    assert round(row["body_mass_g"], 6) == 3010.840470


@pytest.mark.parametrize("path", sorted((LOMAS / "metadata").glob("*.yaml")), ids=lambda p: p.name)
def test_every_lomas_dataset_has_a_dummy(path: Path) -> None:
    metadata = load_metadata_file(path)
    df = make_dummy_dataset(metadata, 20, seed=3)
    assert df.shape == (20, len(metadata.columns))


def test_nullable_column_gets_nulls_only_when_nullable() -> None:
    strict = make_dummy_dataset(METADATA, 30)
    assert not strict["cat"].isna().any()
    col = dataclasses.replace(METADATA.column("cat"), nullable=True)
    loose = dataclasses.replace(METADATA, columns=(col, *METADATA.columns[1:]))
    assert make_dummy_dataset(loose, 30)["cat"].isna().any()


@pytest.mark.parametrize("nb_rows", [0, -1, 1_000_001])
def test_row_count_is_bounded(nb_rows: int) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        make_dummy_dataset(METADATA, nb_rows)
    assert info.value.field == "nb_rows"
