"""The dispatcher routes each request dataclass to its library and refuses anything else."""

from __future__ import annotations

import pytest
from diffprivlib import models
from support import FIXTURES
from veil_client.dp_serialization import serialize_diffprivlib_pipeline
from veil_service.engine.dp import dispatch
from veil_service.engine.dp.dummy import make_dummy_dataset
from veil_service.engine_contract.dp_metadata import load_metadata_file
from veil_service.engine_contract.dp_requests import (
    DiffPrivLibRequest,
    SmartnoiseSqlRequest,
    SmartnoiseSynthRequest,
    library_of,
)
from veil_service.errors import InvalidArgumentError

LOMAS = FIXTURES / "lomas"


def test_routes_by_request_type() -> None:
    penguin = load_metadata_file(LOMAS / "metadata" / "penguin_metadata.yaml")
    dummy = make_dummy_dataset(penguin, 120, seed=7)
    sql = SmartnoiseSqlRequest("SELECT COUNT(*) AS n FROM df", 1.0, 1e-5)
    assert library_of(sql) == "smartnoise_sql"
    assert dispatch.estimate_cost(sql, penguin).epsilon == 1.0
    assert dispatch.execute(sql, dummy, penguin, show_library_errors=True).table is not None
    bounds = ([30.0, 13.0], [65.0, 23.0])
    dpl = DiffPrivLibRequest(
        serialize_diffprivlib_pipeline(models.GaussianNB(bounds=bounds)),
        ("bill_length_mm", "bill_depth_mm"),
        ("species",),
    )
    assert library_of(dpl) == "diffprivlib"
    result = dispatch.execute(dpl, dummy, penguin, seed=3)
    assert result.score is not None and "model" in result.kind
    synth = SmartnoiseSynthRequest("mwem", 1.0)
    assert library_of(synth) == "smartnoise_synth"
    assert dispatch.estimate_cost(synth, penguin).delta == 0.0


def test_unknown_request_type() -> None:
    penguin = load_metadata_file(LOMAS / "metadata" / "penguin_metadata.yaml")
    with pytest.raises(InvalidArgumentError, match="unknown DP request type"):
        dispatch.estimate_cost("SELECT 1", penguin)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("epsilon", "delta", "field"),
    [
        (-1000.0, 0.0, "epsilon"),
        (-1e-300, 0.0, "epsilon"),
        (float("inf"), 0.0, "epsilon"),
        (1.0, 1.5, "delta"),
        (1.0, -1e-9, "delta"),
        (1.0, float("nan"), "delta"),
    ],
)
def test_a_cost_the_budget_cannot_be_charged_is_refused(
    epsilon: float, delta: float, field: str
) -> None:
    from veil_service.engine_contract.dp_requests import CostEstimate

    with pytest.raises(InvalidArgumentError) as refused:
        dispatch.check_cost(CostEstimate(epsilon, delta))
    assert refused.value.field == field
    dispatch.check_cost(CostEstimate(1e-3, 0.0))  # any positive epsilon, delta in [0, 1)
    dispatch.check_cost(CostEstimate(0.0, 0.0))  # the library's cost of measuring nothing
    dispatch.check_cost(CostEstimate(1.0, 1.0))  # no guarantee: a grant refuses it, if any
