"""The Veil server's lifecycle: open storage, start engines, serve, stop gracefully.

``VeilServer`` is kept apart from ``serve`` so tests start a real server on port 0 in-process.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import sqlalchemy as sa
from grpc import aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from veil.v1 import admin_pb2, auth_pb2, dpquery_pb2, runs_pb2
from veil_wire.framing import CHANNEL_OPTIONS, chunk_deserializer, chunk_serializer

from veil_service.api.admin_servicer import AdminServicer
from veil_service.api.auth_servicer import AuthServicer
from veil_service.api.dpquery_servicer import DPQueryServicer
from veil_service.api.runs_servicer import RunsServicer
from veil_service.context import AppContext
from veil_service.dpquery.queries import DPQueries
from veil_service.email import Mailer, sender_for
from veil_service.engine_client.pool import EnginePool, parse_time_limits
from veil_service.errors import UnavailableError
from veil_service.runs import yaml_parsing
from veil_service.runs.dispatcher import Dispatcher
from veil_service.runs.service import RunsService
from veil_service.server.handlers import service_handler
from veil_service.server.interceptor import VeilInterceptor
from veil_service.settings import Settings
from veil_service.storage import schema
from veil_service.storage.blobs import BlobStore
from veil_service.storage.db import open_database
from veil_service.storage.db_calls import drain_background
from veil_service.storage.notifications import JobChangeListener
from veil_service.storage.permissions import secure_data_dir

if TYPE_CHECKING:
    from veil_service.web.server import WebServer

log = logging.getLogger("veil.server")

MAX_REQUEST_BYTES = 20 << 20
"""Largest request message the server accepts (gRPC refuses more with RESOURCE_EXHAUSTED before
Python sees it). The largest legitimate one is a 16 MiB DP pipeline; uploads come in 1 MiB chunks.
Decoding a 50 MB message on the event loop stalled every other call for most of a second."""

SHARED_SWEEP_GRACE_S = 24 * 3600.0
"""With several servers on one blob dir, a leftover is a file untouched for a day: another
server's upload in flight writes its temp file continuously, and registers a blob seconds after
renaming it."""

SERVICE_NAMES = (
    "veil.v1.AuthService",
    "veil.v1.RunsService",
    "veil.v1.DPQueryService",
    "veil.v1.AdminService",
)


class VeilServer:
    """One running Veil server."""

    def __init__(self, settings: Settings, *, migrate_in_subprocess: bool = False) -> None:
        self.settings = settings
        self._migrate_in_subprocess = migrate_in_subprocess
        self.port = 0
        self.app: AppContext | None = None
        self.dispatcher: Dispatcher | None = None
        self._server: aio.Server | None = None
        self.web: WebServer | None = None
        self.web_port = 0
        self._listener: JobChangeListener | None = None
        # grpc_health-stubs lack the aio submodule that grpcio-health-checking ships.
        self._health = health.aio.HealthServicer()  # type: ignore[attr-defined]

    async def start(self) -> int:
        """Open storage, start serving (NOT_SERVING), start engines, then report SERVING."""
        settings = self.settings
        data_dir = Path(settings.data_dir)
        await asyncio.to_thread(secure_data_dir, data_dir)
        db = await asyncio.to_thread(
            open_database,
            settings.effective_database_url,
            migrate_in_subprocess=self._migrate_in_subprocess,
        )
        blobs = BlobStore(settings.effective_blob_dir)
        with db.connect() as conn:
            registered = {r[0] for r in conn.execute(sa.select(schema.blobs.c.relative_path))}
        # A blob dir other servers share holds their uploads in flight: sweep old files only.
        grace = SHARED_SWEEP_GRACE_S if settings.shared_database else 0.0
        swept = blobs.sweep(registered, older_than_s=grace)
        if swept:
            log.info("swept leftover files", extra={"count": swept})
        engines = EnginePool(
            blobs,
            data_dir=data_dir,
            remote=settings.engines,
            local_capacity=settings.engine_capacity,
            time_limits=parse_time_limits(settings.task_time_limits),
            slots_per_user=settings.engine_slots_per_user,
            dask_scheduler=settings.dask_scheduler,
        )
        self.app = AppContext(settings, db, blobs, engines, Mailer(sender_for(settings)))
        self.dispatcher = Dispatcher(self.app)
        options = [o for o in CHANNEL_OPTIONS if o[0] != "grpc.max_receive_message_length"]
        server = aio.server(
            options=[
                *options,
                ("grpc.max_receive_message_length", MAX_REQUEST_BYTES),
                ("grpc.so_reuseport", 0),
            ],
            interceptors=[VeilInterceptor(db)],
        )
        runs = RunsService(self.app, self.dispatcher)
        queries = DPQueries(self.app)
        self._register(server, self.app, runs, queries)
        address = f"{settings.host}:{settings.port}"
        if settings.tls_cert and settings.tls_key:
            credentials = grpc.ssl_server_credentials(
                [(Path(settings.tls_key).read_bytes(), Path(settings.tls_cert).read_bytes())]
            )
            self.port = server.add_secure_port(address, credentials)
        else:
            self.port = server.add_insecure_port(address)
        await self._health.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
        await server.start()
        self._server = server
        await engines.start()
        if db.dialect.name == "postgresql":
            # Other servers' job changes reach this server's WatchJobs streams.
            self._listener = JobChangeListener(
                settings.effective_database_url,
                self.dispatcher.events.publish,
                asyncio.get_running_loop(),
            )
            await asyncio.to_thread(self._listener.start)
        await self.dispatcher.start()
        if settings.web_port >= 0:
            self.web_port = await self._start_web(runs, queries)
        for name in ("", *SERVICE_NAMES):
            await self._health.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info("serving", extra={"port": self.port, "settings": settings.masked()})
        return self.port

    async def _start_web(self, runs: RunsService, queries: DPQueries) -> int:
        # Imported only when asked for, so a server without the web application never loads
        # Starlette, Jinja2 or uvicorn (tests/unit/test_server_imports.py).
        try:
            from veil_service.web.context import new_context
            from veil_service.web.server import WebServer
        except ImportError as exc:
            raise UnavailableError(
                f"--web-port needs the web extra ({exc.name} is missing): pip install 'veil[web]'."
            ) from None
        assert self.app is not None
        self.web = WebServer(new_context(self.app, runs, queries))
        return await self.web.start()

    def _register(
        self, server: aio.Server, app: AppContext, runs: RunsService, queries: DPQueries
    ) -> None:
        raw = chunk_serializer
        server.add_generic_rpc_handlers(
            (
                service_handler(
                    auth_pb2.DESCRIPTOR,
                    "AuthService",
                    AuthServicer(app),
                ),
                service_handler(
                    runs_pb2.DESCRIPTOR,
                    "RunsService",
                    RunsServicer(runs),
                    codecs={
                        "UploadTable": (chunk_deserializer(runs_pb2.UploadTableRequest), None),
                        "DownloadTable": (None, raw),
                        "DownloadResult": (None, raw),
                    },
                ),
                service_handler(
                    dpquery_pb2.DESCRIPTOR,
                    "DPQueryService",
                    DPQueryServicer(app, queries),
                    codecs={
                        "GetDummyDataset": (None, raw),
                    },
                ),
                service_handler(
                    admin_pb2.DESCRIPTOR,
                    "AdminService",
                    AdminServicer(app),
                    codecs={
                        "RegisterDataset": (
                            chunk_deserializer(admin_pb2.RegisterDatasetRequest),
                            None,
                        ),
                    },
                ),
            )
        )
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        reflection.enable_server_reflection(
            (*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), server
        )

    async def stop(self, grace: float = 10.0) -> None:
        """Report NOT_SERVING, let running calls finish (up to ``grace`` s), stop engines."""
        await self._health.enter_graceful_shutdown()
        if self.web is not None:
            await self.web.stop()
        if self._server is not None:
            await self._server.stop(grace)
        if self.app is not None:
            await self.app.mailer.drain()
            if self.dispatcher is not None:
                await self.dispatcher.stop()
            if self._listener is not None:
                await asyncio.to_thread(self._listener.stop)
            await self.app.engines.stop()
            await asyncio.to_thread(yaml_parsing.shutdown)
            await drain_background()
            self.app.db.dispose()


async def serve(settings: Settings) -> None:
    """Run until SIGTERM or SIGINT, then stop gracefully.

    Migrations run in a child process here: see :mod:`veil_service.storage.db`.
    """
    server = VeilServer(settings, migrate_in_subprocess=True)
    port = await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # Handlers first: a SIGTERM sent as soon as the address is printed still stops gracefully.
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"veil serve listening on {settings.host}:{port}", flush=True)
    if server.web is not None:
        scheme = "https" if settings.tls_cert else "http"
        print(f"web application on {scheme}://{settings.host}:{server.web_port}/", flush=True)
    await stop.wait()
    log.info("stopping")
    await server.stop()
