"""An open server stream stops once its credential is revoked, not when it would have ended.

The attack: authentication ran once, when a call began. A download (or a WatchJobs stream) opened
with an API key kept sending after the key was revoked, or its user disabled by an admin, until
it finished: revocation was immediate for unary calls on an open channel, but not for streams.
Now a stream checks its credential again before a message when the last check is older than
``auth.recheck.RECHECK_SECONDS``, and ends with UNAUTHENTICATED.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import grpc
import numpy as np
import pandas as pd
import pytest
from support import ServerThread, create_user
from veil.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    auth_pb2,
    auth_pb2_grpc,
    common_pb2,
    runs_pb2,
    runs_pb2_grpc,
)
from veil_client import Manager
from veil_service.auth.recheck import RECHECK_SECONDS

ROWS = 600_000
"""40 MiB of doubles: far more than gRPC buffers ahead of a reader that stopped reading."""


@pytest.fixture(scope="module")
def big_table_owner(veil_server: ServerThread) -> tuple[str, str]:
    """A user with a run holding a 40 MiB table; returns (user id, run id)."""
    owner = create_user(veil_server, "user")
    frame = pd.DataFrame(np.random.default_rng(5).normal(size=(ROWS, 8)), columns=list("abcdefgh"))
    runner = Manager(base_url=veil_server.url, api_key=owner.api_key).create_runner("big")
    runner.add_table("t", frame)
    assert runner.set_name is not None
    return owner.id, runner.set_name


def _fresh_key(server: ServerThread, user_id: str) -> str:
    from veil_service.accounts import api_keys

    with server.app.db.begin() as conn:
        _, key = api_keys.create_api_key(
            conn, user_id=user_id, name=f"k{time.monotonic_ns()}", expiration_days=30
        )
    return key


def _download_after(
    server: ServerThread, run_id: str, key: str, revoke: Callable[[], None]
) -> tuple[int, grpc.StatusCode]:
    """Read the first message of DownloadTable, revoke, read on: bytes received after, and the
    stream's final code."""
    with grpc.insecure_channel(server.url) as channel:
        stream: Iterator[runs_pb2.DownloadTableResponse] = runs_pb2_grpc.RunsServiceStub(
            channel
        ).DownloadTable(
            runs_pb2.DownloadTableRequest(
                run_id=run_id, table_name="t", role=common_pb2.TABLE_ROLE_ORIGINAL
            ),
            metadata=(("x-api-key", key),),
            timeout=120,
        )
        header = next(stream)
        assert header.header.size_bytes > 30 << 20
        revoke()
        time.sleep(RECHECK_SECONDS + 0.5)
        received = 0
        try:
            for message in stream:
                received += len(message.arrow_ipc)
        except grpc.RpcError as error:
            return received, error.code()
        return received, grpc.StatusCode.OK


def test_a_download_stops_when_its_key_is_revoked(
    veil_server: ServerThread, big_table_owner: tuple[str, str]
) -> None:
    user_id, run_id = big_table_owner
    key = _fresh_key(veil_server, user_id)

    def revoke() -> None:
        auth_pb2_grpc.AuthServiceStub(grpc.insecure_channel(veil_server.url)).RevokeAllApiKeys(
            auth_pb2.RevokeAllApiKeysRequest(), metadata=(("x-api-key", key),), timeout=10
        )

    received, code = _download_after(veil_server, run_id, key, revoke)
    assert code == grpc.StatusCode.UNAUTHENTICATED
    assert received < 20 << 20  # at most what was already on its way


def test_a_download_stops_when_an_admin_disables_the_user(veil_server: ServerThread) -> None:
    # A user of its own: disabling revokes every key of the user, for good.
    victim = create_user(veil_server, "user")
    frame = pd.DataFrame(np.random.default_rng(6).normal(size=(ROWS, 8)), columns=list("abcdefgh"))
    runner = Manager(base_url=veil_server.url, api_key=victim.api_key).create_runner("big")
    runner.add_table("t", frame)
    assert runner.set_name is not None
    admin = create_user(veil_server, "admin")

    def disable() -> None:
        admin_pb2_grpc.AdminServiceStub(grpc.insecure_channel(veil_server.url)).DisableUser(
            admin_pb2.DisableUserRequest(user=victim.id),
            metadata=(("x-api-key", admin.api_key),),
            timeout=10,
        )

    received, code = _download_after(veil_server, runner.set_name, victim.api_key, disable)
    assert code == grpc.StatusCode.UNAUTHENTICATED
    assert received < 20 << 20


def test_an_unrevoked_download_is_whole(
    veil_server: ServerThread, big_table_owner: tuple[str, str]
) -> None:
    user_id, run_id = big_table_owner
    received, code = _download_after(
        veil_server, run_id, _fresh_key(veil_server, user_id), lambda: None
    )
    assert code == grpc.StatusCode.OK
    assert received > 30 << 20
