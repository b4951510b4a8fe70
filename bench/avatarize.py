"""Benchmark of the avatarization engine on Adult scaled to 10k, 100k and 1M rows (15 columns).

Run from the repository root with the project venv::

    PYTHONPATH=service:client python bench/avatarize.py [--sizes 10000,100000,1000000]

Each size runs in its own subprocess so that its peak memory (the process and its worker
processes, sampled every 0.1 s) is its own. The baseline is SDV's GaussianCopula synthesizer
(fit + sample) on the same 100k rows, run with the separate venv ``bench/.venv-bench`` (create it
with ``python3.11 -m venv bench/.venv-bench && bench/.venv-bench/bin/pip install -r
bench/requirements-avatarize.txt``); without it the baseline is skipped and said so.

The last line is ``key=value`` pairs, e.g. ``rows_1m_seconds=41.2 growth_100k_1m=10.8 ...``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from shared_data import SHARED_DATA

ROOT = Path(__file__).resolve().parent.parent
ADULT = SHARED_DATA / "tables" / "adult_train.csv"
BENCH_PYTHON = ROOT / "bench" / ".venv-bench" / "bin" / "python"
SDV_ROWS = 100_000

_SDV_SCRIPT = """
import sys, time, warnings
warnings.filterwarnings("ignore")
import pandas as pd
from sdv.metadata import Metadata
from sdv.single_table import GaussianCopulaSynthesizer
df = pd.read_csv(sys.argv[1])
start = time.perf_counter()
metadata = Metadata.detect_from_dataframes({"adult": df})
synth = GaussianCopulaSynthesizer(metadata)
synth.fit({"adult": df})
synth.sample(len(df))
print(time.perf_counter() - start)
"""


def scaled_adult(n_rows: int, seed: int = 0) -> pd.DataFrame:
    """Adult resampled to ``n_rows`` rows, numeric columns jittered by 1 % of their spread."""
    adult = pd.read_csv(ADULT)
    rng = np.random.default_rng(seed)
    df = adult.iloc[rng.integers(0, len(adult), n_rows)].reset_index(drop=True)
    for name in df.columns:
        if pd.api.types.is_numeric_dtype(df[name]):
            noise = rng.normal(0.0, 0.01 * float(adult[name].std()), n_rows)
            df[name] = np.clip(np.round(df[name] + noise), adult[name].min(), adult[name].max())
            df[name] = df[name].astype(adult[name].dtype)
    return df


def _measure(n_rows: int) -> dict[str, float]:
    """Avatarize one size in this process; return wall and CPU seconds and peak RSS (MiB).

    CPU seconds (this process and its workers) show the work done whatever other processes
    compete for the cores; wall seconds are what a user waits.
    """
    from veil_service.engine.avatarize import avatarize

    df = scaled_adult(n_rows)
    me = psutil.Process()
    peak = [0.0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            total = 0.0
            for proc in [me, *me.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    continue
            peak[0] = max(peak[0], total)
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    result = avatarize(df, k=20, seed=0)
    seconds = time.perf_counter() - start
    stop.set()
    sampler.join()
    # loky workers stay alive between calls, so their CPU time is still readable here.
    cpu = 0.0
    for proc in [me, *me.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        cpu += times.user + times.system
    assert result.avatars.shape == df.shape
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_rss_mib": peak[0] / 2**20,
        "batches": result.n_batches,
    }


def _run_size(n_rows: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(n_rows)],
        check=True,
        capture_output=True,
        text=True,
    )
    measured: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return measured


def _sdv_seconds() -> float | None:
    if not BENCH_PYTHON.exists():
        print("SDV baseline skipped: bench/.venv-bench is absent (see this file's docstring).")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "adult100k.csv"
        scaled_adult(SDV_ROWS).to_csv(path, index=False)
        done = subprocess.run(
            [str(BENCH_PYTHON), "-c", _SDV_SCRIPT, str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        print(f"SDV baseline failed, skipped: {done.stderr.strip().splitlines()[-1:]}")
        return None
    return float(done.stdout.strip().splitlines()[-1])


def _label(n_rows: int) -> str:
    return f"{n_rows // 1_000_000}m" if n_rows >= 1_000_000 else f"{n_rows // 1000}k"


def main() -> None:
    """Run every size, the SDV baseline, and print the table and the key=value line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_measure(args.child)))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    pairs: dict[str, str] = {}
    previous: tuple[int, float] | None = None
    load = psutil.getloadavg()[0]
    print(f"load average before the run: {load:.1f} on {psutil.cpu_count()} cores")
    print(
        f"{'rows':>10} {'seconds':>9} {'cpu s':>8} {'rows/s':>10} {'peak RSS MiB':>13} "
        f"{'batches':>8} growth"
    )
    for n_rows in sizes:
        m = _run_size(n_rows)
        label = _label(n_rows)
        growth = ""
        if previous is not None:
            factor = m["seconds"] / previous[1]
            growth = f"x{factor:.1f} for x{n_rows / previous[0]:.0f} rows"
            pairs[f"growth_{_label(previous[0])}_{label}"] = f"{factor:.1f}"
        print(
            f"{n_rows:>10} {m['seconds']:>9.1f} {m['cpu_seconds']:>8.1f} "
            f"{n_rows / m['seconds']:>10.0f} "
            f"{m['peak_rss_mib']:>13.0f} {int(m['batches']):>8} {growth}"
        )
        pairs[f"rows_{label}_seconds"] = f"{m['seconds']:.1f}"
        pairs[f"rows_{label}_cpu_seconds"] = f"{m['cpu_seconds']:.1f}"
        pairs[f"rows_{label}_rows_per_s"] = f"{n_rows / m['seconds']:.0f}"
        pairs[f"rows_{label}_peak_rss_mib"] = f"{m['peak_rss_mib']:.0f}"
        previous = (n_rows, m["seconds"])
    if SDV_ROWS in sizes:
        sdv = _sdv_seconds()
        if sdv is not None:
            ours = float(pairs[f"rows_{_label(SDV_ROWS)}_seconds"])
            print(f"SDV GaussianCopula fit+sample on the same {SDV_ROWS} rows: {sdv:.1f} s")
            pairs["sdv_100k_seconds"] = f"{sdv:.1f}"
            pairs["sdv_ratio"] = f"{sdv / ours:.2f}"
    pairs["load_average"] = f"{load:.1f}"
    print(" ".join(f"{key}={value}" for key, value in pairs.items()))


if __name__ == "__main__":
    main()
