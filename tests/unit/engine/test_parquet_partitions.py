"""The blob store's Arrow IPC streams to Parquet partitions and back, by streaming."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest
from veil_service.engine.parquet_partitions import ipc_to_parquet, parquet_to_ipc
from veil_service.errors import InvalidArgumentError


def _stream(path: Path, frame: pd.DataFrame, batch_rows: int) -> Path:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    with pa.OSFile(str(path), "wb") as sink, ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=batch_rows)
    return path


def _read_stream(path: Path) -> pd.DataFrame:
    with pa.OSFile(str(path), "rb") as source:
        frame: pd.DataFrame = ipc.open_stream(source).read_all().to_pandas()
    return frame


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = 10_007
    return pd.DataFrame(
        {
            "age": rng.integers(18, 90, rows),
            "income": rng.normal(30_000, 5_000, rows),
            "region": rng.choice(["north", "south", "east"], rows),
            "flag": rng.random(rows) < 0.3,
        }
    )


@pytest.mark.parametrize("batch_rows", [1, 777, 4_000, 20_000])
def test_row_groups_have_exactly_the_partition_size_whatever_the_upload_batches(
    frame: pd.DataFrame, tmp_path: Path, batch_rows: int
) -> None:
    source = _stream(tmp_path / "t.arrows", frame, batch_rows)
    sizes = ipc_to_parquet(str(source), str(tmp_path / "p" / "t.parquet"), 2_500)
    assert sizes == [2_500, 2_500, 2_500, 2_500, 7]
    written = pq.ParquetFile(tmp_path / "p" / "t.parquet")
    assert [written.metadata.row_group(i).num_rows for i in range(5)] == sizes
    pd.testing.assert_frame_equal(written.read().to_pandas(), frame)
    assert not list((tmp_path / "p").glob("*.tmp"))


def test_the_files_are_private_whatever_the_umask(frame: pd.DataFrame, tmp_path: Path) -> None:
    """A Dask worker does not run under the server's umask; the copies stay 0600 in 0700."""
    source = _stream(tmp_path / "t.arrows", frame, 4_000)
    previous = os.umask(0o022)
    try:
        ipc_to_parquet(str(source), str(tmp_path / "work" / "t.parquet"), 2_500)
        parquet_to_ipc([tmp_path / "work" / "t.parquet"], tmp_path / "out" / "all.arrows")
    finally:
        os.umask(previous)
    for path in (tmp_path / "work" / "t.parquet", tmp_path / "out" / "all.arrows"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700, path.parent


def test_an_empty_stream_or_a_bad_size_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    source = _stream(tmp_path / "e.arrows", pd.DataFrame({"a": pd.Series([], dtype="int64")}), 10)
    with pytest.raises(InvalidArgumentError, match="no rows"):
        ipc_to_parquet(str(source), str(tmp_path / "e.parquet"), 10)
    with pytest.raises(InvalidArgumentError, match="at least 1"):
        ipc_to_parquet(str(source), str(tmp_path / "e.parquet"), 0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.arrows"]


def test_partitions_come_back_as_one_stream_in_order_with_one_schema(
    frame: pd.DataFrame, tmp_path: Path
) -> None:
    parts = [frame.iloc[:4_000], frame.iloc[4_000:9_000], frame.iloc[9_000:]]
    parts[1] = parts[1].assign(age=parts[1]["age"].astype("float64"))  # a partition with NaN
    parts[1].loc[parts[1].index[0], "age"] = np.nan
    files = []
    for index, part in enumerate(parts):
        path = tmp_path / f"part-{index:05d}.parquet"
        pq.write_table(pa.Table.from_pandas(part, preserve_index=False), path)
        files.append(path)
    assert parquet_to_ipc(files, tmp_path / "all.arrows") == len(frame)
    expected = pd.concat(parts, ignore_index=True)
    pd.testing.assert_frame_equal(_read_stream(tmp_path / "all.arrows"), expected)
    with pytest.raises(InvalidArgumentError, match="no partition"):
        parquet_to_ipc([], tmp_path / "none.arrows")
