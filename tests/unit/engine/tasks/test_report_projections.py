"""The report tasks draw the standard job's projection only when it describes their rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc
from veil_service.engine.tasks import avatar_jobs, linked_report
from veil_service.engine.tasks.context import TaskContext
from veil_service.engine_contract.linked_tables import table_ref


def _stream(frame: pd.DataFrame, path: Path) -> Path:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    with pa.OSFile(str(path), "wb") as sink, ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return path


def _coordinates(rows: int, seed: int) -> pd.DataFrame:
    values = np.random.default_rng(seed).normal(size=(rows, 3))
    return pd.DataFrame(values, columns=["Dim. 1", "Dim. 2", "Dim. 3"])


def test_a_single_tables_report_takes_the_coordinates_that_fit_its_rows(tmp_path: Path) -> None:
    originals, avatars = _coordinates(40, 0), _coordinates(44, 1)
    inputs = {
        "original_projections": _stream(originals, tmp_path / "o.arrows"),
        "avatar_projections": _stream(avatars, tmp_path / "a.arrows"),
    }
    ctx = TaskContext({}, inputs, tmp_path / "out")
    given_o, given_a = avatar_jobs._standard_projections(ctx, 40)
    assert given_o is not None and given_a is not None
    pd.testing.assert_frame_equal(given_o, originals)
    pd.testing.assert_frame_equal(given_a, avatars)  # augmented avatars: more rows, all drawn
    assert avatar_jobs._standard_projections(ctx, 39) == (None, None)
    alone = TaskContext({}, {"original_projections": inputs["original_projections"]}, tmp_path)
    assert avatar_jobs._standard_projections(alone, 40) == (None, None)
    assert avatar_jobs._standard_projections(TaskContext({}, {}, tmp_path), 40) == (None, None)


def test_a_linked_report_takes_each_tables_own_coordinates(tmp_path: Path) -> None:
    inputs = {
        table_ref("original_projections", "patient"): _stream(_coordinates(30, 2), tmp_path / "1"),
        table_ref("avatar_projections", "patient"): _stream(_coordinates(30, 3), tmp_path / "2"),
    }
    ctx = TaskContext({}, inputs, tmp_path / "out")
    given_o, given_a = linked_report._standard_projections(ctx, "patient", 30)
    assert given_o is not None and given_a is not None and len(given_a) == 30
    assert linked_report._standard_projections(ctx, "patient", 31) == (None, None)
    assert linked_report._standard_projections(ctx, "visit", 30) == (None, None)
