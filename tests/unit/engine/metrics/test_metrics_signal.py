"""Signal metrics and the anonymeter-style attacks on tables with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp
from veil_service.engine.metrics import privacy_metrics, signal_metrics
from veil_service.engine.metrics.attack_risk import attack_risk, wilson_rate
from veil_service.engine.metrics.signal import hellinger_distances, ks_statistic
from veil_service.engine.metrics.tables import align_tables


@pytest.fixture()
def table() -> pd.DataFrame:
    rng = np.random.default_rng(21)
    n = 600
    x = rng.normal(0, 1, n)
    return pd.DataFrame(
        {
            "x": x,
            "y": 2 * x + rng.normal(0, 0.5, n),
            "z": rng.exponential(1.0, n),
            "group": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]),
            "label": np.where(x + rng.normal(0, 0.5, n) > 0, "yes", "no"),
        }
    )


def test_identical_tables_have_perfect_signal(table: pd.DataFrame) -> None:
    result = signal_metrics(table, table.copy(), target="label")
    assert result["hellinger_mean"] == pytest.approx(0.0, abs=1e-12)
    assert result["correlation_difference_ratio"] == pytest.approx(0.0, abs=1e-9)
    assert result["column_shapes_score"] == pytest.approx(1.0)
    assert result["pair_trends_score"] == pytest.approx(1.0)
    assert result["ml_utility_ratio"] == pytest.approx(1.0)
    assert result["ml_utility_chance"] == 0.5  # a binary label: AUC
    assert all(result["passed"].values())


def test_a_target_the_other_columns_cannot_predict_has_no_utility_ratio(
    table: pd.DataFrame,
) -> None:
    # A label drawn at random (three classes): the model trained on real rows does no better
    # than always answering the majority class, so "avatars keep X % of its score" means
    # nothing; the ratio read 1.67 and passed before (a luckier model on the avatars).
    rng = np.random.default_rng(3)
    noisy = table.assign(label=rng.choice(["a", "b", "c"], len(table), p=[0.4, 0.3, 0.3]))
    avatars = noisy.assign(label=rng.permutation(noisy["label"].to_numpy()))
    result = signal_metrics(noisy, avatars, target="label")
    assert result["ml_utility_metric"] == "accuracy"
    chance = result["ml_utility_chance"]
    assert 0.3 < chance < 0.5  # the majority class's share of the test rows
    assert result["ml_utility_real"] <= chance
    assert result["ml_utility_ratio"] is None
    assert result["passed"].get("ml_utility_ratio") is None
    # Chance is what always answering the majority class scores (group: "a" half the time).
    useful = signal_metrics(table, table.copy(), target="group")
    assert useful["ml_utility_chance"] == pytest.approx(0.5, abs=0.08)


def test_broken_correlations_and_shifted_marginals_are_seen(table: pd.DataFrame) -> None:
    rng = np.random.default_rng(2)
    avatars = table.copy()
    avatars["y"] = rng.permutation(avatars["y"].to_numpy())
    avatars["z"] = avatars["z"] + 2.0
    avatars["group"] = "a"
    result = signal_metrics(table, avatars)
    assert result["correlation_difference_ratio"] > 10
    assert result["details"]["hellinger"]["z"] > 0.5
    assert result["details"]["hellinger"]["x"] == pytest.approx(0.0, abs=1e-12)
    assert result["details"]["column_shapes"]["group"] == pytest.approx(0.5, abs=0.05)
    assert result["passed"]["correlation_difference_ratio"] is False


def test_hellinger_of_disjoint_categories_is_one() -> None:
    tables = align_tables(
        pd.DataFrame({"c": ["a", "a", "b"]}), pd.DataFrame({"c": ["x", "y", "x"]})
    )
    assert hellinger_distances(tables)["c"] == pytest.approx(1.0)


def test_missing_values_count_as_their_own_bin() -> None:
    original = pd.DataFrame({"v": [1.0, 2.0, 3.0, 4.0]})
    avatars = pd.DataFrame({"v": [1.0, 2.0, np.nan, np.nan]})
    assert hellinger_distances(align_tables(original, avatars))["v"] > 0.3


@pytest.mark.parametrize("seed", range(6))
def test_the_ks_statistic_is_scipys_to_the_bit(seed: int) -> None:
    # Ties (rounded values, repeated rows), unequal sizes, one sample inside the other's range.
    rng = np.random.default_rng(seed)
    first = np.round(rng.normal(size=int(rng.integers(5, 300))), int(rng.integers(0, 3)))
    second = np.round(rng.normal(0.2, 0.8, size=int(rng.integers(5, 300))), 1)
    for a, b in ((first, second), (second, first), (first, first[::-1]), (first, first[:3])):
        expected = float(ks_2samp(a, b, method="asymp").statistic)
        assert ks_statistic(a, b) == expected


def test_wilson_rate_matches_the_formula() -> None:
    rate = wilson_rate(50, 500, 0.95)
    z = 1.959963984540054
    assert rate.value == pytest.approx((50 + z * z / 2) / (500 + z * z))
    assert rate.error == pytest.approx(z / (500 + z * z) * np.sqrt(50 * 450 / 500 + z * z / 4))


def test_attack_risk_is_normalised_by_the_control() -> None:
    result = attack_risk(300, 10, 100, 500, 0.95)
    assert result.reference == "control"
    assert 40 < result.risk < 60  # (0.6 - 0.2) / 0.8 = 0.5
    assert result.risk_low < result.risk < result.risk_high
    no_leak = attack_risk(100, 10, 100, 500, 0.95)
    assert no_leak.risk == 0.0


def test_copied_records_raise_every_attack_risk(table: pd.DataFrame) -> None:
    holdout = table.sample(200, random_state=4).reset_index(drop=True)
    holdout[["x", "y", "z"]] += 0.37
    common = {"known_variables": ["x", "z"], "target": "y", "n_attacks": 200, "seed": 5}
    copies = privacy_metrics(table, table.copy(), holdout=holdout, **common)
    rng = np.random.default_rng(6)
    shuffled = table.apply(lambda col: rng.permutation(col.to_numpy()))
    unrelated = privacy_metrics(table, shuffled, holdout=holdout, **common)
    attacks = copies["details"]["attacks"]
    assert attacks["inference"]["reference"] == "control"
    for name in ("singling_out_risk", "linkability_risk", "inference_risk"):
        assert copies[name] > unrelated[name]
    assert copies["linkability_risk"] > 50
    assert unrelated["linkability_risk"] < 10


def test_correlations_are_pandas_pairwise_complete_ones() -> None:
    """The correlations pair trends read equal ``DataFrame.corr`` (missing values drop pairs,
    not rows; a constant column gives NaN) to the bit."""
    from veil_service.engine.metrics.signal import _correlations

    rng = np.random.default_rng(8)
    frame = pd.DataFrame(rng.normal(size=(50, 4)), columns=["a", "b", "c", "d"])
    frame.loc[rng.random(50) < 0.2, "b"] = np.nan
    frame.loc[rng.random(50) < 0.2, "c"] = np.nan
    frame["d"] = 1.0
    frame["e"] = rng.choice(["x", "y"], 50)
    columns = ["c", "a", "b", "d"]
    expected = frame[columns].corr().to_numpy()
    assert np.array_equal(_correlations(frame, columns), expected, equal_nan=True)
    assert _correlations(frame, []).shape == (0, 0)
