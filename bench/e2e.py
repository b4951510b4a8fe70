"""End-to-end benchmark of the main job through the real client and server.

For Adult (32,561 x 15) and a 1M-row table (Adult resampled with small noise on the numbers), it
times: upload (client), standard job, privacy and signal metrics jobs, report job (figures and
both reports), and download of the shuffled avatars; and reads each job's engine compute time from
its ``run_metadata`` result. The share spent outside the engine's own compute is
``1 - engine_busy / total_wall``, where ``engine_busy`` is the time during which at least one
job's task was computing (the union of each task's ``[start, start + compute]``).

``critical_compute_s`` is the older reading, standard + the slower of the two metrics jobs +
report: it assumed the metrics jobs compute side by side at full speed, which stopped holding
once the privacy metrics used both cores (two jobs on two cores then share them, and the wait
counted as "outside").

Usage::

    python bench/e2e.py                    # Adult and 1M rows
    python bench/e2e.py --sizes adult      # Adult only
    python bench/e2e.py --sizes adult,adult  # Adult twice on one server (``adult_2``: warm)

Ends with one key=value line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _veil import running_veil

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from shared_data import SHARED_DATA

ADULT = SHARED_DATA / "tables" / "adult_train.csv"


def scaled_adult(rows: int, seed: int = 0) -> pd.DataFrame:
    """Adult resampled to ``rows`` rows with small noise on numeric columns."""
    adult = pd.read_csv(ADULT)
    rng = np.random.default_rng(seed)
    frame = adult.iloc[rng.integers(0, len(adult), rows)].reset_index(drop=True)
    for column in frame.select_dtypes("number").columns:
        spread = float(frame[column].std()) * 0.01
        frame[column] = (frame[column] + rng.normal(0, spread, rows)).round().astype("int64")
    return frame


def _job_metadata(runner: object, kind: object) -> dict[str, object]:
    api = runner.api  # type: ignore[attr-defined]
    listing = api.list_results(job_id=runner.jobs[kind])
    info = next(r for r in listing if r.kind == "run_metadata")
    _, data = api.download_result(info.id)
    return dict(json.loads(data))


def _union_length(intervals: list[tuple[float, float]]) -> float:
    """Seconds covered by at least one of the ``(start, end)`` intervals."""
    covered, reach = 0.0, float("-inf")
    for start, end in sorted(intervals):
        if end > reach:
            covered += end - max(start, reach)
            reach = end
    return covered


def run_one(manager: object, name: str, source: Path, k: int) -> dict[str, float]:
    """Time every phase for one table."""
    from veil_client.models import JobKind

    runner = manager.create_runner(f"bench-{name}", seed=1)  # type: ignore[attr-defined]
    began = time.monotonic()
    runner.add_table(name, source)
    upload = time.monotonic() - began
    runner.set_parameters(name, k=k)
    jobs_began = time.monotonic()
    runner.run(
        jobs_to_run=[
            JobKind.standard,
            JobKind.privacy_metrics,
            JobKind.signal_metrics,
            JobKind.report,
        ]
    )
    runner._finished(JobKind.report)  # waits for the whole graph
    jobs_wall = time.monotonic() - jobs_began
    began = time.monotonic()
    avatars = runner.shuffled(name)
    download = time.monotonic() - began
    total = time.monotonic() - jobs_began + upload
    compute = {}
    walls = {}
    intervals = []
    for kind in (JobKind.standard, JobKind.privacy_metrics, JobKind.signal_metrics, JobKind.report):
        meta = _job_metadata(runner, kind)
        compute[kind.value] = sum(t["engine_compute_seconds"] or 0 for t in meta["tables"])
        walls[kind.value] = float(meta["job_wall_seconds"])
        intervals += [
            (
                t["engine_compute_started_at"],
                t["engine_compute_started_at"] + t["engine_compute_seconds"],
            )
            for t in meta["tables"]
        ]
    busy = _union_length(intervals)
    critical = (
        compute["standard"]
        + max(compute["privacy_metrics"], compute["signal_metrics"])
        + compute["report"]
    )
    figures = {
        "rows": float(len(avatars)),
        "upload_s": upload,
        "jobs_wall_s": jobs_wall,
        "download_s": download,
        "total_s": total,
        "critical_compute_s": critical,
        "engine_busy_s": busy,
        "outside_share": max(0.0, 1 - busy / total),
        "report_job_s": walls["report"],
    }
    figures.update({f"{k}_compute_s": v for k, v in compute.items()})
    figures.update({f"{k}_wall_s": v for k, v in walls.items()})
    print(f"{name}: " + ", ".join(f"{k}={v:.2f}" for k, v in figures.items()), flush=True)
    return figures


def main() -> int:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="adult,1000000", help="comma-separated: 'adult' and/or row counts"
    )
    args = parser.parse_args()
    from veil_client import Manager

    results: dict[str, dict[str, float]] = {}
    runs: Counter[str] = Counter()
    with running_veil() as veil, tempfile.TemporaryDirectory() as tmp:
        manager = Manager(base_url=veil.url, api_key=veil.api_key, timeout=600)
        for size in args.sizes.split(","):
            # A size given again runs again on the same server (a warm engine): name_2, ...
            base = "adult" if size == "adult" else f"rows{size}"
            runs[base] += 1
            name = base if runs[base] == 1 else f"{base}_{runs[base]}"
            if size == "adult":
                results[name] = run_one(manager, name, ADULT, 20)
            else:
                path = Path(tmp) / f"adult_{size}.parquet"
                scaled_adult(int(size)).to_parquet(path)
                results[name] = run_one(manager, name, path, 20)
    pairs = []
    for name, figures in results.items():
        for key in (
            "total_s",
            "upload_s",
            "jobs_wall_s",
            "download_s",
            "critical_compute_s",
            "engine_busy_s",
            "outside_share",
            "report_job_s",
        ):
            pairs.append(f"{name}_{key}={figures[key]:.3f}")
    print(" ".join(pairs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
