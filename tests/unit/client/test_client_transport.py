"""The one ``_rpc_call``: metadata, deadlines, retries of idempotent calls, error mapping.

Through FakeTransport, so the policy is checked call by call without a server; the integration
tests run the same code over a real channel.
"""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from veil.v1 import common_pb2, runs_pb2
from veil_client import FailedPrecondition, InvalidArgument, ResourceExhausted, Unavailable
from veil_client.api.runs import RunsApi
from veil_client.models import JobKind
from veil_client.testing import FakeRpcError, FakeTransport
from veil_client.transport import DEFAULT_TIMEOUT_S, GrpcTransport, RetryPolicy

UNAVAILABLE = FakeRpcError(grpc.StatusCode.UNAVAILABLE, "connection refused")


def _job(job_id: str = "j1") -> runs_pb2.Job:
    return runs_pb2.Job(
        id=job_id,
        run_id="00000000-0000-4000-8000-000000000001",
        kind=runs_pb2.JOB_KIND_STANDARD,
        status=runs_pb2.JOB_STATUS_QUEUED,
    )


def flaky(failures: int, answer: Any) -> Any:
    """A handler failing ``failures`` times with UNAVAILABLE, then answering."""
    left = [failures]

    def handler(method: str, request: Any) -> Any:
        if left[0]:
            left[0] -= 1
            raise UNAVAILABLE
        return answer

    return handler


def test_credential_and_deadline_travel_with_every_call() -> None:
    transport = FakeTransport(lambda m, r: runs_pb2.GetJobResponse(job=_job()), api_key="veil_k")
    api = RunsApi(transport)
    api.get_job("j1")
    transport.handler = lambda m, r: runs_pb2.DescribeTableResponse(num_rows=3)
    assert api.describe_table("r1", "t").num_rows == 3  # an RPC with a deadline of its own
    first, second = transport.calls
    assert first.metadata == (("authorization", "Bearer veil_k"),)
    assert first.timeout == DEFAULT_TIMEOUT_S
    assert second.timeout == 3600.0
    assert second.request.role == common_pb2.TABLE_ROLE_ORIGINAL


def test_idempotent_calls_are_retried_on_unavailable() -> None:
    transport = FakeTransport(flaky(2, runs_pb2.GetJobResponse(job=_job())))
    assert RunsApi(transport).get_job("j1").id == "j1"
    assert transport.methods() == ["GetJob"] * 3


def test_retries_stop_after_max_attempts_with_the_servers_error() -> None:
    transport = FakeTransport(
        flaky(10, runs_pb2.GetJobResponse()), retry=RetryPolicy(max_attempts=3, max_backoff_s=0)
    )
    with pytest.raises(Unavailable, match="connection refused") as failed:
        RunsApi(transport).get_job("j1")
    assert failed.value.code == "UNAVAILABLE"
    assert len(transport.calls) == 3


def test_calls_that_may_have_taken_effect_are_never_retried() -> None:
    transport = FakeTransport(flaky(1, runs_pb2.StartJobsResponse(run_id="r1")))
    with pytest.raises(Unavailable):
        RunsApi(transport).start_jobs("r1", [JobKind.standard])
    assert transport.methods() == ["StartJobs"]


def test_other_codes_are_not_retried_and_keep_reason_and_field() -> None:
    def refuse(method: str, request: Any) -> Any:
        raise FakeRpcError(
            grpc.StatusCode.INVALID_ARGUMENT,
            "tables[0].avatarization.k: must be >= 2",
            reason="INVALID_PARAMETER",
            field="tables[0].avatarization.k",
        )

    transport = FakeTransport(refuse)
    with pytest.raises(InvalidArgument) as refused:
        RunsApi(transport).get_config("r1")
    assert refused.value.reason == "INVALID_PARAMETER"
    assert refused.value.field == "tables[0].avatarization.k"
    assert isinstance(refused.value, ValueError)
    assert len(transport.calls) == 1


def test_retry_after_reaches_the_caller() -> None:
    def throttle(method: str, request: Any) -> Any:
        raise FakeRpcError(grpc.StatusCode.RESOURCE_EXHAUSTED, "slow down", retry_after=2.5)

    with pytest.raises(ResourceExhausted) as throttled:
        RunsApi(FakeTransport(throttle)).get_run("r1")
    assert throttled.value.retry_after == pytest.approx(2.5)


def test_server_streams_are_retried_only_before_their_first_message() -> None:
    transport = FakeTransport(flaky(1, [runs_pb2.WatchJobsResponse(job=_job())]))
    assert [j.id for j in RunsApi(transport).watch_jobs(["j1"])] == ["j1"]
    assert transport.methods() == ["WatchJobs", "WatchJobs"]

    def broken_after_one(method: str, request: Any) -> Any:
        yield runs_pb2.WatchJobsResponse(job=_job())
        raise FakeRpcError(grpc.StatusCode.UNAVAILABLE, "server went away")

    transport = FakeTransport(broken_after_one)
    seen = []
    with pytest.raises(Unavailable, match="went away"):
        for job in RunsApi(transport).watch_jobs(["j1"]):
            seen.append(job.id)
    assert seen == ["j1"] and transport.methods() == ["WatchJobs"]


def test_failed_precondition_is_not_retried() -> None:
    def busy(method: str, request: Any) -> Any:
        raise FakeRpcError(grpc.StatusCode.FAILED_PRECONDITION, "table in use")

    transport = FakeTransport(busy)
    with pytest.raises(FailedPrecondition):
        RunsApi(transport).list_tables("r1")
    assert len(transport.calls) == 1


def test_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(initial_backoff_s=0.1, max_backoff_s=0.5, multiplier=2.0)
    waits = [policy.backoff(n) for n in range(1, 6)]
    assert 0.05 <= waits[0] <= 0.1
    assert all(w <= 0.5 for w in waits)
    assert waits[-1] >= 0.25


@pytest.mark.parametrize("url", ["", "http://localhost:8080", "https://example.org/api"])
def test_addresses_grpc_cannot_use_are_refused_naming_the_form_to_use(url: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        GrpcTransport(url)
    assert refused.value.field == "base_url"
    assert "localhost:PORT" in refused.value.message or "grpc://host:port" in refused.value.message
