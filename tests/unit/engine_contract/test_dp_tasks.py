"""The codec of DP engine task parameters: every request survives JSON unchanged."""

from __future__ import annotations

import json

import pytest
from veil_service.engine_contract.dp_requests import (
    DiffPrivLibRequest,
    DPRequest,
    OpenDPRequest,
    SmartnoiseSqlRequest,
    SmartnoiseSynthRequest,
)
from veil_service.engine_contract.dp_tasks import (
    canonical_json,
    library_of,
    request_from_dict,
    request_to_dict,
)
from veil_service.errors import InvalidArgumentError

REQUESTS: list[DPRequest] = [
    SmartnoiseSqlRequest("SELECT COUNT(*) FROM df", 0.1, 1e-5, {"count": "gaussian"}, False),
    OpenDPRequest('{"ast": 1}', fixed_delta=1e-6),
    DiffPrivLibRequest('{"steps": []}', ("a", "b"), ("y",), 0.3, 4, "mean", True),
    DiffPrivLibRequest('{"steps": []}', ("a",), None),
    SmartnoiseSynthRequest(
        "mst", 1.0, None, ("a",), {"epochs": 2}, True, {"a": {"x": [1]}}, False, "a > 1", 10
    ),
]


@pytest.mark.parametrize("request_", REQUESTS)
def test_round_trip_through_json(request_: DPRequest) -> None:
    library = library_of(request_)
    raw = json.loads(json.dumps(request_to_dict(request_)))
    assert request_from_dict(library, raw) == request_


def test_canonical_json_is_stable_and_named() -> None:
    first = SmartnoiseSqlRequest("q", 0.1, 0.0, {"sum_int": "laplace", "count": "gaussian"})
    second = SmartnoiseSqlRequest("q", 0.1, 0.0, {"count": "gaussian", "sum_int": "laplace"})
    assert canonical_json("smartnoise_sql", first) == canonical_json("smartnoise_sql", second)
    assert json.loads(canonical_json("smartnoise_sql", first))["library"] == "smartnoise_sql"


def test_unknown_library_or_field_is_refused() -> None:
    with pytest.raises(InvalidArgumentError) as library:
        request_from_dict("pandas", {})
    assert library.value.field == "library"
    with pytest.raises(InvalidArgumentError) as field:
        request_from_dict("opendp", {"pipeline_json": "{}", "extra": 1})
    assert field.value.field == "request" and "extra" in field.value.message
