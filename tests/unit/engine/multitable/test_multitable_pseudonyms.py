"""Pseudonymization of a multi-table run: foreign keys inherit their parent key's mapping,
identifiers come back on the avatar of their own row, nothing original is left."""

from __future__ import annotations

import pandas as pd
import pytest
from support import FIXTURES as TEST_FIXTURES
from veil_service.engine.multitable import (
    Link,
    Schema,
    TableKeys,
    TableParameters,
    avatarize_tables,
)
from veil_service.engine.multitable.pseudonyms import pseudonymize_linked, set_aside
from veil_service.engine.pseudonymize import parse_strategy
from veil_service.errors import InvalidArgumentError

FIXTURES = TEST_FIXTURES / "avatar" / "fixtures"
SECRET = bytes(range(32))


def _tutorial3() -> tuple[Schema, dict[str, pd.DataFrame]]:
    frames = {name: pd.read_csv(FIXTURES / f"{name}.csv") for name in ("patient", "visit")}
    frames["patient"]["email"] = [f"p{i}@example.org" for i in range(len(frames["patient"]))]
    frames["visit"] = frames["visit"].drop(columns=["doctor_id"])
    schema = Schema(
        (
            TableKeys("patient", "p_id", individual_level=True),
            TableKeys("visit", "visit_id", ("patient_id",), individual_level=False),
        ),
        (Link("patient", "p_id", "visit", "patient_id", "linear_sum_assignment"),),
    )
    return schema, frames


def test_foreign_keys_inherit_the_parent_key_mapping_and_identifiers_follow_their_row() -> None:
    schema, full = _tutorial3()
    strategies = {
        "patient": {
            "p_id": parse_strategy("p_id", {"kind": "UUID4"}),
            "email": parse_strategy("email", {"kind": "FAKER", "pii_type": "EMAIL"}),
        },
        "visit": {},
    }
    frames = {name: set_aside(schema, name, full[name], strategies[name]) for name in full}
    assert "email" not in frames["patient"] and "p_id" in frames["patient"]
    result = avatarize_tables(
        schema, frames, {n: TableParameters({"k": 5}) for n in frames}, seed=0
    )
    tables, mappings = pseudonymize_linked(schema, full, result.tables, strategies, secret=SECRET)
    patients, visits = tables["patient"].avatars, tables["visit"].avatars
    assert list(patients.columns) == list(full["patient"].columns)
    assert patients["p_id"].str.fullmatch(r"[0-9a-f-]{36}").all() and patients["p_id"].is_unique
    # Every visit points at a pseudonymized patient; no original identifier is left.
    assert set(visits["patient_id"]) <= set(patients["p_id"])
    assert not set(visits["patient_id"]) & set(full["patient"]["p_id"].astype(str))
    assert not set(patients["email"]) & set(full["patient"]["email"])
    assert patients["email"].str.contains("@").all()
    # The same links as before pseudonymization: children per parent are kept.
    before = result.tables["visit"].unshuffled["patient_id"].value_counts().sort_values()
    after = tables["visit"].unshuffled["patient_id"].value_counts().sort_values()
    assert before.to_numpy().tolist() == after.to_numpy().tolist()
    # Identifiers come back on the avatar of their own row (unshuffled row i <- original i).
    email_mapping = mappings["patient"]["email"].values
    originals = full["patient"]["email"].astype(str)
    assert [email_mapping[v] for v in originals] == tables["patient"].unshuffled["email"].tolist()
    # Shuffled avatars are the unshuffled rows in the pipeline's order.
    order = result.tables["patient"].order
    assert order is not None
    pd.testing.assert_frame_equal(
        tables["patient"].unshuffled.iloc[order].reset_index(drop=True), patients
    )


def test_a_time_series_table_pseudonymizes_only_its_keys() -> None:
    schema, full = _tutorial3()
    strategies = {"patient": {}, "visit": {"exam": parse_strategy("exam", {"kind": "UUID4"})}}
    frames = {name: set_aside(schema, name, full[name], strategies[name]) for name in full}
    result = avatarize_tables(
        schema, frames, {n: TableParameters({"k": 5}) for n in frames}, seed=0
    )
    tables = dict(result.tables)
    shorter = tables["visit"].unshuffled.iloc[:-1]
    tables["visit"] = type(tables["visit"])("visit", shorter, shorter, order=None)
    with pytest.raises(InvalidArgumentError, match="only its keys"):
        pseudonymize_linked(schema, full, tables, strategies, secret=SECRET)
