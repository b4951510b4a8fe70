"""A featured standard job (here: one pseudonymized column) runs the avatar method through the
release; an identifier-like column it was not told about still comes back as pseudonyms, and the
avatar method's warning reaches the job (it was dropped before)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from veil_service.engine.release import parse_release, release_table


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
