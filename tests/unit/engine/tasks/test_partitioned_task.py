"""The engine task of the partition path (engine/tasks/partitioned.py), without a cluster."""

from __future__ import annotations

from pathlib import Path

import pytest
from veil_service.engine.dask_cluster import SCHEDULER_ENV
from veil_service.engine.tasks.context import TaskContext
from veil_service.engine.tasks.partitioned import metric_parameters, run_avatarize_partitioned
from veil_service.engine_contract import partitioned
from veil_service.errors import FailedPreconditionError


def test_an_engine_without_a_scheduler_refuses_the_job_and_says_how_to_fix_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    params = {
        partitioned.SOURCE_PARAM: str(tmp_path / "upload.arrows"),
        partitioned.WORK_DIR_PARAM: str(tmp_path / "work"),
        partitioned.ROWS_PARAM: 10,
    }
    with pytest.raises(FailedPreconditionError, match="--dask-scheduler"):
        run_avatarize_partitioned(TaskContext(params, {}, tmp_path / "out"))
    assert not (tmp_path / "work").exists()


def test_each_partition_gets_the_runs_metric_settings_but_its_own_seed() -> None:
    params = {
        "table_name": "adult",
        "seed": 3,
        "avatarization": {"k": 10, "ncp": 4},
        "privacy_metrics": {"n_attacks": 50, "seed": 99, "known_variables": ["age"]},
    }
    assert metric_parameters(params, "privacy_metrics") == {
        "n_attacks": 50,
        "known_variables": ["age"],
        "table_name": "adult",
        "ncp": 4,
    }
    assert metric_parameters(params, "signal_metrics") == {"table_name": "adult", "ncp": 4}


@pytest.mark.parametrize("max_rows", [1, 999, 1_000, 1_001, 2_500, 10_000])
def test_a_task_reads_only_the_first_rows_it_asks_for(tmp_path: Path, max_rows: int) -> None:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.ipc as ipc

    frame = pd.DataFrame({"a": range(5_000), "b": [str(i % 7) for i in range(5_000)]})
    table = pa.Table.from_pandas(frame, preserve_index=False)
    path = tmp_path / "t.arrows"
    with pa.OSFile(str(path), "wb") as sink, ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=1_000)
    ctx = TaskContext({}, {"original": path}, tmp_path / "out")
    expected = frame.head(max_rows)
    pd.testing.assert_frame_equal(ctx.read_table("original", max_rows), expected)
    pd.testing.assert_frame_equal(ctx.read_table("original"), frame)


def _csv_codes(path: Path, rows_per_batch: int) -> None:
    """A CSV's upload as the client sends it: ``ward`` declared category, read as text and
    marked, integers in its first 1,000 rows and letters after; ``stage`` integers throughout;
    ``visits`` an integer column with blanks."""
    import pyarrow as pa
    import pyarrow.ipc as ipc
    from veil_wire.pandas_dtypes import TEXT_CODES_KEY

    mark = {TEXT_CODES_KEY: b"category"}
    table = pa.table(
        {
            "ward": pa.array([str(i % 3) for i in range(1_000)] + ["A"] * 500),
            "stage": pa.array([str(i % 4 + 1) for i in range(1_500)]),
            "visits": pa.array([None if i % 7 == 0 else i % 5 for i in range(1_500)], pa.int64()),
        }
    )
    schema = pa.schema([f.with_metadata(mark) if f.name != "visits" else f for f in table.schema])
    with pa.OSFile(str(path), "wb") as sink, ipc.new_stream(sink, schema) as writer:
        writer.write_table(table.cast(schema), max_chunksize=rows_per_batch)


def test_a_report_reading_the_first_rows_reads_codes_as_the_whole_table_is_read(
    tmp_path: Path,
) -> None:
    # The first 1,000 rows of 'ward' are integers, the table's are not: read as int64 from the
    # first rows, the report's originals disagreed with avatars made from the whole table.
    import numpy as np

    _csv_codes(tmp_path / "t.arrows", 250)
    ctx = TaskContext({}, {"original": tmp_path / "t.arrows"}, tmp_path / "out")
    head = ctx.read_table("original", 1_000)
    whole = ctx.read_table("original")
    assert len(head) == 1_000
    assert head.dtypes.to_dict() == whole.dtypes.to_dict()
    assert (head["ward"].dtype, head["stage"].dtype, head["visits"].dtype) == (
        object,
        np.int64,
        "Int64",
    )
    assert head["ward"].tolist() == [str(i % 3) for i in range(1_000)]


def test_a_partition_is_read_as_the_in_memory_path_reads_the_table(tmp_path: Path) -> None:
    # Partitions read by to_pandas alone gave a CSV's integer codes as strings and an integer
    # column with blanks as floats; decided per partition, 'ward' would be int64 in the first.
    from veil_service.engine import dask_partitions as dp
    from veil_service.engine.parquet_partitions import ipc_to_parquet

    _csv_codes(tmp_path / "t.arrows", 250)
    ipc_to_parquet(str(tmp_path / "t.arrows"), str(tmp_path / "t.parquet"), 1_000)
    partitions = dp.partitions_of(tmp_path / "t.parquet", tmp_path / "out", seed=1)
    codes = dp.table_integer_codes(partitions)
    assert codes == ["stage"]
    whole = TaskContext({}, {"t": tmp_path / "t.arrows"}, tmp_path / "out").read_table("t")
    for partition in partitions:
        read = dp.read_row_group(partition.source, partition.row_group, codes)
        assert read.dtypes.to_dict() == whole.dtypes.to_dict()
    first = dp.read_row_group(partitions[0].source, 0, codes)
    assert first["stage"].tolist() == [i % 4 + 1 for i in range(1_000)]
    assert first["visits"].isna().sum() == len(range(0, 1_000, 7))
