"""Octopize-style inference metrics: how well a nearest-avatar attacker guesses the target.

The attacker knows ``known_variables`` for an individual and looks up the avatar most similar on
those variables, in a FAMD fitted on the avatars' known variables (what the attacker holds), with
``ncp = min(5, components)`` as in the paper-era ``inference_metrics.py``. The avatar's ``target``
value is the guess. The reported numbers are *error* scores in %, so that higher means safer, as
the targets ("> 10") require: SMAPE for a continuous target, 100 - accuracy for a categorical one.
"""

from __future__ import annotations

import numpy as np

from veil_service.engine.metrics.distances import nearest
from veil_service.engine.metrics.projection import fit_famd
from veil_service.engine.metrics.search_threads import INLINE, SearchPool
from veil_service.engine.metrics.tables import AlignedTables


def nearest_avatar_on(
    tables: AlignedTables, known: list[str], pool: SearchPool = INLINE
) -> np.ndarray:
    """Index of the avatar nearest to each original on the known variables (searched on
    ``pool``'s threads).

    Returns:
        For each original row, the row index of its nearest avatar (attacker's view: no link).
    """
    continuous = [c for c in known if c in tables.continuous]
    categorical = [c for c in known if c not in continuous]
    model = fit_famd(tables.avatars[known], continuous, categorical)
    ncp = min(5, model.n_components)
    avatar_coords = model.transform(tables.avatars[known], ncp)
    original_coords = model.transform(tables.original[known], ncp)
    return nearest(avatar_coords, original_coords, pool)


def smape(truth: np.ndarray, guess: np.ndarray) -> float:
    """Symmetric mean absolute percentage error in % (0 to 200); 0/0 counts as a perfect guess.

    Rows where either value is missing are left out.
    """
    keep = ~(np.isnan(truth) | np.isnan(guess))
    truth, guess = truth[keep], guess[keep]
    if len(truth) == 0:
        return float("nan")
    denominator = np.abs(truth) + np.abs(guess)
    error = np.zeros_like(truth)
    positive = denominator > 0
    error[positive] = 200.0 * np.abs(guess[positive] - truth[positive]) / denominator[positive]
    return float(error.mean())


def inference_metrics(
    tables: AlignedTables, known: list[str], target: str, index: np.ndarray | None = None
) -> dict[str, float | None]:
    """Inference risk scores for ``target`` given ``known``.

    Args:
        tables: The aligned tables.
        known: The attacker's known variables.
        target: The column the attacker infers.
        index: :func:`nearest_avatar_on` for ``known`` if already computed (the inference
            accuracy ratio uses the same search), else None to compute it.

    Returns:
        ``inference_continuous`` (SMAPE %, continuous target) or ``inference_categorical``
        (100 - accuracy %, categorical target); the other one is None. Also the attacker's raw
        score (accuracy % or R^2) for reading, and the majority-class baseline accuracy.
    """
    if index is None:
        index = nearest_avatar_on(tables, known)
    result: dict[str, float | None] = {
        "inference_continuous": None,
        "inference_categorical": None,
    }
    if target in tables.continuous:
        truth = tables.original[target].to_numpy(dtype=np.float64)
        guess = tables.avatars[target].to_numpy(dtype=np.float64)[index]
        result["inference_continuous"] = smape(truth, guess)
        keep = ~(np.isnan(truth) | np.isnan(guess))
        if keep.sum() > 1 and np.var(truth[keep]) > 0:
            residual = np.sum((truth[keep] - guess[keep]) ** 2)
            result["inference_r2"] = float(
                1.0 - residual / np.sum((truth[keep] - truth[keep].mean()) ** 2)
            )
    else:
        truth_codes, avatar_codes = tables.codes(target)[:2]
        accuracy = float(np.mean(truth_codes == avatar_codes[index]))
        result["inference_categorical"] = (1.0 - accuracy) * 100.0
        result["inference_accuracy"] = accuracy * 100.0
        result["inference_majority_accuracy"] = (
            float(np.bincount(truth_codes).max() / len(truth_codes)) * 100.0
        )
    return result
