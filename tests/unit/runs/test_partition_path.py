"""Which standard jobs take the Dask partition path (runs/partition_path.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from veil_service.engine_contract import partitioned
from veil_service.runs import partition_path
from veil_service.runs.config import TableConfig
from veil_service.runs.tables import StoredTable
from veil_service.settings import load_settings
from veil_service.storage.blobs import BlobStore

SCHEDULER = {"dask_scheduler": "tcp://127.0.0.1:8786", "dask_partition_threshold_rows": 1_000}


def _table(rows: int) -> StoredTable:
    return StoredTable("t", "r", "adult", "original", rows, (), 10, "ab" * 32, "ab/x.arrows", 0.0)


def _applies(rows: int, table_config: TableConfig | None, **settings: object) -> bool:
    return partition_path.applies(
        load_settings({**SCHEDULER, **settings}, environ={}), "standard", _table(rows), table_config
    )


def test_a_large_plain_table_with_a_scheduler_takes_it() -> None:
    plain = TableConfig("adult", column_types={"age": "int"}, avatarization={"k": 10})
    assert _applies(1_000, plain)
    assert not _applies(999, plain)
    assert not _applies(10**9, plain, dask_scheduler="")
    assert not _applies(10**9, plain, dask_partition_threshold_rows=0)
    assert not partition_path.applies(
        load_settings(SCHEDULER, environ={}), "privacy_metrics", _table(10**6), plain
    )
    assert not _applies(10**6, None)


@pytest.mark.parametrize(
    "table_config",
    [
        TableConfig("adult", pseudonymized_columns={"name": {"kind": "UUID4"}}),
        TableConfig("adult", avatarization={"k": 10, "open_dp_epsilon": 1.0}),
    ],
)
def test_what_needs_the_whole_table_keeps_the_in_memory_path(table_config: TableConfig) -> None:
    assert not _applies(10**6, table_config)


def test_the_task_points_at_the_upload_and_a_work_dir_of_its_own(tmp_path: Path) -> None:
    settings = load_settings({**SCHEDULER, "dask_partition_rows": 123}, environ={})
    blobs = BlobStore(tmp_path)
    config = TableConfig("adult", avatarization={"k": 7}, privacy_metrics={"n_attacks": 9})
    params, work = partition_path.task(settings, blobs, "job", _table(10**6), config, {"seed": 1})
    again = partition_path.task(settings, blobs, "job", _table(10**6), config, {"seed": 1})[1]
    assert work != again and work.parent == again.parent == (tmp_path / "blobs" / "partitioned")
    assert params[partitioned.SOURCE_PARAM] == str((tmp_path / "blobs" / "ab/x.arrows").resolve())
    assert params[partitioned.WORK_DIR_PARAM] == str(work)
    assert params[partitioned.ROWS_PARAM] == 123
    assert params["avatarization"] == {"k": 7} and params["seed"] == 1
    assert params["privacy_metrics"] == {"n_attacks": 9}


def test_veil_serve_takes_the_threshold_and_the_partition_size_as_flags() -> None:
    from veil_service.cli import build_parser

    args = build_parser().parse_args(
        ["serve", "--dask-partition-threshold-rows", "5000", "--dask-partition-rows", "2000"]
    )
    assert (args.dask_partition_threshold_rows, args.dask_partition_rows) == (5000, 2000)
    settings = load_settings({}, environ={"VEIL_DASK_PARTITION_THRESHOLD_ROWS": "7"})
    assert settings.dask_partition_threshold_rows == 7
    assert settings.dask_partition_rows == 250_000
