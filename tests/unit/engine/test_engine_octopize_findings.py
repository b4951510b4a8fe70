"""Engine side of what a new user porting Octopize code saw (issue 13, "what was seen").

Each test names its item; each failed before the change that fixed it (the failure is quoted).
The same items are walked through the real server and client in tests/e2e/test_octopize_*.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from veil_service.engine.avatarize import avatarize
from veil_service.engine.avatarize.constant_columns import find_set_aside, restore, without
from veil_service.engine.metrics import privacy_metrics
from veil_service.engine.tasks.dtypes import match_dtypes
from veil_service.errors import InvalidArgumentError


def _people(n: int = 240, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 90, n),
            "weight": rng.normal(70, 12, n).round(1),
            "city": rng.choice([f"city_{i}" for i in range(12)], n),
            "sex": rng.choice(["F", "M"], n),
        }
    )


def test_item_1_metrics_honour_use_categorical_reduction() -> None:
    # Before: InvalidArgumentError "unknown metrics parameters ['use_categorical_reduction']".
    original = _people()
    avatars = avatarize(original, k=10, use_categorical_reduction=True, seed=1).unshuffled
    reduced = privacy_metrics(original, avatars, use_categorical_reduction=True, seed=0)
    plain = privacy_metrics(original, avatars, seed=0)
    assert reduced["metadata"]["parameters"]["use_categorical_reduction"] is True
    # 12 city modalities become a 4-dimension embedding: the projection is narrower.
    assert reduced["metadata"]["projection_components"] < plain["metadata"]["projection_components"]
    assert 0 <= reduced["hidden_rate"] <= 100
    with pytest.raises(InvalidArgumentError) as refused:
        privacy_metrics(original, avatars, use_categorical_reduction="yes")
    assert refused.value.field == "use_categorical_reduction"


def test_item_1_metrics_leave_excluded_variables_out_of_the_projection() -> None:
    original = _people()
    avatars = avatarize(original, k=10, seed=2).unshuffled
    result = privacy_metrics(original, avatars, exclude_variable_names=["city"], seed=0)
    full = privacy_metrics(original, avatars, seed=0)
    assert result["metadata"]["parameters"]["exclude_variable_names"] == ["city"]
    assert result["metadata"]["projection_components"] < full["metadata"]["projection_components"]
    # Column-wise metrics still see the excluded column.
    assert "city" in result["details"]["column_direct_match_protection_per_column"]


def test_item_2_constant_and_empty_columns_are_set_aside_and_restored() -> None:
    # Before: InvalidArgumentError "Column 'region' is constant (one value)...".
    table = _people(60).assign(region="Vaud", protocol=1, notes=np.nan, flag=["A"] * 59 + [None])
    aside = find_set_aside(table)
    assert aside.constant == ("region", "protocol") and aside.empty == ("notes",)
    assert "flag" not in aside.names  # one value, but missing once: that is information
    (constant, empty) = aside.warnings("trial")
    assert "columns 'region', 'protocol' have one value in every row: released unchanged" in (
        constant
    )
    assert "column 'notes' has no value in any row" in empty
    avatars = avatarize(without(table, aside, "trial"), k=5, seed=0).avatars
    released = restore(avatars, table, aside)
    assert list(released.columns) == list(table.columns)
    assert (released["region"] == "Vaud").all() and released["protocol"].dtype == np.int64
    assert released["notes"].isna().all()
    with pytest.raises(InvalidArgumentError, match="nothing to avatarize") as refused:
        without(table[["region", "notes"]], find_set_aside(table[["region", "notes"]]), "trial")
    assert refused.value.field == "data"


def test_item_3_iris_ncp_20_is_capped_with_a_coherent_message() -> None:
    # Before: "ncp must be at most the number of projection dimensions (7); got ncp=20. Lower ncp
    # to 5 or less." (two different numbers in one sentence).
    rng = np.random.default_rng(0)
    iris_like = pd.DataFrame(
        {
            "sepal.length": rng.normal(5.8, 0.8, 150),
            "sepal.width": rng.normal(3.0, 0.4, 150),
            "petal.length": rng.normal(3.7, 1.7, 150),
            "petal.width": rng.normal(1.2, 0.7, 150),
            "variety": rng.choice(["Setosa", "Versicolor", "Virginica"], 150),
        }
    )
    result = avatarize(iris_like, k=10, ncp=20, seed=0)
    (warning,) = result.warnings
    # 4 continuous variables + 3 modalities: 7 dimensions, named once and used once.
    assert warning.startswith("ncp=20 is more than the 7 dimensions")
    assert warning.endswith("searched in all 7 (ncp capped at 7).")
    metrics = privacy_metrics(iris_like, result.unshuffled, ncp=20, compute_attacks=False)
    assert metrics["metadata"]["ncp_used"] == metrics["metadata"]["projection_components"]
    assert metrics["metadata"]["warnings"][0].startswith("ncp=20 is more than the")


def test_item_4_octopize_assessment_names_are_provided() -> None:
    # Before: KeyError 'knowledge_protection_rate' in Tutorial 2 step 7.
    original = _people(300)
    avatars = avatarize(original, k=10, seed=3).unshuffled
    result = privacy_metrics(
        original, avatars, known_variables=["age", "weight"], target="sex", seed=0
    )
    assert result["knowledge_protection_rate"] == result["correlation_protection_rate"]
    assert result["linkability_protection_rate"] == pytest.approx(
        100.0 - result["linkability_risk"]
    )
    assert result["inference_accuracy_ratio"] > 0
    for key in (
        "knowledge_protection_rate",
        "linkability_protection_rate",
        "inference_accuracy_ratio",
    ):
        assert key in result["targets"] and result["passed"][key] in (True, False)
    # Releasing the originals themselves: inference is exactly as easy as with real records
    # (a ratio near or below 100) and nothing is protected from linkage.
    leak = privacy_metrics(
        original, original, known_variables=["age", "weight"], target="sex", seed=0
    )
    assert leak["inference_accuracy_ratio"] <= 100.0 + 1e-9
    assert leak["linkability_protection_rate"] < result["linkability_protection_rate"] + 1e-9
    without_target = privacy_metrics(original, avatars, compute_attacks=False)
    assert without_target["inference_accuracy_ratio"] is None
    assert without_target["knowledge_protection_rate"] is None


def test_item_7_avatars_get_the_originals_dtypes_back() -> None:
    # Before: int64, float64, object and '1'..'10' strings came back.
    original = pd.DataFrame(
        {
            "i32": pd.Series([1, 2, 3], dtype="int32"),
            "f32": pd.Series([1.5, 2.0, 3.0], dtype="float32"),
            "cat": pd.Categorical(["a", "b", "a"], categories=["a", "b", "c"]),
            "s": pd.Series(["x", "y", None], dtype="string"),
            "codes": pd.Series([1, 10, 3], dtype="int64"),
            "I64": pd.Series([1, None, 3], dtype="Int64"),
            "b": pd.Series([True, None, False], dtype="boolean"),
            "tz": pd.to_datetime(["2020-01-01", "2021-01-01", "2022-01-01"]).tz_localize(
                "Europe/Paris"
            ),
        }
    )
    avatars = pd.DataFrame(
        {
            "i32": np.array([2, 2, 1], dtype="int64"),
            "f32": np.array([2.0, 1.5, 3.0]),
            "cat": np.array(["b", "a", "a"], dtype=object),
            "s": np.array(["y", None, "x"], dtype=object),
            "codes": np.array(["10", "1", "3"], dtype=object),
            "I64": np.array([3.0, np.nan, 1.0]),
            "b": np.array([None, True, False], dtype=object),
            "tz": pd.to_datetime(["2021-01-01", "2020-06-01", "2022-01-01"], utc=True),
        }
    )
    restored = match_dtypes(avatars, original)
    assert dict(restored.dtypes) == dict(original.dtypes)
    assert list(restored["cat"].cat.categories) == ["a", "b", "c"]
    assert restored["codes"].tolist() == [10, 1, 3]
    assert restored["I64"].isna().tolist() == [False, True, False]
    assert restored["tz"].iloc[1] == pd.Timestamp("2020-06-01", tz="UTC")


def test_item_9_return_data_imputed() -> None:
    # Before: the parameter was accepted by the client and ignored.
    table = _people(200)
    table.loc[::7, "weight"] = np.nan
    table.loc[::11, "city"] = None
    kept = avatarize(table, k=8, seed=0).avatars
    imputed = avatarize(table, k=8, seed=0, imputation_return_data_imputed=True).avatars
    assert kept["weight"].isna().sum() > 0 and kept["city"].isna().sum() > 0
    assert imputed.isna().sum().sum() == 0
