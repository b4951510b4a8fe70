"""Arrow IPC stream inspection: validate a stored stream and describe its schema.

The server never holds a whole table: it reads the stream it just wrote batch by batch, which both
proves the stream is complete and well-formed and yields rows, columns and schema.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.ipc as ipc

from veil_service.errors import InvalidArgumentError, Reason

MAX_COLUMNS = 10_000


@dataclass(frozen=True)
class ColumnDescription:
    """One column of an Arrow schema."""

    name: str
    arrow_type: str
    nullable: bool


@dataclass(frozen=True)
class TableShape:
    """What validation learnt about a stream."""

    num_rows: int
    columns: tuple[ColumnDescription, ...]

    @property
    def num_columns(self) -> int:
        """Number of columns."""
        return len(self.columns)

    def schema_json(self) -> str:
        """Columns as JSON, for the database."""
        return json.dumps([[c.name, c.arrow_type, c.nullable] for c in self.columns])

    @staticmethod
    def columns_from_json(text: str) -> tuple[ColumnDescription, ...]:
        """Inverse of :meth:`schema_json`."""
        return tuple(ColumnDescription(n, t, bool(nl)) for n, t, nl in json.loads(text))


def describe_schema(schema: pa.Schema) -> tuple[ColumnDescription, ...]:
    """Columns of an Arrow schema."""
    return tuple(ColumnDescription(f.name, str(f.type), f.nullable) for f in schema)


def validate_ipc_source(source: Any, *, field: str = "arrow_ipc") -> TableShape:
    """Read an Arrow IPC stream from a file-like ``source`` to its end and return its shape.

    Taking any readable object (not only a path) lets the upload path validate the stream while
    it arrives, instead of reading the whole file back once it is stored.

    Raises:
        InvalidArgumentError: the bytes are not a complete Arrow IPC stream (truncated, corrupt,
            a file-format or Parquet file instead of the stream format, duplicate or empty
            column names).
    """
    try:
        reader = ipc.open_stream(source)
        columns = describe_schema(reader.schema)
        rows = 0
        for batch in reader:
            rows += batch.num_rows
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError) as exc:
        raise InvalidArgumentError(
            "the uploaded bytes are not a complete Arrow IPC stream (truncated or corrupt): "
            f"{_short(exc)}. Send the Arrow IPC *stream* format (pyarrow.ipc.new_stream), whole.",
            field=field,
            reason=Reason.CORRUPT_STREAM,
        ) from None
    names = [c.name for c in columns]
    if not names:
        raise InvalidArgumentError(
            "the table has no columns; upload at least one column.",
            field=field,
            reason=Reason.EMPTY_TABLE,
        )
    if len(names) > MAX_COLUMNS:
        raise InvalidArgumentError(
            f"the table has {len(names)} columns; at most {MAX_COLUMNS}.",
            field=field,
            reason=Reason.TOO_MANY_COLUMNS,
        )
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InvalidArgumentError(
            f"duplicate column names {duplicates}; rename them.",
            field=field,
            reason=Reason.DUPLICATE_COLUMNS,
        )
    if any(not n.strip() for n in names):
        raise InvalidArgumentError(
            "a column has an empty name; name every column.",
            field=field,
            reason=Reason.EMPTY_COLUMN_NAME,
        )
    if rows == 0:
        raise InvalidArgumentError(
            f"the table has columns ({', '.join(names[:5])}{', ...' if len(names) > 5 else ''}) "
            "but no rows; upload a table with at least one row.",
            field=field,
            reason=Reason.EMPTY_TABLE,
        )
    return TableShape(rows, columns)


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
