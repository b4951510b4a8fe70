"""What two choices of the metric projection change: modality pooling and mean filling.

Run from the repository root with the project venv::

    PYTHONPATH=service:client python bench/metric_choices.py

The distance metrics (hidden rate, local cloaking, distance to closest, closest distances ratio,
closest rate) are measured in a FAMD fitted on the original (docs/metrics.md). Two choices shape
that space; each is measured here on the same avatars (Veil, k=20, seed 0) by computing the
metrics with the choice and without it:

* ``MAX_MODALITIES`` (200): a categorical column with more modalities keeps its 199 most frequent
  and pools the rest into one "other" modality. Table: titanic (training split) with its
  ``ticket`` (hundreds of values) and ``home.dest`` columns kept as categoricals. Compared with no
  pooling (every value its own modality).
* Mean filling of missing numbers: a missing number takes the column's mean in the projection.
  Table: the Octopize fixture ``adult_with_missing`` (10 % missing in every column; its 32,561
  first rows). Compared with an alternative that adds, for each number with missing values, a
  categorical "is missing" column, so that a missing value is a modality rather than the mean.

The last line is ``key=value`` pairs.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from veil_service.engine.avatarize import avatarize
from veil_service.engine.metrics import privacy_metrics
from veil_service.engine.metrics import projection as projection_module

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from shared_data import SHARED_DATA

KEYS = ("hidden_rate", "local_cloaking", "distance_to_closest", "closest_rate")


def _metrics(original: pd.DataFrame, avatars: pd.DataFrame) -> dict[str, Any]:
    start = time.perf_counter()
    result = privacy_metrics(original, avatars, compute_attacks=False)
    out = {key: result[key] for key in KEYS}
    out["seconds"] = time.perf_counter() - start
    return out


def pooling() -> dict[str, Any]:
    """Metrics of titanic avatars with and without pooling modalities beyond 200."""
    df = pd.read_csv(SHARED_DATA / "tables" / "titanic_1309.csv", na_values="?")
    df = df[["pclass", "survived", "sex", "age", "sibsp", "parch", "fare", "embarked", "ticket"]]
    df = df.assign(ticket=df["ticket"].astype(str))
    train = df.sample(frac=0.7, random_state=0).reset_index(drop=True)
    avatars = avatarize(train, k=20, seed=0, categorical_columns=["pclass", "survived"]).unshuffled
    out: dict[str, Any] = {"ticket_modalities": int(train["ticket"].nunique())}
    rare = train["ticket"].map(train["ticket"].value_counts())
    top = train["ticket"].value_counts().iloc[: projection_module.MAX_MODALITIES - 1]
    out["rows_pooled_share"] = float((~train["ticket"].isin(top.index)).mean())
    out["rows_with_unique_ticket_share"] = float((rare == 1).mean())
    out["pooled"] = _metrics(train, avatars)
    saved = projection_module.MAX_MODALITIES
    projection_module.MAX_MODALITIES = 10**9
    try:
        out["not_pooled"] = _metrics(train, avatars)
    finally:
        projection_module.MAX_MODALITIES = saved
    return out


def _with_indicators(frame: pd.DataFrame, numbers: list[str]) -> pd.DataFrame:
    extra = {f"{c}__missing": frame[c].isna().map({True: "yes", False: "no"}) for c in numbers}
    return frame.assign(**extra)


def mean_filling() -> dict[str, Any]:
    """Metrics of adult_with_missing avatars with mean filling and with missing indicators."""
    df = pd.read_csv(SHARED_DATA / "avatar" / "fixtures" / "adult_with_missing.csv").head(32_561)
    avatars = avatarize(df, k=20, seed=0).unshuffled
    numbers = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c]) and df[c].isna().any()]
    out: dict[str, Any] = {
        "rows_with_a_missing_number_share": float(df[numbers].isna().any(axis=1).mean()),
        "numbers_with_missing": len(numbers),
    }
    out["mean_filled"] = _metrics(df, avatars)
    out["with_indicators"] = _metrics(
        _with_indicators(df, numbers), _with_indicators(avatars, numbers)
    )
    return out


def main() -> None:
    """Print both comparisons, then one ``key=value`` line."""
    figures: dict[str, float] = {}
    for name, result in (("pooling", pooling()), ("mean_filling", mean_filling())):
        print(name)
        for key, value in result.items():
            if isinstance(value, dict):
                row = " ".join(f"{k}={v:.3f}" for k, v in value.items())
                print(f"  {key:<18} {row}")
                figures.update({f"{name}_{key}_{k}": float(v) for k, v in value.items()})
            else:
                print(f"  {key:<18} {value:.3f}")
                figures[f"{name}_{key}"] = float(value)
    print(" ".join(f"{k}={v:.4f}" for k, v in figures.items()))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
