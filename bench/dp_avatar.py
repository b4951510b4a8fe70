"""Benchmark of DP avatarization on Adult: Open DP and Fast DP against smartnoise-synth's MST
and AIM at the same ε (0.1, 1, 10).

Run from the repository root with the project venv (smartnoise-synth is in the ``dp`` extra)::

    PYTHONPATH=service:client python bench/dp_avatar.py [--rows 10000] [--epsilons 0.1,1,10]

Every generator is fitted on the same ``--rows`` rows sampled from adult_train (default 10,000:
AIM on the full 32,561 rows ran over 90 minutes at ε=1 on this machine) and generates as many
rows. For each it reports:

* quality: SDMetrics' QualityReport score computed with SDMetrics' formulas (column shapes:
  KSComplement for numeric columns, TVComplement for categorical ones; column pair trends:
  CorrelationSimilarity for numeric pairs, ContingencySimilarity on 10 quantile bins for the
  others), averaged as SDMetrics averages them;
* utility: ROC AUC on adult_test of a gradient-boosting model trained on the generated rows to
  predict income (the same model trained on the real rows is the ceiling);
* wall time and CPU time (user + system) of fit + generation; every method runs with
  single-threaded native libraries, as Veil's engine workers do.

Every end-to-end DP method runs at the same (ε, δ), δ = 1e-9 (smartnoise-synth's default; Open DP
converts its zCDP budget at that δ with OpenDP, as MST and AIM convert theirs). Public
information is the same for every method: the categories of the categorical columns are
read from the data (smartnoise-synth does so), numeric bounds are learnt under DP (MST and AIM
with ``preprocessor_eps`` = 10 % of ε, Open DP with its preprocessing budget). ``open_dp`` is told
that income is the column to predict (``target_column``: its pairs with every column are
measured, a public choice); ``open_dp_untargeted`` selects every pair under DP. ``open_dp_strict``
also learns the categories under DP (nothing public: Veil's default in a run).
``--public-bounds`` declares Adult's documented numeric ranges to every end-to-end DP method
(Open DP's ``public_domains``, smartnoise-synth's ``BinTransformer(lower=, upper=)``, no
preprocessing budget): at ε=0.1 smartnoise-synth cannot learn bounds from 10 % of ε. Fast DP is not
end-to-end DP (percentile bounds), shown for reference. Each method runs in a subprocess with a
time limit (``--timeout`` seconds, default 1800); one that exceeds it is reported as such.

AIM's settings: smartnoise-synth's ``AIMSynthesizer`` runs ``rounds`` = 16 x columns (240 on Adult)
by default, each round a 1,000-iteration mirror descent, and did not finish in 2,400 s at ε=1 on
this machine. ``--aim-rounds`` (default 60) sets ``rounds``, a constructor argument of
``AIMSynthesizer`` (fewer rounds: fewer marginals measured, each with more of the budget); every
other setting is smartnoise-synth's default (degree 2, max_model_size 80 MB, max_cells 10,000,
continuous columns cut in its 10 DP-bounded bins). The value is printed in the last line.
``--aim-rounds 0`` keeps the library's default.

``--iid-baselines`` makes MST and AIM draw their rows as Open DP does, each row independently
from the fitted model (mbi's ``synthetic_data(method="sample")``). smartnoise-synth calls mbi's
default, ``method="round"``, which in mbi 1.1.0 draws every column that has the same parents from
nearly the same uniform in a row (the row's rank within its parents' group): sibling columns
come out comonotone, a dependence the model does not hold (docs/benchmarks.md, 2026-12-05
afternoon). Without the flag the baselines run as the library ships them.

``--repeats N`` runs each method N times (OpenDP draws its noise from its own generator, unseeded
as DP requires: Open DP's AUC at ε=1 varied from 0.68 to 0.83 between runs before its rows were
drawn independently, 0.869 to 0.887 since);
the key=value line then gives the means and each run's AUC (``open_dp_auc_runs_eps1``).

The last line is ``key=value`` pairs, e.g. ``open_dp_auc_eps1=0.79 aim_auc_eps1=...``, with
Open DP's AUC over each baseline's measured in the same run (``open_dp_over_aim_auc_eps1``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from shared_data import SHARED_DATA

TABLES = SHARED_DATA / "tables"
METHODS = ("open_dp", "open_dp_untargeted", "open_dp_strict", "fast_dp", "mst", "aim")
#: The column the bench's model predicts: Open DP is told so (``target_column``), as an owner
#: releasing a table for an income model would; ``open_dp_untargeted`` is not.
TARGET = "income"
#: ``--public-bounds``: the numeric columns' ranges as Adult's documentation gives them (the
#: census codebook: ages 17-90, hours 1-99, education-num 1-16, capital gains top-coded at
#: 99,999, capital losses up to 4,356, fnlwgt below 1.5 million), declared to every end-to-end
#: DP method as public metadata: Open DP through ``public_domains``, MST and AIM through
#: smartnoise-synth's ``BinTransformer(lower=, upper=)``, so no budget goes to learning bounds.
PUBLIC_BOUNDS: dict[str, tuple[float, float]] = {
    "age": (17, 90),
    "fnlwgt": (0, 1_500_000),
    "education-num": (1, 16),
    "capital-gain": (0, 99_999),
    "capital-loss": (0, 4_356),
    "hours-per-week": (1, 99),
}
#: δ of every end-to-end DP method: smartnoise-synth's default for MST and AIM (Open DP converts
#: its zCDP budget to (ε, δ) at this δ, as they do).
DELTA = 1e-9


def load(rows: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``rows`` rows of adult_train (seeded sample) and adult_test (labels without the dot)."""
    train = pd.read_csv(TABLES / "adult_train.csv")
    if rows < len(train):
        train = train.sample(rows, random_state=0).reset_index(drop=True)
    test = pd.read_csv(TABLES / "adult_test.csv")
    test["income"] = test["income"].str.rstrip(".")
    return train, test


def categorical_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if df[c].dtype == object]


def generate(
    method: str,
    train: pd.DataFrame,
    epsilon: float,
    aim_rounds: int = 0,
    public_bounds: bool = False,
    iid_baselines: bool = False,
) -> pd.DataFrame:
    """Fit ``method`` on ``train`` at ``epsilon`` and generate ``len(train)`` rows (AIM with
    ``rounds=aim_rounds`` when positive; with ``public_bounds``, the end-to-end DP methods are
    given :data:`PUBLIC_BOUNDS`; with ``iid_baselines``, MST and AIM draw rows independently)."""
    categorical = categorical_columns(train)
    continuous = [c for c in train.columns if c not in categorical]
    if method in ("open_dp", "open_dp_untargeted", "open_dp_strict"):
        from veil_service.engine.dp_avatar import OpenDPParameters, open_dp_avatarize

        public = (
            {c: sorted(train[c].unique().tolist()) for c in categorical}
            if method != "open_dp_strict"
            else {}
        )
        if public_bounds:
            public.update({c: list(PUBLIC_BOUNDS[c]) for c in continuous})
        params = OpenDPParameters(
            epsilon=epsilon,
            public_domains=public,
            n_rows=len(train),
            seed=0,
            delta=DELTA,
            target_column=None if method == "open_dp_untargeted" else TARGET,
        )
        return open_dp_avatarize(train, params).avatars
    if method == "fast_dp":
        from veil_service.engine.dp_avatar import FastDPParameters, fast_dp_avatarize

        return fast_dp_avatarize(train, FastDPParameters(epsilon=epsilon, seed=0)).avatars
    from snsynth import Synthesizer

    if iid_baselines:
        _draw_rows_independently()
    warnings.filterwarnings("ignore")
    options: dict[str, int] = {"rounds": aim_rounds} if method == "aim" and aim_rounds > 0 else {}
    synthesizer = Synthesizer.create(method, epsilon=epsilon, delta=DELTA, verbose=False, **options)
    if public_bounds:
        from snsynth.transform import BinTransformer

        # Declared bounds: smartnoise-synth's 10 bins per continuous column over them, and
        # the whole ε for training (nothing left to learn in preprocessing).
        bounds = {
            c: BinTransformer(bins=10, lower=PUBLIC_BOUNDS[c][0], upper=PUBLIC_BOUNDS[c][1])
            for c in continuous
        }
        return synthesizer.fit_sample(
            train,
            transformer=bounds,
            categorical_columns=categorical,
            preprocessor_eps=0.0,
            nullable=False,
        )
    return synthesizer.fit_sample(
        train,
        categorical_columns=categorical,
        continuous_columns=continuous,
        preprocessor_eps=0.1 * epsilon,
        nullable=False,
    )


def _draw_rows_independently() -> None:
    """Make mbi's ``synthetic_data`` draw each row independently for smartnoise-synth's MST and
    AIM (which call it with the default ``method="round"``), as Open DP calls it."""
    from mbi.markov_random_field import MarkovRandomField

    shipped = MarkovRandomField.synthetic_data

    def independent_rows(
        self: MarkovRandomField, rows: int | None = None, method: str = ""
    ) -> object:
        return shipped(self, rows, method="sample")

    MarkovRandomField.synthetic_data = independent_rows  # type: ignore[method-assign]


def auc(synthetic: pd.DataFrame, train: pd.DataFrame, test: pd.DataFrame) -> float:
    """ROC AUC on adult_test of a model trained on ``synthetic`` to predict income."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    synthetic = synthetic.dropna(subset=["income"])
    labels = synthetic["income"].astype(str).str.startswith(">").astype(int)
    if labels.nunique() < 2:
        return 0.5
    categorical = [c for c in categorical_columns(train) if c != "income"]
    x = synthetic.drop(columns="income").copy()
    x_test = test.drop(columns="income").copy()
    for c in categorical:
        categories = pd.Categorical(train[c]).categories
        x[c] = pd.Categorical(x[c].astype(str), categories=categories).codes
        x_test[c] = pd.Categorical(x_test[c].astype(str), categories=categories).codes
    for c in x.columns:
        x[c] = pd.to_numeric(x[c], errors="coerce")
    features = [x.columns.get_loc(c) for c in categorical]
    model = HistGradientBoostingClassifier(random_state=0, categorical_features=features)
    model.fit(x, labels)
    truth = test["income"].str.startswith(">").astype(int)
    return float(roc_auc_score(truth, model.predict_proba(x_test)[:, 1]))


def quality(real: pd.DataFrame, synthetic: pd.DataFrame) -> float:
    """SDMetrics' QualityReport score: mean of column shapes and column pair trends."""
    categorical = set(categorical_columns(real))
    shapes = []
    for c in real.columns:
        if c in categorical:
            p = real[c].astype(str).value_counts(normalize=True)
            q = synthetic[c].astype(str).value_counts(normalize=True)
            shapes.append(1 - 0.5 * p.subtract(q, fill_value=0).abs().sum())
        else:
            from scipy.stats import ks_2samp

            values = pd.to_numeric(synthetic[c], errors="coerce").dropna()
            shapes.append(1 - ks_2samp(real[c], values).statistic if len(values) else 0.0)
    trends = []
    for a, b in combinations(real.columns, 2):
        if a not in categorical and b not in categorical:
            r = real[[a, b]].corr().iloc[0, 1]
            s = synthetic[[a, b]].apply(pd.to_numeric, errors="coerce").corr().iloc[0, 1]
            trends.append(1 - abs(r - (0.0 if np.isnan(s) else s)) / 2)
        else:
            p = _binned(real, a, b, real).value_counts(normalize=True)
            q = _binned(synthetic, a, b, real).value_counts(normalize=True)
            trends.append(1 - 0.5 * p.subtract(q, fill_value=0).abs().sum())
    return float((np.mean(shapes) + np.mean(trends)) / 2)


def _binned(df: pd.DataFrame, a: str, b: str, reference: pd.DataFrame) -> pd.Series:
    parts = []
    for c in (a, b):
        if reference[c].dtype == object:
            parts.append(df[c].astype(str))
        else:
            edges = np.unique(np.quantile(reference[c], np.linspace(0, 1, 11)))
            values = pd.to_numeric(df[c], errors="coerce")
            parts.append(
                pd.Series(np.searchsorted(edges[1:-1], values), index=df.index).astype(str)
            )
    return parts[0] + "\x1f" + parts[1]


def child(
    method: str,
    epsilon: float,
    rows: int,
    aim_rounds: int = 0,
    public_bounds: bool = False,
    iid_baselines: bool = False,
) -> dict[str, float]:
    """One method at one ε (run in a subprocess)."""
    train, test = load(rows)
    start, cpu_start = time.perf_counter(), _cpu_seconds()
    synthetic = generate(method, train, epsilon, aim_rounds, public_bounds, iid_baselines)
    seconds, cpu = time.perf_counter() - start, _cpu_seconds() - cpu_start
    return {
        "auc": auc(synthetic, train, test),
        "quality": quality(train, synthetic),
        "seconds": seconds,
        "cpu_seconds": cpu,
    }


def _cpu_seconds() -> float:
    """CPU time of this process and its waited-for children (user + system): the speed figure
    that holds on a loaded machine, where wall time mostly measures the other processes."""
    me, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def _one_thread_env() -> dict[str, str]:
    """Every method with single-threaded native libraries (as Veil's engine workers run): the
    same footing for all, and no oversubscribed BLAS threads spinning on a shared machine."""
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, "1")
    return env


def main() -> None:
    """Run every method at every ε and print the table and the key=value line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--epsilons", default="0.1,1,10")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--aim-rounds", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument(
        "--public-bounds",
        action="store_true",
        help="declare Adult's documented numeric ranges to every end-to-end DP method",
    )
    parser.add_argument(
        "--iid-baselines",
        action="store_true",
        help="MST and AIM draw each row independently from their model, as Open DP does",
    )
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "EPSILON"))
    args = parser.parse_args()
    if args.child:
        result = child(
            args.child[0],
            float(args.child[1]),
            args.rows,
            args.aim_rounds,
            args.public_bounds,
            args.iid_baselines,
        )
        print(json.dumps(result))
        return
    train, test = load(args.rows)
    ceiling = auc(train, train, test)
    print(f"real rows ({len(train)}): AUC on adult_test {ceiling:.3f}")
    pairs: dict[str, str] = {
        "rows": str(len(train)),
        "real_auc": f"{ceiling:.3f}",
        "aim_rounds": str(args.aim_rounds or "default"),
        "public_bounds": str(args.public_bounds).lower(),
        "iid_baselines": str(args.iid_baselines).lower(),
    }
    for epsilon in (float(e) for e in args.epsilons.split(",")):
        tag = f"eps{epsilon:g}".replace(".", "_")
        aucs: dict[str, list[float]] = {}
        for method in args.methods.split(","):
            runs = [_run_child(args, method, epsilon) for _ in range(args.repeats)]
            done = [r for r in runs if isinstance(r, dict)]
            for result in done:
                print(
                    f"eps={epsilon:g} {method:15s} auc={result['auc']:.3f} "
                    f"quality={result['quality']:.3f} seconds={result['seconds']:.1f} "
                    f"cpu_seconds={result['cpu_seconds']:.1f}",
                    flush=True,
                )
            for failure in (r for r in runs if isinstance(r, str)):
                print(f"eps={epsilon:g} {method}: {failure}", flush=True)
            if not done:
                pairs[f"{method}_auc_{tag}"] = "timeout" if "over" in str(runs[0]) else "failed"
                continue
            aucs[method] = [r["auc"] for r in done]
            for key in ("auc", "quality"):
                pairs[f"{method}_{key}_{tag}"] = f"{np.mean([r[key] for r in done]):.3f}"
            for key in ("seconds", "cpu_seconds"):
                pairs[f"{method}_{key}_{tag}"] = f"{np.mean([r[key] for r in done]):.1f}"
            if len(done) > 1:
                pairs[f"{method}_auc_runs_{tag}"] = "/".join(f"{a:.3f}" for a in aucs[method])
        # Open DP's AUC over each baseline's, from the same run (means over the repeats).
        for baseline in ("mst", "aim"):
            if "open_dp" in aucs and baseline in aucs:
                ratio = np.mean(aucs["open_dp"]) / np.mean(aucs[baseline])
                pairs[f"open_dp_over_{baseline}_auc_{tag}"] = f"{ratio:.3f}"
    print(" ".join(f"{key}={value}" for key, value in pairs.items()))


def _run_child(args: argparse.Namespace, method: str, epsilon: float) -> dict[str, float] | str:
    """One method at one ε in a subprocess: its figures, or why there are none."""
    command = [
        sys.executable,
        __file__,
        "--rows",
        str(args.rows),
        "--aim-rounds",
        str(args.aim_rounds),
        *(["--public-bounds"] if args.public_bounds else []),
        *(["--iid-baselines"] if args.iid_baselines else []),
        "--child",
        method,
        str(epsilon),
    ]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=args.timeout,
            check=False,
            env=_one_thread_env(),
        )
    except subprocess.TimeoutExpired:
        return f"over {args.timeout:.0f} s, stopped"
    if done.returncode != 0:
        return f"failed: {done.stderr.strip().splitlines()[-1:]}"
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


if __name__ == "__main__":
    main()
