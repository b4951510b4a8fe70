"""A featured standard job (pseudonyms, data augmentation, server-side processors, Fast DP) sets
constant and all-missing columns aside as the plain avatar method does (issue 13 item 2): they come
back unchanged, with their dtypes, and the job's warnings say so. Before, every one of these
releases failed on the constant column ("Column 'region' is constant").

Open DP is the exception: deciding that a column is constant reads the private data, and releasing
its value unchanged is not differentially private, so Open DP models every column.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from veil_service.engine.release import parse_release, release_table
from veil_service.errors import InvalidArgumentError


@pytest.fixture(scope="module")
def trial() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 90
    age = rng.integers(18, 90, n)
    return pd.DataFrame(
        {
            "patient": [f"P{i:03d}" for i in range(n)],
            "age": age,
            "region": "north",
            "weight": 50.0 + 0.3 * age + rng.normal(0, 5, n),
            "protocol": np.int32(7),
            "notes": np.nan,
            "arm": rng.choice(["placebo", "drug", "drug"], n),
            "dose": (age * 2 + rng.integers(0, 20, n)).astype(float),
        }
    )


CASES: dict[str, tuple[dict[str, Any], dict[str, Any] | None]] = {
    "pseudonyms": ({"k": 5, "column_weights": {"region": 2.0}}, {"patient": {"kind": "UUID4"}}),
    "multiplier": ({"k": 5, "data_augmentation_strategy": 2.0}, None),
    "minority": (
        {
            "k": 5,
            "data_augmentation_strategy": "minority",
            "data_augmentation_target_column": "arm",
        },
        None,
    ),
    "processors": (
        {"k": 5, "processors": [{"target": "dose", "references": ["protocol", "age"]}]},
        None,
    ),
    # Fast DP refuses the patient numbers unless pseudonymized (test_release_identifiers).
    "fast_dp": ({"fast_dp_epsilon": 5.0}, {"patient": {"kind": "UUID4"}}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_constant_and_empty_columns_are_set_aside_and_said(trial: pd.DataFrame, case: str) -> None:
    avatarization, pseudonymized = CASES[case]
    params = parse_release(avatarization, pseudonymized, seed=3)
    release = release_table(trial, params, secret=b"s" * 32, table_name="trial")
    avatars = release.avatars
    assert list(avatars.columns) == list(trial.columns)
    assert (avatars["region"] == "north").all() and (avatars["protocol"] == 7).all()
    assert avatars["protocol"].dtype == np.int32
    assert avatars["notes"].isna().all()
    warnings = release.details["warnings"]
    assert any("'protocol', 'region'" in w or "'region', 'protocol'" in w for w in warnings)
    assert any("column 'notes' has no value in any row" in w for w in warnings)
    # The other columns were generated, not passed through.
    assert avatars["age"].nunique() > 1 and avatars["weight"].notna().all()


def test_a_constant_augmentation_target_is_a_clear_error(trial: pd.DataFrame) -> None:
    params = parse_release(
        {
            "k": 5,
            "data_augmentation_strategy": "minority",
            "data_augmentation_target_column": "region",
        },
        None,
        seed=3,
    )
    with pytest.raises(
        InvalidArgumentError, match="column 'region' of table 'trial' has one value in every row"
    ):
        release_table(trial, params, table_name="trial")
