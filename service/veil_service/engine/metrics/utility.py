"""Machine-learning utility: train on avatars, test on real, next to train on real.

When a ``target`` is set, the same model is trained twice, once on original rows and once on the
avatars of those same rows (the unshuffled order makes this pairing possible), and both are scored
on real rows that neither saw. The avatars of the test rows are left out of training, because
each avatar is built from its original and its neighbours. With a holdout table, training uses
every row and the holdout is the test set.

The model is scikit-learn's ``HistGradientBoosting`` (handles missing values and categories
natively, and trains 200,000 rows in seconds). Scores: ROC AUC for a binary target, accuracy
for more classes, R^2 for a number.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score

from veil_service.engine.metrics.tables import AlignedTables, category_codes

TEST_SHARE = 0.3
"""Share of original rows kept for testing when no holdout is given."""

MAX_TRAIN_ROWS = 50_000
"""Training rows are sampled down to this many: the score stabilises long before, and the
benchmark budget (200,000 rows, all metrics, under a minute on 2 cores) needs it."""

MAX_CATEGORIES = 250
"""HistGradientBoosting's limit on categories per feature; rarer modalities are grouped."""


def _features(tables: AlignedTables, frames: list[pd.DataFrame], target: str) -> list[np.ndarray]:
    columns = [c for c in tables.columns if c != target]
    mats = [np.empty((len(f), len(columns))) for f in frames]
    for j, column in enumerate(columns):
        if column in tables.continuous:
            for m, frame in zip(mats, frames, strict=True):
                m[:, j] = frame[column].to_numpy(dtype=np.float64)
        else:
            for m, codes in zip(mats, category_codes(frames, column), strict=True):
                m[:, j] = np.minimum(codes, MAX_CATEGORIES - 1)
    return mats


def _score(kind: str, truth: np.ndarray, model: Any, features: np.ndarray) -> float:
    if kind == "regression":
        return float(r2_score(truth, model.predict(features)))
    if kind == "binary":
        classes = list(model.classes_)
        if len(classes) < 2:
            return 0.5
        positive = model.predict_proba(features)[:, classes.index(classes[-1])]
        return float(roc_auc_score(truth == classes[-1], positive))
    return float(accuracy_score(truth, model.predict(features)))


def _model(kind: str, categorical: np.ndarray, seed: int) -> Any:
    options: dict[str, Any] = {
        "max_iter": 50,
        "random_state": seed,
        "categorical_features": categorical,
        "early_stopping": False,
    }
    if kind == "regression":
        return HistGradientBoostingRegressor(**options)
    return HistGradientBoostingClassifier(**options)


def utility_scores(tables: AlignedTables, target: str, seed: int) -> dict[str, float | str | None]:
    """Train-on-avatars / test-on-real score next to the train-on-real score.

    Returns:
        ``ml_utility_metric`` (``roc_auc``, ``accuracy`` or ``r2``), ``ml_utility_real``,
        ``ml_utility_avatar``, ``ml_utility_chance`` (the score of a model that learned nothing:
        AUC 0.5, the training rows' majority class's accuracy on the test rows, R^2 0) and
        ``ml_utility_ratio`` (avatar / real). None values when the target has fewer than two
        distinct values among the training rows. The ratio is None too when the model trained
        on real rows does no better than chance: the other columns do not predict the target,
        so there is no utility to keep, and avatars that score above such a model by luck would
        read as "more useful than the originals" (a random 3-class label read 0.44 / 0.27 =
        1.67, a pass).
    """
    regression = target in tables.continuous
    rng = np.random.default_rng(seed)
    if tables.holdout is not None:
        train = np.arange(len(tables.original))
        test_frame = tables.holdout
    else:
        order = rng.permutation(len(tables.original))
        cut = round(len(order) * (1.0 - TEST_SHARE))
        train, test = np.sort(order[:cut]), np.sort(order[cut:])
        test_frame = tables.original.iloc[test].reset_index(drop=True)
    if len(train) > MAX_TRAIN_ROWS:
        train = np.sort(rng.choice(train, size=MAX_TRAIN_ROWS, replace=False))
    frames = [
        tables.original.iloc[train].reset_index(drop=True),
        tables.avatars.iloc[train].reset_index(drop=True),
        test_frame,
    ]
    x_real, x_avatar, x_test = _features(tables, frames, target)
    if regression:
        ys = [f[target].to_numpy(dtype=np.float64) for f in frames]
    else:
        ys = [c.astype(np.float64) for c in category_codes(frames, target)]
    kind = (
        "regression"
        if regression
        else ("binary" if len(np.unique(ys[0][~np.isnan(ys[0])])) == 2 else "multiclass")
    )
    metric = {"regression": "r2", "binary": "roc_auc", "multiclass": "accuracy"}[kind]
    out: dict[str, float | str | None] = {
        "ml_utility_metric": metric,
        "ml_utility_real": None,
        "ml_utility_avatar": None,
        "ml_utility_chance": None,
        "ml_utility_ratio": None,
    }
    test_keep = ~np.isnan(ys[2])
    categorical = np.array([c in tables.categorical for c in tables.columns if c != target])
    scores: list[float] = []
    for x, y in ((x_real, ys[0]), (x_avatar, ys[1])):
        keep = ~np.isnan(y)
        if len(np.unique(y[keep])) < 2 or test_keep.sum() < 2:
            return out
        model = _model(kind, categorical, seed).fit(x[keep], y[keep])
        scores.append(_score(kind, ys[2][test_keep], model, x_test[test_keep]))
    out["ml_utility_real"], out["ml_utility_avatar"] = scores
    chance = _chance(kind, ys[0], ys[2][test_keep])
    out["ml_utility_chance"] = chance
    # A ratio of a real model no better than chance means nothing, so it is left out.
    out["ml_utility_ratio"] = scores[1] / scores[0] if scores[0] > max(chance, 0.0) else None
    return out


def _chance(kind: str, train: np.ndarray, test: np.ndarray) -> float:
    """The score of a model that learned nothing from the features: AUC 0.5, the accuracy of
    always answering the training rows' most frequent class, R^2 0 (the mean)."""
    if kind == "binary":
        return 0.5
    if kind == "regression":
        return 0.0
    values, counts = np.unique(train[~np.isnan(train)], return_counts=True)
    return float(np.mean(test == values[np.argmax(counts)]))
