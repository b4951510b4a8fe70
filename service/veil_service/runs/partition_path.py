"""Which standard jobs run on the Dask partition path, and what the server does around them.

With a Dask scheduler (``veil serve --dask-scheduler``), a table of at least
``dask_partition_threshold_rows`` rows is not sent to the engine on the task's stream: the
engine task (``engine.tasks.partitioned``) has the Dask workers read the upload from the shared
blob directory, in partitions of ``dask_partition_rows`` rows, and gets back the avatars and
the metrics aggregated over partitions (docs/scale.md section 7). Only the plain avatar method
takes this path: pseudonymized columns (whose consistent pseudonyms span the table) and the
avatar features (DP generators, augmentation, processors) need the whole table in one process,
and their jobs run as before.

The job's privacy and signal metrics jobs then record what the standard job measured on the
partitions (:func:`measured_on_partitions`), instead of sending the whole table to an engine;
its report job reads only the first partition's rows of the original and the avatars
(:func:`report_rows`), with the aggregated metrics.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from veil_service.engine_contract import avatar_features
from veil_service.engine_contract import partitioned as contract
from veil_service.runs import jobs, results
from veil_service.runs.config import TableConfig
from veil_service.runs.tables import StoredTable
from veil_service.settings import Settings
from veil_service.storage.blobs import BlobStore

WORK_DIRS = "partitioned"
"""Folder of the blob store holding the jobs' work directories (Parquet partitions)."""


def applies(
    settings: Settings, job_kind: str, table: StoredTable, table_config: TableConfig | None
) -> bool:
    """Whether a job of ``job_kind`` on ``table`` runs on the partition path."""
    threshold = settings.dask_partition_threshold_rows
    if not settings.dask_scheduler or job_kind != "standard" or threshold <= 0:
        return False
    if table.num_rows < threshold or table_config is None:
        return False
    avatarization = table_config.avatarization or {}
    return not table_config.pseudonymized_columns and not any(
        avatarization.get(key) is not None for key in avatar_features.FEATURE_KEYS
    )


def task(
    settings: Settings,
    blobs: BlobStore,
    job_id: str,
    table: StoredTable,
    table_config: TableConfig,
    params: dict[str, Any],
) -> tuple[dict[str, Any], Path]:
    """The engine task's parameters, and the job's work directory in the shared blob store.

    The directory is this attempt's own (a retried job gets another): the caller removes it
    with :func:`remove_work_dir` when the job ends, whatever the outcome.
    """
    work_dir = (blobs.root / WORK_DIRS / f"{job_id}-{uuid.uuid4().hex[:8]}").resolve()
    return {
        **params,
        "avatarization": table_config.avatarization or {},
        "privacy_metrics": table_config.privacy_metrics,
        "signal_metrics": table_config.signal_metrics,
        contract.SOURCE_PARAM: str(blobs.path(table.relative_path).resolve()),
        contract.WORK_DIR_PARAM: str(work_dir),
        contract.ROWS_PARAM: settings.dask_partition_rows,
    }, work_dir


def remove_work_dir(work_dir: Path) -> None:
    """Delete a job's partitions (the avatars are results by then, or the job failed)."""
    shutil.rmtree(work_dir, ignore_errors=True)


def measured_on_partitions(
    conn: sa.Connection, run_id: str, job_kind: str, table_name: str
) -> results.ResultRecord | None:
    """The metrics the run's latest standard job computed on the partitions of ``table_name``,
    for its ``privacy_metrics`` or ``signal_metrics`` job to record; None when that job did
    not take the partition path (the metrics job then runs on the engine as usual)."""
    if job_kind not in (contract.PRIVACY_RESULT, contract.SIGNAL_RESULT):
        return None
    standard = jobs.latest_finished(conn, run_id, "standard")
    if standard is None:
        return None
    found = [
        r
        for r in results.list_results(conn, run_id=run_id, job_id=standard.id)
        if r.kind == job_kind and r.table_name == table_name
    ]
    return found[-1] if found else None


def report_rows(
    conn: sa.Connection, settings: Settings, run_id: str, table_name: str
) -> int | None:
    """Rows a report job reads of the original and the avatars: a partition's, when the run's
    latest standard job took the partition path (its figures then show the first partition:
    the unshuffled avatars follow the upload's order, so the first rows of both pair up);
    None reads them whole."""
    if measured_on_partitions(conn, run_id, contract.PRIVACY_RESULT, table_name) is None:
        return None
    return settings.dask_partition_rows
