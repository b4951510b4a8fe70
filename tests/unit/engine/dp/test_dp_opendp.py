"""OpenDP: costs from the privacy map, releases, and the allow-listed deserialization."""

from __future__ import annotations

import importlib
import json
import warnings
from typing import Any

import opendp.prelude as dp
import pandas as pd
import pytest
from support import FIXTURES
from veil_client.dp_serialization import serialize_opendp_measurement
from veil_service.engine.dp import opendp_pipeline
from veil_service.engine.dp.dummy import make_dummy_dataset
from veil_service.engine.dp.opendp_safety import ALLOWED_CONSTRUCTORS, check_pipeline
from veil_service.engine_contract.dp_metadata import Metadata
from veil_service.engine_contract.dp_requests import OpenDPRequest
from veil_service.errors import InvalidArgumentError

LOMAS = FIXTURES / "lomas"


@pytest.fixture(scope="module")
def bill_mean(penguin: Metadata) -> Any:
    """Lomas's example transformation (mean instead of variance: see docs/dp.md)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Call to deprecated", category=DeprecationWarning)
        return (
            dp.t.make_split_dataframe(",", penguin.column_names)
            >> dp.t.make_select_column("bill_length_mm", str)
            >> dp.t.then_cast_default(float)
            >> dp.t.then_impute_constant(43.61)
            >> dp.t.then_clamp((30.0, 65.0))
            >> dp.t.then_resize(346, 43.61)
            >> dp.t.then_mean()
        )


def _request(measurement: Any, fixed_delta: float | None = None) -> OpenDPRequest:
    return OpenDPRequest(serialize_opendp_measurement(measurement), fixed_delta)


def test_laplace_cost_is_the_privacy_map(bill_mean: Any, penguin: Metadata) -> None:
    measurement = bill_mean >> dp.m.then_laplace(5.0)
    cost = opendp_pipeline.estimate_cost(_request(measurement, 1e-5), penguin)
    assert (cost.epsilon, cost.delta) == (measurement.map(penguin.max_ids), 0.0)


def test_gaussian_needs_fixed_delta(bill_mean: Any, penguin: Metadata) -> None:
    measurement = bill_mean >> dp.m.then_gaussian(5.0)
    with pytest.raises(InvalidArgumentError) as info:
        opendp_pipeline.estimate_cost(_request(measurement), penguin)
    assert info.value.field == "fixed_delta"
    cost = opendp_pipeline.estimate_cost(_request(measurement, 1e-6), penguin)
    profile = dp.c.make_zCDP_to_approxDP(measurement).map(penguin.max_ids)
    assert (cost.epsilon, cost.delta) == (profile.epsilon(1e-6), 1e-6)
    converted = dp.c.make_zCDP_to_approxDP(measurement)
    assert opendp_pipeline.estimate_cost(_request(converted, 1e-6), penguin) == cost
    fixed = dp.c.make_fix_delta(converted, 1e-6)
    assert opendp_pipeline.estimate_cost(_request(fixed), penguin).epsilon == pytest.approx(
        cost.epsilon
    )


def test_release_on_private_and_dummy_data(
    bill_mean: Any, penguin: Metadata, penguins: pd.DataFrame
) -> None:
    request = _request(bill_mean >> dp.m.then_laplace(0.5))
    (value,) = opendp_pipeline.execute(request, penguins, penguin).values
    assert isinstance(value, float) and 30.0 <= value <= 65.0
    dummy = make_dummy_dataset(penguin, 100, seed=42)
    (value,) = opendp_pipeline.execute(request, dummy, penguin).values
    assert 30.0 <= value <= 65.0


def test_composition_returns_a_vector(
    bill_mean: Any, penguin: Metadata, penguins: pd.DataFrame
) -> None:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Call to deprecated", category=DeprecationWarning)
        count = (
            dp.t.make_split_dataframe(",", penguin.column_names)
            >> dp.t.make_select_column("species", str)
            >> dp.t.then_count()
            >> dp.m.then_laplace(1.0)
        )
    composed = dp.c.make_composition([bill_mean >> dp.m.then_laplace(5.0), count])
    request = _request(composed)
    assert opendp_pipeline.estimate_cost(request, penguin).epsilon == composed.map(1)
    values = opendp_pipeline.execute(request, penguins, penguin).values
    assert len(values) == 2 and isinstance(values[1], int)


def test_transformation_is_not_a_measurement(bill_mean: Any, penguin: Metadata) -> None:
    with pytest.raises(InvalidArgumentError, match="not a measurement"):
        opendp_pipeline.estimate_cost(OpenDPRequest(dp.serialize(bill_mean)), penguin)


def test_gaussian_at_fixed_delta_zero_says_to_raise_fixed_delta(
    bill_mean: Any, penguin: Metadata
) -> None:
    # It said "the privacy cost is infinite; add noise or bound the data" on pipeline_json.
    with pytest.raises(InvalidArgumentError, match="set fixed_delta") as info:
        opendp_pipeline.estimate_cost(_request(bill_mean >> dp.m.then_gaussian(5.0), 0.0), penguin)
    assert info.value.field == "fixed_delta"


@pytest.mark.parametrize(("text", "kind"), [("[1, 2, 3]", "a JSON list"), ("null", "null")])
def test_json_that_is_no_pipeline_is_told_what_a_measurement_is(
    text: str, kind: str, penguin: Metadata
) -> None:
    # It said "pipeline_json The pipeline provided is not a measurement (it has no noise...".
    with pytest.raises(InvalidArgumentError, match=f"it is {kind}") as info:
        opendp_pipeline.estimate_cost(OpenDPRequest(text), penguin)
    assert "opendp.prelude.serialize" in str(info.value)
    assert str(info.value).startswith("pipeline_json: ")


def _call(module: str, function: str, **kwargs: Any) -> dict[str, Any]:
    return {
        "__function__": function,
        "__module__": module,
        "__kwargs__": kwargs,
        "__version__": dp.__version__,
    }


@pytest.mark.parametrize(
    ("tree", "fragment"),
    [
        (
            _call("measurements", "make_user_measurement"),
            "opendp.measurements.make_user_measurement",
        ),
        (_call("core", "new_function"), "opendp.core.new_function"),
        (_call("combinators", "make_sequential_composition"), "make_sequential_composition"),
        (_call("_lib", "unwrap"), "opendp._lib.unwrap"),
        (_call("mod", "enable_features", T="honest-but-curious"), "opendp.mod.enable_features"),
        ({"outer": [_call("metrics", "user_distance")]}, "opendp.metrics.user_distance"),
        ({"__lazyframe__": "AAAA", "__version__": dp.__version__}, "polars"),
        ({"__import__": "os"}, "unknown OpenDP marker"),
    ],
)
def test_non_allow_listed_functions_are_refused(tree: Any, fragment: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        check_pipeline(json.dumps(tree))
    assert info.value.field == "pipeline_json" and fragment in info.value.message


def test_refusal_happens_before_any_call(penguin: Metadata, monkeypatch: Any) -> None:
    called = []
    monkeypatch.setattr(dp, "deserialize", lambda text: called.append(text))
    tree = _call(
        "combinators", "make_chain_mt", measurement1=_call("measurements", "make_user_measurement")
    )
    with pytest.raises(InvalidArgumentError):
        opendp_pipeline.estimate_cost(OpenDPRequest(json.dumps(tree)), penguin)
    assert called == []


def test_other_refusals(bill_mean: Any, penguin: Metadata) -> None:
    good = json.loads(dp.serialize(bill_mean >> dp.m.then_laplace(5.0)))
    good["__version__"] = "0.9.0"
    with pytest.raises(InvalidArgumentError, match=r"OpenDP 0\.9\.0"):
        check_pipeline(json.dumps(good))
    with pytest.raises(InvalidArgumentError, match="not valid JSON"):
        check_pipeline("{not json")
    with pytest.raises(InvalidArgumentError, match="not a polars plan"):
        opendp_pipeline.estimate_cost(OpenDPRequest("{}", pipeline_type="polars"), penguin)
    vector = dp.m.make_laplace(
        dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.l1_distance(T=float), 1.0
    )
    with pytest.raises(InvalidArgumentError, match="CSV string"):
        opendp_pipeline.estimate_cost(_request(vector), penguin)


def test_allow_list_names_exist() -> None:
    for module, names in ALLOWED_CONSTRUCTORS.items():
        loaded = importlib.import_module(f"opendp.{module}")
        missing = [n for n in names if not callable(getattr(loaded, n, None))]
        assert missing == [], module
