"""Open DP draws each avatar independently from its graphical model (post-processing only).

Before: rows came from mbi's default ``synthetic_data(method="round")``, which draws a column
given its parents from the row's rank among the rows sharing its parents' values. Every column
with the same parents then got nearly the same draw in a row: in a star around a label, the
other columns came out comonotone within each class (a dependence the model does not hold), and
on Adult at ε = 1 the income model trained on the avatars lost 0.07 of AUC on adult_test.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from veil_service.engine.dp_avatar import OpenDPParameters, open_dp_avatarize

LEVELS = ["a", "b", "c", "d", "e"]


def _conditionally_independent_table(rows: int = 4000, seed: int = 0) -> pd.DataFrame:
    """A label and four columns that depend on the label and on nothing else."""
    rng = np.random.default_rng(seed)
    label = rng.random(rows) < 0.3
    data: dict[str, object] = {"label": np.where(label, "yes", "no")}
    for j, name in enumerate(["w", "x", "y", "z"]):
        given_no = rng.dirichlet(np.full(len(LEVELS), 2.0), 1)[0]
        given_yes = np.roll(given_no, j + 1)
        codes = np.where(
            label,
            rng.choice(len(LEVELS), rows, p=given_yes),
            rng.choice(len(LEVELS), rows, p=given_no),
        )
        data[name] = np.asarray(LEVELS)[codes]
    return pd.DataFrame(data)


def _cramers_v(a: pd.Series, b: pd.Series) -> float:
    """Association of two categorical columns (0: independent, 1: one determines the other)."""
    table = pd.crosstab(a, b).to_numpy().astype(float)
    n = table.sum()
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return float(np.sqrt(chi2 / n / (min(table.shape) - 1)))


def _largest_association_within_classes(df: pd.DataFrame) -> float:
    features = [c for c in df.columns if c != "label"]
    return max(
        _cramers_v(part[a], part[b])
        for _, part in df.groupby("label")
        for a, b in combinations(features, 2)
    )


def test_columns_independent_given_the_label_stay_independent_in_the_avatars() -> None:
    df = _conditionally_independent_table()
    params = OpenDPParameters(
        epsilon=50.0,
        public_domains={c: sorted(df[c].unique().tolist()) for c in df.columns},
        n_rows=len(df),
        seed=0,
        target_column="label",
        model_iterations=300,
    )
    avatars = open_dp_avatarize(df, params).avatars.dropna()
    real = _largest_association_within_classes(df)
    synthetic = _largest_association_within_classes(avatars)
    # The largest association within a class of the data (and of avatars drawn from a model
    # fitted to it) is sampling noise: 0.07-0.08 over three seeds at these sizes. The rank-based
    # rounding gave the avatars 0.68.
    assert real < 0.12
    assert synthetic < 0.2, synthetic
    # Each column's relation to the label is kept (the star's measured pairs).
    for name in ["w", "x", "y", "z"]:
        assert _cramers_v(avatars[name], avatars["label"]) > 0.5 * _cramers_v(df[name], df["label"])
