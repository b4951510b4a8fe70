"""The engine's caches of parsed requests are per analyst (``engine.dp.cache_scope``).

Keyed by the request's text alone, an OpenDP pipeline deserialized for one analyst (about a
second for 8 steps) made another analyst's first estimate of the same pipeline fast: a timing
channel telling that someone else had sent it. Within one scope a repeat still hits.
"""

from __future__ import annotations

import warnings
from typing import Any

import opendp.prelude as dp
import pandas as pd
from veil_client.dp_serialization import serialize_opendp_measurement
from veil_service.engine.dp import cache_scope, opendp_pipeline, smartnoise_sql
from veil_service.engine_contract.dp_metadata import Metadata
from veil_service.engine_contract.dp_requests import OpenDPRequest, SmartnoiseSqlRequest


def _pipeline(penguin: Metadata) -> OpenDPRequest:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Call to deprecated", category=DeprecationWarning)
        measurement: Any = (
            dp.t.make_split_dataframe(",", penguin.column_names)
            >> dp.t.make_select_column("bill_length_mm", str)
            >> dp.t.then_cast_default(float)
            >> dp.t.then_impute_constant(43.61)
            >> dp.t.then_clamp((30.0, 65.0))
            >> dp.t.then_resize(346, 43.61)
            >> dp.t.then_mean()
            >> dp.m.then_laplace(5.0)
        )
    return OpenDPRequest(serialize_opendp_measurement(measurement), None)


def test_an_opendp_pipeline_parsed_for_one_analyst_is_parsed_again_for_another(
    penguin: Metadata,
) -> None:
    request = _pipeline(penguin)
    opendp_pipeline._load_cached.cache_clear()
    with cache_scope.scoped("analyst-a"):
        first = opendp_pipeline.estimate_cost(request, penguin)
        again = opendp_pipeline.estimate_cost(request, penguin)
    assert opendp_pipeline._load_cached.cache_info()[:2] == (1, 1)  # (hits, misses)
    with cache_scope.scoped("analyst-b"):
        other = opendp_pipeline.estimate_cost(request, penguin)
    assert opendp_pipeline._load_cached.cache_info()[:2] == (1, 2)
    assert first == again == other
    assert cache_scope.current() == ""


def test_smartnoise_sql_result_types_are_kept_per_analyst(
    penguin: Metadata, penguins: pd.DataFrame
) -> None:
    request = SmartnoiseSqlRequest("SELECT COUNT(*) AS n_rows_scope FROM df", 1.0, 1e-5)
    for scope in ("analyst-a", "analyst-a", "analyst-b"):
        with cache_scope.scoped(scope):
            smartnoise_sql.execute(request, penguins, penguin)
    scopes = [key[0] for key in smartnoise_sql._OUTPUT_TYPES if key[1] == request.query]
    assert sorted(scopes) == ["analyst-a", "analyst-b"]
