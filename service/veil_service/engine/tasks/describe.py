"""The ``describe`` task: per-column statistics of a table, computed batch by batch.

It exists to prove the engine round trip (table in, progress out, table back) and to let users
check what the server stored; it reads one record batch at a time so memory stays bounded.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

from veil_service.engine.tasks.context import TaskContext

DISTINCT_CAP = 1_000_000
"""Distinct values are counted exactly up to this many per column, then reported as the cap."""


class _ColumnAccumulator:
    def __init__(self, name: str, arrow_type: pa.DataType) -> None:
        self.name = name
        self.arrow_type = arrow_type
        self.numeric = (
            pa.types.is_integer(arrow_type)
            or pa.types.is_floating(arrow_type)
            or pa.types.is_boolean(arrow_type)
        )
        self.nulls = 0
        self.count = 0
        self.total = 0.0
        self.total_sq = 0.0
        self.minimum = np.inf
        self.maximum = -np.inf
        self.distinct: set[Any] = set()
        # Nested columns (struct, list, map) have no distinct-value kernel; they get counts only.
        self.countable = not pa.types.is_nested(arrow_type)

    def add(self, column: pa.Array) -> None:
        self.nulls += column.null_count
        if self.countable and len(self.distinct) < DISTINCT_CAP:
            values = column.dictionary_decode() if pa.types.is_dictionary(column.type) else column
            try:
                self.distinct.update(pc.unique(values.drop_null()).to_pylist())
            except (pa.ArrowNotImplementedError, pa.ArrowTypeError):
                self.countable = False
                self.distinct.clear()
        if self.numeric:
            # Unsafe cast: int64/uint64 beyond 2**53 become the nearest double (statistics only).
            values = column.drop_null().cast(pa.float64(), safe=False)
            values = values.to_numpy(zero_copy_only=False)
            values = values[np.isfinite(values)]
            if values.size:
                self.count += values.size
                self.total += float(values.sum())
                self.total_sq += float(np.square(values).sum())
                self.minimum = min(self.minimum, float(values.min()))
                self.maximum = max(self.maximum, float(values.max()))

    def row(self) -> dict[str, Any]:
        mean = self.total / self.count if self.count else None
        std = None
        if self.count and mean is not None:
            std = float(np.sqrt(max(self.total_sq / self.count - mean * mean, 0.0)))
        return {
            "name": self.name,
            "arrow_type": str(self.arrow_type),
            "null_count": self.nulls,
            "distinct_count": min(len(self.distinct), DISTINCT_CAP) if self.countable else None,
            "min": self.minimum if self.count else None,
            "max": self.maximum if self.count else None,
            "mean": mean,
            "std": std,
        }


def run_describe(ctx: TaskContext) -> dict[str, Any]:
    """Compute statistics of input ``table`` and write them as result ``statistics``."""
    path = ctx.input_path("table")
    total_bytes = max(path.stat().st_size, 1)
    with pa.OSFile(str(path), "rb") as source:
        reader = ipc.open_stream(source)
        columns = [_ColumnAccumulator(f.name, f.type) for f in reader.schema]
        rows = 0
        ctx.progress(0.0, "reading")
        for batch in reader:
            rows += batch.num_rows
            for accumulator, column in zip(columns, batch.columns, strict=True):
                accumulator.add(column)
            ctx.progress(source.tell() / total_bytes, "reading")
    ctx.write_arrow("statistics", pa.Table.from_pylist([c.row() for c in columns], schema=_SCHEMA))
    ctx.progress(1.0, "done")
    return {"num_rows": rows}


_SCHEMA = pa.schema(
    [
        ("name", pa.string()),
        ("arrow_type", pa.string()),
        ("null_count", pa.int64()),
        ("distinct_count", pa.int64()),
        ("min", pa.float64()),
        ("max", pa.float64()),
        ("mean", pa.float64()),
        ("std", pa.float64()),
    ]
)
