"""The EngineService: receives a task and its tables, runs it in a worker, streams results back.

The engine holds no credentials and no database. It listens on a unix socket when started by
``veil serve``, or on an address given to ``veil engine --listen``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import signal
import tempfile
import time
from collections.abc import AsyncIterator
from multiprocessing import forkserver
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.message import Message
from grpc import aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from veil.engine.v1 import engine_pb2, engine_pb2_grpc
from veil_wire.framing import (
    CHANNEL_OPTIONS,
    chunk_deserializer,
    chunk_serializer,
    frame_bytes_field,
)

from veil_service import __version__
from veil_service.engine.cache import TableCache
from veil_service.engine.parent_death import die_with_the_server
from veil_service.engine.tasks import TASKS
from veil_service.engine.worker import run_in_worker, run_inline, wants_inline, worker_context
from veil_service.errors import (
    InvalidArgumentError,
    Reason,
    ResourceExhaustedError,
    VeilServiceError,
)

log = logging.getLogger("veil.engine")

RESULT_CHUNK_BYTES = 1 << 20
TABLE_CHUNK_FIELD = 3
RESULT_CHUNK_FIELD = 4
PROGRESS_INTERVAL_S = 0.25
INLINE_LANE_SLOTS = 4
"""Short DP tasks run at once in their own lane (the server's pool uses the same number)."""


ServicerContext = aio.ServicerContext[Message, Message]


class EngineServicer(engine_pb2_grpc.EngineServiceServicer):
    """Runs tasks for the Veil server, at most ``capacity`` at a time."""

    def __init__(self, cache: TableCache, work_dir: Path, capacity: int) -> None:
        self.cache = cache
        self.work_dir = work_dir
        self.capacity = capacity
        self.running = 0
        self.waiting = 0
        self._slots: asyncio.Semaphore | None = None
        self._inline_slots = asyncio.Semaphore(INLINE_LANE_SLOTS)

    async def GetEngineInfo(  # noqa: N802
        self, request: engine_pb2.GetEngineInfoRequest, context: ServicerContext
    ) -> engine_pb2.GetEngineInfoResponse:
        """Capacity and load."""
        return engine_pb2.GetEngineInfoResponse(
            capacity=self.capacity, running=self.running, version=__version__, kinds=sorted(TASKS)
        )

    async def Execute(  # noqa: N802
        self,
        request_iterator: AsyncIterator[engine_pb2.ExecuteRequest | memoryview],
        context: ServicerContext,
    ) -> AsyncIterator[engine_pb2.ExecuteResponse]:
        """Run one task (see engine.proto for the message order)."""
        try:
            async for message in self._execute(request_iterator):
                yield message
        except VeilServiceError as exc:
            yield engine_pb2.ExecuteResponse(
                failed=engine_pb2.TaskFailed(
                    code=exc.code_name,
                    reason=exc.reason,
                    message=exc.message,
                    field=exc.field or "",
                )
            )

    async def _execute(self, requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
        iterator = requests.__aiter__()
        first = await anext(iterator, None)
        if first is None or isinstance(first, memoryview) or not first.HasField("start"):
            raise InvalidArgumentError("the first engine message must be a TaskStart.")
        start = first.start
        params = json.loads(start.params_json or "{}")
        # The server's pool schedules to capacity, but it frees a slot when the outcome arrives,
        # a moment before this stream ends; a short wait absorbs that instead of failing a job.
        # Short DP tasks have a lane of their own, so long tasks never hold them up (issue 19).
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.capacity)
        if wants_inline(start.kind, params):
            await self._inline_slots.acquire()
            async for message in self._run_task(start, params, iterator, self._inline_slots):
                yield message
            return
        if self.waiting >= 4 * self.capacity:
            raise ResourceExhaustedError(
                f"engine busy ({self.running}/{self.capacity} tasks, {self.waiting} waiting).",
                reason=Reason.ENGINE_BUSY,
            )
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        async for message in self._run_task(start, params, iterator, self._slots):
            yield message

    async def _run_task(
        self, start: Any, params: dict[str, Any], iterator: Any, lane: asyncio.Semaphore
    ) -> AsyncIterator[Any]:
        """Run a task whose ``lane`` slot the caller acquired (released here)."""
        self.running += 1
        digests = {ref.name: ref.sha256 for ref in start.inputs}
        for sha in digests.values():
            self.cache.pin(sha)
        output_dir = Path(tempfile.mkdtemp(prefix=f"task-{start.task_id[:8]}-", dir=self.work_dir))
        try:
            missing = [ref.name for ref in start.inputs if not self.cache.has(ref.sha256)]
            yield engine_pb2.ExecuteResponse(need_tables=engine_pb2.NeedTables(names=missing))
            for _ in missing:
                await self._receive_table(iterator, digests)
            inputs = {name: self.cache.path(sha) for name, sha in digests.items()}
            async for message in self._run(start.kind, params, inputs, output_dir):
                yield message
        finally:
            self.running -= 1
            lane.release()
            for sha in digests.values():
                self.cache.unpin(sha)
            shutil.rmtree(output_dir, ignore_errors=True)

    async def _receive_table(self, iterator: AsyncIterator[Any], digests: dict[str, str]) -> None:
        header = await anext(iterator, None)
        if header is None or isinstance(header, memoryview) or not header.HasField("table_header"):
            raise InvalidArgumentError("expected a TableHeader.")
        name = header.table_header.name
        if name not in digests:
            raise InvalidArgumentError(f"table {name!r} is not an input of this task.")
        import hashlib

        digest = hashlib.sha256()
        temp = self.cache.temp_path(digests[name])
        try:
            with open(temp, "wb") as sink:
                async for message in iterator:
                    if isinstance(message, memoryview):
                        sink.write(message)
                        digest.update(message)
                        continue
                    if message.HasField("table_end"):
                        break
                    raise InvalidArgumentError("unexpected message inside a table.")
                else:
                    raise InvalidArgumentError(f"table {name!r} ended without TableEnd.")
            if digest.hexdigest() != digests[name]:
                raise InvalidArgumentError(f"table {name!r} does not match its sha256.")
            self.cache.commit(temp, digests[name])
        finally:
            temp.unlink(missing_ok=True)

    async def _run(
        self, kind: str, params: dict[str, Any], inputs: dict[str, Path], output_dir: Path
    ) -> AsyncIterator[Any]:
        # Progress and the end of the task arrive on one queue (None: the task is over), so that
        # waiting for either needs no helper task: a helper cancelled while the stream ended was
        # destroyed pending ("Task was destroyed but it is pending!" in the engine's log).
        queue: asyncio.Queue[tuple[float, str] | None] = asyncio.Queue()

        async def on_progress(fraction: float, phase: str) -> None:
            queue.put_nowait((fraction, phase))

        # Short DP tasks run in a thread of this process (see worker.py, "Inline path").
        runner = run_inline if wants_inline(kind, params) else run_in_worker
        task = asyncio.create_task(runner(kind, params, inputs, output_dir, on_progress))
        task.add_done_callback(lambda _: queue.put_nowait(None))
        last_sent = (0.0, "", -1.0)
        try:
            while (item := await queue.get()) is not None:
                fraction, phase = item
                now = time.monotonic()
                if (
                    phase != last_sent[1]
                    or now - last_sent[2] >= PROGRESS_INTERVAL_S
                    or fraction >= 1.0
                ):
                    last_sent = (fraction, phase, now)
                    yield engine_pb2.ExecuteResponse(
                        progress=engine_pb2.Progress(fraction=fraction, phase=phase)
                    )
            outcome = task.result()
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if not outcome.ok:
            yield engine_pb2.ExecuteResponse(
                failed=engine_pb2.TaskFailed(
                    code=outcome.code,
                    reason=outcome.reason,
                    message=outcome.message,
                    field=outcome.field,
                )
            )
            return
        for result in outcome.results:
            yield engine_pb2.ExecuteResponse(
                result_header=engine_pb2.ResultHeader(
                    name=result.name, media_type=result.media_type
                )
            )
            import hashlib

            digest = hashlib.sha256()
            size = 0
            with open(result.path, "rb") as source:
                while chunk := source.read(RESULT_CHUNK_BYTES):
                    digest.update(chunk)
                    size += len(chunk)
                    yield frame_bytes_field(chunk, RESULT_CHUNK_FIELD)
            yield engine_pb2.ExecuteResponse(
                result_end=engine_pb2.ResultEnd(
                    name=result.name, sha256=digest.hexdigest(), size_bytes=size
                )
            )
        yield engine_pb2.ExecuteResponse(
            done=engine_pb2.TaskDone(summary_json=json.dumps(outcome.summary, default=str))
        )


def _handlers(servicer: EngineServicer) -> grpc.GenericRpcHandler[Any, Any]:
    return grpc.method_handlers_generic_handler(
        "veil.engine.v1.EngineService",
        {
            "Execute": grpc.stream_stream_rpc_method_handler(
                servicer.Execute,
                request_deserializer=chunk_deserializer(
                    engine_pb2.ExecuteRequest, TABLE_CHUNK_FIELD
                ),
                response_serializer=chunk_serializer,
            ),
            "GetEngineInfo": grpc.unary_unary_rpc_method_handler(
                servicer.GetEngineInfo,
                request_deserializer=engine_pb2.GetEngineInfoRequest.FromString,
                response_serializer=engine_pb2.GetEngineInfoResponse.SerializeToString,
            ),
        },
    )


async def serve_engine(
    listen: str, *, work_dir: Path, capacity: int, cache_bytes: int = 2 << 30
) -> None:
    """Run an engine until SIGTERM or SIGINT (or until the server that started it dies)."""
    die_with_the_server()
    worker_context()
    forkserver.ensure_running()
    work_dir.mkdir(parents=True, exist_ok=True)
    servicer = EngineServicer(TableCache(work_dir / "cache", cache_bytes), work_dir, capacity)
    server = aio.server(options=CHANNEL_OPTIONS)
    server.add_generic_rpc_handlers((_handlers(servicer),))
    # grpc_health-stubs lack the aio submodule that grpcio-health-checking ships.
    health_servicer = health.aio.HealthServicer()  # type: ignore[attr-defined]
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    port = server.add_insecure_port(listen)
    await server.start()
    await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    print(f"veil engine listening on {listen if listen.startswith('unix') else port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await health_servicer.enter_graceful_shutdown()
    await server.stop(5)
