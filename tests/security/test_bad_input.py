"""Defect 8: bad input is INVALID_ARGUMENT naming the field, never INTERNAL (issue 19).

The attack found 22 calls with 6 causes answered INTERNAL: NaN or infinite epsilon, delta,
fixed_delta or test_size; NaN inside synth_params; DescribeTable on struct columns and on
int64/uint64 extremes; YAML nested 5,000 deep. And an engine task's unexpected failure echoed the
exception's text (which may quote data) to the caller instead of an incident id only.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import grpc
import pyarrow as pa
import pytest
from engine_test_tasks import SECRET
from support import ServerThread, TestUser
from veil.v1 import dpquery_pb2, dpquery_pb2_grpc, runs_pb2, runs_pb2_grpc
from veil_client import Manager
from veil_client.dp_client import DPClient
from veil_service.errors import VeilServiceError

NAN, INF = math.nan, math.inf
COUNT = "SELECT COUNT(*) AS n FROM df"


@pytest.fixture()
def channel(veil_server: ServerThread) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(veil_server.url) as opened:
        yield opened


def _field(error: grpc.RpcError) -> str:
    from google.rpc import error_details_pb2
    from grpc_status import rpc_status

    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            return str(bad.field_violations[0].field)
    return ""


SPECS = [
    ("epsilon", dict(smartnoise_sql=dpquery_pb2.SmartnoiseSqlQuery(query_str=COUNT, epsilon=NAN))),
    ("epsilon", dict(smartnoise_sql=dpquery_pb2.SmartnoiseSqlQuery(query_str=COUNT, epsilon=INF))),
    (
        "delta",
        dict(smartnoise_sql=dpquery_pb2.SmartnoiseSqlQuery(query_str=COUNT, epsilon=1, delta=NAN)),
    ),
    (
        "epsilon",
        dict(smartnoise_synth=dpquery_pb2.SmartnoiseSynthQuery(synth_name="mwem", epsilon=-INF)),
    ),
    ("fixed_delta", dict(opendp=dpquery_pb2.OpenDpQuery(opendp_json="{}", fixed_delta=NAN))),
    (
        "test_size",
        dict(
            diffprivlib=dpquery_pb2.DiffprivlibQuery(
                pipeline_json="{}", feature_columns=["bill_length_mm"], test_size=INF
            )
        ),
    ),
    (
        "synth_params",
        dict(
            smartnoise_synth=dpquery_pb2.SmartnoiseSynthQuery(
                synth_name="mwem", epsilon=1, synth_params_json='{"iterations": NaN}'
            )
        ),
    ),
]


@pytest.mark.parametrize(("field", "library"), SPECS)
@pytest.mark.parametrize("rpc", ["EstimateCost", "Query", "QueryWithProgress"])
def test_non_finite_numbers_name_their_field(
    channel: grpc.Channel,
    user: TestUser,
    client: DPClient,
    penguin: str,
    field: str,
    library: dict[str, Any],
    rpc: str,
) -> None:
    # ``client`` grants the user a budget on ``penguin``, so the calls get past the lookup.
    stub = dpquery_pb2_grpc.DPQueryServiceStub(channel)
    spec = dpquery_pb2.QuerySpec(dataset=penguin, **library)
    request: Any = {
        "EstimateCost": dpquery_pb2.EstimateCostRequest,
        "Query": dpquery_pb2.QueryRequest,
        "QueryWithProgress": dpquery_pb2.QueryWithProgressRequest,
    }[rpc](spec=spec)
    with pytest.raises(grpc.RpcError) as refused:
        answer = getattr(stub, rpc)(request, metadata=(("x-api-key", user.api_key),), timeout=60)
        if rpc == "QueryWithProgress":
            list(answer)  # the stream's error is raised while reading it
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, refused.value.details()
    assert _field(refused.value) == field


def test_yaml_nested_five_thousand_deep_names_the_field(
    channel: grpc.Channel, user: TestUser
) -> None:
    stub = runs_pb2_grpc.RunsServiceStub(channel)
    key = (("x-api-key", user.api_key),)
    run = stub.CreateRun(runs_pb2.CreateRunRequest(display_name="deep"), metadata=key).run
    for text in ("[" * 5000 + "]" * 5000, "a:\n" + "".join(" " * i + "- \n" for i in range(5000))):
        with pytest.raises(grpc.RpcError) as refused:
            stub.ImportYaml(runs_pb2.ImportYamlRequest(run_id=run.id, yaml=text), metadata=key)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert _field(refused.value) == "yaml"


@pytest.mark.parametrize(
    "table",
    [
        pa.table({"s": pa.array([{"x": 1}, {"x": 2}, None]), "a": [1, 2, 3]}),
        pa.table({"a": pa.array([2**63 - 1, -(2**63), 0], pa.int64())}),
        pa.table({"a": pa.array([2**64 - 1, 0, 1], pa.uint64())}),
    ],
    ids=["struct", "int64_extremes", "uint64_extremes"],
)
def test_describe_table_handles_nested_and_extreme_columns(
    veil_server: ServerThread, channel: grpc.Channel, user: TestUser, table: pa.Table
) -> None:
    runner = Manager(base_url=veil_server.url, api_key=user.api_key).create_runner("describe")
    runner.add_table("t", table.to_pandas())
    stub = runs_pb2_grpc.RunsServiceStub(channel)
    described = stub.DescribeTable(
        runs_pb2.DescribeTableRequest(run_id=runner.set_name, table_name="t"),
        metadata=(("x-api-key", user.api_key),),
        timeout=120,
    )
    assert described.num_rows == 3
    assert [c.name for c in described.columns] == table.column_names


def test_an_unexpected_engine_failure_shows_an_incident_id_only(
    veil_server: ServerThread,
) -> None:
    with pytest.raises(VeilServiceError) as failed:
        veil_server.run(veil_server.app.engines.run("crash", {}, []), timeout=60)
    assert SECRET not in failed.value.message and "RuntimeError" not in failed.value.message
    assert "incident" in failed.value.message
