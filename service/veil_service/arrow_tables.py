"""Arrow IPC stream inspection: validate a stored stream and describe its schema.

The server never holds a whole table: it reads the stream it just wrote batch by batch, which both
proves the stream is complete and well-formed and yields rows, columns and schema.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

from veil_service.errors import InvalidArgumentError, Message, Reason

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


def validate_ipc_source(
    source: Any, *, field: str = "arrow_ipc", finite: bool = False
) -> TableShape:
    """Read an Arrow IPC stream from a file-like ``source`` to its end and return its shape.

    Taking any readable object (not only a path) lets the upload path validate the stream while
    it arrives, instead of reading the whole file back once it is stored.

    Args:
        finite: Refuse a floating-point column holding ``inf`` or ``-inf``, at the first record
            batch holding one. A run's tables are avatarized, and no avatar can be drawn near an
            infinite value: refused here, a CSV or Parquet file with ``inf`` fails its upload,
            with the column named, instead of the job it starts later. Each batch is checked
            as it is decoded (one vectorized pass per float column), so memory stays bounded.

    Raises:
        InvalidArgumentError: the bytes are not a complete Arrow IPC stream (truncated, corrupt,
            a file-format or Parquet file instead of the stream format, duplicate or empty
            column names); with ``finite``, a float column holds an infinite value.
    """
    try:
        reader = ipc.open_stream(source)
        columns = describe_schema(reader.schema)
        floats = _float_columns(reader.schema) if finite else []
        rows = 0
        for batch in reader:
            for position in floats:
                _check_finite(batch, position, rows, field)
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
            code=Message.TABLE_NO_COLUMNS,
        )
    if len(names) > MAX_COLUMNS:
        raise InvalidArgumentError(
            f"the table has {len(names)} columns; at most {MAX_COLUMNS}.",
            field=field,
            reason=Reason.TOO_MANY_COLUMNS,
            code=Message.TABLE_TOO_MANY_COLUMNS,
            params={"columns": len(names), "limit": MAX_COLUMNS},
        )
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InvalidArgumentError(
            f"duplicate column names {duplicates}; rename them.",
            field=field,
            reason=Reason.DUPLICATE_COLUMNS,
            code=Message.TABLE_DUPLICATE_COLUMNS,
            params={"names": ", ".join(repr(n) for n in duplicates)},
        )
    if any(not n.strip() for n in names):
        raise InvalidArgumentError(
            "a column has an empty name; name every column.",
            field=field,
            reason=Reason.EMPTY_COLUMN_NAME,
            code=Message.TABLE_EMPTY_COLUMN_NAME,
        )
    if rows == 0:
        raise InvalidArgumentError(
            f"the table has columns ({', '.join(names[:5])}{', ...' if len(names) > 5 else ''}) "
            "but no rows; upload a table with at least one row.",
            field=field,
            reason=Reason.EMPTY_TABLE,
            code=Message.TABLE_NO_ROWS,
            params={"names": f"{', '.join(names[:5])}{', ...' if len(names) > 5 else ''}"},
        )
    return TableShape(rows, columns)


def _float_columns(schema: pa.Schema) -> list[int]:
    """Positions of the schema's floating-point columns (the only ones that can hold inf)."""
    return [i for i, f in enumerate(schema) if pa.types.is_floating(f.type)]


def _check_finite(batch: pa.RecordBatch, position: int, rows_before: int, field: str) -> None:
    """Refuse an infinite value in column ``position`` of ``batch``, naming the column and the
    first row holding one (counted from 1 over the whole table)."""
    column = batch.column(position)
    if pa.types.is_float16(column.type):
        column = column.cast(pa.float32())
    infinite = pc.is_inf(column)
    if not pc.any(infinite).as_py():
        return
    first = rows_before + int(pc.index(infinite, True).as_py()) + 1
    name = batch.schema.field(position).name
    raise InvalidArgumentError(
        f"column {name!r} holds infinite values (inf or -inf), the first in row {first}: the "
        "avatarization needs finite numbers. Replace them with a finite value or leave the "
        "cells empty (a missing value), e.g. frame.replace([np.inf, -np.inf], np.nan), or leave "
        "the column out (columns_to_drop); nothing was stored.",
        field=field,
        reason=Reason.INFINITE_VALUES,
        code=Message.TABLE_INFINITE_VALUES,
        params={"column": name, "row": first},
    )


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
