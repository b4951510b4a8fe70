"""A named ``target_column`` is decoded without the local noise, every other column keeps it.

A categorical target takes its neighbours' weighted majority (Octopize's decoding), a numeric
one their weighted mean, its missingness the weighted majority of its indicator; the other
columns get exactly the draws they get without a target. The effect under attack and on
utility is measured by bench/privacy_utility.py (docs/benchmarks.md, "A named target column").
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from veil_service.engine.avatarize import AvatarizationParameters, avatarize, run_avatarization
from veil_service.engine.privacy_advice import advise_privacy
from veil_service.errors import InvalidArgumentError


def _table(n: int = 500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 90, n)
    income = rng.normal(2000, 500, n) + 30 * age
    # A label tied to the features, with 25 % of it flipped: noise draws copy the flips.
    label = np.where(income > np.median(income), "high", "low")
    flipped = rng.random(n) < 0.25
    label = np.where(flipped, np.where(label == "high", "low", "high"), label)
    return pd.DataFrame(
        {
            "age": age,
            "income": income,
            "city": rng.choice(["Paris", "Lyon", "Nantes", "Lille"], n),
            "label": label,
            "score": rng.normal(size=n) + income / 1000,
        }
    )


def _run(df: pd.DataFrame, **kwargs: Any) -> Any:
    settings: dict[str, Any] = {"seed": 3, "k": 20, **kwargs}
    return run_avatarization(df, AvatarizationParameters(**settings), keep_weights=True)


def _weighted_shares(result: Any, values: np.ndarray, modalities: list[Any]) -> np.ndarray:
    """Each avatar's weighted share of every modality among its neighbours (rows x modalities)."""
    neighbour_values = values[result.neighbours]
    return np.stack(
        [(result.coefficients * (neighbour_values == m)).sum(axis=1) for m in modalities], axis=1
    )


def test_a_categorical_target_takes_its_neighbours_weighted_majority() -> None:
    df = _table()
    result = _run(df, target_column="label")
    modalities = sorted(df["label"].unique())
    shares = _weighted_shares(result, df["label"].to_numpy(), modalities)
    expected = np.asarray(modalities)[shares.argmax(axis=1)]
    top_two = np.sort(shares, axis=1)[:, -2:]
    clear = top_two[:, 1] - top_two[:, 0] > 1e-9
    assert clear.mean() > 0.95
    got = result.unshuffled["label"].to_numpy()
    assert (got[clear] == expected[clear]).all()
    # Without the option the label is drawn: some avatars depart from the majority.
    drawn = _run(df).unshuffled["label"].to_numpy()
    assert (drawn[clear] != expected[clear]).any()


def test_the_other_columns_get_exactly_the_draws_they_get_without_a_target() -> None:
    df = _table()
    plain = _run(df, redraw_unique_copies=False).unshuffled
    named = _run(df, redraw_unique_copies=False, target_column="label").unshuffled
    others = ["age", "income", "city", "score"]
    pd.testing.assert_frame_equal(plain[others], named[others])
    assert (plain["label"] != named["label"]).any()


def test_a_numeric_target_takes_its_neighbours_weighted_mean() -> None:
    df = _table()
    result = _run(df, target_column="score")
    mean = (result.coefficients * df["score"].to_numpy()[result.neighbours]).sum(axis=1)
    np.testing.assert_allclose(result.unshuffled["score"].to_numpy(), mean, rtol=0, atol=1e-8)
    # The noisy default is farther from the weighted mean than rounding.
    noisy = _run(df).unshuffled["score"].to_numpy()
    assert np.abs(noisy - mean).mean() > 0.05


def test_coupled_noise_leaves_the_target_out_too() -> None:
    df = _table()
    result = _run(df, target_column="label", coupled_noise=True)
    modalities = sorted(df["label"].unique())
    shares = _weighted_shares(result, df["label"].to_numpy(), modalities)
    top_two = np.sort(shares, axis=1)[:, -2:]
    clear = top_two[:, 1] - top_two[:, 0] > 1e-9
    expected = np.asarray(modalities)[shares.argmax(axis=1)]
    assert (result.unshuffled["label"].to_numpy()[clear] == expected[clear]).all()


def test_a_missing_target_follows_the_majority_of_its_indicator() -> None:
    df = _table()
    rng = np.random.default_rng(1)
    # Missing values concentrated among the oldest, so that some neighbourhoods are mostly
    # missing: those avatars must come out missing, the others not.
    gone = (df["age"] > 75) & (rng.random(len(df)) < 0.9)
    df.loc[gone, "label"] = None
    result = _run(df, target_column="label")
    missing = df["label"].isna().to_numpy()[result.neighbours]
    share = (result.coefficients * missing).sum(axis=1)
    clear = np.abs(share - 0.5) > 1e-9
    got = result.unshuffled["label"].isna().to_numpy()
    assert got.any() and (~got).any()
    assert (got[clear] == (share[clear] > 0.5)).all()


@pytest.mark.parametrize(
    ("target", "reduce"), [("label", False), ("score", False), ("code", True), ("code", False)]
)
def test_the_target_does_not_depend_on_the_noise(target: str, reduce: bool) -> None:
    # Same seed: same neighbours and weights whatever local_noise is; only the noise differs.
    # The named target must come out the same, every other column must not.
    df = _table(600)
    df["code"] = np.asarray(list("abcdefgh"))[np.minimum(df["age"].to_numpy() // 10 - 1, 7)]
    runs = [
        avatarize(
            df,
            seed=4,
            local_noise=noise,
            redraw_unique_copies=False,
            use_categorical_reduction=reduce,
            target_column=target,
        ).unshuffled
        for noise in (1.0, 0.5)
    ]
    pd.testing.assert_series_equal(runs[0][target], runs[1][target])
    for column in ("income", "age"):
        assert (runs[0][column] != runs[1][column]).any(), column


@pytest.mark.parametrize(
    ("kwargs", "fix"),
    [
        ({"target_column": "nope"}, "unknown column: 'nope'"),
        (
            {"target_column": "label", "exclude_variable_names": ["label"]},
            "also in exclude_variable_names",
        ),
        ({"target_column": 3}, "name of one of the table's columns"),
        ({"target_column": ""}, "name of one of the table's columns"),
    ],
)
def test_a_bad_target_column_is_refused_naming_it(kwargs: dict[str, Any], fix: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        avatarize(_table(100), seed=0, **kwargs)
    assert caught.value.field == "target_column"
    assert fix in caught.value.message


def test_the_privacy_advice_measures_utility_and_inference_on_the_named_target() -> None:
    df = _table(300)
    search = advise_privacy(
        df,
        privacy_targets={},
        base_parameters={"target_column": "label"},
        k_values=(10,),
        splits=1,
        seed=0,
    )
    found = search.as_dict()
    assert found["utility_metric"] == "ml_utility_ratio"
    for trial in found["trials"]:
        assert "label" in trial["inference_by_secret"]
