"""A lomas_client script's calls keep their meaning on Veil's DP client (issue 16 items 4, 7).

Lomas's signatures below are copied from lomas_client (develop, client/lomas_client/libraries/):
lomas_client is not installed here (its dependencies pin other versions of the DP libraries).
"""

from __future__ import annotations

import inspect
from typing import Any

import grpc
import pyarrow as pa
import pytest
from veil.v1 import dpquery_pb2
from veil_client import InvalidArgument, Manager, NotFound, ResourceExhausted
from veil_client.dp_client import (
    DiffPrivLibClient,
    OpenDPClient,
    SmartnoiseSQLClient,
    SmartnoiseSynthClient,
)
from veil_client.lomas_errors import (
    BudgetExhaustedException,
    DatasetNotFoundException,
    ExternalLibraryException,
    InternalServerException,
    InvalidQueryException,
    UnauthorizedAccessException,
)
from veil_client.testing import FakeRpcError, FakeTransport

LOMAS_POSITIONAL = {
    (SmartnoiseSQLClient, "cost"): ["query", "epsilon", "delta", "mechanisms"],
    (SmartnoiseSQLClient, "query"): ["query", "epsilon", "delta", "mechanisms", "postprocess"],
    (OpenDPClient, "cost"): ["opendp_pipeline", "fixed_delta", "mechanism"],
    (OpenDPClient, "query"): ["opendp_pipeline", "fixed_delta", "mechanism"],
    (DiffPrivLibClient, "cost"): [
        "pipeline",
        "feature_columns",
        "target_columns",
        "test_size",
        "test_train_split_seed",
        "imputer_strategy",
    ],
    (DiffPrivLibClient, "query"): [
        "pipeline",
        "feature_columns",
        "target_columns",
        "test_size",
        "test_train_split_seed",
        "imputer_strategy",
    ],
    (SmartnoiseSynthClient, "cost"): [
        "synth_name",
        "epsilon",
        "delta",
        "select_cols",
        "synth_params",
        "nullable",
        "constraints",
    ],
    (SmartnoiseSynthClient, "query"): [
        "synth_name",
        "epsilon",
        "delta",
        "select_cols",
        "synth_params",
        "nullable",
        "constraints",
    ],
}
"""Each method's parameters up to ``dummy`` (exclusive), in Lomas's order."""


@pytest.mark.parametrize(("cls", "method"), list(LOMAS_POSITIONAL))
def test_lomas_positional_order_is_kept_and_dummy_is_keyword_only(cls: type, method: str) -> None:
    parameters = list(inspect.signature(getattr(cls, method)).parameters.values())[1:]
    positional = [p.name for p in parameters if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert positional[: len(LOMAS_POSITIONAL[cls, method])] == LOMAS_POSITIONAL[cls, method]
    if method == "query":
        dummy = next(p for p in parameters if p.name == "dummy")
        assert dummy.kind is dummy.KEYWORD_ONLY and dummy.default is False


def _client(handler: Any) -> tuple[Any, FakeTransport]:
    transport = FakeTransport(handler)
    return Manager(transport=transport).dp("PENGUIN"), transport


def test_the_third_positional_argument_of_an_opendp_query_is_the_mechanism() -> None:
    """``opendp.query(plan, 0.001, "gaussian")`` ran in dummy mode when ``dummy`` was third."""
    sent: list[Any] = []

    def server(method: str, request: Any) -> Any:
        sent.append(request)
        return dpquery_pb2.QueryResponse(charged=True)

    client, _ = _client(server)
    client.opendp.query('{"ast": {}}', 0.001, "gaussian")
    (request,) = sent
    assert request.spec.mode == dpquery_pb2.QUERY_MODE_PRIVATE
    assert request.spec.opendp.fixed_delta == 0.001
    with pytest.raises(TypeError):
        client.opendp.query('{"ast": {}}', 0.001, "gaussian", True)


@pytest.mark.parametrize(
    ("code", "reason", "lomas_class", "veil_class"),
    [
        (
            grpc.StatusCode.INVALID_ARGUMENT,
            "DP_LIBRARY_ERROR",
            ExternalLibraryException,
            InvalidArgument,
        ),
        (grpc.StatusCode.INVALID_ARGUMENT, "", InvalidQueryException, InvalidArgument),
        (
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "BUDGET_EXHAUSTED",
            BudgetExhaustedException,
            ResourceExhausted,
        ),
        (grpc.StatusCode.NOT_FOUND, "DATASET_NOT_FOUND", DatasetNotFoundException, NotFound),
        (grpc.StatusCode.INTERNAL, "", InternalServerException, Exception),
    ],
)
def test_errors_are_lomas_classes_and_veil_classes(
    code: grpc.StatusCode, reason: str, lomas_class: type, veil_class: type
) -> None:
    message = "smartnoise-sql refused the query: Noise scale is too large"

    def server(method: str, request: Any) -> Any:
        raise FakeRpcError(code, message, reason=reason, field="query")

    client, _ = _client(server)
    with pytest.raises(lomas_class) as raised:
        client.smartnoise_sql.query("SELECT COUNT(*) AS n FROM df", 0.1, 1e-5)
    assert isinstance(raised.value, veil_class)
    assert raised.value.error_message == message
    if lomas_class is ExternalLibraryException:
        assert raised.value.library == "smartnoise_sql"
    if lomas_class is DatasetNotFoundException:
        # Veil does not tell a missing dataset from an ungranted one: both Lomas readings hold.
        assert isinstance(raised.value, UnauthorizedAccessException)
    if lomas_class is BudgetExhaustedException:
        assert isinstance(raised.value, InvalidQueryException)
    with pytest.raises(lomas_class):
        client.get_remaining_budget()


def _table_ipc(values: list[float | None]) -> bytes:
    sink = pa.BufferOutputStream()
    table = pa.table({"s": pa.array(values, type=pa.float64())})
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def test_a_nan_answer_is_retried_only_on_request_and_every_run_is_charged() -> None:
    """Issue 16 item 8: Lomas reruns a query answering NaN and charges one run."""
    answers = [[None], [None], [4.2]]

    def server(method: str, request: Any) -> Any:
        response = dpquery_pb2.QueryResponse(charged=True)
        response.result.arrow_ipc = _table_ipc(answers.pop(0))
        response.cost.epsilon, response.cost.delta = 0.03, 1e-5
        return response

    client, transport = _client(server)
    with pytest.warns(
        UserWarning, match=r"answered NaN in column\(s\) s.*was charged epsilon=0.03"
    ):
        first = client.smartnoise_sql.query("SELECT STD(x) AS s FROM df", 0.01, 1e-5)
    assert first.result.df["s"].isna().all() and first.epsilon == 0.03
    retried = client.smartnoise_sql.query("SELECT STD(x) AS s FROM df", 0.01, 1e-5, nan_retries=5)
    assert retried.result.df["s"].tolist() == [4.2]
    assert retried.epsilon == pytest.approx(0.06) and retried.delta == pytest.approx(2e-5)
    assert transport.methods() == ["Query", "Query", "Query"]
