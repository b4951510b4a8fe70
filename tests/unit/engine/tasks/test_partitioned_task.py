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
