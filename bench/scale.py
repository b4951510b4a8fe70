"""Avatarization on a Dask cluster: in-memory batches, or Parquet partitions beyond memory.

Run from the repository root with the project venv::

    .venv/bin/python bench/scale.py [--rows 200000] [--workers 2] [--batch-rows 50000]
    .venv/bin/python bench/scale.py --partitioned --rows 10000000 [--partition-rows 250000]

``--partitioned`` (issue 17 items 4-5): the table is generated chunk by chunk straight into a
Parquet file (one row group per partition; this process never holds it whole) and handed to
``engine.dask_partitions.run_partitioned``: Dask workers read, avatarize and write one partition
each, then compute its privacy metrics as separate tasks; the driver aggregates them (worst and
mean over partitions). Baseline in the same run: the same two functions called in this process,
without Dask, on the first ``--baseline-partitions`` partitions; ratio = Dask rows/s over local
rows/s per worker. Prints rows, wall, rows/s, the driver's and each worker's peak RSS, the time
outside compute, and a ``key=value`` line (``rows``, ``seconds``, ``peak_rss_mib`` = the largest
of the driver and the workers, ``driver_peak_rss_mib``, ``worker_peak_rss_mib``, ...).

Default mode:

A synthetic table with realistic correlations (10 numeric columns driven by three latent factors,
5 categorical columns tied to them), avatarized twice with the same seed: once as the engine does
without Dask (batches across local worker processes, joblib's loky), once with the batches as
Dask tasks on a ``distributed.LocalCluster`` of ``--workers`` single-threaded worker processes.
The two results must be identical (checked). Peak RSS: this process (which plays the engine task)
and each Dask worker, read from ``getrusage`` (the kernel's high-water mark).

This measures the batch stage only: the table is read, imputed, encoded and projected in this
process in both runs (issue 17 item 5, tables beyond one machine's memory, is not built).

The last line is ``key=value`` pairs: ``rows``, ``seconds`` (Dask run), ``local_seconds``,
``ratio``, ``rows_per_s``, ``peak_rss_mib`` (this process), ``worker_peak_rss_mib`` (largest
worker), ``outside_compute_seconds`` (Dask run minus the summed batch compute time / workers).
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from veil_service.engine import dask_cluster
from veil_service.engine.avatarize import avatarize
from veil_service.engine.avatarize import batch as batch_module


def synthetic_table(rows: int, seed: int = 0) -> pd.DataFrame:
    """15 columns: 10 numeric from 3 latent factors plus noise, 5 categorical cut from them."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(rows, 3))
    mixing = rng.normal(size=(3, 10))
    numeric = latent @ mixing + rng.normal(scale=0.5, size=(rows, 10))
    frame = pd.DataFrame(numeric * 10 + 50, columns=[f"x{i}" for i in range(10)])
    for j in range(5):
        score = latent[:, j % 3] + rng.normal(scale=0.7, size=rows)
        cuts = np.quantile(score, np.linspace(0, 1, 3 + j)[1:-1])
        frame[f"c{j}"] = pd.Categorical(np.digitize(score, cuts)).rename_categories(
            lambda code, j=j: f"c{j}_{code}"
        )
    return frame.astype({f"c{j}": str for j in range(5)})


def correlated_chunks(rows: int, chunk_rows: int, seed: int = 0) -> Iterator[pd.DataFrame]:
    """The table of ``synthetic_table``'s design, drawn chunk by chunk with fixed mixing and
    category cuts (the cuts are the latent score's theoretical quantiles), so that every chunk
    follows one distribution and memory holds one chunk at a time."""
    from scipy.stats import norm

    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(3, 10))
    cuts = [norm.ppf(np.linspace(0, 1, 3 + j)[1:-1]) * np.sqrt(1 + 0.7**2) for j in range(5)]
    for start in range(0, rows, chunk_rows):
        n = min(chunk_rows, rows - start)
        latent = rng.normal(size=(n, 3))
        numeric = latent @ mixing + rng.normal(scale=0.5, size=(n, 10))
        frame = pd.DataFrame(numeric * 10 + 50, columns=[f"x{i}" for i in range(10)])
        for j in range(5):
            score = latent[:, j % 3] + rng.normal(scale=0.7, size=n)
            frame[f"c{j}"] = np.char.add(f"c{j}_", np.digitize(score, cuts[j]).astype(str))
        yield frame


def write_parquet(path: Path, rows: int, partition_rows: int) -> float:
    """Write the table, one row group per partition; returns the seconds it took."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    began = time.perf_counter()
    writer = None
    for chunk in correlated_chunks(rows, partition_rows):
        table = pa.Table.from_pandas(chunk, preserve_index=False)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=partition_rows)
    assert writer is not None
    writer.close()
    return time.perf_counter() - began


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def partitioned(args: argparse.Namespace) -> int:
    """Issue 17 items 4-5: Parquet partitions on Dask workers, metrics as Dask tasks."""
    from distributed import LocalCluster
    from veil_service.engine import dask_partitions as dp

    parameters = {"k": 20}
    metric_parameters = {"n_attacks": args.n_attacks}
    work = Path(tempfile.mkdtemp(prefix="veil-scale-", dir=args.work_dir))
    source = work / "table.parquet"
    generated = 0.0
    if args.source:  # a table an earlier run wrote (the same generator, rows and row groups)
        source = Path(args.source)
    else:
        # Generated in a child process: this process's peak RSS is the driver's alone.
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(1) as pool:
            generated = pool.apply(write_parquet, (source, args.rows, args.partition_rows))
    size_mib = source.stat().st_size / 2**20
    n_parts = len(dp.partitions_of(source, work, 0))
    print(
        f"rows={args.rows:,} columns=15 partitions={n_parts} parquet={size_mib:.0f} MiB "
        f"written in {generated:.1f} s by a child process",
        flush=True,
    )
    with LocalCluster(
        n_workers=args.workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        memory_limit=0,
    ) as cluster:
        cpu0, began = _cpu_s(), time.perf_counter()
        run = dp.run_partitioned(
            cluster.scheduler_address,
            source,
            work / "dask",
            seed=7,
            parameters=parameters,
            metric_parameters=metric_parameters,
            on_result=lambda r: print(
                f"  {type(r).__name__} {r.index}: {r.cpu_seconds:.1f} s CPU, {r.worker} peak "
                f"{r.worker_peak_rss_mib:.0f} MiB, at {time.perf_counter() - began:.0f} s wall, "
                f"driver peak {_rss_mib():.0f} MiB, load {os.getloadavg()[0]:.1f}",
                flush=True,
            ),
        )
        wall = time.perf_counter() - began
        driver_cpu = _cpu_s() - cpu0
    driver_peak = _rss_mib()
    assert run.rows == args.rows, (run.rows, args.rows)
    workers: dict[str, float] = {}
    for item in [*run.partitions, *run.metrics]:
        workers[item.worker] = max(workers.get(item.worker, 0.0), item.worker_peak_rss_mib)
    avatar_cpu = sum(p.cpu_seconds for p in run.partitions)
    metric_cpu = sum(m.cpu_seconds for m in run.metrics)
    outside = wall - (avatar_cpu + metric_cpu) / args.workers
    worst, mean = run.privacy
    print(
        f"dask ({args.workers} workers): {wall:.1f} s wall, {args.rows / wall:,.0f} rows/s; "
        f"task CPU: avatarization {avatar_cpu:.1f} s, privacy metrics {metric_cpu:.1f} s; "
        f"driver CPU {driver_cpu:.1f} s; outside compute {outside:.1f} s",
        flush=True,
    )
    print(
        f"peak RSS: driver {driver_peak:.0f} MiB; workers "
        + ", ".join(f"{name} {peak:.0f} MiB" for name, peak in sorted(workers.items())),
        flush=True,
    )
    shown = [
        "hidden_rate",
        "local_cloaking",
        "closest_rate",
        "singling_out_risk",
        "linkability_risk",
    ]
    for key in shown:
        print(f"privacy {key}: worst {worst.get(key)} mean {mean.get(key)}", flush=True)

    # Baseline: the same functions in this process, no Dask, on the first partitions.
    local_parts = dp.partitions_of(source, work / "local", 7)[: args.baseline_partitions]
    cpu0, began = _cpu_s(), time.perf_counter()
    for part in local_parts:
        done = dp.avatarize_partition(part, parameters)
        dp.partition_privacy_metrics(part, done, metric_parameters)
    local_wall = time.perf_counter() - began
    local_rows = sum(p.rows for p in local_parts)
    local_rate = local_rows / local_wall
    for part in local_parts:  # same seed, same partition: the same avatars as on Dask
        same = pd.read_parquet(part.path("avatars")).equals(
            pd.read_parquet(run.avatars_dir / part.path("avatars").name)
        )
        assert same, f"partition {part.index} differs between Dask and local"
    ratio = (args.rows / wall) / (local_rate * args.workers)
    print(
        f"local (this process, no Dask): {local_rows:,} rows in {local_wall:.1f} s = "
        f"{local_rate:,.0f} rows/s; identical avatars: yes; "
        f"Dask rows/s per worker / local rows/s = {ratio:.2f}",
        flush=True,
    )
    load = os.getloadavg()[0]
    print(
        f"rows={args.rows} seconds={wall:.1f} rows_per_s={args.rows / wall:.0f} "
        f"peak_rss_mib={max([driver_peak, *workers.values()]):.0f} "
        f"driver_peak_rss_mib={driver_peak:.0f} "
        f"worker_peak_rss_mib={max(workers.values()):.0f} "
        f"outside_compute_seconds={outside:.1f} avatarize_cpu_s={avatar_cpu:.1f} "
        f"metrics_cpu_s={metric_cpu:.1f} partitions={n_parts} workers={args.workers} "
        f"local_rows_per_s={local_rate:.0f} ratio={ratio:.2f} load_average={load:.2f}"
    )
    return 0


def _worker_peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-rows", type=int, default=50_000)
    parser.add_argument("--partitioned", action="store_true", help="Parquet partitions mode")
    parser.add_argument("--partition-rows", type=int, default=250_000)
    parser.add_argument("--baseline-partitions", type=int, default=1)
    parser.add_argument("--n-attacks", type=int, default=500)
    parser.add_argument("--work-dir", default=None, help="where the Parquet files go (temp)")
    parser.add_argument("--source", default=None, help="reuse a table.parquet an earlier run wrote")
    args = parser.parse_args()
    if args.partitioned:
        return partitioned(args)

    from distributed import Client, LocalCluster

    table = synthetic_table(args.rows)
    parameters = {"k": 20, "seed": 7, "max_rows_per_batch": args.batch_rows}
    batches = -(-args.rows // args.batch_rows)
    print(f"rows={args.rows:,} columns={table.shape[1]} batches={batches}", flush=True)

    began = time.perf_counter()
    local = avatarize(table, **parameters, n_jobs=args.workers).avatars
    local_seconds = time.perf_counter() - began
    print(f"local processes ({args.workers}): {local_seconds:.1f} s", flush=True)

    compute: list[float] = []
    timed = batch_module.avatarize_batch

    with LocalCluster(
        n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        import os

        os.environ[dask_cluster.SCHEDULER_ENV] = cluster.scheduler_address
        began = time.perf_counter()
        on_dask = avatarize(table, **parameters).avatars
        dask_seconds = time.perf_counter() - began
        with Client(cluster.scheduler_address, set_as_default=False) as client:
            worker_peaks = client.run(_worker_peak_mib)
            durations = client.run_on_scheduler(
                lambda dask_scheduler: sum(
                    prefix.all_durations.get("compute", 0.0)
                    for name, prefix in dask_scheduler.task_prefixes.items()
                    if name == timed.__name__
                )
            )
        compute.append(float(durations))
        del os.environ[dask_cluster.SCHEDULER_ENV]
    print(f"dask ({args.workers} workers): {dask_seconds:.1f} s", flush=True)

    pd.testing.assert_frame_equal(on_dask, local)
    print("identical avatars: yes", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    outside = dask_seconds - compute[0] / args.workers
    print(
        f"rows={args.rows} seconds={dask_seconds:.2f} local_seconds={local_seconds:.2f} "
        f"ratio={dask_seconds / local_seconds:.2f} rows_per_s={args.rows / dask_seconds:.0f} "
        f"peak_rss_mib={peak:.0f} worker_peak_rss_mib={max(worker_peaks.values()):.0f} "
        f"outside_compute_seconds={outside:.2f} workers={args.workers} batches={batches}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
