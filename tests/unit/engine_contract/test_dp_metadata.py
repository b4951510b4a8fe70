"""Lomas metadata: every shipped file loads unchanged; invalid metadata is refused by field."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import snsql
from support import FIXTURES
from veil_service.engine_contract.dp_metadata import (
    Metadata,
    load_metadata_file,
    load_metadata_text,
    parse_metadata,
)
from veil_service.errors import InvalidArgumentError

LOMAS = FIXTURES / "lomas"
METADATA_FILES = sorted((LOMAS / "metadata").glob("*.yaml"))


def _base() -> dict[str, Any]:
    return {
        "max_ids": 1,
        "rows": 100,
        "row_privacy": True,
        "columns": {
            "cat": {"type": "string", "cardinality": 2, "categories": ["a", "b"]},
            "n": {"type": "int", "precision": 64, "lower": 100, "upper": 120},
            "x": {"type": "float", "precision": 32, "lower": 10.0, "upper": 20.0},
            "b": {"type": "boolean"},
            "d": {"type": "datetime", "lower": "2000-01-01", "upper": "2000-12-31"},
        },
    }


def _with(path: str, value: Any) -> dict[str, Any]:
    raw = copy.deepcopy(_base())
    *parents, last = path.split(".")
    node = raw
    for key in parents:
        node = node[key]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return raw


_DELETE = object()


@pytest.mark.parametrize("path", METADATA_FILES, ids=lambda p: p.name)
def test_every_lomas_metadata_file_loads(path: Path) -> None:
    metadata = load_metadata_file(path)
    assert metadata.rows > 0 and metadata.max_ids > 0 and metadata.columns
    # The Lomas form round-trips, and smartnoise-sql accepts the converted form.
    assert parse_metadata(metadata.to_dict()) == metadata
    snsql.metadata.Metadata.from_dict(metadata.to_smartnoise_dict())


def test_penguin_metadata_is_typed() -> None:
    metadata = load_metadata_file(LOMAS / "metadata" / "penguin_metadata.yaml")
    assert metadata.column_names[:2] == ["species", "island"]
    assert metadata.column("species").categories == ("Adelie", "Chinstrap", "Gentoo")
    bill = metadata.column("bill_length_mm")
    assert (bill.type, bill.precision, bill.lower, bill.upper) == ("float", 64, 30.0, 65.0)
    assert metadata.censor_dims is False


def test_covid_and_birthday_special_fields() -> None:
    covid = load_metadata_file(LOMAS / "metadata" / "covid_synthetic_metadata.yaml")
    assert covid.max_ids == 3
    assert covid.column("patient_id").private_id
    assert covid.column("temporal").max_partition_length == 2002
    birthday = load_metadata_file(LOMAS / "metadata" / "birthday_metadata.yaml")
    assert birthday.column("birthday").lower == dt.datetime(1900, 1, 1)


def test_defaults() -> None:
    metadata = parse_metadata(_base())
    assert isinstance(metadata, Metadata)
    assert metadata.censor_dims is False
    assert not metadata.column("n").nullable and not metadata.column("n").private_id


@pytest.mark.parametrize(
    ("path", "value", "field", "reason"),
    [
        ("rows", 0, "metadata.rows", "integer > 0"),
        ("max_ids", -1, "metadata.max_ids", "integer > 0"),
        ("row_privacy", _DELETE, "metadata.row_privacy", "required"),
        ("columns", {}, "metadata.columns", "required"),
        ("columns.cat.categories", ["a"], "metadata.columns.cat.categories", "cardinality"),
        ("columns.cat.categories", _DELETE, "metadata.columns.cat.categories", "required"),
        ("columns.cat.categories", [1, 2], "metadata.columns.cat.categories", "type str"),
        ("columns.n.precision", 16, "metadata.columns.n.precision", "32 or 64"),
        ("columns.n.lower", 130, "metadata.columns.n.lower", "smaller than or equal"),
        ("columns.n.lower", 1.5, "metadata.columns.n.lower", "integer"),
        ("columns.n.upper", _DELETE, "metadata.columns.n.upper", "required"),
        ("columns.x.lower", "low", "metadata.columns.x.lower", "number"),
        ("columns.d.lower", "2001-01-01", "metadata.columns.d.lower", "smaller than or equal"),
        ("columns.d.upper", "not a date", "metadata.columns.d.upper", "ISO date"),
        ("columns.b.type", "complex", "metadata.columns.b.type", "must be one of"),
        ("columns.b.nullable", "yes", "metadata.columns.b.nullable", "true or false"),
        ("columns.x.categories", [1.0], "metadata.columns.x.categories", "unknown key"),
        ("extra", 1, "metadata.extra", "unknown key"),
    ],
)
def test_invalid_metadata_is_refused_naming_the_field(
    path: str, value: Any, field: str, reason: str
) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        parse_metadata(_with(path, value))
    assert info.value.field == field
    assert reason in info.value.message


def test_int_categorical_needs_int_categories() -> None:
    raw = _with(
        "columns.n", {"type": "int", "precision": 32, "cardinality": 2, "categories": ["a", "b"]}
    )
    with pytest.raises(InvalidArgumentError, match="type int"):
        parse_metadata(raw)


def test_bad_yaml_names_the_line() -> None:
    with pytest.raises(InvalidArgumentError, match="at line"):
        load_metadata_text("max_ids: 1\nrows: [1, 2\n")
    with pytest.raises(InvalidArgumentError, match="must be a mapping"):
        load_metadata_text("- 1\n- 2\n")


def test_smartnoise_dict_keeps_nullable_explicit() -> None:
    table = parse_metadata(_base()).to_smartnoise_dict()[""][""]["df"]
    assert table["cat"] == {
        "type": "string",
        "private_id": False,
        "nullable": False,
        "cardinality": 2,
    }
    assert table["n"]["lower"] == 100 and table["max_ids"] == 1
