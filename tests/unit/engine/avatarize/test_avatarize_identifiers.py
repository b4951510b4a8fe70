"""Identifier-like columns are never released with their real values (issue 13, real tables:
"high-cardinality identifiers").

Before: an excluded identifier (advise_parameters() excludes them) was re-attached to the avatars
as it was, by row order or from each avatar's most similar original, and a categorical one was
decoded to real values: real names and patient numbers next to the avatars.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from veil_service.engine.avatarize import avatarize
from veil_service.engine.avatarize.identifier_columns import find_identifiers


def _patients(n: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    age = rng.integers(18, 90, n)
    ids = [f"P{i:05d}" for i in range(n)]
    ids[1] = ids[0]  # one patient seen twice: 99 % distinct, still an identifier
    return pd.DataFrame(
        {
            "age": age,
            "weight": 50.0 + 0.3 * age + rng.normal(0, 5, n),
            "city": rng.choice(["Paris", "Lyon", "Nantes"], n).astype(object),
            "patient_id": ids,
            "name": pd.array([f"Person {i} Surname{i * 7}" for i in range(n)], dtype="string"),
            "record": np.arange(10_001, 10_001 + n, dtype=np.int32),
        }
    )


@pytest.mark.parametrize("method", ["row_order", "coordinate_similarity"])
def test_excluded_identifiers_are_released_as_pseudonyms(method: str) -> None:
    df = _patients()
    result = avatarize(
        df,
        k=5,
        exclude_variable_names=["patient_id", "record", "city"],
        exclude_variables_method=method,
        seed=0,
    )
    avatars = result.unshuffled
    assert avatars.dtypes.to_dict() == df.dtypes.to_dict()
    for column in ("patient_id", "name", "record"):
        assert not set(avatars[column]) & set(df[column]), column
        assert column in " ".join(result.warnings), column
    # One pseudonym per identifier value: the patient seen twice stays one (by row order).
    if method == "row_order":
        assert avatars["patient_id"].iloc[0] == avatars["patient_id"].iloc[1]
        assert avatars["patient_id"].nunique() == df["patient_id"].nunique()
    assert set(avatars["record"]) <= set(range(1, len(df) + 1))
    assert avatars["name"].str.fullmatch(r"name_\d{3}").all()
    # An excluded column that is not an identifier is re-attached as Octopize does.
    if method == "row_order":
        assert (avatars["city"] == df["city"]).all()
    assert "city" not in " ".join(result.warnings)


def test_a_categorical_identifier_is_not_decoded_to_real_values() -> None:
    df = _patients()[["age", "weight", "city", "name"]]
    df["badge"] = df["name"].astype("category")  # its categories are the real names
    result = avatarize(df, k=5, use_categorical_reduction=True, seed=0)
    assert not set(result.avatars["name"]) & set(df["name"])
    badge = result.avatars["badge"]
    assert isinstance(badge.dtype, pd.CategoricalDtype) and badge.notna().all()
    assert not set(badge.cat.categories) & set(df["name"])
    (said,) = [w for w in result.warnings if "'name'" in w]
    assert "looks like an identifier (120 distinct values for 120 rows (100 %))" in said
    assert "pseudonymized_columns" in said


def test_only_identifier_like_columns_are_found() -> None:
    df = _patients()
    found = find_identifiers(df, excluded=["record", "city"])
    # 'record' is excluded (re-attached as it is); 'patient_id' and 'name' would be decoded to
    # their values; 'age' (an integer avatarized as a number), 'weight' and 'city' are data.
    assert set(found) == {"patient_id", "name", "record"}
    assert find_identifiers(df[["age", "weight", "city"]], excluded=["city"]) == {}
    # A code column 60 % distinct is data unless someone excluded it (advice flags it by name).
    codes = df.assign(diagnosis_code=[f"C{i % 72:02d}" for i in range(len(df))])
    assert "diagnosis_code" not in find_identifiers(codes)
    assert "diagnosis_code" in find_identifiers(codes, excluded=["diagnosis_code"])
    # Dates written as text (read_csv leaves them so) are moments, not identifiers.
    signed = pd.Timestamp("2015-04-18 07:05:27") + pd.to_timedelta(df["record"] * 3607, unit="s")
    assert find_identifiers(df.assign(signed=signed.astype(str)), excluded=["record"]).keys() == {
        "patient_id",
        "name",
        "record",
    }
    assert set(find_identifiers(df, categorical_columns=["age"])) == {"patient_id", "name"}
