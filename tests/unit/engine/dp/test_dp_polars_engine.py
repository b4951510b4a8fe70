"""OpenDP polars pipelines: costs equal OpenDP's in-process map, releases, refused plans."""

from __future__ import annotations

import json
import re
import warnings
from typing import Any

import opendp.prelude as dp
import pandas as pd
import polars as pl
import pytest
from opendp.extras.polars import Margin
from support import FIXTURES
from veil_client.dp_serialization import serialize_opendp_polars
from veil_service.engine.dp import opendp_pipeline, opendp_polars
from veil_service.engine.dp.dummy import make_dummy_dataset
from veil_service.engine_contract.dp_metadata import Metadata
from veil_service.engine_contract.dp_requests import OpenDPRequest
from veil_service.errors import InvalidArgumentError

LOMAS = FIXTURES / "lomas"

SCHEMA = {"species": pl.String, "bill_length_mm": pl.Float64}
BILL = pl.col("bill_length_mm").fill_null(43.0).fill_nan(43.0)


def _json(lf: pl.LazyFrame) -> str:
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"'json' serialization format", category=UserWarning
        )
        return lf.serialize(format="json")


def _request(lf: pl.LazyFrame, **kwargs: Any) -> OpenDPRequest:
    return OpenDPRequest(_json(lf), pipeline_type="polars", **kwargs)


def _in_process(
    lf: pl.LazyFrame,
    penguin: Metadata,
    measure: Any,
    margins: list[Margin],
    global_scale: float | None = None,
) -> Any:
    """The same measurement built directly with OpenDP (every column nullable, as the engine)."""
    domain = dp.lazyframe_domain(
        [
            dp.series_domain("species", dp.option_domain(dp.atom_domain(T=dp.String))),
            dp.series_domain("bill_length_mm", dp.option_domain(dp.atom_domain(T=dp.f64))),
        ]
    )
    for margin in [Margin(by=[], max_length=penguin.rows, max_groups=1), *margins]:
        domain = dp.with_margin(domain, margin)
    return dp.m.make_private_lazyframe(
        domain, dp.symmetric_distance(), measure, lf, global_scale=global_scale
    )


def test_mean_cost_equals_opendp_and_release_is_a_table(
    penguin: Metadata, penguins: pd.DataFrame
) -> None:
    lf = pl.LazyFrame(schema=SCHEMA).select(BILL.dp.mean(bounds=(30.0, 65.0), scale=5.0))
    cost = opendp_pipeline.estimate_cost(_request(lf), penguin)
    expected = _in_process(lf, penguin, dp.max_divergence(), []).map(penguin.max_ids)
    assert (cost.epsilon, cost.delta) == (float(expected), 0.0)
    result = opendp_pipeline.execute(_request(lf), penguins, penguin)
    assert result.table is not None and list(result.table.columns) == ["bill_length_mm"]
    assert result.table.shape == (1, 1) and 30.0 <= result.table.iloc[0, 0] <= 65.0


def test_group_by_on_declared_categories(penguin: Metadata, penguins: pd.DataFrame) -> None:
    lf = (
        pl.LazyFrame(schema=SCHEMA)
        .group_by("species")
        .agg(BILL.dp.sum(bounds=(30.0, 65.0), scale=50.0), dp.len(scale=2.0))
    )
    cost = opendp_pipeline.estimate_cost(_request(lf), penguin)
    margin = Margin(by=[pl.col("species")], max_length=penguin.rows, max_groups=3, invariant="keys")
    expected = _in_process(lf, penguin, dp.max_divergence(), [margin]).map(penguin.max_ids)
    assert cost.epsilon == pytest.approx(float(expected), rel=0, abs=0)
    table = opendp_pipeline.execute(_request(lf), penguins, penguin).table
    assert table is not None
    assert set(table.columns) == {"species", "bill_length_mm", "len"}
    assert set(table["species"]) <= {"Adelie", "Chinstrap", "Gentoo"}


def test_gaussian_needs_fixed_delta_and_matches_opendp(penguin: Metadata) -> None:
    lf = pl.LazyFrame(schema=SCHEMA).select(dp.len(scale=10.0))
    envelope = json.dumps(
        {
            "format": "veil-opendp-polars",
            "version": 1,
            "plan": json.loads(_json(lf)),
            "output_measure": "zero_concentrated_divergence",
            "global_scale": None,
            "threshold": None,
        }
    )
    with pytest.raises(InvalidArgumentError, match="fixed_delta"):
        opendp_pipeline.estimate_cost(OpenDPRequest(envelope, pipeline_type="polars"), penguin)
    cost = opendp_pipeline.estimate_cost(
        OpenDPRequest(envelope, fixed_delta=1e-6, pipeline_type="polars"), penguin
    )
    m = dp.c.make_zCDP_to_approxDP(_in_process(lf, penguin, dp.zero_concentrated_divergence(), []))
    assert cost.epsilon == m.map(penguin.max_ids).epsilon(1e-6) and cost.delta == 1e-6


def test_client_context_query_matches_opendp_resolve(penguin: Metadata) -> None:
    context = dp.Context.compositor(
        data=pl.LazyFrame(schema=SCHEMA),
        privacy_unit=dp.unit_of(contributions=1),
        privacy_loss=dp.loss_of(epsilon=1.0),
        split_evenly_over=2,
        margins=[Margin(by=[], max_length=penguin.rows, max_groups=1)],
    )
    query = context.query().select(BILL.dp.sum(bounds=(30.0, 65.0)))
    text = serialize_opendp_polars(query)
    envelope = json.loads(text)
    assert envelope["output_measure"] == "max_divergence" and envelope["global_scale"] > 0
    cost = opendp_pipeline.estimate_cost(OpenDPRequest(text, pipeline_type="polars"), penguin)
    resolved = query.resolve().map(1)
    assert cost.epsilon == pytest.approx(float(resolved)) and cost.epsilon <= 0.5


def test_dummy_data_runs(penguin: Metadata) -> None:
    lf = pl.LazyFrame(schema=SCHEMA).select(dp.len(scale=1.0))
    table = opendp_pipeline.execute(
        _request(lf), make_dummy_dataset(penguin, 50, 1), penguin, show_library_errors=True
    ).table
    assert table is not None and list(table.columns) == ["len"]


def _python_udf() -> str:
    return _json(
        pl.LazyFrame(schema=SCHEMA).select(pl.col("bill_length_mm").map_batches(lambda s: s * 2))
    )


def _scan() -> str:
    return _json(pl.scan_csv("/etc/hosts").select(pl.len().dp.noise(scale=1.0)))


def _join() -> str:
    base = pl.LazyFrame(schema=SCHEMA)
    return _json(base.join(base, on="species").select(dp.len(scale=1.0)))


def _foreign_plugin() -> str:
    tree = json.loads(_json(pl.LazyFrame(schema=SCHEMA).select(dp.len(scale=1.0))))
    text = re.sub(r'"symbol": "[a-z_]+"', '"symbol": "evil"', json.dumps(tree))
    assert "evil" in text
    return text


@pytest.mark.parametrize(
    ("make_text", "fragment"),
    [
        (_python_udf, "Python function"),
        (_scan, "file scan"),
        (_join, "join"),
        (_foreign_plugin, "plugin 'evil'"),
        (lambda: "[1, 2]", "JSON object"),
        (lambda: '{"Select": {"expr": [], "input": {"Foo": {}}}}', "plan node 'Foo'"),
        (
            lambda: '{"format": "veil-opendp-polars", "version": 1, "plan": {}, "x": 1}',
            "unknown keys",
        ),
        (lambda: "not json", "not valid JSON"),
    ],
)
def test_refused_before_polars_reads_it(
    make_text: Any, fragment: str, penguin: Metadata, monkeypatch: Any
) -> None:
    text = make_text()
    called: list[Any] = []
    monkeypatch.setattr(pl.LazyFrame, "deserialize", lambda *a, **k: called.append(a))
    with pytest.raises(InvalidArgumentError) as info:
        opendp_pipeline.estimate_cost(OpenDPRequest(text, pipeline_type="polars"), penguin)
    assert info.value.field == "pipeline_json" and fragment in info.value.message
    assert called == []


def test_input_frame_must_match_the_dataset(penguin: Metadata) -> None:
    unknown = pl.LazyFrame(schema={"salary": pl.Float64}).select(dp.len(scale=1.0))
    with pytest.raises(InvalidArgumentError, match="not in the dataset"):
        opendp_pipeline.estimate_cost(_request(unknown), penguin)
    wrong_type = pl.LazyFrame(schema={"bill_length_mm": pl.String}).select(dp.len(scale=1.0))
    with pytest.raises(InvalidArgumentError, match="has type String"):
        opendp_pipeline.estimate_cost(_request(wrong_type), penguin)


def test_not_private_is_refused_by_opendp(penguin: Metadata) -> None:
    exact = pl.LazyFrame(schema=SCHEMA).select(pl.len())
    with pytest.raises(InvalidArgumentError, match="cannot make this polars plan private"):
        opendp_pipeline.estimate_cost(_request(exact), penguin)


def test_plugin_library_is_the_servers(penguin: Metadata) -> None:
    tree = json.loads(_json(pl.LazyFrame(schema=SCHEMA).select(dp.len(scale=1.0))))
    text = json.dumps(tree).replace("opendp.abi3.so", "../../../../tmp/evil.so")
    cost = opendp_pipeline.estimate_cost(OpenDPRequest(text, pipeline_type="polars"), penguin)
    assert cost.epsilon == pytest.approx(1.0)
    checked = json.loads(text)
    opendp_polars.check_plan(checked, penguin)
    assert "evil" not in json.dumps(checked)
