"""Is a distance-ratio miss real? The held-out/train distance ratio with a bootstrap 95 % interval.

Run from the repository root with the project venv (anonymeter's distance runs in the bench
venv, ``make bench-env``)::

    PYTHONPATH=service:client python bench/dcr_intervals.py [--tables german_credit,titanic]
        [--veil-configs '{"defaults": {}, "paper": {"max_weight": 1, "local_noise": 0,
        "redraw_unique_copies": false}}'] [--baselines gaussian_copula]

bench/privacy_utility.py reports the ratio of the mean distance from held-out rows to their
closest synthetic row over that of training rows (target <= 1.1), from a few hundred rows per
side on the small tables: a point estimate. This regenerates the same synthetic tables (Veil:
same split, parameters and seed, so the same avatars and the same ratio as the benchmark's row;
the baselines: a fresh fit) and prints each ratio with a bootstrap interval (training and
held-out rows resampled independently, 2,000 rounds), and whether the interval lies above 1.1.
The last line is ``key=value`` pairs: ``<table>_<label>_dcr_ratio``, ``_low``, ``_high``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from privacy_utility import (
    ALL_TABLES,
    BENCH_PYTHON,
    _worker,
    _write,
    load_case,
    run_baseline,
    run_veil,
)

#: issue 21's bound on the distance ratio.
DCR_BOUND = 1.1
DEFAULT_CONFIGS = {
    "defaults": {},
    "paper": {"max_weight": 1, "local_noise": 0, "redraw_unique_copies": False},
}


def main() -> None:
    """Regenerate each table's synthetic rows and print the distance ratio with its interval."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", default=",".join(ALL_TABLES))
    parser.add_argument("--veil-configs", default=json.dumps(DEFAULT_CONFIGS))
    parser.add_argument("--baselines", default="gaussian_copula")
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not BENCH_PYTHON.exists():
        raise SystemExit(f"{BENCH_PYTHON} missing: run `make bench-env` first")
    print(f"load average {os.getloadavg()[0]:.1f}", flush=True)
    figures: dict[str, Any] = {}
    configs: dict[str, dict[str, Any]] = json.loads(args.veil_configs)
    for name in args.tables.split(","):
        case = load_case(name)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            spec = folder / "spec.json"
            spec.write_text(json.dumps({"dcr_rows": 5000}))
            ori = _write(case.train, folder, "ori")
            control = _write(case.test, folder, "control")
            runs: list[tuple[str, Any]] = []
            for label, params in configs.items():
                runs.append((label, run_veil(case, {"k": args.k, **params}, args.seed)[0]))
            for method in [b for b in args.baselines.split(",") if b]:
                runs.append((method, run_baseline(case, method, folder, 30)[0]))
            for label, synthetic in runs:
                syn = synthetic[case.train.columns].astype(
                    case.train.dtypes.to_dict(), errors="ignore"
                )
                found = _worker("dcr", ori, _write(syn, folder, "syn"), control, str(spec))
                low, high = found["dcr_ratio_ci_low"], found["dcr_ratio_ci_high"]
                verdict = "above 1.1" if low > DCR_BOUND else "within"
                print(
                    f"{name:<20} {label:<16} DCR ratio {found['dcr_ratio']:.3f} "
                    f"[{low:.3f}, {high:.3f}] ({found['dcr_rows']} rows per side) {verdict}",
                    flush=True,
                )
                key = f"{name}_{label}_dcr_ratio"
                figures.update({key: found["dcr_ratio"], f"{key}_low": low, f"{key}_high": high})
    print(" ".join(f"{k}={v:.3f}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
