"""Serving the web application from the gRPC server's event loop, with uvicorn.

One process, one loop: the web pages reach the same database engine, blob store, dispatcher and
job events as the gRPC servicers, and a watch of a run's jobs is woken by the same publication.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator

import uvicorn

from veil_service.errors import PermissionDeniedError, UnauthenticatedError
from veil_service.web.app import build_app
from veil_service.web.context import WebContext

log = logging.getLogger("veil.web")

SHUTDOWN_GRACE_S = 3
"""Open live-progress streams are closed after this long when the server stops."""


class _EndedSessionFilter(logging.Filter):
    """uvicorn's report of a stream cut because its session ended, as the info it is.

    A download whose session ends is cut by raising from its body (``auth.recheck``): the only
    way ASGI has to break a response already under way, so the browser sees a failed download,
    not a file that looks whole. uvicorn logs every such raise as an error with a traceback;
    this one is expected, so it becomes one line at INFO.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, UnauthenticatedError | PermissionDeniedError):
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args = "web stream cut: %s", (error.message,)
            record.exc_info = record.exc_text = None
        return True


_ENDED_SESSIONS = _EndedSessionFilter()


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling: ``veil serve`` owns SIGTERM and SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class WebServer:
    """The web application on its own port, in the running event loop.

    Args:
        context: What the pages need (domain services, templates, settings).
    """

    def __init__(self, context: WebContext) -> None:
        self.context = context
        self.port = 0
        self._server: _EmbeddedServer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> int:
        """Bind the port (0 picks a free one), start serving, and return the port."""
        settings = self.context.app.settings
        family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((settings.host, settings.web_port))
        sock.set_inheritable(True)
        self.port = sock.getsockname()[1]
        tls = bool(settings.tls_cert and settings.tls_key)
        config = uvicorn.Config(
            build_app(self.context),
            lifespan="off",
            log_config=None,
            access_log=False,
            server_header=False,
            proxy_headers=False,
            http="h11",
            ws="none",
            timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
            ssl_certfile=settings.tls_cert if tls else None,
            ssl_keyfile=settings.tls_key if tls else None,
        )
        # One filter object, so that starting several servers in a process adds it once.
        logging.getLogger("uvicorn.error").addFilter(_ENDED_SESSIONS)
        self._server = _EmbeddedServer(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises what stopped it
            await asyncio.sleep(0.01)
        log.info("web application serving", extra={"port": self.port, "tls": tls})
        return self.port

    async def stop(self) -> None:
        """Stop accepting, close live streams after a short grace, and wait for the end."""
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        await self._task
