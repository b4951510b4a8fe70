"""The avatarization features in a run's configuration: checked without the data when set,
against the stored columns when jobs start, and carried unchanged through the contract."""

from __future__ import annotations

import math
from typing import Any

import pytest
from veil.v1 import runs_pb2
from veil_service.api.runs_convert import config_from_proto, config_to_proto
from veil_service.arrow_tables import ColumnDescription
from veil_service.errors import InvalidArgumentError
from veil_service.runs.config import RunConfig, TableConfig, validate
from veil_service.runs.jobs import plan
from veil_service.runs.tables import StoredTable


def _config(avatarization: dict[str, Any], **table: Any) -> RunConfig:
    return RunConfig(tables=[TableConfig("adult", avatarization=avatarization, **table)])


def _refused(config: RunConfig) -> InvalidArgumentError:
    with pytest.raises(InvalidArgumentError) as caught:
        validate(config)
    return caught.value


@pytest.mark.parametrize("epsilon", [0, -1.0, math.nan, math.inf, -math.inf, 1e9, "1", True])
@pytest.mark.parametrize("name", ["open_dp_epsilon", "fast_dp_epsilon"])
def test_epsilon_must_be_finite_and_positive(name: str, epsilon: Any) -> None:
    error = _refused(_config({name: epsilon}))
    assert error.field == f"tables[adult].avatarization.{name}"
    assert name in error.message and "ε" in error.message


@pytest.mark.parametrize(
    "params",
    [
        {"k": 5, "open_dp_epsilon": 1.0},
        {"k": 5, "fast_dp_epsilon": 1.0},
        {"open_dp_epsilon": 1.0, "fast_dp_epsilon": 1.0},
    ],
)
def test_two_generators_at_once_are_refused(params: dict[str, Any]) -> None:
    error = _refused(_config(params))
    assert "keep only one of k, open_dp_epsilon and fast_dp_epsilon" in error.message


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"open_dp_epsilon": 1.0, "ncp": 3}, "ncp", "applies to the avatar method"),
        (
            {"fast_dp_epsilon": 1.0, "preprocess_budget_ratio": 0.3},
            "preprocess_budget_ratio",
            "belongs to open_dp_epsilon",
        ),
        (
            {"open_dp_epsilon": 1.0, "preprocess_budget_ratio": 1.0},
            "preprocess_budget_ratio",
            "strictly between 0 and 1",
        ),
        ({"fast_dp_epsilon": 1.0, "mechanism": "laplace"}, "mechanism", "gaussian"),
        (
            {"fast_dp_epsilon": 1.0, "gmm_n_components": 3},
            "gmm_n_components",
            "applies to mechanism 'gmm' only",
        ),
        ({"fast_dp_epsilon": 1.0, "bounds_percentile": 50}, "bounds_percentile", "[0, 50)"),
        (
            {"k": 5, "data_augmentation_strategy": "minority"},
            "data_augmentation_target_column",
            "is required",
        ),
        ({"k": 5, "data_augmentation_strategy": 1.0}, "data_augmentation_strategy", "(1, 50]"),
        (
            {
                "k": 5,
                "data_augmentation_strategy": {"a": 0.5, "b": 0.6},
                "data_augmentation_target_column": "c",
            },
            "data_augmentation_strategy",
            "add up to 1",
        ),
        (
            {"k": 5, "data_augmentation_target_column": "income"},
            "data_augmentation_target_column",
            "data_augmentation_strategy is not",
        ),
        ({"k": 5, "processors": [{"target": "a"}]}, "processors[0]", "no known processor"),
        (
            {"k": 5, "processors": [{"target": "a", "references": ["a"]}]},
            "processors[0].target",
            "also one of its references",
        ),
    ],
)
def test_bad_feature_parameters_name_their_field(
    params: dict[str, Any], field: str, words: str
) -> None:
    error = _refused(_config(params))
    assert error.field == f"tables[adult].avatarization.{field}"
    assert words in error.message


def test_a_specific_id_pattern_without_placeholder_is_refused() -> None:
    error = _refused(
        _config({"k": 5}, pseudonymized_columns={"zip": {"kind": "SPECIFIC_ID", "pattern": "Z"}})
    )
    assert error.field == "tables[adult].pseudonymized_columns[zip].pattern"
    assert "has no placeholder" in error.message and "ID-####" in error.message


def _stored(*columns: str) -> StoredTable:
    return StoredTable(
        "t1",
        "r1",
        "adult",
        "original",
        10,
        tuple(ColumnDescription(c, "int64", False) for c in columns),
        1,
        "0" * 64,
        "x",
        0.0,
    )


@pytest.mark.parametrize(
    ("params", "pseudonymized", "field"),
    [
        (
            {"k": 5, "processors": [{"target": "gain", "references": ["loss", "tax"]}]},
            {},
            "tables[adult].avatarization.processors[0].references[1]",
        ),
        (
            {
                "k": 5,
                "data_augmentation_strategy": "minority",
                "data_augmentation_target_column": "class",
            },
            {},
            "tables[adult].avatarization.data_augmentation_target_column",
        ),
        ({"k": 5}, {"ssn": {"kind": "UUID4"}}, "tables[adult].pseudonymized_columns[ssn]"),
    ],
)
def test_starting_jobs_refuses_features_naming_a_missing_column(
    params: dict[str, Any], pseudonymized: dict[str, Any], field: str
) -> None:
    config = _config(params, pseudonymized_columns=pseudonymized)
    validate(config)
    with pytest.raises(InvalidArgumentError) as caught:
        plan(["standard"], config, [_stored("age", "gain", "loss")], set())
    assert caught.value.field == field
    assert "age, gain, loss" in caught.value.message


def test_every_feature_crosses_the_contract_unchanged() -> None:
    config = RunConfig(
        tables=[
            TableConfig(
                "a", avatarization={"open_dp_epsilon": 0.5, "preprocess_budget_ratio": 0.25}
            ),
            TableConfig(
                "b",
                avatarization={
                    "fast_dp_epsilon": 4.0,
                    "mechanism": "histogram",
                    "histogram_n_bins": 12,
                    "bounds_percentile": 2.5,
                    "data_augmentation_strategy": 3.0,
                },
            ),
            TableConfig(
                "c",
                avatarization={
                    "k": 5,
                    "data_augmentation_strategy": {"x": 0.25, "y": 0.75},
                    "data_augmentation_target_column": "cls",
                    "data_augmentation_should_anonymize_original_table": False,
                    "processors": [
                        {"target": "t", "references": ["r"], "scaling_unit": 2.0},
                        {
                            "id_variable": "i",
                            "target_start_variable": "s",
                            "target_end_variable": "e",
                        },
                    ],
                },
                column_types={"ssn": "category"},
                pseudonymized_columns={
                    "ssn": {"kind": "UUID4", "consistent": False},
                    "mail": {
                        "kind": "FAKER",
                        "pii_type": "EMAIL",
                        "consistent": True,
                        "high_variability": True,
                    },
                    "code": {
                        "kind": "SPECIFIC_ID",
                        "pattern": "A-?##",
                        "letter_case": "lower",
                        "consistent": True,
                    },
                    "n": {"kind": "INTEGER", "consistent": True},
                    "h": {"kind": "HASH_SHA256"},
                    "k": {"kind": "CONSTANT", "value": "X"},
                },
            ),
            TableConfig(
                "d",
                avatarization={
                    "k": 4,
                    "data_augmentation_strategy": "not_majority",
                    "data_augmentation_target_column": "z",
                },
            ),
        ]
    )
    validate(config)
    message = config_to_proto(config)
    wire = runs_pb2.RunConfig.FromString(message.SerializeToString())
    assert config_from_proto(wire) == config


def test_unset_enums_on_the_wire_are_refused_naming_the_field() -> None:
    message = runs_pb2.RunConfig()
    table = message.tables.add(name="t")
    table.avatarization.k = 5
    table.avatarization.data_augmentation.class_strategy = (
        runs_pb2.AUGMENTATION_STRATEGY_UNSPECIFIED
    )
    table.avatarization.data_augmentation.target_column = "c"
    column = table.columns.add(name="ssn")
    column.pseudonymization.SetInParent()
    with pytest.raises(InvalidArgumentError) as caught:
        validate(config_from_proto(message))
    assert caught.value.field == "tables[t].avatarization.data_augmentation_strategy"
    table.avatarization.ClearField("data_augmentation")
    with pytest.raises(InvalidArgumentError) as caught:
        validate(config_from_proto(message))
    assert caught.value.field == "tables[t].pseudonymized_columns[ssn].kind"
