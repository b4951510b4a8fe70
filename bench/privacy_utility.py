"""Privacy under attack and utility of Veil's avatars, side by side with SDV's generators.

Run from the repository root with the project venv (the baselines and anonymeter run in the bench
venv, ``make bench-env``)::

    PYTHONPATH=service:client python bench/privacy_utility.py [--tables adult,wbcd]
        [--generators veil,gaussian_copula,ctgan] [--veil-params '{"k": 20}']
        [--veil-configs '{"veil_paper": {"max_weight": 1, "local_noise": 0}}'] [--advised]
        [--ctgan-epochs 30] [--n-attacks 500] [--json out.json] [--cache DIR]

``--veil-configs`` adds labelled Veil parameter sets (run after ``veil``, before the baselines);
``--cache DIR`` keeps every row (Veil rows keyed by their parameters) so that a rerun only computes
what is new: anonymeter takes minutes per table and generator on Adult.

For every table of ``shared/data/tables`` (Adult, german_credit, titanic, diamonds, penguins,
wbcd) and the duplicate-heavy tables built from them (Adult's categorical columns only, titanic's
categorical columns only), each generator is fitted on the training split (Adult: adult_train;
the others: a seeded 70 % split) and the held-out split is the control set. Printed per table and
generator, Veil first:

* anonymeter 1.1.0 (the real package): singling-out (multivariate), linkability (all columns in
  two halves), worst inference (each column the secret, every other column known), each with the
  control split (singling-out also without anonymeter's control-size correction, which is
  defective in 1.1.0: ``uncorrected`` and ``matched``, bench/_privacy_worker.py; the targets are
  judged on anonymeter's own figure); the distance-to-closest-record ratio held-out / training
  (Gower-like, anonymeter's ``MixedTypeKNeighbors``; 1 means no membership signal);
* for Veil, which keeps the avatar-original link: hidden rate and median local cloaking
  (``privacy_metrics``, ncp of the avatarization), and the share of avatars equal to an original row
  that occurs once in the table (for the baselines too);
* utility: a random forest trained on the synthetic rows and one trained on the real rows, both
  scored on the held-out split (ROC AUC; macro one-vs-rest AUC for several classes; R2 for a
  number): the difference and the ratio;
* wall seconds of the generation.

After each table, a wall-clock summary across its generators, Veil first: generation, attacks
(anonymeter and the distance ratio), utility (the random forest) and total seconds of each row,
each baseline's generation time over Veil's, and, for a row read from ``--cache``, the time and
load of the run that measured it (a cached row's seconds are that run's, not this one's).

Targets (issue 21): hidden rate > 90 %, 0 unique originals copied, local cloaking >= 10, each
anonymeter risk <= max(0.10, 1.5 x GaussianCopula's), DCR ratio <= 1.1, utility within 0.03.

The last line is ``key=value`` pairs: per table and generator the three risks, the DCR ratio, the
utility difference, the generation seconds and the total wall seconds (``_wall_seconds``), then
``<label>_targets_met`` (tables where that Veil parameter set meets every target) out of
``tables``, and ``<label>_ci_targets_met``: the same
where a risk counts as missed only when anonymeter's 95 % interval lies above its bound (a worst
inference is the largest of one noisy estimate per column, see ``risks_significantly_above``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.metrics import r2_score, roc_auc_score
from veil_service.engine.avatarize import avatarize
from veil_service.engine.metrics import privacy_metrics
from veil_service.engine.metrics.tables import as_declared_categories

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from shared_data import SHARED_DATA

ROOT = Path(__file__).resolve().parent.parent
TABLES = SHARED_DATA / "tables"
BENCH_PYTHON = ROOT / "bench" / ".venv-bench" / "bin" / "python"
WORKER = ROOT / "bench" / "_privacy_worker.py"
SPLIT_SEED = 0
TRAIN_SHARE = 0.7
UTILITY_TOLERANCE = 0.03
DCR_BOUND = 1.1


@dataclass
class Case:
    """One table: training split, held-out split, the utility target and its task."""

    name: str
    train: pd.DataFrame
    test: pd.DataFrame
    target: str
    task: str  # binary, multiclass or regression
    categorical_ints: list[str] = field(default_factory=list)

    @property
    def regression_secrets(self) -> list[str]:
        """Numeric columns with many values: anonymeter judges their guesses within 5 %."""
        return [
            c
            for c in self.train.columns
            if pd.api.types.is_numeric_dtype(self.train[c])
            and c not in self.categorical_ints
            and self.train[c].nunique() > 10
        ]


def _split(name: str, df: pd.DataFrame, target: str, task: str, ints: list[str]) -> Case:
    order = np.random.default_rng(SPLIT_SEED).permutation(len(df))
    cut = int(TRAIN_SHARE * len(df))
    train = df.iloc[order[:cut]].reset_index(drop=True)
    test = df.iloc[order[cut:]].reset_index(drop=True)
    return Case(name, train, test, target, task, ints)


def _adult() -> tuple[pd.DataFrame, pd.DataFrame]:
    train = pd.read_csv(TABLES / "adult_train.csv")
    test = pd.read_csv(TABLES / "adult_test.csv")[train.columns]
    test["income"] = test["income"].str.rstrip(".")
    return train, test


def _few_values(df: pd.DataFrame, limit: int = 10) -> list[str]:
    """Integer columns with at most ``limit`` values: categorical, as the paper did."""
    return [
        c for c in df.columns if pd.api.types.is_integer_dtype(df[c]) and df[c].nunique() <= limit
    ]


def load_case(name: str) -> Case:
    """Load one benchmark table by name (see the module docstring)."""
    if name in ("adult", "adult_categorical"):
        train, test = _adult()
        if name == "adult_categorical":
            columns = [c for c in train.columns if train[c].dtype == object]
            train, test = train[columns], test[columns]
        return Case(name, train, test, "income", "binary", [])
    if name == "german_credit":
        df = pd.read_csv(TABLES / "german_credit.csv")
        return _split(name, df, "credit_risk", "binary", _few_values(df))
    if name in ("titanic", "titanic_categorical"):
        df = pd.read_csv(TABLES / "titanic_1309.csv", na_values="?")
        df = df[["pclass", "survived", "sex", "age", "sibsp", "parch", "fare", "embarked"]]
        if name == "titanic_categorical":
            df = df[["pclass", "survived", "sex", "sibsp", "parch", "embarked"]]
        return _split(name, df, "survived", "binary", _few_values(df))
    if name == "diamonds":
        df = pd.read_csv(TABLES / "diamonds.csv")
        return _split(name, df, "price", "regression", [])
    if name == "penguins":
        df = pd.read_csv(TABLES / "penguins.csv")
        return _split(name, df, "species", "multiclass", _few_values(df, 3))
    if name == "wbcd":
        df = pd.read_csv(TABLES / "wbcd.csv")
        return _split(name, df, "Class", "binary", list(df.columns))
    raise SystemExit(f"unknown table {name!r}")


ALL_TABLES = (
    "adult",
    "german_credit",
    "titanic",
    "diamonds",
    "penguins",
    "wbcd",
    "adult_categorical",
    "titanic_categorical",
)


# ---------------------------------------------------------------- utility


def _features(frame: pd.DataFrame, case: Case) -> np.ndarray:
    out = frame.drop(columns=case.target).copy()
    for name in out.columns:
        reference = case.train[name]
        if not pd.api.types.is_numeric_dtype(reference):
            categories = sorted(reference.dropna().astype(str).unique())
            out[name] = pd.Categorical(out[name].astype(str), categories=categories).codes
        else:
            out[name] = pd.to_numeric(out[name], errors="coerce").fillna(reference.median())
    return out.to_numpy(np.float64)


def _score(model: Any, case: Case) -> float:
    x_test = _features(case.test, case)
    y_test = case.test[case.target]
    if case.task == "regression":
        return float(r2_score(y_test, model.predict(x_test)))
    proba = model.predict_proba(x_test)
    classes = list(model.classes_)
    if case.task == "binary":
        positive = classes[-1]
        column = proba[:, -1] if len(classes) == 2 else np.zeros(len(y_test))
        return float(roc_auc_score((y_test == positive).astype(int), column))
    full = np.zeros((len(y_test), y_test.nunique()))
    labels = sorted(y_test.unique())
    for j, label in enumerate(labels):
        if label in classes:
            full[:, j] = proba[:, classes.index(label)]
    full /= np.maximum(full.sum(axis=1, keepdims=True), 1e-12)
    return float(roc_auc_score(y_test, full, multi_class="ovr", labels=labels))


def utility(frame: pd.DataFrame, case: Case) -> float:
    """Test score of a random forest trained on ``frame`` (real or synthetic rows)."""
    frame = frame.dropna(subset=[case.target])
    kind = RandomForestRegressor if case.task == "regression" else RandomForestClassifier
    model = kind(n_estimators=100, min_samples_leaf=3, n_jobs=2, random_state=0)
    model.fit(_features(frame, case), frame[case.target])
    return _score(model, case)


# ---------------------------------------------------------------- generators


def _write(frame: pd.DataFrame, folder: Path, name: str) -> str:
    path = folder / f"{name}.parquet"
    frame.to_parquet(path)
    return str(path)


def _worker(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [str(BENCH_PYTHON), str(WORKER), *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench worker failed: {done.stderr.strip()[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run_veil(case: Case, params: dict[str, Any], seed: int) -> tuple[pd.DataFrame, float, Any]:
    """Avatarize the training split; returns the unshuffled avatars, seconds and the result."""
    params = dict(params)
    params.setdefault("categorical_columns", case.categorical_ints)
    start = time.perf_counter()
    result = avatarize(case.train, seed=seed, **params)
    return result.unshuffled, time.perf_counter() - start, result


def run_baseline(case: Case, method: str, folder: Path, epochs: int) -> tuple[pd.DataFrame, float]:
    """Fit and sample an SDV baseline in the bench venv."""
    spec = folder / f"{method}_spec.json"
    spec.write_text(json.dumps({"categorical": case.categorical_ints, "epochs": epochs}))
    out = folder / f"{method}.parquet"
    result = _worker("generate", method, _write(case.train, folder, "train"), str(out), str(spec))
    return pd.read_parquet(out), float(result["seconds"])


# ---------------------------------------------------------------- privacy


def unique_copies(original: pd.DataFrame, synthetic: pd.DataFrame) -> float:
    """Share of synthetic rows equal to an original row that occurs once in the original."""
    columns = list(original.columns)
    keys = original.astype(str).agg("\x1f".join, axis=1)
    counts = keys.value_counts()
    unique = set(counts.index[counts == 1])
    syn = synthetic[columns].astype(original.dtypes.to_dict(), errors="ignore")
    syn_keys = syn.astype(str).agg("\x1f".join, axis=1)
    return float(syn_keys.isin(unique).mean())


def attacks(
    case: Case, synthetic: pd.DataFrame, folder: Path, n_attacks: int, seed: int
) -> dict[str, Any]:
    """anonymeter's three attacks and the DCR ratio, in the bench venv."""
    spec = folder / "attack_spec.json"
    spec.write_text(
        json.dumps({"regression": case.regression_secrets, "n_attacks": n_attacks, "seed": seed})
    )
    syn = synthetic[case.train.columns].astype(case.train.dtypes.to_dict(), errors="ignore")
    return _worker(
        "attack",
        _write(case.train, folder, "ori"),
        _write(syn, folder, "syn"),
        _write(case.test, folder, "control"),
        str(spec),
    )


def veil_metrics(case: Case, unshuffled: pd.DataFrame, ncp: int) -> dict[str, Any]:
    """Veil's hidden rate and local cloaking (the avatar-original link is known), with the
    integer columns avatarized as categories measured as categories, as a run measures them
    (until 2026-12-07 they were measured as numbers here: wbcd's cloaking read 33-44 for 15-18,
    docs/benchmarks.md, "The same defect in the metrics jobs")."""
    original, avatars = as_declared_categories([case.train, unshuffled], case.categorical_ints)
    result = privacy_metrics(
        original, avatars, ncp=ncp, compute_attacks=False, table_name=case.name
    )
    return {
        "hidden_rate": result["hidden_rate"],
        "local_cloaking": result["local_cloaking"],
        "details": {k: v for k, v in result["details"].items() if not isinstance(v, dict)},
    }


# ---------------------------------------------------------------- driver


def evaluate(
    case: Case, generator: str, args: argparse.Namespace, params: dict[str, Any]
) -> dict[str, Any]:
    """Generate, attack and score one table with one generator."""
    row: dict[str, Any] = {"table": case.name, "generator": generator}
    row["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    row["load_average"] = os.getloadavg()[0]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if generator == "veil":
            synthetic, seconds, result = run_veil(case, params, args.seed)
            row["params"] = params
            ncp = int(params.get("ncp", 5))
            row.update(veil_metrics(case, synthetic, min(ncp, result.avatar_projections.shape[1])))
        else:
            synthetic, seconds = run_baseline(case, generator, folder, args.ctgan_epochs)
        row["seconds"] = seconds
        row["unique_copies"] = unique_copies(case.train, synthetic)
        risks = attacks(case, synthetic, folder, args.n_attacks, args.seed)
    row["singling_out"] = risks["singling_out"]["risk"]
    sizes = risks["singling_out"].get("sizes", {})
    if sizes:
        row["singling_out_uncorrected"] = sizes["uncorrected"]["risk"]
        row["singling_out_matched"] = sizes["matched"]["risk"]
    row["linkability"] = risks["linkability"]["risk"]
    row["inference_worst"] = risks["inference_worst"]["risk"]
    row["inference_worst_secret"] = risks["inference_worst"]["secret"]
    row["dcr_ratio"] = risks["dcr_ratio"]
    if "dcr_ratio_every_row" in risks:
        row["dcr_ratio_every_row"] = risks["dcr_ratio_every_row"]
    row["attacks"] = risks
    row["utility_real"] = args.real_scores[case.name]
    scoring = time.perf_counter()
    row["utility_synthetic"] = utility(synthetic, case)
    row["utility_seconds"] = time.perf_counter() - scoring
    row["utility_diff"] = row["utility_real"] - row["utility_synthetic"]
    row["utility_ratio"] = row["utility_synthetic"] / row["utility_real"]
    row["wall_seconds"] = time.perf_counter() - started
    return row


def wall_clock(row: dict[str, Any]) -> dict[str, float | None]:
    """A row's seconds: generation, attacks, utility and total (None where a row of an older
    cache did not record them; its total is then generation + attacks, a lower bound)."""
    attacks_seconds = float(row["attacks"].get("seconds", 0.0))
    utility_seconds = row.get("utility_seconds")
    total = row.get("wall_seconds")
    return {
        "generation": float(row["seconds"]),
        "attacks": attacks_seconds,
        "utility": None if utility_seconds is None else float(utility_seconds),
        "total": float(total) if total is not None else float(row["seconds"]) + attacks_seconds,
    }


def wall_clock_lines(table: str, rows: dict[str, dict[str, Any]]) -> list[str]:
    """The table's wall-clock summary across its generators, Veil's rows first."""
    labels = sorted(rows, key=lambda label: (not label.startswith("veil"), list(rows).index(label)))
    veil = rows.get("veil")
    lines = [f"  wall clock {table}:"]
    for label in labels:
        row = rows[label]
        clock = wall_clock(row)
        utility_text = "?" if clock["utility"] is None else f"{clock['utility']:.0f}"
        total_text = f"{clock['total']:.0f}" + ("" if row.get("wall_seconds") else "+")
        ratio = ""
        if veil is not None and label != "veil" and veil["seconds"] > 0:
            ratio = f", generation {row['seconds'] / veil['seconds']:.1f}x Veil's"
        origin = ""
        if row.get("cached"):
            when = row.get("measured_at", "an earlier run")
            load = row.get("load_average")
            origin = f" [cached: {when}" + ("" if load is None else f", load {load:.1f}") + "]"
        lines.append(
            f"    {label:<16} generation {clock['generation']:.1f}s "
            f"attacks {clock['attacks']:.0f}s utility {utility_text}s "
            f"total {total_text}s{ratio}{origin}"
        )
    return lines


def _line(row: dict[str, Any]) -> str:
    so_sizes = ""
    if "singling_out_uncorrected" in row:
        so_sizes = (
            f" (uncorrected {row['singling_out_uncorrected']:.3f},"
            f" matched {row['singling_out_matched']:.3f})"
        )
    dcr_all = ""
    if "dcr_ratio_every_row" in row:
        dcr_all = f" (every row {row['dcr_ratio_every_row']:.2f})"
    veil = ""
    if "hidden_rate" in row:
        veil = f" hidden {row['hidden_rate']:.1f}% cloaking {row['local_cloaking']:.0f}"
    return (
        f"{row['table']:<20} {row['generator']:<16} SO {row['singling_out']:.3f}{so_sizes} "
        f"LK {row['linkability']:.3f} INF {row['inference_worst']:.3f} "
        f"({row['inference_worst_secret']}) DCR {row['dcr_ratio']:.2f}{dcr_all} "
        f"uniq {100 * row['unique_copies']:.2f}%{veil} util {row['utility_synthetic']:.3f}/"
        f"{row['utility_real']:.3f} (ratio {row['utility_ratio']:.3f}) {row['seconds']:.1f}s"
        f" (attacks {row['attacks']['seconds']:.0f}s)"
    )


def targets_met(veil: dict[str, Any], copula: dict[str, Any] | None) -> dict[str, bool]:
    """Which of issue 21's targets Veil's row meets (the copula row bounds the risks)."""
    met = {
        "hidden_rate": veil["hidden_rate"] > 90.0,
        "unique_copies": veil["unique_copies"] == 0.0,
        "local_cloaking": veil["local_cloaking"] >= 10,
        "dcr_ratio": veil["dcr_ratio"] <= DCR_BOUND,
        "utility": veil["utility_diff"] <= UTILITY_TOLERANCE,
    }
    for risk in ("singling_out", "linkability", "inference_worst"):
        bound = max(0.10, 1.5 * copula[risk]) if copula else 0.10
        met[risk] = veil[risk] <= bound
    return met


def risks_significantly_above(
    veil: dict[str, Any], copula: dict[str, Any] | None
) -> dict[str, bool]:
    """Which risk targets Veil's row misses beyond their 95 % confidence interval.

    A worst inference risk is the largest of one estimate per column, each from a few hundred
    control rows, so it is biased upwards and its point estimate misses a bound by chance more
    often than not on small tables. This reads a miss as real only when the interval's lower end
    is above the bound (for inference: the lower end of any column's interval).
    """
    attacks = veil["attacks"]
    out = {}
    for risk in ("singling_out", "linkability", "inference_worst"):
        bound = max(0.10, 1.5 * copula[risk]) if copula else 0.10
        if risk == "inference_worst":
            lows = [found["ci_low"] for found in attacks["inference"].values()]
        else:
            lows = [attacks[risk]["ci_low"]]
        out[risk] = max(lows) > bound
    # The distance ratio's bootstrap interval (bench/_privacy_worker.py) is read the same way.
    out["dcr_ratio"] = float(attacks.get("dcr_ratio_ci_low", veil["dcr_ratio"])) > DCR_BOUND
    return out


def main() -> None:
    """Run every table and generator asked for; print the rows, then one key=value line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", default=",".join(ALL_TABLES))
    parser.add_argument("--generators", default="veil,gaussian_copula,ctgan")
    parser.add_argument("--veil-params", default="{}", help="JSON avatarize keyword arguments")
    parser.add_argument(
        "--veil-configs", default="{}", help="JSON {label: avatarize keyword arguments}"
    )
    parser.add_argument("--advised", action="store_true", help="also run Veil with the advice")
    parser.add_argument("--ctgan-epochs", type=int, default=30)
    parser.add_argument("--n-attacks", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="write every row here")
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="folder keeping the baselines' rows between runs (they do not depend on Veil)",
    )
    args = parser.parse_args()
    generators = args.generators.split(",")
    if not BENCH_PYTHON.exists():
        raise SystemExit(f"{BENCH_PYTHON} missing: run `make bench-env` first")
    print(f"load average {os.getloadavg()[0]:.1f}", flush=True)
    rows: list[dict[str, Any]] = []
    figures: dict[str, Any] = {}
    met_count: dict[str, int] = {}
    tables = 0
    args.real_scores = {}
    for name in args.tables.split(","):
        case = load_case(name)
        args.real_scores[name] = utility(case.train, case)
        runs: list[tuple[str, str, dict[str, Any]]] = []
        if "veil" in generators:
            runs.append(("veil", "veil", json.loads(args.veil_params)))
            for label, params in json.loads(args.veil_configs).items():
                runs.append(("veil", label, params))
            if args.advised:
                runs.append(("veil", "veil_advised", _advised(case)))
        runs += [(g, g, {}) for g in generators if g != "veil"]
        table_rows: dict[str, dict[str, Any]] = {}
        for generator, label, params in runs:
            row = _cached(args, case, generator, params)
            if row is None:
                row = evaluate(case, generator, args, params)
                _store(args, case, generator, params, row)
            else:
                row["cached"] = True
            row["generator"] = label
            table_rows[label] = row
            rows.append(row)
            print(_line(row), flush=True)
            for key in ("singling_out", "linkability", "inference_worst", "dcr_ratio"):
                figures[f"{name}_{label}_{key}"] = row[key]
            for key in ("singling_out_uncorrected", "singling_out_matched", "dcr_ratio_every_row"):
                if key in row:
                    figures[f"{name}_{label}_{key}"] = row[key]
            figures[f"{name}_{label}_utility_diff"] = row["utility_diff"]
            figures[f"{name}_{label}_seconds"] = row["seconds"]
            figures[f"{name}_{label}_wall_seconds"] = wall_clock(row)["total"]
        for text in wall_clock_lines(name, table_rows):
            print(text, flush=True)
        copula = table_rows.get("gaussian_copula")
        for label in [label for label in table_rows if label.startswith("veil")]:
            met = targets_met(table_rows[label], copula)
            table_rows[label]["targets_met"] = met
            missed = [k for k, ok in met.items() if not ok]
            print(f"  {label} targets: {'all met' if not missed else 'missed ' + str(missed)}")
            met_count[label] = met_count.get(label, 0) + all(met.values())
            above = risks_significantly_above(table_rows[label], copula)
            table_rows[label]["risks_significantly_above"] = above
            real = [k for k in missed if k not in above or above[k]]
            print(
                f"  {label} beyond anonymeter's 95 % interval: "
                f"{'all met' if not real else 'missed ' + str(real)}"
            )
            met_count[f"{label}_ci"] = met_count.get(f"{label}_ci", 0) + (not real)
        tables += "veil" in table_rows
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=1, default=str))
    for label, count in met_count.items():
        figures[f"{label}_targets_met"] = count
    figures["tables"] = tables
    print(
        " ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items())
    )


def _cache_path(
    args: argparse.Namespace, case: Case, generator: str, params: dict[str, Any]
) -> Path | None:
    if args.cache is None:
        return None
    epochs = f"_e{args.ctgan_epochs}" if generator == "ctgan" else ""
    if generator == "veil":
        digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]
        epochs = f"_{digest}"
    return args.cache / f"{case.name}_{generator}{epochs}_s{args.seed}_a{args.n_attacks}.json"


def _cached(
    args: argparse.Namespace, case: Case, generator: str, params: dict[str, Any]
) -> dict[str, Any] | None:
    path = _cache_path(args, case, generator, params)
    if path is None or not path.exists():
        return None
    row: dict[str, Any] = json.loads(path.read_text())
    return row


def _store(
    args: argparse.Namespace,
    case: Case,
    generator: str,
    params: dict[str, Any],
    row: dict[str, Any],
) -> None:
    path = _cache_path(args, case, generator, params)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(row, default=str))


def _advised(case: Case) -> dict[str, Any]:
    """The privacy-targeted advice's parameters (issue 21's targets) for the training split."""
    from veil_service.engine.privacy_advice import advise_privacy

    start = time.perf_counter()
    search = advise_privacy(
        case.train,
        privacy_targets={},
        categorical_columns=case.categorical_ints,
        target=case.target,
        seed=0,
    )
    print(
        f"  advice ({time.perf_counter() - start:.0f} s, binding {search.binding}): "
        f"{search.parameters} {search.reason}",
        flush=True,
    )
    return dict(search.parameters)


if __name__ == "__main__":
    main()
