"""OpenDP polars pipelines through the client and the real server (lomas.md §6.3, polars part),
with costs compared to OpenDP called directly in this process."""

from __future__ import annotations

import opendp.prelude as dp
import polars as pl
import pytest
from opendp.extras.polars import Margin
from veil_client import InvalidArgument
from veil_client.dp_client import DPClient

dp.enable_features("contrib")

SCHEMA = {"species": pl.String, "bill_length_mm": pl.Float64}
BILL = pl.col("bill_length_mm").fill_null(43.0).fill_nan(43.0)
ROWS = 344  # penguin_metadata.yaml


def _expected(plan: pl.LazyFrame, margins: list[Margin]) -> float:
    domain = dp.lazyframe_domain(
        [
            dp.series_domain("species", dp.option_domain(dp.atom_domain(T=dp.String))),
            dp.series_domain("bill_length_mm", dp.option_domain(dp.atom_domain(T=dp.f64))),
        ]
    )
    for margin in [Margin(by=[], max_length=ROWS, max_groups=1), *margins]:
        domain = dp.with_margin(domain, margin)
    m = dp.m.make_private_lazyframe(domain, dp.symmetric_distance(), dp.max_divergence(), plan)
    return float(m.map(1))


def test_polars_plans(client: DPClient) -> None:
    mean = pl.LazyFrame(schema=SCHEMA).select(BILL.dp.mean(bounds=(30.0, 65.0), scale=5.0))
    expected = _expected(mean, [])
    cost = client.opendp.cost(mean)
    assert (cost.epsilon, cost.delta) == (expected, 0.0)
    answer = client.opendp.query(mean)
    assert answer.result.res_type == "opendp_polars" and answer.epsilon == expected
    frame = answer.result.value
    # A polars DataFrame, as Lomas returns (issue 16 item 3).
    assert isinstance(frame, pl.DataFrame) and frame.columns == ["bill_length_mm"]
    assert len(frame) == 1

    by_species = pl.LazyFrame(schema=SCHEMA).group_by("species").agg(dp.len(scale=2.0))
    dummy = client.opendp.query(by_species, dummy=True)
    assert set(dummy.result.value.columns) == {"species", "len"}
    margin = Margin(by=[pl.col("species")], max_length=ROWS, max_groups=3, invariant="keys")
    assert client.opendp.cost(by_species).epsilon == _expected(by_species, [margin])
    assert (dummy.epsilon, dummy.charged) == (_expected(by_species, [margin]), False)

    context = dp.Context.compositor(
        data=pl.LazyFrame(schema=SCHEMA),
        privacy_unit=dp.unit_of(contributions=1),
        privacy_loss=dp.loss_of(epsilon=1.0),
        split_evenly_over=1,
        margins=[Margin(by=[], max_length=ROWS, max_groups=1)],
    )
    query = context.query().select(dp.len())
    answer = client.opendp.query(query)
    assert answer.epsilon == pytest.approx(float(query.resolve().map(1)))
    assert answer.epsilon <= 1.0

    with pytest.raises(InvalidArgument) as python_udf:
        client.opendp.cost(
            pl.LazyFrame(schema=SCHEMA).select(
                pl.col("bill_length_mm").map_batches(lambda s: s * 2)
            )
        )
    assert python_udf.value.field == "pipeline_json"
    spent = client.get_total_spent_budget().total_spent_epsilon
    assert spent == pytest.approx(expected + answer.epsilon)
