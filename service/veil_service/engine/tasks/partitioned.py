"""Engine task of a standard job on the Dask partition path: the table never enters this process.

The server sends no table on the task's stream, only where the upload lies in the shared blob
directory (``engine_contract.partitioned``). This task drives the Dask cluster:

1. one Dask task streams the upload (an Arrow IPC stream) into a Parquet file of
   ``partition_rows``-row row groups in the job's work directory
   (``engine.parquet_partitions.ipc_to_parquet``);
2. :func:`~veil_service.engine.dask_partitions.run_partitioned`: per row group, a worker reads
   it, avatarizes it, writes its avatars, and computes its privacy and signal metrics;
3. the avatar partition files are streamed, one record batch at a time, into the ``shuffled``
   and ``unshuffled`` results, and the metrics aggregated over partitions (privacy: worst and
   mean; signal: mean) are written as JSON;
4. the first partition's projections are the projection results, and its rows the figures'.

This process holds at most one record batch of avatars, and the first partition.
Cancelling: the engine kills this process; its Dask client goes with it and the scheduler
releases the job's futures (queued tasks never run; running ones' results are dropped).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from veil_service.engine.dask_cluster import connected, scheduler_address
from veil_service.engine.dask_partitions import PartitionedRun, read_row_group, run_partitioned
from veil_service.engine.parquet_partitions import ipc_to_parquet, parquet_to_ipc
from veil_service.engine.tasks.context import TaskContext
from veil_service.engine_contract import partitioned as contract
from veil_service.errors import FailedPreconditionError, Reason

SET_BY_THE_TASK = ("seed", "n_jobs", "progress")
"""Avatarization parameters the partition path sets itself (per partition)."""


def metric_parameters(params: dict[str, Any], section: str) -> dict[str, Any]:
    """One metrics family's parameters for every partition: the run's settings, the table's
    name and the avatarization's ``ncp``; the seed is each partition's own."""
    out = {k: v for k, v in dict(params.get(section) or {}).items() if k != "seed"}
    out.setdefault("table_name", params.get("table_name", "table"))
    ncp = (params.get("avatarization") or {}).get("ncp")
    if "ncp" not in out and ncp is not None:
        out["ncp"] = ncp
    return out


def first_partition(ctx: TaskContext, original: Path, out: Path, run: PartitionedRun) -> None:
    """The projections and figures of the first partition, as the standard job's.

    One projection of the whole table does not exist on this path (each partition has its
    own); the first partition's is what the projection results and the figures show, and this
    process reads that partition only.
    """
    import pandas as pd

    from veil_service.engine.avatarize import constant_columns as aside_columns
    from veil_service.engine.tasks.avatar_jobs import _write_figures, apply_column_types

    projections = [
        pd.read_parquet(out / kind / "part-00000.parquet")
        for kind in ("original_projections", "avatar_projections")
    ]
    ctx.write_table("original_projections", projections[0])
    ctx.write_table("avatar_projections", projections[1])
    if not ctx.params.get("compute_figures", True):
        return
    frame, _ = apply_column_types(
        read_row_group(original, 0, run.integer_codes), ctx.params.get("column_types") or {}
    )
    left_out = [
        *aside_columns.find_set_aside(frame).names,
        *run.partitions[0].pseudonymized_columns,
    ]
    unshuffled = pd.read_parquet(out / "unshuffled" / "part-00000.parquet")
    _write_figures(
        ctx,
        frame.drop(columns=left_out),
        unshuffled.drop(columns=[c for c in left_out if c in unshuffled.columns]),
        projections[0],
        projections[1],
        None,
        None,
    )


def run_avatarize_partitioned(ctx: TaskContext) -> dict[str, Any]:
    """Avatarize and measure the table partition by partition on the engine's Dask cluster.

    Raises:
        FailedPreconditionError: this engine has no Dask scheduler.
    """
    address = scheduler_address()
    if not address:
        raise FailedPreconditionError(
            "this engine has no Dask scheduler, so it cannot run a partitioned job; start it "
            "with --dask-scheduler (veil engine) or the server with --dask-scheduler.",
            reason=Reason.FAILED_PRECONDITION,
        )
    work = Path(str(ctx.params[contract.WORK_DIR_PARAM]))
    rows = int(ctx.params[contract.ROWS_PARAM])
    seed = ctx.params.get("seed")
    seed = int(seed) if seed is not None else secrets.randbits(63)
    avatarization = {
        k: v for k, v in (ctx.params.get("avatarization") or {}).items() if k not in SET_BY_THE_TASK
    }
    ctx.progress(0.0, "writing partitions")
    original = work / "original.parquet"
    sizes: list[int] = (
        connected(address)
        .submit(ipc_to_parquet, str(ctx.params[contract.SOURCE_PARAM]), str(original), rows)
        .result()
    )
    ctx.progress(0.05, "partitions")
    run = run_partitioned(
        address,
        original,
        work / "out",
        seed=seed,
        parameters=avatarization,
        metric_parameters=metric_parameters(ctx.params, "privacy_metrics"),
        signal_parameters=metric_parameters(ctx.params, "signal_metrics"),
        column_types=ctx.params.get("column_types") or {},
        table_name=str(ctx.params.get("table_name", "table")),
        on_done=lambda done, total: ctx.progress(0.05 + 0.85 * done / total, "partitions"),
    )
    ctx.progress(0.9, "writing results")
    for kind, name in (("avatars", "shuffled"), ("unshuffled", "unshuffled")):
        parquet_to_ipc(sorted((work / "out" / kind).glob("*.parquet")), ctx.arrow_result_path(name))
    ctx.write_json(contract.PRIVACY_RESULT, run.privacy)
    ctx.write_json(contract.SIGNAL_RESULT, run.signal)
    first_partition(ctx, original, work / "out", run)
    ctx.progress(1.0, "done")
    table = str(ctx.params.get("table_name", "table"))
    return {
        "rows": run.rows,
        "partitions": len(sizes),
        "partition_rows": rows,
        "warnings": [
            f"table {table!r} ({run.rows} rows) was avatarized on the Dask cluster in "
            f"{len(sizes)} partitions of up to {rows} rows, each with its own projection and "
            "neighbours; its privacy metrics are the worst and the mean over partitions, its "
            "signal metrics the mean, its projections and figures show the first partition "
            "(docs/scale.md)."
        ],
    }
