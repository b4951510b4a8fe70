"""The DP wire edge keeps what a Lomas user means (issue 16 item 9, issue 19 (a)): a synth δ of 0
is zero and an unset δ is the default; an unset diffprivlib score_epsilon means no score."""

from __future__ import annotations

import pytest
from veil.v1 import dpquery_pb2
from veil_client.api.dpquery import DiffprivlibQuery, SmartnoiseSynthQuery
from veil_service.api import dpquery_convert
from veil_service.engine_contract.dp_requests import DiffPrivLibRequest, SmartnoiseSynthRequest


def _request(query: SmartnoiseSynthQuery | DiffprivlibQuery) -> object:
    if isinstance(query, SmartnoiseSynthQuery):
        spec = dpquery_pb2.QuerySpec(dataset="PENGUIN", smartnoise_synth=query.to_proto())
    else:
        spec = dpquery_pb2.QuerySpec(dataset="PENGUIN", diffprivlib=query.to_proto())
    return dpquery_convert.spec_from_proto(spec).request


@pytest.mark.parametrize(("delta", "expected"), [(None, None), (0.0, 0.0), (1e-6, 1e-6)])
def test_synth_delta_zero_means_zero(delta: float | None, expected: float | None) -> None:
    request = _request(SmartnoiseSynthQuery("mst", 1.0, delta))
    assert isinstance(request, SmartnoiseSynthRequest)
    assert request.delta == expected


def test_an_old_client_delta_zero_still_means_the_default() -> None:
    message = dpquery_pb2.SmartnoiseSynthQuery(synth_name="mst", epsilon=1.0, delta=0.0)
    spec = dpquery_pb2.QuerySpec(dataset="PENGUIN", smartnoise_synth=message)
    request = dpquery_convert.spec_from_proto(spec).request
    assert isinstance(request, SmartnoiseSynthRequest) and request.delta is None


@pytest.mark.parametrize("score_epsilon", [None, 0.25])
def test_diffprivlib_score_epsilon_presence(score_epsilon: float | None) -> None:
    query = DiffprivlibQuery('{"format": "veil-diffprivlib"}', ["x"], score_epsilon=score_epsilon)
    request = _request(query)
    assert isinstance(request, DiffPrivLibRequest)
    assert request.score_epsilon == score_epsilon
