"""One task over the EngineService stream: send inputs, collect progress and result files.

Result files are written straight into blob-store temp files as they arrive, so the server never
holds a result in memory and can commit them as blobs without copying.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from grpc import aio
from veil.engine.v1 import engine_pb2
from veil_wire.framing import (
    CHANNEL_OPTIONS,
    chunk_deserializer,
    chunk_serializer,
    frame_bytes_field,
)

from veil_service.errors import InvalidArgumentError, VeilServiceError, error_from_code
from veil_service.storage.blobs import BlobStore, BlobWriter

TABLE_CHUNK_FIELD = 3
RESULT_CHUNK_FIELD = 4
SEND_CHUNK_BYTES = 1 << 20

ProgressCallback = Callable[[float, str], Awaitable[None]]


@dataclass(frozen=True)
class TaskInput:
    """A stored table given to a task."""

    name: str
    path: Path
    sha256: str
    size_bytes: int


@dataclass
class ReceivedFile:
    """A result file received into a blob temp file (commit or abort it)."""

    name: str
    media_type: str
    writer: BlobWriter


@dataclass
class TaskOutput:
    """Everything a successful task returned."""

    summary: dict[str, Any]
    files: list[ReceivedFile] = field(default_factory=list)

    def discard(self) -> None:
        """Drop every received file (when the caller does not keep them)."""
        for received in self.files:
            received.writer.abort()


class EngineLostError(Exception):
    """The engine went away mid-task (connection broke); the task may be retried."""


class EngineConnection:
    """A channel to one engine."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.channel = aio.insecure_channel(address, options=CHANNEL_OPTIONS)
        self._execute = self.channel.stream_stream(
            "/veil.engine.v1.EngineService/Execute",
            request_serializer=chunk_serializer,
            response_deserializer=chunk_deserializer(
                engine_pb2.ExecuteResponse, RESULT_CHUNK_FIELD
            ),
        )
        self._info = self.channel.unary_unary(
            "/veil.engine.v1.EngineService/GetEngineInfo",
            request_serializer=engine_pb2.GetEngineInfoRequest.SerializeToString,
            response_deserializer=engine_pb2.GetEngineInfoResponse.FromString,
        )

    async def info(self, timeout: float = 5.0) -> Any:
        """GetEngineInfo, with a deadline."""
        return await self._info(
            engine_pb2.GetEngineInfoRequest(), timeout=timeout, wait_for_ready=True
        )

    async def close(self) -> None:
        """Close the channel."""
        await self.channel.close(None)

    async def run_task(
        self,
        kind: str,
        params: dict[str, Any],
        inputs: list[TaskInput],
        blobs: BlobStore,
        on_progress: ProgressCallback,
    ) -> TaskOutput:
        """Run one task to completion.

        Raises:
            VeilServiceError: the task failed (rebuilt from the engine's TaskFailed).
            EngineLostError: the connection to the engine broke.
        """
        outbox: asyncio.Queue[Any] = asyncio.Queue(maxsize=8)
        start = engine_pb2.TaskStart(
            task_id=str(uuid.uuid4()),
            kind=kind,
            params_json=json.dumps(params),
            inputs=[
                engine_pb2.TableRef(name=i.name, sha256=i.sha256, size_bytes=i.size_bytes)
                for i in inputs
            ],
        )
        await outbox.put(engine_pb2.ExecuteRequest(start=start))

        async def requests() -> AsyncIterator[Any]:
            while (item := await outbox.get()) is not None:
                yield item

        call = self._execute(requests(), wait_for_ready=True)
        output = TaskOutput(summary={})
        current: ReceivedFile | None = None
        by_name = {i.name: i for i in inputs}
        sender: asyncio.Task[None] | None = None
        try:
            async for message in call:
                if isinstance(message, memoryview):
                    if current is None:
                        raise InvalidArgumentError("engine sent bytes outside a result.")
                    current.writer.write(message)
                    continue
                which = message.WhichOneof("payload")
                if which == "need_tables":
                    names = list(message.need_tables.names)
                    sender = asyncio.create_task(_send_tables(outbox, [by_name[n] for n in names]))
                elif which == "progress":
                    await on_progress(message.progress.fraction, message.progress.phase)
                elif which == "result_header":
                    current = ReceivedFile(
                        message.result_header.name, message.result_header.media_type, blobs.writer()
                    )
                    output.files.append(current)
                elif which == "result_end" and current is not None:
                    if current.writer.sha256 != message.result_end.sha256:
                        raise EngineLostError(f"result {current.name} arrived corrupted.")
                    current.writer.close_temp()
                    current = None
                elif which == "done":
                    output.summary = json.loads(message.done.summary_json or "{}")
                    return output
                elif which == "failed":
                    failed = message.failed
                    raise error_from_code(
                        failed.code,
                        failed.message,
                        reason=failed.reason,
                        field=failed.field or None,
                    )
            raise EngineLostError("the engine closed the task stream without an outcome.")
        except aio.AioRpcError as exc:
            output.discard()
            if exc.code() in (
                grpc.StatusCode.UNAVAILABLE,
                grpc.StatusCode.CANCELLED,
                grpc.StatusCode.UNKNOWN,
                grpc.StatusCode.INTERNAL,
            ):
                raise EngineLostError(
                    f"engine {self.address} went away: {exc.code().name}"
                ) from None
            raise error_from_code(exc.code().name, exc.details() or "engine error") from None
        except (VeilServiceError, EngineLostError, asyncio.CancelledError):
            output.discard()
            call.cancel()
            raise
        finally:
            if sender is not None and not sender.done():
                sender.cancel()
                # Awaited, so that it is not left pending (and destroyed so) when the task ends.
                await asyncio.gather(sender, return_exceptions=True)
            with contextlib.suppress(asyncio.QueueFull):
                outbox.put_nowait(None)


async def _send_tables(outbox: asyncio.Queue[Any], tables: list[TaskInput]) -> None:
    for table in tables:
        await outbox.put(
            engine_pb2.ExecuteRequest(
                table_header=engine_pb2.TableHeader(name=table.name, sha256=table.sha256)
            )
        )
        with open(table.path, "rb") as source:
            while chunk := await asyncio.to_thread(source.read, SEND_CHUNK_BYTES):
                # The bounded queue makes this wait for gRPC, so memory stays at a few chunks.
                await outbox.put(frame_bytes_field(chunk, TABLE_CHUNK_FIELD))
        await outbox.put(engine_pb2.ExecuteRequest(table_end=engine_pb2.TableEnd(name=table.name)))
