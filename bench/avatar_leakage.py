"""Where avatars leak: weights, domination, duplicates and the hidden rate's tie rule.

Run from the repository root with the project venv::

    PYTHONPATH=service:client python bench/avatar_leakage.py [--tables adult,titanic]
        [--params '{"k": 20}' ...] [--seed 0]

For each table (the training splits of bench/privacy_utility.py) and each parameter set (default:
Octopize's, k=20, ncp=5), the avatarization runs with its weights kept
(``run_avatarization(..., keep_weights=True)``) and this prints:

* the weight of the nearest neighbour and the largest weight of each avatar (mean, median, share
  above 0.5 and 0.8): how much of an avatar is one other individual;
* domination: the share of originals that carry more than half of at least one other row's
  avatar, and, for each original, which avatar is nearest to it in the projection (its own, one
  it dominates, or another): an attacker who links a record to its nearest avatar finds the one
  that record dominates;
* duplicates: the share of originals that have an exact duplicate, of avatars equal to some
  original, and of avatars equal to an original that occurs once (a disclosed row);
* the hidden rate with its lowest-index tie rule, with ties broken at random, and with ties
  counted as found, and the share of originals tied with their own avatar (``privacy_metrics``
  details), plus the median local cloaking.

The last line is ``key=value`` pairs per table and parameter set.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree
from veil_service.engine.avatarize import AvatarizationParameters, run_avatarization
from veil_service.engine.metrics import privacy_metrics
from veil_service.engine.metrics.tables import as_declared_categories

sys.path.insert(0, str(Path(__file__).resolve().parent))
from privacy_utility import load_case

DEFAULT_TABLES = "adult,german_credit,titanic,adult_categorical,titanic_categorical"


def _row_keys(frame: pd.DataFrame) -> np.ndarray:
    return pd.util.hash_pandas_object(frame, index=False).to_numpy()


def leakage(
    train: pd.DataFrame, params: dict[str, Any], categorical: list[str], seed: int
) -> dict[str, float]:
    """Every figure of the module docstring for one table and one parameter set."""
    settings = {"categorical_columns": categorical, **params}
    result = run_avatarization(
        train, AvatarizationParameters(seed=seed, **settings), keep_weights=True
    )
    assert result.neighbours is not None and result.coefficients is not None
    coefficients, neighbours = result.coefficients, result.neighbours
    n = len(train)
    largest = coefficients.max(axis=1)
    share = {
        "nearest_weight_mean": float(coefficients[:, 0].mean()),
        "largest_weight_mean": float(largest.mean()),
        "largest_weight_median": float(np.median(largest)),
        "largest_over_0.5": float(np.mean(largest > 0.5)),
        "largest_over_0.8": float(np.mean(largest > 0.8)),
    }
    # Which original carries the largest share of each avatar, and how much of it.
    top = neighbours[np.arange(n), coefficients.argmax(axis=1)]
    dominated_by = np.full(n, -1)
    dominated_by[largest > 0.5] = top[largest > 0.5]
    dominators = np.bincount(top[largest > 0.5], minlength=n)
    share["originals_dominating_an_avatar"] = float(np.mean(dominators > 0))
    ncp = int(params.get("ncp", 5))
    originals = result.original_projections.to_numpy()[:, :ncp]
    avatars = result.avatar_projections.to_numpy()[:, :ncp]
    _, nearest = cKDTree(avatars).query(originals, k=1)
    own = nearest == np.arange(n)
    dominated = dominated_by[nearest] == np.arange(n)
    share["nearest_avatar_own"] = float(np.mean(own))
    share["nearest_avatar_dominated"] = float(np.mean(dominated & ~own))
    share["nearest_avatar_other"] = float(np.mean(~own & ~dominated))
    keys = _row_keys(train)
    values, counts = np.unique(keys, return_counts=True)
    avatar_keys = _row_keys(result.unshuffled[train.columns])
    share["originals_with_duplicate"] = float(np.mean(np.isin(keys, values[counts > 1])))
    share["avatars_equal_an_original"] = float(np.mean(np.isin(avatar_keys, values)))
    share["avatars_equal_a_unique_original"] = float(
        np.mean(np.isin(avatar_keys, values[counts == 1]))
    )
    share["avatar_equals_own_original"] = float(np.mean(avatar_keys == keys))
    # The integer columns avatarized as categories are measured as categories, as a run does.
    measured = as_declared_categories([train, result.unshuffled], categorical)
    metrics = privacy_metrics(*measured, ncp=ncp, compute_attacks=False)
    details = metrics["details"]
    share["hidden_rate"] = metrics["hidden_rate"]
    share["hidden_rate_if_ties_random"] = details["hidden_rate_if_ties_random"]
    share["hidden_rate_if_ties_found"] = details["hidden_rate_if_ties_found"]
    share["hidden_rate_tied_share"] = details["hidden_rate_tied_share"]
    share["local_cloaking"] = metrics["local_cloaking"]
    share["redrawn_rows"] = result.redrawn_rows
    return share


def main() -> None:
    """Print the figures per table and parameter set, then one ``key=value`` line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", default=DEFAULT_TABLES)
    parser.add_argument("--params", nargs="*", default=['{"k": 20, "ncp": 5}'])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    figures: dict[str, float] = {}
    for name in args.tables.split(","):
        case = load_case(name)
        for index, text in enumerate(args.params):
            params = json.loads(text)
            share = leakage(case.train, params, case.categorical_ints, args.seed)
            print(f"{name} {params}")
            for key, value in share.items():
                print(f"  {key:<36} {value:.3f}")
                figures[f"{name}_p{index}_{key}"] = value
    print(" ".join(f"{k}={v:.4f}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
