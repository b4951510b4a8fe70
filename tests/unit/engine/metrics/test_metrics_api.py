"""The public surface: result shape, batch aggregation, metrics-only mode and bad input."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import veil_service.engine.metrics as metrics
from veil_service.engine.metrics import (
    aggregate_privacy_batches,
    aggregate_signal_batches,
    privacy_metrics,
    signal_metrics,
)
from veil_service.errors import InvalidArgumentError

PRIVACY_KEYS = {
    "hidden_rate",
    "local_cloaking",
    "distance_to_closest",
    "closest_distances_ratio",
    "closest_rate",
    "column_direct_match_protection",
    "categorical_hidden_rate",
    "row_direct_match_protection",
    "correlation_protection_rate",
    "inference_continuous",
    "inference_categorical",
    "singling_out_risk",
    "linkability_risk",
    "inference_risk",
    "knowledge_protection_rate",
    "linkability_protection_rate",
    "inference_accuracy_ratio",
}
SIGNAL_KEYS = {
    "hellinger_mean",
    "hellinger_std",
    "correlation_difference_ratio",
    "column_shapes_score",
    "pair_trends_score",
    "ml_utility_metric",
    "ml_utility_real",
    "ml_utility_avatar",
    "ml_utility_chance",
    "ml_utility_ratio",
}


@pytest.fixture()
def table() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 300
    age = rng.integers(18, 80, n)
    return pd.DataFrame(
        {
            "age": age,
            "income": (age * 900 + rng.normal(0, 8000, n)).round(0),
            "sex": pd.Categorical(rng.choice(["F", "M"], n)),
            "smoker": rng.random(n) < 0.3,
            "region": rng.choice(["north", "south", "east"], n),
        }
    )


@pytest.fixture()
def avatars(table: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(8)
    out = table.copy()
    out["age"] = out["age"] + rng.integers(-5, 6, len(out))
    out["income"] = (out["income"] + rng.normal(0, 5000, len(out))).round(0)
    return out


def test_public_names_are_pinned() -> None:
    assert sorted(metrics.__all__) == [
        "PRIVACY_TARGETS",
        "SIGNAL_TARGETS",
        "aggregate_privacy_batches",
        "aggregate_signal_batches",
        "privacy_metrics",
        "signal_metrics",
    ]


def test_privacy_result_has_the_octopize_shape(table: pd.DataFrame, avatars: pd.DataFrame) -> None:
    result = privacy_metrics(
        table,
        avatars,
        table_name="people",
        known_variables=["age", "sex"],
        target="region",
        n_attacks=50,
        seed=1,
    )
    assert set(result) >= PRIVACY_KEYS
    assert result["targets"]["hidden_rate"] == "> 90"
    assert set(result["passed"]) == set(result["targets"])
    assert all(v is None or isinstance(v, bool) for v in result["passed"].values())
    meta = result["metadata"]
    assert meta["table_name"] == "people"
    assert meta["computation_type"] == "standalone"
    assert meta["n_original_rows"] == meta["n_avatar_rows"] == 300
    assert meta["parameters"]["known_variables"] == ["age", "sex"]
    assert result["inference_categorical"] is not None
    assert set(result["details"]["attacks"]) == {"singling_out", "linkability", "inference"}


def test_none_means_default(table: pd.DataFrame, avatars: pd.DataFrame) -> None:
    result = privacy_metrics(
        table,
        avatars,
        ncp=None,
        known_variables=None,
        target=None,
        quantile_threshold=None,
        seed=None,
        holdout=None,
        column_weights=None,
        compute_attacks=False,
    )
    assert result["metadata"]["parameters"]["quantile_threshold"] == 5.0
    assert result["correlation_protection_rate"] is None


def test_results_are_reproducible_with_a_seed(table: pd.DataFrame, avatars: pd.DataFrame) -> None:
    first = privacy_metrics(
        table, avatars, known_variables=["age"], target="sex", seed=3, n_attacks=40
    )
    second = privacy_metrics(
        table, avatars, known_variables=["age"], target="sex", seed=3, n_attacks=40
    )
    assert first == second


def test_signal_result_has_the_octopize_shape(table: pd.DataFrame, avatars: pd.DataFrame) -> None:
    result = signal_metrics(table, avatars, target="smoker")
    assert set(result) >= SIGNAL_KEYS
    assert result["targets"]["hellinger_mean"] == "< 0.1"
    assert result["ml_utility_metric"] == "roc_auc"
    assert result["metadata"]["computation_type"] == "standalone"


def test_batches_aggregate_to_worst_and_mean(table: pd.DataFrame, avatars: pd.DataFrame) -> None:
    batches = [
        privacy_metrics(table, avatars, compute_attacks=False),
        privacy_metrics(table, table.copy(), compute_attacks=False),
    ]
    worst, mean = aggregate_privacy_batches(batches)
    assert worst["metadata"]["computation_type"] == "batch_worst"
    assert mean["metadata"]["computation_type"] == "batch_mean"
    rates = [b["hidden_rate"] for b in batches]
    assert worst["hidden_rate"] == min(rates)
    assert mean["hidden_rate"] == pytest.approx(sum(rates) / 2)
    assert worst["passed"]["hidden_rate"] is False
    signal = aggregate_signal_batches(
        [signal_metrics(table, avatars), signal_metrics(table, table.copy())]
    )
    assert len(signal) == 1 and signal[0]["metadata"]["n_batches"] == 2


def test_metrics_only_mode_accepts_castable_dtypes(
    table: pd.DataFrame, avatars: pd.DataFrame
) -> None:
    buffer = io.StringIO()
    avatars.to_csv(buffer, index=False)
    buffer.seek(0)
    # A CSV round trip: categories become strings, booleans stay, column order changes.
    from_csv = pd.read_csv(buffer)[["region", "smoker", "sex", "income", "age"]]
    from_csv["age"] = from_csv["age"].astype(float)
    direct = privacy_metrics(table, avatars, compute_attacks=False)
    round_trip = privacy_metrics(table, from_csv, compute_attacks=False)
    for key in ("hidden_rate", "local_cloaking", "row_direct_match_protection"):
        assert round_trip[key] == direct[key]


@pytest.mark.parametrize(
    ("change", "params", "field"),
    [
        ("drop_column", {}, "avatars"),
        ("drop_row", {}, "avatars"),
        ("text_in_number", {}, "avatars"),
        (None, {"target": "missing"}, "target"),
        (None, {"known_variables": []}, "known_variables"),
        (None, {"known_variables": ["age", "nope"]}, "known_variables"),
        (None, {"known_variables": "age"}, "known_variables"),
        (None, {"known_variables": ["age"], "target": "age"}, "target"),
        (None, {"quantile_threshold": 0}, "quantile_threshold"),
        (None, {"bogus": 1}, "bogus"),
    ],
)
def test_bad_input_raises_a_clear_error(
    table: pd.DataFrame,
    avatars: pd.DataFrame,
    change: str | None,
    params: dict[str, object],
    field: str,
) -> None:
    if change == "drop_column":
        avatars = avatars.drop(columns=["region"])
    elif change == "drop_row":
        avatars = avatars.iloc[:-1]
    elif change == "text_in_number":
        avatars = avatars.astype({"age": object})
        avatars.loc[0, "age"] = "forty"
    with pytest.raises(InvalidArgumentError) as caught:
        privacy_metrics(table, avatars, compute_attacks=False, **params)
    assert caught.value.field == field
    assert len(caught.value.message) > 20


def test_awkward_columns_compute_without_warnings() -> None:
    """Identifiers, constants, all-missing, dates sent as text, booleans and missing categories."""
    rng = np.random.default_rng(0)
    n = 600
    original = pd.DataFrame(
        {
            "id": [f"p{i}" for i in range(n)],
            "const": 1.0,
            "empty": np.nan,
            "x": rng.normal(size=n),
            "when": pd.to_datetime("2020-01-01")
            + pd.to_timedelta(rng.integers(0, 900, n), unit="D"),
            "flag": rng.random(n) < 0.5,
            "c": rng.choice(np.array(["a", "b", None], dtype=object), n),
        }
    )
    avatars = original.copy()
    avatars["x"] += rng.normal(size=n) * 0.3
    avatars["id"] = [f"q{i}" for i in range(n)]
    avatars["when"] = avatars["when"].astype(str)
    privacy = privacy_metrics(
        original, avatars, known_variables=["x", "c"], target="flag", n_attacks=50
    )
    signal = signal_metrics(original, avatars, target="x")
    assert privacy["categorical_hidden_rate"] == 100.0  # no avatar keeps an identifier
    assert privacy["details"]["column_direct_match_protection_per_column"]["id"] == 100.0
    assert privacy["metadata"]["projection_components"] <= 220  # identifiers grouped
    assert signal["details"]["hellinger"]["id"] == pytest.approx(1.0)


def test_integer_column_labels_and_non_frames() -> None:
    rng = np.random.default_rng(1)
    original = pd.DataFrame({0: rng.normal(size=120), 1: rng.choice(["a", "b"], 120)})
    avatars = original.copy()
    avatars[0] += 0.5
    result = privacy_metrics(original, avatars, known_variables=[0], target=1, n_attacks=20)
    assert result["metadata"]["parameters"]["known_variables"] == ["0"]
    assert result["inference_categorical"] is not None
    with pytest.raises(InvalidArgumentError) as caught:
        privacy_metrics(original, [[1, 2]])  # type: ignore[arg-type]
    assert caught.value.field == "avatars"
