"""Bench-venv side of bench/privacy_utility.py: SDV baselines and anonymeter's attacks.

Runs only with ``bench/.venv-bench/bin/python`` (SDV, CTGAN and anonymeter live there, never in
the project venv). Three commands, each reading Parquet files and printing one JSON line:

* ``generate METHOD TRAIN OUT SPEC``: fit SDV's GaussianCopula or CTGAN (``epochs`` from the
  spec, bounded) on the training split and sample as many rows; prints the seconds.
* ``attack ORI SYN CONTROL SPEC``: anonymeter 1.1.0's three evaluators with the control split:
  singling out (multivariate, 3 columns), linkability (every column, split in two alternating
  halves), inference with each column in turn as the secret and all the others known (the worst
  is the headline); and the distance to the closest synthetic record (anonymeter's Gower-like
  ``MixedTypeKNeighbors``) of training rows against held-out rows, with a bootstrap 95 %
  interval of the ratio of means;
* ``dcr ORI SYN CONTROL SPEC``: that distance ratio alone (bench/dcr_intervals.py).

Singling out comes with two figures besides anonymeter's own (``_singling_out_sizes``): its
control-size correction is defective in 1.1.0 (it counts queries instead of successes, and on a
deduplicated control under 1,000 rows it fits a single size: the correction is then
(control rows + 1) / (training rows + 1) whatever the data, e.g. 0.47 on wbcd), see
docs/benchmarks.md, "anonymeter's singling-out size correction".

The spec (JSON) names the categorical integer columns, the regression secrets, ``n_attacks`` and
the seed. anonymeter samples its targets with numpy's global generator, so it is seeded first.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")

#: Bootstrap rounds of the distance ratio's interval.
BOOTSTRAP_ROUNDS = 2000


def _generate(method: str, train_path: str, out_path: str, spec: dict[str, Any]) -> None:
    from sdv.metadata import Metadata
    from sdv.single_table import CTGANSynthesizer, GaussianCopulaSynthesizer

    train = pd.read_parquet(train_path)
    start = time.perf_counter()
    metadata = Metadata.detect_from_dataframes({"table": train}, infer_keys=None)
    for column in spec.get("categorical", []):
        metadata.update_column(column_name=column, sdtype="categorical", table_name="table")
    if method == "gaussian_copula":
        synthesizer: Any = GaussianCopulaSynthesizer(metadata)
    else:
        synthesizer = CTGANSynthesizer(metadata, epochs=int(spec.get("epochs", 30)))
    synthesizer.fit({"table": train})
    synthetic = synthesizer.sample(len(train))["table"]
    seconds = time.perf_counter() - start
    synthetic = synthetic[train.columns]
    for column in train.columns:
        with contextlib.suppress(TypeError, ValueError):
            synthetic[column] = synthetic[column].astype(train[column].dtype)
    synthetic.to_parquet(out_path)
    print(json.dumps({"seconds": seconds}))


def _risk(evaluator: Any) -> dict[str, float]:
    risk = evaluator.risk()
    results = evaluator.results()
    return {
        "risk": float(risk.value),
        "ci_low": float(risk.ci[0]),
        "ci_high": float(risk.ci[1]),
        "main_rate": float(results.attack_rate.value),
        "control_rate": float(results.control_rate.value),
    }


def _dcr(ori: pd.DataFrame, syn: pd.DataFrame, control: pd.DataFrame, n: int) -> dict[str, float]:
    """Distance to the closest synthetic record, training rows against held-out rows.

    As many rows of each (at most ``n``), so that both averages have the same precision, measured
    in one call so that both sides share anonymeter's column scaling. Rows
    with a missing value are left out on every side: anonymeter's Gower distance is NaN for them
    (penguins: 11 of 344 rows).
    """
    import anonymeter.evaluators  # noqa: F401  (first: the neighbors module alone is a cycle)
    from anonymeter.neighbors.mixed_types_kneighbors import MixedTypeKNeighbors

    dropped = int(len(ori) - len(ori.dropna())) + int(len(control) - len(control.dropna()))
    ori, syn, control = ori.dropna(), syn.dropna(), control.dropna()
    rng = np.random.default_rng(0)
    m = min(n, len(ori), len(control))
    train_rows = ori.iloc[rng.choice(len(ori), m, replace=False)]
    control_rows = control.iloc[rng.choice(len(control), m, replace=False)]
    knn = MixedTypeKNeighbors(n_neighbors=1, n_jobs=1).fit(syn)
    # One query for both sides: anonymeter scales each numerical column by its range over the
    # candidates and that call's queries, so separate calls measure training and held-out rows
    # in different units whenever one side holds an outlier (diamonds' y up to 58.9 against
    # 10.5 otherwise: the ratio of two real, disjoint samples came out 1.15 instead of 1).
    both = pd.concat([train_rows, control_rows], ignore_index=True)
    both_d, _ = knn.kneighbors(both, return_distance=True)
    train_d, control_d = both_d[:m, 0], both_d[m:, 0]
    train_median, control_median = float(np.median(train_d)), float(np.median(control_d))
    # Bootstrap of the ratio of means, training and held-out rows resampled independently.
    boot = np.random.default_rng(1)
    control_means = boot.choice(control_d, (BOOTSTRAP_ROUNDS, m)).mean(axis=1)
    train_means = boot.choice(train_d, (BOOTSTRAP_ROUNDS, m)).mean(axis=1)
    ratios = control_means / np.maximum(train_means, 1e-12)
    # The headline is the ratio of means: medians of Gower distances are discrete on small or
    # integer-valued tables (wbcd: 0.5, 1 or 2 from one split to the next for independent
    # samples), means move by a few per cent.
    return {
        "dcr_train_mean": float(np.mean(train_d)),
        "dcr_control_mean": float(np.mean(control_d)),
        "dcr_train_median": train_median,
        "dcr_control_median": control_median,
        "dcr_train_zero_share": float(np.mean(train_d == 0.0)),
        "dcr_control_zero_share": float(np.mean(control_d == 0.0)),
        "dcr_ratio": float(np.mean(control_d) / max(float(np.mean(train_d)), 1e-12)),
        "dcr_ratio_ci_low": float(np.percentile(ratios, 2.5)),
        "dcr_ratio_ci_high": float(np.percentile(ratios, 97.5)),
        "dcr_median_ratio": control_median / train_median if train_median > 0 else None,
        "dcr_rows": m,
        "dcr_rows_with_missing_left_out": dropped,
        **_dcr_every_row(knn, ori, control, n),
    }


def _dcr_every_row(knn: Any, ori: pd.DataFrame, control: pd.DataFrame, n: int) -> dict[str, Any]:
    """The same ratio with every training row (at most ``n`` per side), in its own call.

    The headline takes as many training rows as there are held-out rows, one fixed draw
    (german_credit: 300 of 700, the same rows for every seed and generator), so the choice of
    those rows moves every generator's ratio the same way; this figure averages over all of
    them. A diagnostic: the targets are judged on the headline.
    """
    rng = np.random.default_rng(2)
    a, b = min(n, len(ori)), min(n, len(control))
    train_rows = ori.iloc[np.sort(rng.choice(len(ori), a, replace=False))]
    control_rows = control.iloc[np.sort(rng.choice(len(control), b, replace=False))]
    both_d, _ = knn.kneighbors(
        pd.concat([train_rows, control_rows], ignore_index=True), return_distance=True
    )
    train_d, control_d = both_d[:a, 0], both_d[a:, 0]
    boot = np.random.default_rng(3)
    ratios = boot.choice(control_d, (BOOTSTRAP_ROUNDS, b)).mean(axis=1) / np.maximum(
        boot.choice(train_d, (BOOTSTRAP_ROUNDS, a)).mean(axis=1), 1e-12
    )
    return {
        "dcr_ratio_every_row": float(np.mean(control_d) / max(float(np.mean(train_d)), 1e-12)),
        "dcr_ratio_every_row_ci": [
            float(np.percentile(ratios, 2.5)),
            float(np.percentile(ratios, 97.5)),
        ],
        "dcr_every_row_rows": [a, b],
    }


#: Training subsamples drawn like the control for the matched singling-out figure.
MATCHED_DRAWS = 50


def _singling_out_sizes(
    singling: Any, ori: pd.DataFrame, control: pd.DataFrame, seed: int, max_attempts: int
) -> dict[str, Any]:
    """Singling-out risk without anonymeter's control-size model, two ways.

    ``uncorrected``: the same queries' successes on the control taken as they are (the control
    rescaled by 1, not by anonymeter's fitted factor). ``matched``: the queries on training
    subsamples drawn as the control was (as many raw rows, then deduplicated), mean successes of
    ``MATCHED_DRAWS`` draws against the control's; no size model, but only part of the training
    rows are present in each draw, so any membership signal is diluted (not a strict lower
    bound: on a table with few distinct rows it can read above the other two). Both use
    anonymeter's query generator (re-run with the evaluator's seed: the same 500 queries, checked)
    and its risk formula; they rely on anonymeter 1.1.0's private helpers (pinned in
    bench/requirements-metrics.txt).
    """
    import polars as pl
    from anonymeter.evaluators import singling_out_evaluator as soe
    from anonymeter.stats.confidence import EvaluationResults

    queries = soe._generate_singling_out_queries(
        df=singling._syn,
        mode="multivariate",
        n_attacks=singling._n_attacks,
        n_cols=singling._n_cols,
        max_attempts=max_attempts,
        rng=np.random.default_rng(seed),
    )
    hits = len(soe._evaluate_queries_and_return_successful(singling._ori, queries))
    if hits != singling._n_success:
        raise RuntimeError("singling out: the regenerated queries differ from the evaluator's")
    control_hits = len(soe._evaluate_queries_and_return_successful(singling._control, queries))
    raw = pl.DataFrame(ori)
    rng = np.random.default_rng(seed + 1)
    matched = [
        len(
            soe._evaluate_queries_and_return_successful(
                raw[np.sort(rng.choice(len(ori), len(control), replace=False))].unique(
                    maintain_order=True
                ),
                queries,
            )
        )
        for _ in range(MATCHED_DRAWS)
    ]

    def risk(success: float) -> dict[str, float]:
        found = EvaluationResults(
            n_attacks=len(queries),
            n_success=round(success),
            n_baseline=singling._n_baseline,
            n_control=control_hits,
            confidence_level=0.95,
        ).risk()
        return {
            "risk": float(found.value),
            "ci_low": float(found.ci[0]),
            "ci_high": float(found.ci[1]),
        }

    return {
        "training_unique_rows": len(singling._ori),
        "control_unique_rows": len(singling._control),
        "successes_training": hits,
        "successes_control": control_hits,
        "anonymeter_size_correction": float(singling._n_control) / max(control_hits, 1),
        "uncorrected": risk(hits),
        "matched": {**risk(float(np.mean(matched))), "successes_training": float(np.mean(matched))},
    }


def _attack(ori_path: str, syn_path: str, control_path: str, spec: dict[str, Any]) -> None:
    from anonymeter.evaluators import (
        InferenceEvaluator,
        LinkabilityEvaluator,
        SinglingOutEvaluator,
    )

    ori, syn, control = (pd.read_parquet(p) for p in (ori_path, syn_path, control_path))
    seed = int(spec.get("seed", 0))
    n_attacks = int(spec.get("n_attacks", 500))
    columns = list(ori.columns)
    out: dict[str, Any] = {}
    start = time.perf_counter()
    np.random.seed(seed)
    singling = SinglingOutEvaluator(
        ori=ori,
        syn=syn,
        control=control,
        n_attacks=n_attacks,
        n_cols=3,
        max_attempts=int(spec.get("max_attempts", 200_000)),
        seed=seed,
    )
    singling.evaluate(mode="multivariate")
    out["singling_out"] = _risk(singling)
    out["singling_out"]["sizes"] = _singling_out_sizes(
        singling, ori, control, seed, int(spec.get("max_attempts", 200_000))
    )
    link = LinkabilityEvaluator(
        ori=ori,
        syn=syn,
        control=control,
        # anonymeter samples its targets without replacement from both tables.
        n_attacks=min(n_attacks, len(ori), len(control)),
        aux_cols=(columns[0::2], columns[1::2]),
        n_neighbors=1,
    )
    link.evaluate(n_jobs=2)
    out["linkability"] = _risk(link)
    inference: dict[str, dict[str, float]] = {}
    regression = set(spec.get("regression", []))
    for secret in spec.get("secrets") or columns:
        np.random.seed(seed)
        evaluator = InferenceEvaluator(
            ori=ori,
            syn=syn,
            control=control,
            aux_cols=[c for c in columns if c != secret],
            secret=secret,
            regression=secret in regression,
            n_attacks=n_attacks,
        )
        evaluator.evaluate(n_jobs=2)
        inference[secret] = _risk(evaluator)
    out["inference"] = inference
    worst = max(inference, key=lambda s: inference[s]["risk"])
    out["inference_worst"] = {"secret": worst, **inference[worst]}
    out.update(_dcr(ori, syn, control, int(spec.get("dcr_rows", 5000))))
    out["seconds"] = time.perf_counter() - start
    print(json.dumps(out))


def main() -> None:
    """Dispatch ``generate`` or ``attack`` (see the module docstring)."""
    command, *args = sys.argv[1:]
    if command == "generate":
        method, train, out, spec = args
        _generate(method, train, out, json.loads(Path(spec).read_text()))
    elif command == "attack":
        ori, syn, control, spec = args
        _attack(ori, syn, control, json.loads(Path(spec).read_text()))
    elif command == "dcr":
        ori, syn, control, spec = args
        rows = int(json.loads(Path(spec).read_text()).get("dcr_rows", 5000))
        frames = [pd.read_parquet(path) for path in (ori, syn, control)]
        print(json.dumps(_dcr(*frames, rows)))
    else:
        raise SystemExit(f"unknown command {command!r}: generate, attack or dcr")


if __name__ == "__main__":
    main()
