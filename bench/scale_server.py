"""A real server's standard job on Dask Parquet partitions against the same job in memory.

Run from the repository root with the project venv::

    nice -n 10 .venv/bin/python bench/scale_server.py [--rows 1000000] [--partition-rows 250000]

Issue 17 item 4: ``veil serve --dask-scheduler`` with a table above
``--dask-partition-threshold-rows`` must run the job from Parquet partitions read by the Dask
workers, not through one process's memory. This starts a ``distributed.LocalCluster`` of
``--workers`` single-threaded worker processes and a real ``veil serve`` subprocess pointed at
it (threshold 1 row), uploads the bench's correlated 15-column table from a Parquet file with
the real client, runs standard, privacy_metrics and signal_metrics, and downloads the avatars.
Baseline in the same run: the same table and jobs on a server without a scheduler (the
single-machine path: the engine task holds the table). A thread samples the peak RSS
(``VmHWM``) of the server, its engine and the engine's task processes every 0.25 s; the Dask
workers report their own (``getrusage``).

The last line is ``key=value`` pairs: ``rows``, ``seconds`` (jobs wall on Dask),
``baseline_seconds``, ``ratio`` (baseline / Dask wall), ``peak_rss_mib`` (largest process of the
Dask run), ``engine_task_peak_rss_mib`` and ``baseline_engine_task_peak_rss_mib``,
``server_peak_rss_mib``, ``worker_peak_rss_mib``, ``partitions``, ``load_average``.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
from _veil import RunningVeil, running_veil
from scale import write_parquet


def _hwm_mib(pid: int) -> float:
    """The process's peak resident memory so far (the kernel's VmHWM), 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _command(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""


def _role(process: psutil.Process, root: int) -> str:
    """server, engine, forkserver, engine_task (anything the forkserver started, and their
    children) or other (multiprocessing's resource tracker)."""
    if process.pid == root:
        return "server"
    command = _command(process)
    if " engine " in f" {command} " and "forkserver" not in command:
        return "engine"
    try:
        ancestors = process.parents()
    except psutil.Error:
        return "other"
    if any("forkserver" in _command(a) for a in ancestors):
        return "engine_task"
    return "forkserver" if "forkserver" in command else "other"


@contextmanager
def peaks(root: int) -> Iterator[dict[str, float]]:
    """Peak RSS by role (server, engine, forkserver, engine_task) of ``root``'s process tree."""
    found: dict[str, float] = {}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            try:
                tree = [psutil.Process(root), *psutil.Process(root).children(recursive=True)]
            except psutil.Error:
                return
            for process in tree:
                role = _role(process, root)
                found[role] = max(found.get(role, 0.0), _hwm_mib(process.pid))
            stop.wait(0.25)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        stop.set()
        thread.join()


def run_jobs(server: RunningVeil, source: Path, name: str) -> tuple[float, int, list[str]]:
    """Upload, run standard + metrics jobs, download the avatars; (jobs wall, rows, warnings)."""
    import warnings

    from veil_client import Manager
    from veil_client.models import JobKind

    runner = Manager(base_url=server.url, api_key=server.api_key).create_runner(name, seed=7)
    runner.add_table("scale", source)
    runner.set_parameters("scale", k=20)
    began = time.monotonic()
    runner.run(jobs_to_run=[JobKind.standard, JobKind.privacy_metrics, JobKind.signal_metrics])
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        for kind in (JobKind.standard, JobKind.privacy_metrics, JobKind.signal_metrics):
            runner._finished(kind)
        wall = time.monotonic() - began
        rows = len(runner.shuffled("scale"))
    worst = runner.privacy_metrics("scale")[0]
    print(
        f"{name}: jobs {wall:.1f} s, {rows} avatars; hidden_rate {worst.get('hidden_rate')}, "
        f"local_cloaking {worst.get('local_cloaking')}",
        flush=True,
    )
    return wall, rows, [str(w.message) for w in said]


def _worker_peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--partition-rows", type=int, default=250_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()

    from distributed import Client, LocalCluster

    work = Path(tempfile.mkdtemp(prefix="veil-scale-server-"))
    source = work / "table.parquet"
    written = write_parquet(source, args.rows, args.partition_rows)
    print(f"table: {args.rows} rows x 15 columns, Parquet written in {written:.1f} s", flush=True)

    figures: dict[str, float] = {"rows": float(args.rows)}
    with (
        LocalCluster(
            n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        flags = [
            "--dask-scheduler",
            cluster.scheduler_address,
            "--dask-partition-threshold-rows",
            "1",
            "--dask-partition-rows",
            str(args.partition_rows),
        ]
        with running_veil(*flags) as server, peaks(server.process.pid) as found:
            wall, rows, said = run_jobs(server, source, "dask")
        assert rows == args.rows, rows
        assert any("on the Dask cluster" in w for w in said), "the job took the in-memory path"
        workers = client.run(_worker_peak_mib)
        figures.update(
            seconds=wall,
            server_peak_rss_mib=found.get("server", 0.0),
            engine_task_peak_rss_mib=found.get("engine_task", 0.0),
            engine_peak_rss_mib=found.get("engine", 0.0),
            worker_peak_rss_mib=max(workers.values()),
            partitions=float(-(-args.rows // args.partition_rows)),
        )
        print(f"Dask run peaks (MiB): {found}, workers {workers}", flush=True)
    figures["peak_rss_mib"] = max(
        figures["server_peak_rss_mib"],
        figures["engine_task_peak_rss_mib"],
        figures["engine_peak_rss_mib"],
        figures["worker_peak_rss_mib"],
    )
    if not args.no_baseline:
        with running_veil() as server, peaks(server.process.pid) as found:
            baseline, rows, _ = run_jobs(server, source, "in-memory")
        assert rows == args.rows, rows
        print(f"in-memory run peaks (MiB): {found}", flush=True)
        figures.update(
            baseline_seconds=baseline,
            ratio=baseline / figures["seconds"],
            baseline_engine_task_peak_rss_mib=found.get("engine_task", 0.0),
        )
    figures["load_average"] = os.getloadavg()[0]
    print(" ".join(f"{k}={v:.1f}" if v % 1 else f"{k}={int(v)}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
