"""A featured standard job (here: one pseudonymized column) runs the avatar method through the
release; an identifier-like column it was not told about still comes back as pseudonyms, and the
avatar method's warning reaches the job (it was dropped before). A DP generator cannot make that
choice on its own (it reads the private rows): it refuses the column, naming the fixes, and a
pseudonymized identifier comes back as fresh pseudonyms, never a real value."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from veil_service.engine.release import parse_release, release_table
from veil_service.errors import InvalidArgumentError


def test_an_excluded_identifier_in_a_featured_release_is_pseudonymized_and_said() -> None:
    rng = np.random.default_rng(0)
    n = 80
    age = rng.integers(18, 90, n)
    frame = pd.DataFrame(
        {
            "age": age,
            "weight": 50.0 + 0.3 * age + rng.normal(0, 5, n),
            "name": pd.Categorical([f"Person {i}" for i in range(n)]),
            "ssn": [f"{i:03d}-00-{i:04d}" for i in range(n)],
        }
    )
    params = parse_release(
        {"k": 5, "exclude_variable_names": ["name"]}, {"ssn": {"kind": "UUID4"}}, seed=1
    )
    release = release_table(frame, params, secret=b"s" * 32, table_name="people")
    avatars = release.avatars
    assert not set(avatars["name"].dropna()) & set(frame["name"])
    assert avatars["name"].notna().all()
    (said,) = [w for w in release.details["warnings"] if "'name'" in w]
    assert release.details["pseudonymized_identifier_columns"] == ["name"]  # no figure of it
    assert said.startswith("column 'name' looks like an identifier (80 distinct values")


def _people(n: int = 80) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    age = rng.integers(18, 90, n)
    return pd.DataFrame(
        {
            "name": [f"Person {i:03d}" for i in range(n)],
            "age": age,
            "weight": 50.0 + 0.3 * age + rng.normal(0, 5, n),
            "arm": rng.choice(["placebo", "drug"], n),
        }
    )


@pytest.mark.parametrize(
    ("avatarization", "parameter"),
    [({"fast_dp_epsilon": 5.0}, "fast_dp_epsilon"), ({"open_dp_epsilon": 5.0}, "open_dp_epsilon")],
)
def test_a_dp_generator_refuses_an_identifier_like_column_naming_both_fixes(
    avatarization: dict[str, Any], parameter: str
) -> None:
    # Before: Fast DP sampled the names from their noisy counts, every output row carried a real
    # name; Open DP spent ε on the column.
    params = parse_release(avatarization, None, seed=1)
    with pytest.raises(InvalidArgumentError) as refused:
        release_table(_people(), params, table_name="people")
    message = refused.value.message
    assert message.startswith(
        "column 'name' of table 'people' looks like an identifier (80 distinct values for 80 "
        f"rows (100 %)): a DP generator ({parameter}) must not release it"
    )
    assert "pseudonymized_columns" in message and "columns_to_drop" in message
    assert refused.value.field == "pseudonymized_columns"


def test_a_pseudonymized_identifier_never_reaches_a_dp_output() -> None:
    people = _people()
    params = parse_release({"fast_dp_epsilon": 5.0}, {"name": {"kind": "UUID4"}}, seed=1)
    release = release_table(people, params, secret=b"s" * 32, table_name="people")
    names = release.avatars["name"]
    assert not set(names) & set(people["name"])
    # A fresh pseudonym per output row (drawn from no data), and no mapping kept.
    assert names.is_unique and names.str.fullmatch(r"[0-9a-f-]{36}").all()
    assert release.mappings == {}
    assert release.avatars["arm"].isin(["placebo", "drug"]).all()


def test_augmentation_names_the_identifiers_it_released_as_pseudonyms() -> None:
    people = _people()
    params = parse_release(
        {
            "k": 5,
            "data_augmentation_strategy": "minority",
            "data_augmentation_target_column": "arm",
        },
        None,
        seed=1,
    )
    release = release_table(people, params, table_name="people")
    assert not set(release.avatars["name"].dropna()) & set(people["name"])
    # The standard task leaves these out of the figures (they would show the real names).
    assert release.details["pseudonymized_identifier_columns"] == ["name"]


def test_open_dp_takes_the_augmentation_target_column_as_its_public_target() -> None:
    params = parse_release(
        {
            "open_dp_epsilon": 1.0,
            "data_augmentation_strategy": 2,
            "data_augmentation_target_column": "income",
        },
        None,
        seed=1,
    )
    assert params.open_dp is not None and params.open_dp.target_column == "income"
    plain = parse_release({"open_dp_epsilon": 1.0}, None, seed=1)
    assert plain.open_dp is not None and plain.open_dp.target_column is None
