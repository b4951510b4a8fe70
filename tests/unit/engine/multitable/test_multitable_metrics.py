"""Metrics of linked tables: computation types, the breach they reveal, summaries, time series."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from linked_data import hospital
from linked_fixtures import sensors
from test_multitable_pipeline import hospital_schema, params, tutorial3
from veil_service.engine.multitable import (
    Link,
    Schema,
    TableKeys,
    TableParameters,
    avatarize_tables,
)
from veil_service.engine.multitable.metric_parameters import check_metric_parameters
from veil_service.engine.multitable.metrics import (
    LinkedTables,
    individual_hidden_rate,
    linked_privacy_metrics,
    linked_signal_metrics,
    metrics_summary,
)
from veil_service.engine.timeseries import TimeSeriesParameters
from veil_service.errors import InvalidArgumentError


def linked(method: str, seed: int = 42) -> LinkedTables:
    schema, frames = tutorial3(method)
    result = avatarize_tables(schema, frames, params("patient", "doctor", "visit"), seed=seed)
    return LinkedTables(schema, frames, {n: t.unshuffled for n, t in result.tables.items()})


def types(results: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return [(r["metadata"]["computation_type"], r["metadata"]["reference"]) for r in results]


@pytest.fixture(scope="module")
def lsa() -> LinkedTables:
    return linked("linear_sum_assignment")


@pytest.fixture(scope="module")
def lsa_privacy(lsa: LinkedTables) -> dict[str, list[dict[str, Any]]]:
    return linked_privacy_metrics(lsa, {"patient": {"known_variables": ["gender", "age"]}})


def test_privacy_computation_types_per_table(lsa_privacy: dict[str, list[dict[str, Any]]]) -> None:
    assert types(lsa_privacy["patient"]) == [("standalone", None), ("to_top_enriched", "visit")]
    assert types(lsa_privacy["doctor"]) == [("standalone", None), ("to_top_enriched", "visit")]
    assert types(lsa_privacy["visit"]) == [
        ("to_bottom_id_propagated", "patient"),
        ("full_enriched", "patient"),
        ("to_bottom_id_propagated", "doctor"),
        ("full_enriched", "doctor"),
    ]
    for results in lsa_privacy.values():
        for result in results:
            assert result["metadata"]["table_name"] in ("patient", "doctor", "visit")
            assert 0 <= result["hidden_rate"] <= 100
            assert set(result["targets"]) <= set(result["passed"])
    # known_variables of the patient reach its standalone metrics.
    assert lsa_privacy["patient"][0]["correlation_protection_rate"] is not None


def test_sensitive_original_order_shows_as_a_breach_in_enriched_metrics(
    lsa_privacy: dict[str, list[dict[str, Any]]],
) -> None:
    breach = linked_privacy_metrics(linked("sensitive_original_order_assignment"), {})
    safe_enriched = lsa_privacy["patient"][1]["hidden_rate"]
    broken_enriched = breach["patient"][1]["hidden_rate"]
    assert safe_enriched > 80
    assert broken_enriched < 40
    # Standalone metrics cannot see it: the table alone is the same.
    assert breach["patient"][0]["hidden_rate"] == pytest.approx(
        lsa_privacy["patient"][0]["hidden_rate"]
    )


def test_individual_hidden_rate_counts_rows_of_the_same_individual() -> None:
    rng = np.random.default_rng(0)
    original = pd.DataFrame({"x": rng.normal(size=60), "y": rng.normal(size=60)})
    individuals = np.repeat(np.arange(20), 3)
    # Avatars equal to a sibling row of the same individual: the row-level attack misses, the
    # individual-level one succeeds every time.
    siblings = original.iloc[np.roll(np.arange(60).reshape(20, 3), 1, axis=1).ravel()]
    rates = individual_hidden_rate(original, siblings.reset_index(drop=True), individuals, {})
    assert rates["hidden_rate"] == 0.0
    assert rates["local_cloaking"] == 0.0
    shuffled = original.iloc[rng.permutation(60)].reset_index(drop=True)
    assert individual_hidden_rate(original, shuffled, individuals, {})["hidden_rate"] > 80


def test_signal_types_and_link_metrics(lsa: LinkedTables) -> None:
    signal = linked_signal_metrics(lsa, {})
    assert types(signal["patient"]) == [("standalone", None), ("to_top_enriched", "visit")]
    assert types(signal["visit"]) == [
        ("standalone", None),
        ("to_bottom_information_propagated", "patient"),
        ("to_bottom_information_propagated", "doctor"),
    ]
    enriched = signal["patient"][1]
    assert enriched["child_count_mean_original"] == pytest.approx(300 / 130)
    assert enriched["child_count_mean_avatar"] == pytest.approx(300 / 130)
    assert 0 <= enriched["child_count_hellinger"] < 0.3
    assert "visit.count" in enriched["details"]["hellinger"]
    assert "visit.share.exam.0" in enriched["details"]["hellinger"]
    propagated = signal["visit"][1]
    assert "patient.age" in propagated["details"]["hellinger"]
    assert propagated["correlation_difference_ratio"] is not None


def _two_parents(rng: np.random.Generator) -> tuple[Schema, dict[str, pd.DataFrame]]:
    """Child c of parents a and b; c.x follows a.a1, c.y follows b.b1."""
    a = pd.DataFrame({"a_id": np.arange(40), "a1": rng.normal(size=40), "a2": rng.normal(size=40)})
    b = pd.DataFrame({"b_id": np.arange(30), "b1": rng.normal(size=30), "b2": rng.normal(size=30)})
    n = 200
    of_a, of_b = rng.integers(0, 40, n), rng.integers(0, 30, n)
    c = pd.DataFrame(
        {
            "c_id": np.arange(n),
            "a_id": of_a,
            "b_id": of_b,
            "x": a["a1"].to_numpy()[of_a] + 0.3 * rng.normal(size=n),
            "y": b["b1"].to_numpy()[of_b] + 0.3 * rng.normal(size=n),
        }
    )
    schema = Schema(
        (
            TableKeys("a", "a_id", individual_level=True),
            TableKeys("b", "b_id", individual_level=True),
            TableKeys("c", "c_id", ("a_id", "b_id")),
        ),
        (Link("a", "a_id", "c", "a_id"), Link("b", "b_id", "c", "b_id")),
    )
    return schema, {"a": a, "b": b, "c": c}


def test_information_propagated_measures_each_parent_link_on_its_own() -> None:
    """Avatars equal to the originals but the link to b shuffled: the result under reference a
    is perfect, the one under b shows the lost c.y ~ b.b1 trend (one result over both parents,
    repeated under each, could not tell them apart)."""
    rng = np.random.default_rng(0)
    schema, frames = _two_parents(rng)
    avatars = {name: frame.copy() for name, frame in frames.items()}
    avatars["c"]["b_id"] = rng.permutation(avatars["c"]["b_id"].to_numpy())
    signal = linked_signal_metrics(LinkedTables(schema, frames, avatars), {})
    by_parent = {r["metadata"]["reference"]: r for r in signal["c"][1:]}
    assert set(by_parent) == {"a", "b"}
    assert set(by_parent["a"]["details"]["hellinger"]) == {"x", "y", "a.a1", "a.a2"}
    assert set(by_parent["b"]["details"]["hellinger"]) == {"x", "y", "b.b1", "b.b2"}
    assert by_parent["a"]["correlation_difference_ratio"] == pytest.approx(0.0, abs=1e-9)
    assert by_parent["a"]["pair_trends_score"] == pytest.approx(1.0)
    assert by_parent["b"]["correlation_difference_ratio"] > 10
    assert by_parent["b"]["pair_trends_score"] < 0.95


def test_a_bad_metrics_parameter_names_its_table(lsa: LinkedTables) -> None:
    with pytest.raises(InvalidArgumentError, match=r"^table 'visit': target 'patient_id' is not"):
        linked_privacy_metrics(lsa, {"visit": {"target": "patient_id"}})
    with pytest.raises(InvalidArgumentError, match=r"^table 'patient': known_variables names"):
        linked_signal_metrics(lsa, {"patient": {"known_variables": ["agee"]}})
    # The run's pre-check, on column names alone.
    columns = {name: list(frame.columns) for name, frame in lsa.originals.items()}
    with pytest.raises(InvalidArgumentError, match=r"^table 'visit': target 'patient_id'") as info:
        check_metric_parameters(lsa.schema, columns, {"visit": {"target": "patient_id"}})
    assert info.value.field == "tables[visit].target"
    check_metric_parameters(lsa.schema, columns, {"visit": {"target": "exam"}})


def test_summaries_have_octopize_shapes(lsa_privacy: dict[str, list[dict[str, Any]]]) -> None:
    summary = metrics_summary(lsa_privacy, "privacy")
    assert set(summary) == {"patient", "doctor", "visit"}
    assert set(summary["patient"]) == {"standalone", "visit"}
    assert set(summary["visit"]) == {"patient", "doctor"}
    worst = min(
        r["hidden_rate"] for r in lsa_privacy["visit"] if r["metadata"]["reference"] == "patient"
    )
    assert summary["visit"]["patient"] == pytest.approx(worst)


def test_three_levels_get_metrics_on_every_link() -> None:
    tables = hospital(300, 3.0, seed=4, n_regions=30)
    schema = hospital_schema(tables, "linear_sum_assignment")
    result = avatarize_tables(schema, tables, params("region", "patient", "visit", k=5), seed=2)
    linked_tables = LinkedTables(
        schema, tables, {n: t.unshuffled for n, t in result.tables.items()}
    )
    privacy = linked_privacy_metrics(linked_tables, {})
    assert types(privacy["patient"]) == [
        ("to_top_enriched", "visit"),
        ("to_bottom_id_propagated", "region"),
        ("full_enriched", "region"),
    ]
    signal = linked_signal_metrics(linked_tables, {})
    assert ("to_top_enriched", "patient") in types(signal["region"])


def test_time_series_metrics_on_the_sensors() -> None:
    schema, frames = sensors()
    series = TimeSeriesParameters("fpca", nf=5)
    parameters = {
        "vanilla": TableParameters({"k": 5}),
        "sensor1": TableParameters(time_series=series),
        "sensor2": TableParameters(time_series=series),
    }
    result = avatarize_tables(schema, frames, parameters, seed=5)
    linked_tables = LinkedTables(
        schema,
        frames,
        {n: t.unshuffled for n, t in result.tables.items()},
        series={"sensor1": series, "sensor2": series},
    )
    privacy = linked_privacy_metrics(linked_tables, {})
    assert types(privacy["sensor1"]) == [("standalone", "vanilla")]
    assert types(privacy["vanilla"]) == [
        ("standalone", None),
        ("to_top_enriched", "sensor1"),
        ("to_top_enriched", "sensor2"),
    ]
    assert privacy["sensor1"][0]["hidden_rate"] > 80
    signal = linked_signal_metrics(linked_tables, {})
    sensor = signal["sensor1"][0]
    for key in (
        "pointwise_hellinger_mean",
        "pointwise_hellinger_std",
        "density_hellinger_mean",
        "density_hellinger_std",
    ):
        assert 0 <= sensor[key] <= 1
    assert set(sensor["details"]["pointwise_hellinger_per_variable"]) == {"sensor1", "sensor2"}
    assert sensor["metadata"]["n_series_avatar"] == 200
    # Avatars of the same distribution score better than a sample of another one.
    shifted = dict(linked_tables.avatars)
    moved = shifted["sensor1"].copy()
    moved["sensor1"] = moved["sensor1"] + 3 * frames["sensor1"]["sensor1"].std()
    shifted["sensor1"] = moved
    worse = linked_signal_metrics(
        LinkedTables(schema, frames, shifted, series={"sensor1": series, "sensor2": series}), {}
    )["sensor1"][0]
    assert worse["density_hellinger_mean"] > sensor["density_hellinger_mean"] + 0.2
