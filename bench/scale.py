"""Avatarization batches on a Dask cluster against the single-machine engine (local processes).

Run from the repository root with the project venv::

    .venv/bin/python bench/scale.py [--rows 200000] [--workers 2] [--batch-rows 50000]

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
import resource
import time

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


def _worker_peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-rows", type=int, default=50_000)
    args = parser.parse_args()

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
