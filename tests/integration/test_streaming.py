"""Streamed tables through the real server: round trips, bad streams, cancellation, engine loss.

An upload must either register a complete, valid table or leave nothing at all behind (no row,
no blob, no temp file), so every failure case here checks the data dir as well as the error.
"""

from __future__ import annotations

import hashlib
import io
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest
from support import ServerThread, TestUser, assert_eventually, start_server
from veil.v1 import common_pb2, runs_pb2
from veil_client import Manager
from veil_wire.framing import CHANNEL_OPTIONS, chunk_serializer, frame_bytes_field


@pytest.fixture(scope="module")
def veil_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """This module's own real server (overrides the session one, also for ``user``).

    Its tests assert that the data dir holds no new file and kill the engine child: on the
    shared session server, jobs left running by other modules would race with both.
    """
    server = start_server(tmp_path_factory.mktemp("veil-streaming"))
    yield server
    server.stop()


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = 20_000
    return pd.DataFrame(
        {
            "id": np.arange(rows, dtype=np.int64),
            "value": rng.standard_normal(rows),
            "label": rng.choice(["alpha", "beta", "gamma"], rows),
        }
    )


def _ipc_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with ipc.new_stream(sink, table.schema) as writer:
        for batch in table.to_batches(max_chunksize=4_000):
            writer.write_batch(batch)
    return sink.getvalue()


@pytest.fixture()
def manager(veil_server: ServerThread, user: TestUser) -> Iterator[Manager]:
    """A client logged in as a fresh user."""
    with Manager(base_url=veil_server.url, api_key=user.api_key) as client:
        yield client


def _blob_files(server: ServerThread) -> set[str]:
    root = Path(server.settings.data_dir) / "blobs"
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def _temp_files(server: ServerThread) -> list[Path]:
    return [p for p in (Path(server.settings.data_dir) / "tmp").iterdir() if p.is_file()]


@pytest.mark.parametrize("kind", ["csv", "parquet", "dataframe"])
def test_upload_download_round_trip(manager: Manager, tmp_path: Path, kind: str) -> None:
    frame = _frame()
    source: Any = frame
    if kind == "csv":
        source = tmp_path / "t.csv"
        frame.to_csv(source, index=False)
    elif kind == "parquet":
        source = tmp_path / "t.parquet"
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), source)
    run = manager.runs_api.create_run(f"stream-{kind}")

    uploaded = manager.runs_api.upload_table(run.id, "t", source, verify_sha256=True)

    assert uploaded.num_rows == len(frame) and uploaded.num_columns == 3
    assert uploaded.sha256 == uploaded.client_sha256
    table = manager.runs_api.download_arrow(run.id, "t", verify_sha256=True)
    pd.testing.assert_frame_equal(table.to_pandas(), frame, check_dtype=False)
    target = tmp_path / "download.arrows"
    info = manager.runs_api.download_to_file(run.id, "t", target)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    assert digest == info.sha256 == info.client_sha256 == uploaded.sha256
    assert info.size_bytes == target.stat().st_size == uploaded.size_bytes


def test_digests_are_the_servers_unless_the_client_asks(
    manager: Manager, tmp_path: Path, veil_server: ServerThread
) -> None:
    """By default only the server hashes; replacing a table keeps exactly one blob of it."""
    run = manager.runs_api.create_run("stream-digest")
    first = manager.runs_api.upload_table(run.id, "t", _frame())
    assert first.client_sha256 == "" and len(first.sha256) == 64
    before = _blob_files(veil_server)
    second_frame = _frame().assign(value=lambda f: f["value"] * 2)
    second = manager.runs_api.upload_table(run.id, "t", second_frame, replace=True)
    assert second.sha256 != first.sha256
    assert_eventually(
        lambda: len(_blob_files(veil_server)) == len(before),
        message="the superseded blob is deleted after the commit",
    )
    assert _blob_files(veil_server) != before
    table = manager.runs_api.download_arrow(run.id, "t")
    pd.testing.assert_frame_equal(table.to_pandas(), second_frame, check_dtype=False)
    target = tmp_path / "t.arrows"
    manager.runs_api.download_to_file(run.id, "t", target)
    assert hashlib.sha256(target.read_bytes()).hexdigest() == second.sha256


class RawUpload:
    """The UploadTable RPC without the client's encoder, to send arbitrary messages."""

    def __init__(self, server: ServerThread, user: TestUser) -> None:
        self.channel = grpc.insecure_channel(server.url, options=CHANNEL_OPTIONS)
        self.call = self.channel.stream_unary(
            "/veil.v1.RunsService/UploadTable",
            request_serializer=chunk_serializer,
            response_deserializer=runs_pb2.UploadTableResponse.FromString,
        )
        self.metadata = (("authorization", f"Bearer {user.api_key}"),)

    @staticmethod
    def header(run_id: str, name: str = "t") -> runs_pb2.UploadTableRequest:
        return runs_pb2.UploadTableRequest(
            header=runs_pb2.UploadTableHeader(
                run_id=run_id, table_name=name, role=common_pb2.TABLE_ROLE_ORIGINAL
            )
        )

    def send(self, messages: list[Any]) -> Any:
        return self.call(iter(messages), metadata=self.metadata, timeout=30)


@pytest.fixture()
def raw(veil_server: ServerThread, user: TestUser) -> Iterator[RawUpload]:
    """A raw UploadTable caller for the fixture user."""
    upload = RawUpload(veil_server, user)
    yield upload
    upload.channel.close()


def _chunks(data: bytes, size: int = 50_000) -> list[bytes]:
    return [frame_bytes_field(data[i : i + size]) for i in range(0, len(data), size)]


STREAM = _ipc_bytes(pa.Table.from_pandas(_frame(), preserve_index=False))

BAD_STREAMS = {
    "truncated": (lambda h: [h, *_chunks(STREAM[: len(STREAM) // 2])], "truncated or corrupt"),
    "corrupt": (
        lambda h: [h, *_chunks(STREAM[:64] + bytes(range(256)) * 40)],
        "truncated or corrupt",
    ),
    "not arrow": (
        lambda h: [h, frame_bytes_field(b"id,value\n1,2\n")],
        "not a usable Arrow IPC stream",
    ),
    "missing header": (lambda h: _chunks(STREAM), "must be a header"),
    "second header": (lambda h: [h, *_chunks(STREAM)[:2], h], "only the first message"),
    "empty": (lambda h: [h], "no table bytes"),
}


@pytest.mark.parametrize("case", sorted(BAD_STREAMS))
def test_bad_streams_are_rejected_and_leave_nothing(
    veil_server: ServerThread, manager: Manager, raw: RawUpload, case: str
) -> None:
    run = manager.runs_api.create_run(f"bad-{case}")
    before = _blob_files(veil_server)
    build, expected = BAD_STREAMS[case]

    with pytest.raises(grpc.RpcError) as caught:
        raw.send(build(RawUpload.header(run.id)))

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert expected in (caught.value.details() or "")
    assert manager.runs_api.list_tables(run.id) == []
    assert_eventually(lambda: not _temp_files(veil_server), 10, message="temp file removed")
    assert _blob_files(veil_server) == before


def test_valid_raw_stream_is_accepted(manager: Manager, raw: RawUpload) -> None:
    run = manager.runs_api.create_run("raw-ok")
    response = raw.send([RawUpload.header(run.id), *_chunks(STREAM)])
    assert response.table.num_rows == len(_frame())
    assert response.table.sha256 == hashlib.sha256(STREAM).hexdigest()


def test_client_disconnect_mid_upload_leaves_nothing(
    veil_server: ServerThread, manager: Manager, raw: RawUpload
) -> None:
    run = manager.runs_api.create_run("cancelled")
    before = _blob_files(veil_server)
    release = threading.Event()

    def messages() -> Iterator[Any]:
        yield RawUpload.header(run.id)
        yield from _chunks(STREAM)[:3]
        release.wait(30)  # the stream stays open, unfinished, until the test cancels it

    call = raw.call.future(messages(), metadata=raw.metadata, timeout=30)
    assert_eventually(
        lambda: any(p.stat().st_size > 0 for p in _temp_files(veil_server)),
        10,
        message="upload started",
    )
    call.cancel()
    release.set()

    assert call.cancelled()
    assert_eventually(lambda: not _temp_files(veil_server), 10, message="temp file removed")
    assert _blob_files(veil_server) == before
    assert manager.runs_api.list_tables(run.id) == []


def test_engine_killed_mid_task_is_retried_and_restarted(
    veil_server: ServerThread, manager: Manager
) -> None:
    engines = veil_server.app.engines
    first_pid = engines.local.pid
    outcome: Future[Any] = Future()

    def run_task() -> None:
        try:
            outcome.set_result(veil_server.run(engines.run("sleep", {"seconds": 3}, []), 60))
        except BaseException as error:  # reported by the assertion below
            outcome.set_exception(error)

    threading.Thread(target=run_task, daemon=True).start()
    assert_eventually(
        lambda: any(slot.running for slot in engines.slots), 10, message="task started"
    )
    time.sleep(0.5)
    os.kill(first_pid, signal.SIGKILL)

    assert manager.get_health()["status"] == "SERVING"
    output = outcome.result(60)
    assert output.summary["slept_seconds"] == 3
    assert_eventually(
        lambda: engines.local.alive() and engines.local.pid != first_pid,
        30,
        message="engine child restarted",
    )
    assert manager.runs_api.create_run("after-engine-loss").id
