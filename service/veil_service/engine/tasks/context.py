"""What a task function sees: its parameters, its input tables, and where to put results."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc
from veil_wire.pandas_dtypes import (
    TEXT_CODES_KEY,
    arrow_to_pandas,
    cast_integer_codes,
    integer_code_columns,
    integer_codes,
)

from veil_service.errors import InvalidArgumentError

ARROW_STREAM = "application/vnd.apache.arrow.stream"


@dataclass(frozen=True)
class ResultFile:
    """One file a task produced."""

    name: str
    path: Path
    media_type: str


@dataclass
class TaskContext:
    """Inputs and outputs of one task run.

    Attributes:
        params: The task's JSON parameters.
        inputs: Input name -> Arrow IPC stream file.
        output_dir: Where result files go (the engine streams them back, then deletes them).
        report_progress: Callback taking (fraction in [0, 1], phase name).
    """

    params: dict[str, Any]
    inputs: dict[str, Path]
    output_dir: Path
    report_progress: Callable[[float, str], None] = lambda fraction, phase: None
    results: list[ResultFile] = field(default_factory=list)

    def progress(self, fraction: float, phase: str) -> None:
        """Report progress (clamped to [0, 1])."""
        self.report_progress(min(1.0, max(0.0, fraction)), phase)

    def input_path(self, name: str) -> Path:
        """Path of an input table.

        Raises:
            InvalidArgumentError: the task was started without that input.
        """
        if name not in self.inputs:
            raise InvalidArgumentError(f"task input {name!r} is missing.", field="inputs")
        return self.inputs[name]

    def read_arrow(self, name: str) -> pa.Table:
        """Read an input table as Arrow."""
        with pa.OSFile(str(self.input_path(name)), "rb") as source:
            return ipc.open_stream(source).read_all()

    def read_table(self, name: str, max_rows: int | None = None) -> pd.DataFrame:
        """Read an input table as pandas with the dtypes it was uploaded with
        (:func:`~veil_wire.pandas_dtypes.arrow_to_pandas`; Arrow dictionary columns become
        categoricals), a CSV's integer codes declared ``category`` as integers
        (:func:`~veil_wire.pandas_dtypes.integer_codes`): the client reads them as text, and
        their avatars would otherwise come back as strings.

        Args:
            max_rows: Read only the first rows, one record batch at a time: the rest of the
                stream is decoded only when it holds a CSV's codes, to decide whether they
                are integers as the whole table's (a report on a table avatarized in
                partitions: its avatars' codes were decided on the whole table).
        """
        if max_rows is None:
            return arrow_to_pandas(integer_codes(self.read_arrow(name)))
        with pa.OSFile(str(self.input_path(name)), "rb") as source:
            reader = ipc.open_stream(source)
            batches: list[pa.RecordBatch] = []
            held = 0
            for batch in reader:
                if held >= max_rows:
                    break
                batches.append(batch.slice(0, max_rows - held))
                held += batches[-1].num_rows
            head = pa.Table.from_batches(batches, reader.schema)
        marked = [f.name for f in head.schema if (f.metadata or {}).get(TEXT_CODES_KEY)]
        if not marked:
            return arrow_to_pandas(head)
        with pa.OSFile(str(self.input_path(name)), "rb") as source:
            codes = integer_code_columns(b.select(marked) for b in ipc.open_stream(source))
        return arrow_to_pandas(cast_integer_codes(head, codes))

    def _target(self, name: str, suffix: str) -> Path:
        self.output_dir.mkdir(parents=True, exist_ok=True)
        return self.output_dir / f"{len(self.results):03d}_{name}{suffix}"

    def write_arrow(self, name: str, table: pa.Table) -> None:
        """Add an Arrow table result."""
        path = self._target(name, ".arrows")
        with pa.OSFile(str(path), "wb") as sink, ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table, max_chunksize=65_536)
        self.results.append(ResultFile(name, path, ARROW_STREAM))

    def arrow_result_path(self, name: str) -> Path:
        """Add an Arrow IPC stream result that the task writes itself, at the returned path
        (a table streamed from files, never whole in memory)."""
        path = self._target(name, ".arrows")
        self.results.append(ResultFile(name, path, ARROW_STREAM))
        return path

    def write_table(self, name: str, frame: pd.DataFrame) -> None:
        """Add a pandas table result."""
        self.write_arrow(name, pa.Table.from_pandas(frame, preserve_index=False))

    def write_json(self, name: str, value: Any) -> None:
        """Add a JSON result."""
        path = self._target(name, ".json")
        path.write_text(json.dumps(value, default=_json_default, allow_nan=False))
        self.results.append(ResultFile(name, path, "application/json"))

    def write_bytes(self, name: str, data: bytes, media_type: str, suffix: str = "") -> None:
        """Add an opaque result (PDF, DOCX, HTML...)."""
        path = self._target(name, suffix)
        path.write_bytes(data)
        self.results.append(ResultFile(name, path, media_type))


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, set | tuple):
        return list(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
