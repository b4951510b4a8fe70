"""Pseudonymization: every kind, consistency, inheritance by foreign keys, keyed hashing, errors."""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid

import pandas as pd
import pytest
from faker import Faker
from support import FIXTURES
from veil_service.engine.pseudonymize import (
    mappings_from_frame,
    mappings_to_frame,
    parse_strategies,
    parse_strategy,
    pseudonymize_table,
)
from veil_service.engine.pseudonymize.generators import keyed_hash
from veil_service.errors import InvalidArgumentError

SECRET = bytes(range(32))


@pytest.fixture(scope="module")
def patients() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "avatar" / "fixtures" / "pseudo_data.csv.gz")


def test_tutorial_8_strategies_replace_every_identifier(patients: pd.DataFrame) -> None:
    strategies = parse_strategies(
        {
            "first_name": {"kind": "FAKER", "pii_type": "FIRST_NAME"},
            "last_name": {"kind": "FAKER", "pii_type": "LAST_NAME"},
            "ssn": {"kind": "UUID4"},
            "email": {"kind": "FAKER", "pii_type": "EMAIL"},
            "phone": {"kind": "FAKER", "pii_type": "PHONE"},
            "address": {"kind": "FAKER", "pii_type": "ADDRESS"},
            "zip_code": {"kind": "SPECIFIC_ID", "pattern": "#####"},
        }
    )
    result = pseudonymize_table(patients, strategies, secret=SECRET, table_name="patients")
    out = result.table
    assert out["ssn"].map(lambda v: uuid.UUID(v).version == 4).all()
    assert out["ssn"].nunique() == patients["ssn"].nunique()
    assert out["email"].str.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]+").all()
    assert out["zip_code"].str.fullmatch(r"\d{5}").all()
    for column in strategies:
        overlap = set(out[column].astype(str)) & set(patients[column].astype(str))
        # Fake first names may happen to be real first names; identifiers never collide.
        if column not in ("first_name", "last_name", "zip_code"):
            assert not overlap, column
        same_row = (out[column].astype(str) == patients[column].astype(str)).mean()
        assert same_row < 0.05, column
    untouched = [c for c in patients.columns if c not in strategies]
    pd.testing.assert_frame_equal(out[untouched], patients[untouched])
    assert set(result.mappings) == set(strategies)


def test_consistent_mappings_give_equal_pseudonyms_to_equal_values() -> None:
    df = pd.DataFrame({"name": ["ann", "bob", "ann", None, "bob", "cy"]})
    for spec in (
        {"kind": "FAKER", "pii_type": "FULL_NAME"},
        {"kind": "UUID4"},
        {"kind": "INTEGER"},
        {"kind": "SPECIFIC_ID", "pattern": "P-??##"},
        {"kind": "HASH_SHA256"},
    ):
        out = pseudonymize_table(
            df, {"name": parse_strategy("name", spec)}, secret=SECRET, table_name="t"
        ).table["name"]
        assert out[0] == out[2] and out[1] == out[4], spec
        assert len({out[0], out[1], out[5]}) == 3, spec
        assert pd.isna(out[3]), spec


def test_inconsistent_strategies_give_each_row_its_own_value() -> None:
    df = pd.DataFrame({"id": ["a"] * 50})
    uuids = pseudonymize_table(
        df,
        {"id": parse_strategy("id", {"kind": "UUID4", "consistent": False})},
        secret=SECRET,
        table_name="t",
    ).table["id"]
    assert uuids.nunique() == 50
    integers = pseudonymize_table(
        df,
        {"id": parse_strategy("id", {"kind": "INTEGER", "consistent": False})},
        secret=SECRET,
        table_name="t",
    ).table["id"]
    assert sorted(integers) == list(range(1, 51))
    assert integers.tolist() != list(range(1, 51))  # randomised order


def test_integer_constant_and_specific_id_details() -> None:
    df = pd.DataFrame({"id": [f"E{i}" for i in range(200)], "dept": ["hr", "it"] * 100})
    strategies = parse_strategies(
        {
            "id": {"kind": "SPECIFIC_ID", "pattern": r"{{dept}}-??\#^^", "letter_case": "upper"},
            "dept": {"kind": "CONSTANT", "value": "REDACTED"},
        }
    )
    out = pseudonymize_table(df, strategies, secret=SECRET, table_name="staff").table
    # {{dept}} copies the row's output value (here the constant), \# is a literal '#'.
    assert out["id"].str.fullmatch(r"REDACTED-[A-Z]{2}#[A-Z0-9]{2}").all()
    assert out["id"].nunique() == 200
    assert (out["dept"] == "REDACTED").all()
    ints = pseudonymize_table(
        df, {"id": parse_strategy("id", {"kind": "INTEGER"})}, secret=SECRET, table_name="s"
    ).table["id"]
    assert ints.dtype == "int64" and sorted(ints) == list(range(1, 201))


def test_foreign_keys_inherit_their_parent_key_mapping() -> None:
    parents = pd.DataFrame({"patient_id": ["P001", "P002", "P003"], "age": [34, 45, 28]})
    visits = pd.DataFrame(
        {"visit_id": ["V1", "V2", "V3", "V4"], "patient_id": ["P001", "P001", "P003", "P002"]}
    )
    parent = pseudonymize_table(
        parents,
        {"patient_id": parse_strategy("patient_id", {"kind": "UUID4"})},
        secret=SECRET,
        table_name="patients",
    )
    child = pseudonymize_table(
        visits,
        {},
        secret=SECRET,
        table_name="visits",
        inherited={"patient_id": parent.mappings["patient_id"]},
    )
    lookup = dict(zip(parents["patient_id"], parent.table["patient_id"], strict=True))
    assert child.table["patient_id"].tolist() == [lookup[v] for v in visits["patient_id"]]
    assert child.table["visit_id"].tolist() == visits["visit_id"].tolist()
    # The mapping round-trips through its stored form.
    stored = mappings_from_frame(
        mappings_to_frame(parent.mappings), {"patient_id": parent.mappings["patient_id"].strategy}
    )
    assert stored["patient_id"].values == parent.mappings["patient_id"].values


def test_same_secret_same_pseudonyms_other_secret_other_ones(patients: pd.DataFrame) -> None:
    strategies = parse_strategies(
        {"ssn": {"kind": "UUID4"}, "email": {"kind": "FAKER", "pii_type": "EMAIL"}}
    )
    first = pseudonymize_table(patients, strategies, secret=SECRET, table_name="p").table
    again = pseudonymize_table(patients, strategies, secret=SECRET, table_name="p").table
    other = pseudonymize_table(
        patients, strategies, secret=secrets.token_bytes(32), table_name="p"
    ).table
    pd.testing.assert_frame_equal(first, again)
    assert not (first["ssn"] == other["ssn"]).any()


def test_keyed_hash_resists_the_dictionary_attack_a_plain_hash_falls_to(
    patients: pd.DataFrame,
) -> None:
    """A plain SHA-256 of a first name is reversed by hashing a list of names; HMAC is not."""
    names = patients["first_name"]
    dictionary = {hashlib.sha256(n.encode()).hexdigest(): n for n in _common_first_names()}
    plain = names.map(lambda n: hashlib.sha256(n.encode()).hexdigest())
    recovered_plain = plain.map(dictionary.get).eq(names).mean()
    secret = secrets.token_bytes(32)
    keyed = pseudonymize_table(
        patients,
        {"first_name": parse_strategy("first_name", {"kind": "HASH_SHA256"})},
        secret=secret,
        table_name="patients",
    ).table["first_name"]
    recovered_keyed = keyed.map(dictionary.get).eq(names).mean()
    assert recovered_plain > 0.9
    assert recovered_keyed == 0.0
    assert keyed.str.fullmatch(r"[0-9a-f]{64}").all()
    assert keyed[0] == keyed_hash(secret, "patients.first_name", names[0])


def _common_first_names() -> set[str]:
    fake = Faker("en_US")
    provider = fake.provider("faker.providers.person")
    return (
        set(getattr(provider, "first_names", ()))
        | set(getattr(provider, "first_names_male", ()))
        | set(getattr(provider, "first_names_female", ()))
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"kind": "SPECIFIC_ID", "pattern": "ID-"}, "has no placeholder"),
        ({"kind": "SPECIFIC_ID", "pattern": "{{dept}}"}, "has no placeholder"),
        ({"kind": "SPECIFIC_ID", "pattern": r"\#\#"}, "has no placeholder"),
        ({"kind": "FAKER"}, "pii_type must be one of"),
        ({"kind": "FAKER", "pii_type": "PASSPORT"}, "pii_type must be one of"),
        ({"kind": "CONSTANT"}, "value must be a non-empty string"),
        ({"kind": "MD5"}, "kind must be one of"),
        ({"kind": "UUID4", "pattern": "#"}, "takes no"),
        ({"kind": "UUID4", "consistent": "yes"}, "must be true or false"),
        ({"kind": "SPECIFIC_ID", "pattern": "#", "letter_case": "title"}, "letter_case"),
    ],
)
def test_bad_strategies_are_refused_with_the_field_named(
    spec: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=message) as caught:
        parse_strategy("col", spec)
    assert caught.value.field is not None and caught.value.field.startswith(
        "pseudonymized_columns[col]"
    )


def test_table_level_errors_name_the_column_and_the_fix() -> None:
    df = pd.DataFrame({"id": [str(i) for i in range(30)]})
    with pytest.raises(InvalidArgumentError, match="does not have"):
        pseudonymize_table(
            df, parse_strategies({"nope": {"kind": "UUID4"}}), secret=SECRET, table_name="t"
        )
    with pytest.raises(
        InvalidArgumentError, match=re.escape("allows 10 distinct IDs but the column needs 30")
    ):
        pseudonymize_table(
            df,
            parse_strategies({"id": {"kind": "SPECIFIC_ID", "pattern": "#"}}),
            secret=SECRET,
            table_name="t",
        )
    with pytest.raises(InvalidArgumentError, match="copies column"):
        pseudonymize_table(
            df,
            parse_strategies({"id": {"kind": "SPECIFIC_ID", "pattern": "{{x}}-##"}}),
            secret=SECRET,
            table_name="t",
        )
