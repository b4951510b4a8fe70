"""The avatarization features' one conversion, used by the Runner and by the server."""

from __future__ import annotations

from typing import Any

from veil.v1 import runs_pb2
from veil_wire.avatar_features import (
    features_from_proto,
    fill_features,
    fill_strategy,
    strategy_from_proto,
)

EVERY_FEATURE: dict[str, Any] = {
    "open_dp_epsilon": 1.5,
    "preprocess_budget_ratio": 0.25,
    "fast_dp_epsilon": 2.0,
    "mechanism": "gmm",
    "gmm_n_components": 4,
    "histogram_n_bins": 12,
    "bounds_percentile": 0.5,
    "data_augmentation_strategy": {"yes": 0.5, "no": 0.5},
    "data_augmentation_target_column": "target",
    "data_augmentation_should_anonymize_original_table": False,
    "processors": [
        {"target": "total", "references": ["a", "b"], "scaling_unit": 10.0},
        {"id_variable": "id", "target_start_variable": "start", "target_end_variable": "end"},
    ],
}


def _round_trip(values: dict[str, Any]) -> dict[str, Any]:
    message = runs_pb2.AvatarizationParameters()
    fill_features(message, values)
    wire = runs_pb2.AvatarizationParameters.FromString(message.SerializeToString())
    return features_from_proto(wire)


def test_every_feature_comes_back_as_it_was_sent() -> None:
    assert _round_trip(EVERY_FEATURE) == EVERY_FEATURE


def test_each_augmentation_strategy_comes_back_in_its_own_kind() -> None:
    assert _round_trip({"data_augmentation_strategy": 2.0})["data_augmentation_strategy"] == 2.0
    back = _round_trip({"data_augmentation_strategy": "not_majority"})
    assert back["data_augmentation_strategy"] == "not_majority"


def test_absent_features_stay_absent() -> None:
    assert _round_trip({}) == {}
    assert _round_trip({"open_dp_epsilon": 1.0}) == {"open_dp_epsilon": 1.0}


def test_unknown_names_go_as_unspecified_and_come_back_empty_for_the_server_to_refuse() -> None:
    back = _round_trip(
        {"data_augmentation_strategy": "majority", "processors": [{}], "fast_dp_epsilon": 1.0}
    )
    assert back["data_augmentation_strategy"] == ""
    assert back["processors"] == [{}]
    assert "mechanism" not in back  # unspecified: the server applies its default mechanism


def test_a_pseudonymization_strategy_round_trips_and_an_unknown_kind_reads_empty() -> None:
    fields = {
        "kind": "specific_id",
        "pii_type": "email",
        "consistent": True,
        "pattern": "AA-999",
        "letter_case": "UPPER",
    }
    message = runs_pb2.PseudonymizationStrategy()
    fill_strategy(message, fields)
    assert strategy_from_proto(message) == {
        "kind": "SPECIFIC_ID",
        "pii_type": "EMAIL",
        "consistent": True,
        "pattern": "AA-999",
        "letter_case": "upper",
    }
    unknown = runs_pb2.PseudonymizationStrategy()
    fill_strategy(unknown, {"kind": "shuffle"})
    assert strategy_from_proto(unknown) == {"kind": ""}
