"""Dataset metadata in Lomas's format: load, validate, convert.

The metadata is the only public description of a private dataset: column types, bounds,
categories and the privacy unit (``max_ids``: how many rows one individual may contribute). Every
DP library here derives its sensitivity from it, so a wrong or missing bound is a privacy bug, not a
formatting problem. Validation therefore refuses anything it does not understand, naming the field
(``columns.<name>.<key>``) and the reason, the way Lomas's pydantic models do (lomas.md §3, §6.6).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from veil_service.errors import InvalidArgumentError
from veil_service.yaml_limits import METADATA_LIMITS, load_documents

COLUMN_TYPES = ("string", "int", "float", "boolean", "datetime")
PRECISIONS = (32, 64)

_TABLE_KEYS = frozenset({"max_ids", "rows", "row_privacy", "censor_dims", "columns"})
_COMMON_COLUMN_KEYS = frozenset(
    {
        "type",
        "private_id",
        "nullable",
        "max_partition_length",
        "max_influenced_partitions",
        "max_partition_contributions",
    }
)
_TYPE_KEYS: dict[str, frozenset[str]] = {
    "string": frozenset({"cardinality", "categories"}),
    "int": frozenset({"precision", "lower", "upper", "cardinality", "categories"}),
    "float": frozenset({"precision", "lower", "upper"}),
    "boolean": frozenset(),
    "datetime": frozenset({"lower", "upper"}),
}
# smartnoise-sql reads these keys at table level: a column with one of these names would be lost.
_SMARTNOISE_TABLE_KEYS = frozenset(
    {
        "rows",
        "rows_exact",
        "row_privacy",
        "max_ids",
        "sample_max_ids",
        "clamp_counts",
        "clamp_columns",
        "use_dpsu",
        "censor_dims",
    }
)

Bound = int | float | dt.datetime
Category = str | int


@dataclass(frozen=True)
class ColumnMetadata:
    """One column of the metadata.

    Attributes:
        name: Column name in the dataset.
        type: One of ``string``, ``int``, ``float``, ``boolean``, ``datetime``.
        private_id: The column identifies the individual (smartnoise-sql key column).
        nullable: The column may hold missing values.
        precision: Bit width of ``int``/``float`` columns (32 or 64), else None.
        lower: Smallest possible value (numbers, datetimes); public knowledge, not data.
        upper: Largest possible value.
        cardinality: Number of categories of a categorical column.
        categories: The categories, in the declared order.
        max_partition_length: Upper bound on rows per partition when grouping by this column.
        max_influenced_partitions: Partitions one individual can influence.
        max_partition_contributions: Rows one individual can add to one partition.
    """

    name: str
    type: str
    private_id: bool = False
    nullable: bool = False
    precision: int | None = None
    lower: Bound | None = None
    upper: Bound | None = None
    cardinality: int | None = None
    categories: tuple[Category, ...] | None = None
    max_partition_length: int | None = None
    max_influenced_partitions: int | None = None
    max_partition_contributions: int | None = None


@dataclass(frozen=True)
class Metadata:
    """Validated dataset metadata.

    Attributes:
        max_ids: Rows one individual may contribute (the privacy unit; OpenDP's ``d_in``).
        rows: Number of rows of the dataset, as published by the data owner.
        row_privacy: Each row is one individual (smartnoise-sql).
        censor_dims: Censor rare dimensions in smartnoise-sql GROUP BY (default False, as Lomas).
        columns: Columns in declaration order.
    """

    max_ids: int
    rows: int
    row_privacy: bool
    columns: tuple[ColumnMetadata, ...]
    censor_dims: bool = False

    @property
    def column_names(self) -> list[str]:
        """Column names in declaration order."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnMetadata:
        """The column called ``name``.

        Raises:
            InvalidArgumentError: No such column in the metadata.
        """
        for col in self.columns:
            if col.name == name:
                return col
        raise InvalidArgumentError(
            f"column {name!r} is not in the dataset metadata; known columns: "
            f"{', '.join(self.column_names)}",
            field="columns",
        )

    def to_dict(self) -> dict[str, Any]:
        """The metadata back in Lomas's format (JSON-friendly: datetimes as ISO dates)."""
        columns: dict[str, Any] = {}
        for col in self.columns:
            entry: dict[str, Any] = {"type": col.type}
            for key in (
                "precision",
                "cardinality",
                "max_partition_length",
                "max_influenced_partitions",
                "max_partition_contributions",
            ):
                value = getattr(col, key)
                if value is not None:
                    entry[key] = value
            for key in ("lower", "upper"):
                value = getattr(col, key)
                if isinstance(value, dt.datetime):
                    midnight = _is_midnight(value)
                    entry[key] = value.date().isoformat() if midnight else value.isoformat()
                elif value is not None:
                    entry[key] = value
            if col.categories is not None:
                entry["categories"] = list(col.categories)
            if col.private_id:
                entry["private_id"] = True
            if col.nullable:
                entry["nullable"] = True
            columns[col.name] = entry
        return {
            "max_ids": self.max_ids,
            "rows": self.rows,
            "row_privacy": self.row_privacy,
            "censor_dims": self.censor_dims,
            "columns": columns,
        }

    def to_smartnoise_dict(self, table: str = "df") -> dict[str, Any]:
        """The metadata as smartnoise-sql's collection dict, one table in the empty schema.

        Mirrors Lomas's conversion (columns flattened into the table dict, ``nullable`` always
        explicit because smartnoise-sql defaults it to True), so the same query costs the same.
        """
        body: dict[str, Any] = {
            "max_ids": self.max_ids,
            "rows": self.rows,
            "row_privacy": self.row_privacy,
            "censor_dims": self.censor_dims,
        }
        for col in self.columns:
            entry: dict[str, Any] = {
                "type": col.type,
                "private_id": col.private_id,
                "nullable": col.nullable,
            }
            if col.type in ("int", "float"):
                if col.lower is not None:
                    entry["lower"] = col.lower
                if col.upper is not None:
                    entry["upper"] = col.upper
            if col.cardinality is not None:
                entry["cardinality"] = col.cardinality
            body[col.name] = entry
        return {"": {"": {table: body}}}


def _is_midnight(value: dt.datetime) -> bool:
    return value.time() == dt.time(0, 0)


def load_metadata_file(path: str | Path) -> Metadata:
    """Load and validate a Lomas metadata YAML (or JSON) file.

    Raises:
        InvalidArgumentError: The file is not valid YAML or the metadata is invalid.
    """
    text = Path(path).read_text(encoding="utf-8")
    return load_metadata_text(text)


def load_metadata_text(text: str) -> Metadata:
    """Parse and validate metadata given as YAML (JSON is YAML too).

    Raises:
        InvalidArgumentError: The text does not parse or the metadata is invalid.
    """
    documents = load_documents(text, field="metadata", limits=METADATA_LIMITS)
    raw = documents[0] if documents else None
    return parse_metadata(raw)


def parse_metadata(raw: object) -> Metadata:
    """Validate a metadata mapping (as read from YAML or JSON) into :class:`Metadata`.

    Raises:
        InvalidArgumentError: With ``field`` set to the offending key path, e.g.
            ``metadata.columns.bill_length_mm.lower``.
    """
    if not isinstance(raw, Mapping):
        raise _bad("metadata", "must be a mapping with max_ids, rows, row_privacy and columns")
    _no_unknown_keys(raw, _TABLE_KEYS, "metadata")
    max_ids = _positive_int(raw, "max_ids", "metadata", required=True)
    rows = _positive_int(raw, "rows", "metadata", required=True)
    assert max_ids is not None and rows is not None
    row_privacy = _bool(raw, "row_privacy", "metadata", required=True)
    censor_dims = _bool(raw, "censor_dims", "metadata", required=False)
    columns_raw = raw.get("columns")
    if not isinstance(columns_raw, Mapping) or not columns_raw:
        raise _bad("metadata.columns", "is required: a mapping of column name to column metadata")
    columns = tuple(_parse_column(name, spec) for name, spec in columns_raw.items())
    return Metadata(
        max_ids=max_ids,
        rows=rows,
        row_privacy=row_privacy,
        censor_dims=censor_dims,
        columns=columns,
    )


def _parse_column(name: object, spec: object) -> ColumnMetadata:
    if not isinstance(name, str) or not name:
        raise _bad("metadata.columns", f"column names must be non-empty strings, got {name!r}")
    where = f"metadata.columns.{name}"
    if name in _SMARTNOISE_TABLE_KEYS:
        raise _bad(where, "is a reserved table-level key in smartnoise-sql; rename the column")
    if not isinstance(spec, Mapping):
        raise _bad(where, "must be a mapping with at least a type")
    col_type = spec.get("type")
    if col_type not in COLUMN_TYPES:
        raise _bad(f"{where}.type", f"must be one of {', '.join(COLUMN_TYPES)}; got {col_type!r}")
    _no_unknown_keys(spec, _COMMON_COLUMN_KEYS | _TYPE_KEYS[col_type], where)
    precision: int | None = None
    if col_type in ("int", "float"):
        precision = spec.get("precision")
        if precision not in PRECISIONS or isinstance(precision, bool):
            raise _bad(f"{where}.precision", f"must be 32 or 64 for {col_type} columns")
    cardinality, categories = _categories(spec, col_type, where)
    lower, upper = _bounds(spec, col_type, where, categorical=categories is not None)
    return ColumnMetadata(
        name=name,
        type=col_type,
        private_id=_bool(spec, "private_id", where, required=False),
        nullable=_bool(spec, "nullable", where, required=False),
        precision=precision,
        lower=lower,
        upper=upper,
        cardinality=cardinality,
        categories=categories,
        max_partition_length=_positive_int(spec, "max_partition_length", where),
        max_influenced_partitions=_positive_int(spec, "max_influenced_partitions", where),
        max_partition_contributions=_positive_int(spec, "max_partition_contributions", where),
    )


def _categories(
    spec: Mapping[str, Any], col_type: str, where: str
) -> tuple[int | None, tuple[Category, ...] | None]:
    if "cardinality" not in spec and "categories" not in spec:
        return None, None
    cardinality = _positive_int(spec, "cardinality", where, required=True)
    raw = spec.get("categories")
    if not isinstance(raw, list) or not raw:
        raise _bad(f"{where}.categories", "are required (a non-empty list) when cardinality is set")
    expected: type = str if col_type == "string" else int
    for value in raw:
        if not isinstance(value, expected) or isinstance(value, bool):
            raise _bad(
                f"{where}.categories",
                f"must all be of type {expected.__name__} for a {col_type} column",
            )
    if len(raw) != cardinality:
        raise _bad(f"{where}.categories", "number of categories should be equal to cardinality")
    if len(set(raw)) != len(raw):
        raise _bad(f"{where}.categories", "contain duplicates")
    return cardinality, tuple(raw)


def _bounds(
    spec: Mapping[str, Any], col_type: str, where: str, *, categorical: bool
) -> tuple[Bound | None, Bound | None]:
    if col_type in ("string", "boolean") or categorical:
        return None, None
    values: list[Bound] = []
    for key in ("lower", "upper"):
        if key not in spec or spec[key] is None:
            raise _bad(f"{where}.{key}", f"is required for {col_type} columns")
        values.append(_bound_value(spec[key], col_type, f"{where}.{key}"))
    lower, upper = values
    if lower > upper:  # type: ignore[operator]
        raise _bad(f"{where}.lower", "must be smaller than or equal to upper")
    return lower, upper


def _bound_value(value: object, col_type: str, field: str) -> Bound:
    if col_type == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise _bad(field, "must be an integer for an int column")
        return value
    if col_type == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _bad(field, "must be a number for a float column")
        if not math.isfinite(value):
            raise _bad(field, "must be a finite number (not NaN or infinite)")
        return float(value)
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            pass
    raise _bad(field, "must be an ISO date such as '2020-01-31' for a datetime column")


def _positive_int(
    raw: Mapping[str, Any], key: str, where: str, *, required: bool = False
) -> int | None:
    value = raw.get(key)
    if value is None:
        if required:
            raise _bad(f"{where}.{key}", "is required (an integer > 0)")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise _bad(f"{where}.{key}", "must be an integer > 0")
    return value


def _bool(raw: Mapping[str, Any], key: str, where: str, *, required: bool) -> bool:
    value = raw.get(key)
    if value is None:
        if required:
            raise _bad(f"{where}.{key}", "is required (true or false)")
        return False
    if not isinstance(value, bool):
        raise _bad(f"{where}.{key}", "must be true or false")
    return value


def _no_unknown_keys(raw: Mapping[Any, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(str(k) for k in raw if k not in allowed)
    if unknown:
        raise _bad(
            f"{where}.{unknown[0]}",
            f"unknown key(s) {', '.join(unknown)}; allowed here: {', '.join(sorted(allowed))}",
        )


def _bad(field: str, reason: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"invalid metadata: {field} {reason}", field=field)
