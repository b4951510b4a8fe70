"""Advice: recommended parameters with reasons, and flagged columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from support import FIXTURES
from veil_service.engine.advice import advise
from veil_service.engine.avatarize import avatarize
from veil_service.errors import InvalidArgumentError

TABLES = FIXTURES / "tables"


def _aids() -> pd.DataFrame:
    return pd.read_csv(TABLES / "aids_original_data.csv.gz", sep=";")


def test_adult_advice_advises_reduction_and_imputation() -> None:
    adult = pd.read_csv(TABLES / "adult_6000.csv.gz", na_values="?")
    advice = advise(adult)
    assert advice.k.value == 20
    assert 2 <= advice.ncp.value <= 5
    assert advice.imputation_method.value == "knn"
    assert "3 columns have missing values" in advice.imputation_method.reason
    assert advice.use_categorical_reduction.value is True
    assert "over 20" in advice.use_categorical_reduction.reason
    # On these 6,000 rows the census weight is 90 % distinct: an integer measure with repeated
    # values, avatarized like any number (its avatars are weighted means, nobody's value), not
    # an identifier to set aside and replace by pseudonyms. Nothing is flagged.
    assert advice.flags == ()
    assert "fnlwgt" not in advice.exclude_variable_names


def test_identifier_and_high_cardinality_columns_are_flagged_with_reasons() -> None:
    aids = _aids()
    rng = np.random.default_rng(0)
    aids["city"] = [f"city{i}" for i in rng.integers(0, 300, len(aids))]
    aids["email"] = [f"p{i}@example.org" for i in range(len(aids))]
    advice = advise(aids)
    kinds = {f.column: f.kind for f in advice.flags}
    assert kinds["pidnum"] == "identifier"
    assert kinds["email"] == "identifier"
    assert kinds["city"] == "high_cardinality"
    assert kinds["zprior"] == "constant"
    assert "age" not in kinds and "wtkg" not in kinds
    reasons = {f.column: f.reason for f in advice.flags}
    assert "2139 distinct values for 2139 rows (100 %)" in reasons["pidnum"]
    assert "modalities" in reasons["city"]
    assert set(advice.exclude_variable_names) == {"pidnum", "email", "zprior"}


def test_advice_can_be_passed_straight_to_avatarize() -> None:
    aids = _aids()
    advice = advise(aids)
    result = avatarize(aids, seed=0, **advice.parameters())
    assert result.avatars.shape == aids.shape


def test_small_table_gets_a_smaller_k_and_a_reason() -> None:
    wbcd = pd.read_csv(TABLES / "wbcd.csv")
    assert advise(wbcd).k.value == 20
    small = wbcd.head(100)
    advice = advise(small)
    assert advice.k.value == 5
    assert "100 rows is small" in advice.k.reason
    assert advice.imputation_method.reason.startswith("No missing value")


def test_ncp_follows_the_inertia() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(size=(500, 1))
    # Six columns that are one signal plus a little noise: one component holds the inertia.
    df = pd.DataFrame(base + 0.05 * rng.normal(size=(500, 6)), columns=list("abcdef"))
    advice = advise(df)
    assert advice.ncp.value == 1
    assert "already hold" in advice.ncp.reason


def test_advice_refuses_an_empty_table() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        advise(pd.DataFrame({"a": [1, 2]}))
    assert caught.value.field == "table"


def test_the_notes_are_the_english_of_their_structured_notes() -> None:
    from veil_service.engine.tasks.avatar_jobs import rule_advice
    from veil_service.engine_contract.advice_notes import english

    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {"id": [f"u{i}" for i in range(80)], "x": rng.normal(size=80), "c": ["k"] * 80}
    )
    frame.loc[::5, "x"] = np.nan
    advice = rule_advice(frame, [], "t")
    assert [english(parts) for parts in advice["structured_notes"]] == advice["notes"]
    assert advice["notes"][2] == (
        "imputation_method = knn: 1 columns have missing values (up to 20 % in 'x'); the table "
        "is small enough for exact knn."
    )
    assert [parts[0]["code"] for parts in advice["structured_notes"]] == [
        "parameter",
        "parameter",
        "parameter",
        "parameter",
        "flag.identifier",
        "flag.constant",
    ]
