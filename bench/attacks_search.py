"""Benchmark of the attacks' nearest-record search (Gower distance), tiled vs whole rows.

Run from the repository root with the project venv::

    .venv/bin/python bench/attacks_search.py [--avatars 200000] [--queries 500]

The privacy metrics' linkability and inference attacks look up, for each of 500 attack records,
the nearest avatar over a few columns by Gower distance, over every avatar. The baseline is the
search Veil ran until 2026-12-03 (64 queries at a time against whole rows of candidates, new
temporaries per column), kept below; ``attacks.gower_nearest`` is the tiled one. Both run on the
same synthetic table (5 numeric columns rounded to one decimal, 5 categorical ones, 2 % missing),
the results are checked to be identical, and CPU seconds (user + sys of this process) are
printed with the ratio: the machine is shared, so CPU time is the figure to compare.

The last line is ``key=value`` pairs: ``avatars``, ``queries``, ``baseline_cpu_s``,
``tiled_cpu_s``, ``speedup``, ``identical``, ``load_average``.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np
from veil_service.engine.metrics import attacks
from veil_service.engine.metrics.attacks import Encoded


def whole_rows(
    candidates: Encoded, queries: np.ndarray, columns: np.ndarray, ranges: np.ndarray
) -> np.ndarray:
    """The baseline: Veil's search before tiling (64 queries x every candidate per pass)."""
    data = candidates.values[:, columns]
    numeric = candidates.numeric[columns]
    scale = np.where(numeric & (ranges[columns] > 0), ranges[columns], 1.0)
    nearest = np.empty(len(queries), dtype=np.int64)
    for start in range(0, len(queries), 64):
        block = queries[start : start + 64][:, columns]
        total = np.zeros((len(block), len(data)), dtype=np.float32)
        for j in range(len(columns)):
            a = block[:, j][:, None]
            b = data[:, j][None, :]
            if numeric[j]:
                with np.errstate(invalid="ignore"):
                    d = np.abs(a - b) / scale[j]
                total += np.where(np.isnan(d), 1.0, d).astype(np.float32)
            else:
                total += (a != b).astype(np.float32)
        nearest[start : start + 64] = np.argmin(total, axis=1)
    return nearest


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--avatars", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=500)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    rng = np.random.default_rng(0)
    numeric = np.array([True] * 5 + [False] * 5)
    values = np.empty((args.avatars, 10))
    values[:, :5] = rng.normal(size=(args.avatars, 5)).round(1)
    values[:, 5:] = rng.integers(0, 6, size=(args.avatars, 5))
    values[rng.random(values.shape) < 0.02] = np.nan
    candidates = Encoded(values, numeric)
    picked = values[rng.integers(0, args.avatars, args.queries)]
    queries = picked + np.where(numeric, rng.normal(0, 0.1, picked.shape), 0.0)
    columns = np.array([0, 1, 2, 5, 6, 7, 8])  # a linkability half: 3 numbers, 4 categories
    ranges = attacks.value_ranges([candidates])

    results: dict[str, tuple[np.ndarray, float, float]] = {}
    for name, search in (("baseline", whole_rows), ("tiled", attacks.gower_nearest)):
        wall, cpu = time.perf_counter(), _cpu()
        found = search(candidates, queries, columns, ranges)
        results[name] = (found, _cpu() - cpu, time.perf_counter() - wall)
        print(f"{name}: {results[name][1]:.2f} s CPU, {results[name][2]:.2f} s wall")
    identical = bool(np.array_equal(results["baseline"][0], results["tiled"][0]))
    speedup = results["baseline"][1] / max(results["tiled"][1], 1e-9)
    print(f"tiled / baseline: {1 / speedup:.3f} of the CPU ({speedup:.1f}x), identical={identical}")
    print(
        f"avatars={args.avatars} queries={args.queries} "
        f"baseline_cpu_s={results['baseline'][1]:.3f} tiled_cpu_s={results['tiled'][1]:.3f} "
        f"speedup={speedup:.2f} identical={identical} load_average={load:.1f}"
    )


if __name__ == "__main__":
    main()
