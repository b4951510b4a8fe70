"""OpenDP pipelines as constructor calls (Lomas's opendp_logger form): carried, priced, refused."""

from __future__ import annotations

import json
import warnings
from typing import Any

import opendp.prelude as dp
import opendp.transformations
import pytest
from veil_client.dp_serialization import serialize_opendp_measurement
from veil_service.engine.dp import opendp_calls, opendp_pipeline
from veil_service.engine_contract.dp_metadata import Metadata
from veil_service.engine_contract.dp_requests import OpenDPRequest
from veil_service.errors import InvalidArgumentError

dp.enable_features("contrib")

pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated function:DeprecationWarning")

# Lomas's documented cost of its example pipeline (resize 346, laplace 5.0) under OpenDP 0.10;
# OpenDP 0.14 rounds the same map 3 ulps higher (docs/dp.md).
LOMAS_EXAMPLE_EPSILON = 0.7080924855500751


def _ctor(module: str, func: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    node: dict[str, Any] = {"_type": "constructor", "func": func, "module": module}
    if args:
        node["args"] = list(args)
    if kwargs:
        node["kwargs"] = kwargs
    return node


def _chain(lhs: dict[str, Any], func: str, module: str = "transformations", **kw: Any) -> Any:
    return {"_type": "partial_chain", "lhs": lhs, "rhs": _ctor(module, func, **kw)}


def _lomas_example(columns: list[str], *, impute: bool) -> str:
    """The request body Lomas documents, written the way opendp_logger writes it."""
    split = _ctor(
        "transformations",
        "make_split_dataframe",
        separator=",",
        col_names={"_type": "list", "_items": columns},
    )
    select = _ctor("transformations", "make_select_column", key="bill_length_mm", TOA="String")
    tree = _chain(
        _ctor("combinators", "make_chain_tt", select, split), "then_cast_default", TOA="f64"
    )
    if impute:
        tree = _chain(tree, "then_impute_constant", constant=43.61)
    tree = _chain(tree, "then_clamp", bounds=[30.0, 65.0])
    tree = _chain(tree, "then_resize", size=346, constant=43.61)
    tree = _chain(tree, "then_variance")
    tree = _chain(tree, "then_laplace", module="measurements", scale=5.0)
    return json.dumps({"version": "0.10.0", "ast": tree})


def _variance(columns: list[str]) -> dp.Measurement:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Call to deprecated", category=DeprecationWarning)
        return (
            dp.t.make_split_dataframe(",", columns)
            >> dp.t.make_select_column("bill_length_mm", str)
            >> dp.t.then_cast_default(float)
            >> dp.t.then_impute_constant(43.61)
            >> dp.t.then_clamp((30.0, 65.0))
            >> dp.t.then_resize(346, 43.61)
            >> dp.t.then_variance()
            >> dp.m.then_laplace(5.0)
        )


def test_lomas_example_is_refused_with_the_fix_opendp_014_needs(penguin: Metadata) -> None:
    request = OpenDPRequest(_lomas_example(penguin.column_names, impute=False))
    with pytest.raises(InvalidArgumentError) as info:
        opendp_pipeline.estimate_cost(request, penguin)
    assert info.value.field == "pipeline_json"
    assert "then_clamp" in info.value.message
    assert "then_impute_constant" in info.value.message


def test_lomas_example_with_imputation_costs_what_opendp_computes(penguin: Metadata) -> None:
    request = OpenDPRequest(_lomas_example(penguin.column_names, impute=True))
    cost = opendp_pipeline.estimate_cost(request, penguin)
    assert cost.epsilon == _variance(penguin.column_names).map(1)
    assert cost.delta == 0.0
    assert cost.epsilon == pytest.approx(LOMAS_EXAMPLE_EPSILON, rel=1e-14)


def test_then_variance_and_counts_by_category_travel(penguin: Metadata) -> None:
    cols = penguin.column_names
    species = dp.t.make_split_dataframe(",", cols) >> dp.t.make_select_column("species", str)
    pipelines = {
        "variance": _variance(cols),
        "counts": species
        >> dp.t.then_count_by_categories(categories=["Adelie", "Gentoo"], MO=dp.L2Distance[int])
        >> dp.m.then_gaussian(1.0),
        "composition": dp.c.make_basic_composition(
            [_variance(cols), species >> dp.t.then_count() >> dp.m.then_laplace(2.0)]
        ),
    }
    row = "Adelie,Torgersen,39.1,18.7,181,3750,MALE\n"
    for name, measurement in pipelines.items():
        text = serialize_opendp_measurement(measurement)
        rebuilt = opendp_calls.load_measurement(text)
        assert rebuilt.map(1) == measurement.map(1), name
        assert rebuilt.output_measure == measurement.output_measure, name
        assert rebuilt(row * 5) is not None, name
        assert len(text) < 4_000, name  # one entry per step (OpenDP's own JSON nests 3^steps)
    assert '"func": "then_variance"' in serialize_opendp_measurement(pipelines["variance"])


def _bad_trees() -> list[tuple[Any, str]]:
    laplace = _ctor("measurements", "then_laplace", scale=1.0)
    return [
        (
            _ctor("measurements", "make_user_measurement"),
            "opendp.measurements.make_user_measurement",
        ),
        (_ctor("core", "new_function"), "opendp.core.new_function"),
        (_ctor("_lib", "unwrap"), "opendp._lib.unwrap"),
        (_ctor("prelude", "enable_features", "honest-but-curious"), "enable_features"),
        (_ctor("transformations", "then_user_transformation"), "then_user_transformation"),
        (_chain(_ctor("os", "system", "true"), "then_laplace", "measurements"), "opendp.os.system"),
        ({"_type": "pickle", "data": "gASV"}, "unknown node type 'pickle'"),
        ({**laplace, "import": "os"}, "unexpected keys ['import']"),
        ({"wrapped": {"__function__": "make_count"}}, "unknown marker '__function__'"),
        ({"_type": "list", "_items": [{"_type": "partial_chain"}]}, "without lhs and rhs"),
        ({"_type": "list", "_items": [{}] * opendp_calls.MAX_NODES}, "nodes"),
    ]


@pytest.mark.parametrize(("tree", "fragment"), _bad_trees())
def test_refused_before_anything_is_called(tree: Any, fragment: str, monkeypatch: Any) -> None:
    called: list[str] = []
    monkeypatch.setattr(
        opendp.transformations, "make_split_dataframe", lambda *a, **k: called.append("split")
    )
    split = _ctor("transformations", "make_split_dataframe", ",", {"_type": "list", "_items": []})
    text = json.dumps({"ast": {"_type": "list", "_items": [split, tree]}})
    with pytest.raises(InvalidArgumentError) as info:
        opendp_calls.rebuild(text)
    assert info.value.field == "pipeline_json" and fragment in info.value.message
    assert called == []


def test_malformed_documents(penguin: Metadata) -> None:
    for text, fragment in [
        ("[1]", '{"ast": ...}'),
        ('{"ast": 1, "pickle": 2}', "unexpected top-level keys"),
        ('{"ast": {', "not valid JSON"),
    ]:
        with pytest.raises(InvalidArgumentError, match=fragment):
            opendp_calls.rebuild(text)
    transformation = _ctor(
        "transformations", "make_split_dataframe", ",", {"_type": "list", "_items": ["a"]}
    )
    with pytest.raises(InvalidArgumentError, match="not a measurement"):
        opendp_calls.load_measurement(json.dumps({"ast": transformation}))
    assert opendp_calls.is_call_list(_lomas_example(penguin.column_names, impute=True))
    assert not opendp_calls.is_call_list(dp.serialize(dp.atom_domain(T=int)))


def test_column_names_must_be_the_metadata_order(penguin: Metadata) -> None:
    # Lomas's s3_example lists its file's columns; here, the metadata's in another order.
    swapped = [penguin.column_names[1], penguin.column_names[0], *penguin.column_names[2:]]
    request = OpenDPRequest(_lomas_example(swapped, impute=True))
    with pytest.raises(InvalidArgumentError) as info:
        opendp_pipeline.estimate_cost(request, penguin)
    assert info.value.field == "pipeline_json"
    assert f"the metadata's columns in its order: {penguin.column_names}" in info.value.message
    # The same through the Veil client's serialization (a list argument, not a logger list).
    text = serialize_opendp_measurement(_variance(swapped))
    with pytest.raises(InvalidArgumentError):
        opendp_pipeline.estimate_cost(OpenDPRequest(text), penguin)
    assert opendp_pipeline.estimate_cost(
        OpenDPRequest(serialize_opendp_measurement(_variance(penguin.column_names))), penguin
    ).epsilon == _variance(penguin.column_names).map(1)
