"""Benchmark of Veil's privacy and signal metrics, and of its attacks against anonymeter.

Run from the repository root with the project venv::

    PYTHONPATH=service:client python bench/metrics.py [--skip-anonymeter]

What it measures (wall-clock seconds, one run each, on whatever else the machine is doing):

* ``adult``: Adult train (32,561 rows, 15 columns) and an avatar-like table made from it (numbers
  jittered, 20 % of three categorical columns redrawn: the metrics' cost does not depend on how
  the avatars were made); Adult test (16,281 rows) is the holdout, i.e. the attacks' control set.
  ``privacy_metrics`` + ``signal_metrics`` with ``known_variables`` and ``target`` set, so every
  metric runs, the three attacks included.
* ``rows200k``: 200,000 rows resampled from Adult train + test (numbers jittered so rows are
  distinct), same metrics, 20,000 holdout rows.
* Veil's three attacks alone on Adult, and anonymeter 1.1.0's three evaluators (singling out
  multivariate, linkability, inference; 500 attacks each, same columns, same control set) in the
  separate venv ``bench/.venv-bench`` (``python3 -m venv bench/.venv-bench &&
  bench/.venv-bench/bin/pip install -r bench/requirements-metrics.txt``). Without that venv, or
  with ``--skip-anonymeter``, the comparison is skipped and said so.

``--privacy-rows N`` (issue 17 item 6) instead times ``privacy_metrics`` alone on N rows of Adult
resampled (numbers jittered), its stand-in avatars and N/10 holdout rows, in two configurations,
each in a fresh child process (so its peak RSS is its own): ``defaults`` (no known variables, no
target, no holdout: what the end-to-end privacy job runs) and ``full`` (known variables, target
and holdout: every metric, the three attacks included). ``--baseline-ref REF`` runs the same
children on the engine code of git commit REF first (exported to a temporary directory) and
prints the speed-up; the values of both runs are compared key by key (same = within 1e-9
relative; the largest relative difference is printed). ``--threads N`` sets
``VEIL_METRICS_THREADS`` for the current code's children (default: unset, i.e. every core this
process may use; the baseline's code ignores it); ``--threads 1,2`` runs the current code once per
count, the first count unprefixed and the others as ``threads<N>_<config>``, compared like the
baseline. Its ``key=value`` line has ``rows``, ``threads``, ``<config>_s``, ``<config>_cpu_s``,
``<config>_peak_rss_mib``, the baseline's figures with a ``baseline_`` prefix,
``<config>_speedup``, ``target_s=30`` and the load average at the start and the end.

The last line is ``key=value`` pairs: ``adult_all_metrics_s``, ``rows200k_all_metrics_s``,
``veil_attacks_adult_s``, ``anonymeter_adult_s``, ``attacks_speedup_vs_anonymeter``, the risks
both tools found (in %), CPU seconds of the Veil runs and the load average at the start (the
machine is shared; wall times grow with the load).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from veil_service.engine.metrics import privacy_metrics, signal_metrics
from veil_service.engine.metrics.attacks import attack_risks
from veil_service.engine.metrics.parameters import parse_parameters
from veil_service.engine.metrics.tables import align_tables

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from shared_data import SHARED_DATA

ROOT = Path(__file__).resolve().parent.parent
TABLES = SHARED_DATA / "tables"
BENCH_PYTHON = ROOT / "bench" / ".venv-bench" / "bin" / "python"

KNOWN = ["age", "sex", "race", "marital-status", "education"]
TARGET = "income"
NUMERIC = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]

_ANONYMETER_SCRIPT = """
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import pandas as pd
from anonymeter.evaluators import (InferenceEvaluator, LinkabilityEvaluator,
                                   SinglingOutEvaluator)
ori, syn, control = (pd.read_parquet(p) for p in sys.argv[1:4])
known, target = json.loads(sys.argv[4]), sys.argv[5]
aux = known or [c for c in ori.columns if c != target]
out = {}
start = time.perf_counter()
so = SinglingOutEvaluator(ori=ori, syn=syn, control=control, n_attacks=500, n_cols=3)
so.evaluate(mode="multivariate")
out["singling_out_s"] = time.perf_counter() - start
out["singling_out_risk"] = 100 * so.risk().value
start = time.perf_counter()
link = LinkabilityEvaluator(ori=ori, syn=syn, control=control, n_attacks=500,
                            aux_cols=(aux[0::2], aux[1::2]), n_neighbors=1)
link.evaluate(n_jobs=1)
out["linkability_s"] = time.perf_counter() - start
out["linkability_risk"] = 100 * link.risk().value
start = time.perf_counter()
inf = InferenceEvaluator(ori=ori, syn=syn, control=control, aux_cols=known, secret=target,
                         n_attacks=500)
inf.evaluate(n_jobs=1)
out["inference_s"] = time.perf_counter() - start
out["inference_risk"] = 100 * inf.risk().value
print(json.dumps(out))
"""


def _adult() -> tuple[pd.DataFrame, pd.DataFrame]:
    train = pd.read_csv(TABLES / "adult_train.csv")
    test = pd.read_csv(TABLES / "adult_test.csv")[train.columns]
    return train, test


def _avatar_like(original: pd.DataFrame, seed: int) -> pd.DataFrame:
    """A stand-in avatar table: jittered numbers, 20 % of three categories redrawn."""
    rng = np.random.default_rng(seed)
    avatars = original.copy()
    for column in ("age", "fnlwgt", "education-num", "hours-per-week"):
        noise = rng.normal(0, 0.15 * float(original[column].std()), len(original))
        avatars[column] = (original[column] + noise).round().astype("int64")
    for column in ("workclass", "occupation", "relationship"):
        redraw = rng.random(len(original)) < 0.2
        avatars.loc[redraw, column] = rng.choice(original[column].to_numpy(), int(redraw.sum()))
    return avatars


def _resampled(frame: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = frame.iloc[rng.integers(len(frame), size=rows)].reset_index(drop=True)
    out["fnlwgt"] = (out["fnlwgt"] * rng.uniform(0.97, 1.03, rows)).round().astype("int64")
    return out


def _all_metrics(
    original: pd.DataFrame, avatars: pd.DataFrame, holdout: pd.DataFrame
) -> tuple[float, float, dict[str, Any], dict[str, Any]]:
    """Wall and CPU seconds of privacy_metrics + signal_metrics, and their results."""
    start, cpu = time.perf_counter(), time.process_time()
    privacy = privacy_metrics(
        original,
        avatars,
        holdout=holdout,
        known_variables=KNOWN,
        target=TARGET,
        table_name="adult",
        seed=0,
    )
    signal = signal_metrics(original, avatars, holdout=holdout, target=TARGET, seed=0)
    return time.perf_counter() - start, time.process_time() - cpu, privacy, signal


def _veil_attacks(
    original: pd.DataFrame, avatars: pd.DataFrame, holdout: pd.DataFrame
) -> tuple[float, dict[str, float]]:
    start = time.perf_counter()
    tables = align_tables(original, avatars, holdout)
    parameters = parse_parameters(
        {"known_variables": KNOWN, "target": TARGET}, tables.columns, tables.categorical
    )
    risks = attack_risks(tables, parameters)
    elapsed = time.perf_counter() - start
    return elapsed, {f"veil_{name}_risk": result.risk for name, result in risks.items()}


def _anonymeter(
    original: pd.DataFrame, avatars: pd.DataFrame, holdout: pd.DataFrame
) -> dict[str, float] | None:
    if not BENCH_PYTHON.exists():
        print(f"anonymeter skipped: {BENCH_PYTHON} missing (see bench/requirements-metrics.txt)")
        return None
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for name, frame in (("ori", original), ("syn", avatars), ("control", holdout)):
            path = Path(folder) / f"{name}.parquet"
            frame.to_parquet(path)
            paths.append(str(path))
        done = subprocess.run(
            [str(BENCH_PYTHON), "-c", _ANONYMETER_SCRIPT, *paths, json.dumps(KNOWN), TARGET],
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        print(f"anonymeter failed: {done.stderr.strip()[-500:]}")
        return None
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


PRIVACY_CONFIGS = ("defaults", "full")
PRIVACY_TARGET_S = 30.0
VALUE_TOLERANCE = 1e-9
"""Relative difference under which two runs' metric values count as the same (floating-point
rounding of distances computed in a different order; counts and rates must be equal)."""


def _privacy_tables(rows: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    train, test = _adult()
    pool = pd.concat([train, test], ignore_index=True)
    big = _resampled(pool, rows, seed=2)
    return big, _avatar_like(big, seed=4), _resampled(pool, max(rows // 10, 3), seed=3)


def _privacy_child(rows: int, config: str) -> None:
    """Time privacy_metrics once in this (fresh) process; print one JSON line."""
    import resource

    original, avatars, holdout = _privacy_tables(rows)
    params: dict[str, Any] = {"seed": 0, "table_name": "adult"}
    if config == "full":
        params.update(holdout=holdout, known_variables=KNOWN, target=TARGET)
    start, cpu = time.perf_counter(), time.process_time()
    result = privacy_metrics(original, avatars, **params)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    values = {k: v for k, v in result.items() if isinstance(v, int | float) and k != "passed"}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"s": seconds, "cpu_s": cpu, "peak_rss_mib": peak, "values": values}))


def _run_privacy_child(
    rows: int, config: str, service: Path, threads: int | None = None
) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(service), str(ROOT / "client")]))
    if threads is not None:
        env["VEIL_METRICS_THREADS"] = str(threads)
    done = subprocess.run(
        [sys.executable, __file__, "--privacy-child", config, "--privacy-rows", str(rows)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if done.returncode != 0:
        raise SystemExit(f"privacy child {config} failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def privacy_at_scale(rows: int, baseline_ref: str | None, threads: list[int] | None) -> None:
    """Issue 17 item 6: privacy metrics on ``rows`` rows, optionally against an older commit."""
    counts: list[int | None] = list(threads) if threads else [None]
    figures: dict[str, float | str] = {
        "rows": rows,
        "threads": str(counts[0] or len(os.sched_getaffinity(0))),
        "load_average": os.getloadavg()[0],
    }
    with tempfile.TemporaryDirectory() as folder:
        runs: list[tuple[str, Path, int | None]] = [("", ROOT / "service", counts[0])]
        runs += [(f"threads{n}_", ROOT / "service", n) for n in counts[1:]]
        if baseline_ref:
            archive = subprocess.run(
                ["git", "-C", str(ROOT), "archive", baseline_ref, "service"],
                capture_output=True,
                check=True,
            )
            subprocess.run(["tar", "-x", "-C", folder], input=archive.stdout, check=True)
            runs.insert(0, ("baseline_", Path(folder) / "service", None))
        results: dict[str, dict[str, Any]] = {}
        for prefix, service, count in runs:
            for config in PRIVACY_CONFIGS:
                result = _run_privacy_child(rows, config, service, count)
                results[prefix + config] = result
                for key in ("s", "cpu_s", "peak_rss_mib"):
                    figures[f"{prefix}{config}_{key}"] = float(result[key])
                print(
                    f"{prefix or 'current_'}{config}: {result['s']:.1f} s wall, "
                    f"{result['cpu_s']:.1f} CPU s, peak {result['peak_rss_mib']:.0f} MiB, "
                    f"hidden_rate {result['values'].get('hidden_rate')}",
                    flush=True,
                )
    others = [prefix for prefix, _, _ in runs if prefix]
    for config in PRIVACY_CONFIGS:
        for prefix in others:
            before, after = results[prefix + config], results[config]
            label = config if prefix == "baseline_" else f"{prefix}{config}"
            figures[f"{label}_speedup"] = before["s"] / after["s"]
            worst = _largest_difference(before["values"], after["values"], label)
            figures[f"{label}_max_relative_difference"] = worst
            figures[f"{label}_same_values"] = str(worst <= VALUE_TOLERANCE)
        figures[f"{config}_over_target"] = float(results[config]["s"]) / PRIVACY_TARGET_S
    figures["target_s"] = PRIVACY_TARGET_S
    figures["load_average_end"] = os.getloadavg()[0]
    print(" ".join(f"{k}={_shown(k, v)}" for k, v in figures.items()))


def _largest_difference(before: dict[str, Any], after: dict[str, Any], label: str) -> float:
    """Largest relative difference between two runs' values (inf when one lacks a value)."""
    worst = 0.0
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if old is None or new is None:
            worst = float("inf")
        else:
            worst = max(worst, abs(old - new) / max(abs(old), abs(new)))
        print(f"  {label} {key}: {old} -> {new}")
    return worst


def _shown(key: str, value: float | str) -> str:
    if not isinstance(value, float):
        return str(value)
    return f"{value:.2g}" if key.endswith("difference") else f"{value:.2f}"


def main() -> None:
    """Run the benchmark and print the figures, then one ``key=value`` line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-anonymeter", action="store_true")
    parser.add_argument("--privacy-rows", type=int, help="time privacy_metrics alone on N rows")
    parser.add_argument("--baseline-ref", help="with --privacy-rows: also run this git commit")
    parser.add_argument(
        "--threads",
        type=lambda text: [int(n) for n in text.split(",")],
        help="with --privacy-rows: VEIL_METRICS_THREADS of the current code (N or N,M,...)",
    )
    parser.add_argument("--privacy-child", choices=PRIVACY_CONFIGS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.privacy_child:
        _privacy_child(args.privacy_rows, args.privacy_child)
        return
    if args.privacy_rows:
        privacy_at_scale(args.privacy_rows, args.baseline_ref, args.threads)
        return
    train, test = _adult()
    avatars = _avatar_like(train, seed=1)
    figures: dict[str, float | str] = {"load_average": os.getloadavg()[0]}

    seconds, cpu, privacy, signal = _all_metrics(train, avatars, test)
    figures["adult_all_metrics_s"] = seconds
    figures["adult_all_metrics_cpu_s"] = cpu
    print(
        f"adult ({len(train)} rows): all metrics {seconds:.1f} s ({cpu:.1f} CPU s); hidden_rate "
        f"{privacy['hidden_rate']:.1f}, local_cloaking {privacy['local_cloaking']}, "
        f"hellinger_mean {signal['hellinger_mean']:.3f}"
    )

    pool = pd.concat([train, test], ignore_index=True)
    big = _resampled(pool, 200_000, seed=2)
    big_holdout = _resampled(pool, 20_000, seed=3)
    seconds, cpu, privacy, _ = _all_metrics(big, _avatar_like(big, seed=4), big_holdout)
    figures["rows200k_all_metrics_s"] = seconds
    figures["rows200k_all_metrics_cpu_s"] = cpu
    print(
        f"200k rows: all metrics {seconds:.1f} s ({cpu:.1f} CPU s); hidden_rate "
        f"{privacy['hidden_rate']:.1f}"
    )

    veil_seconds, veil_risks = _veil_attacks(train, avatars, test)
    figures["veil_attacks_adult_s"] = veil_seconds
    figures.update(veil_risks)
    print(f"veil attacks on adult: {veil_seconds:.1f} s {veil_risks}")

    reference = None if args.skip_anonymeter else _anonymeter(train, avatars, test)
    if reference is not None:
        total = reference["singling_out_s"] + reference["linkability_s"] + reference["inference_s"]
        figures["anonymeter_adult_s"] = total
        figures["attacks_speedup_vs_anonymeter"] = total / veil_seconds
        for name in ("singling_out", "linkability", "inference"):
            figures[f"anonymeter_{name}_risk"] = reference[f"{name}_risk"]
        print(f"anonymeter on adult: {total:.1f} s {reference}")
    else:
        figures["attacks_speedup_vs_anonymeter"] = "skipped"
    print(
        " ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items())
    )


if __name__ == "__main__":
    main()
