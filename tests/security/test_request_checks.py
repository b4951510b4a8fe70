"""Defect 12: unknown enum values and over-long ids are refused up front (issue 19).

The attack: an enum number outside the enum was stored as the default (a run config's column
type, a user's role), and ids of any length were echoed back into error messages and trailers.
Now every request is checked before its servicer runs: an unknown enum number is INVALID_ARGUMENT
naming the field, and an id longer than any real one (``MAX_ID_CHARS``) is refused without being
repeated.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from support import ServerThread, TestUser
from veil.v1 import admin_pb2, admin_pb2_grpc, runs_pb2, runs_pb2_grpc


@pytest.fixture()
def channel(veil_server: ServerThread) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(veil_server.url) as opened:
        yield opened


def _refused(call: object) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as refused:
        call()  # type: ignore[operator]
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, refused.value.details()
    return refused.value


def test_unknown_enum_values_are_refused_naming_the_field(
    channel: grpc.Channel, user: TestUser, admin: TestUser
) -> None:
    runs = runs_pb2_grpc.RunsServiceStub(channel)
    key = (("x-api-key", user.api_key),)
    config = runs_pb2.RunConfig(report_language=57)
    error = _refused(
        lambda: runs.CreateRun(
            runs_pb2.CreateRunRequest(display_name="enum", config=config), metadata=key
        )
    )
    assert "config.report_language" in error.details()
    admins = admin_pb2_grpc.AdminServiceStub(channel)
    error = _refused(
        lambda: admins.SetUserRole(
            admin_pb2.SetUserRoleRequest(user=user.username, role=9),
            metadata=(("x-api-key", admin.api_key),),
        )
    )
    assert error.details().startswith("role")


def test_ids_longer_than_any_real_id_are_refused_without_echo(
    channel: grpc.Channel, user: TestUser
) -> None:
    runs = runs_pb2_grpc.RunsServiceStub(channel)
    key = (("x-api-key", user.api_key),)
    long_id = "R" * 5000
    for call in (
        lambda: runs.GetRun(runs_pb2.GetRunRequest(run_id=long_id), metadata=key),
        lambda: runs.GetJob(runs_pb2.GetJobRequest(job_id=long_id), metadata=key),
        lambda: runs.DeleteJobs(runs_pb2.DeleteJobsRequest(job_ids=["x", long_id]), metadata=key),
    ):
        error = _refused(call)
        assert "R" * 100 not in error.details()
        assert all("R" * 100 not in str(value) for _, value in error.trailing_metadata() or ())
