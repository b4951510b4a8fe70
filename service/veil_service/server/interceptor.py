"""The server interceptor: authenticates every call, applies the RPC's access rule, binds the
caller to the call, maps domain errors to statuses and logs one line per call.

Every RPC of the Veil services passes here; an RPC without a rule in ``auth.rules`` is refused.
A server stream (WatchJobs, DownloadTable, DownloadResult, QueryWithProgress, ...) may outlive
its credential: before each message it sends, the credential is checked again (at most every
``auth.recheck.RECHECK_SECONDS``, the web's streams do the same), so a revoked key, an ended
session or a disabled user stops receiving at once rather than when the stream ends.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

import grpc
import sqlalchemy as sa
from google.protobuf.message import Message
from grpc import aio

from veil_service.auth.authenticate import extract_credential
from veil_service.auth.principal import Principal, set_current
from veil_service.auth.recheck import Authorization
from veil_service.auth.rules import UNGUARDED_PREFIXES
from veil_service.errors import VeilServiceError
from veil_service.logs import bind_request
from veil_service.server.request_checks import check_request
from veil_service.server.status import to_grpc_status

log = logging.getLogger("veil.rpc")

# grpc-stubs makes ServerInterceptor generic; the runtime class is a plain ABC, not subscriptable.
if TYPE_CHECKING:
    _ServerInterceptor = aio.ServerInterceptor[Any, Any]
else:
    _ServerInterceptor = aio.ServerInterceptor


class CallGuard:
    """Authentication and authorization of one call, run inside the handler."""

    def __init__(self, engine: sa.Engine, method: str, metadata: Any) -> None:
        self.engine = engine
        self.method = method
        self.metadata = metadata
        self.access: Authorization | None = None

    @property
    def principal(self) -> Principal | None:
        """The caller, once checked (None before, or on a public RPC without credentials)."""
        return self.access.principal if self.access else None

    async def check(self, peer: str) -> Authorization:
        """Authenticate and authorize (``auth.authorize``), or raise the domain error.

        Raises:
            UnauthenticatedError: malformed, missing, revoked or expired credential.
            PermissionDeniedError: the RPC needs a role the caller lacks.
        """
        self.access = Authorization(self.engine, self.method, extract_credential(self.metadata))
        await self.access.check()
        set_current(self.principal, peer)
        return self.access


async def _abort(context: aio.ServicerContext[Any, Any], error: VeilServiceError) -> None:
    status = to_grpc_status(error)
    await context.abort(status.code, status.details, status.trailing_metadata)


class VeilInterceptor(_ServerInterceptor):
    """See the module docstring."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    # grpc-stubs types the continuation's result and this return as never None, but grpc.aio
    # gives None for a method no handler serves and expects it passed on unchanged.
    async def intercept_service(  # type: ignore[override]
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method
        if handler is None or method.startswith(UNGUARDED_PREFIXES):
            return handler
        guard = CallGuard(self.engine, method, handler_call_details.invocation_metadata)
        return _wrap(handler, guard)


def _wrap(
    handler: grpc.RpcMethodHandler[Any, Any], guard: CallGuard
) -> grpc.RpcMethodHandler[Any, Any]:
    method = guard.method

    async def start(context: Any, request: Any = None) -> Authorization:
        access = await guard.check(context.peer())
        bind_request(str(uuid.uuid4()), guard.principal.user_id if guard.principal else "")
        if isinstance(request, Message):
            check_request(request)
        return access

    async def fail(context: Any, exc: BaseException, began: float) -> None:
        if isinstance(exc, VeilServiceError):
            _log_call(method, exc.code_name, began, guard)
            await _abort(context, exc)
        # Anything else is a bug: log it with its traceback here, give the caller an id only.
        incident = str(uuid.uuid4())[:8]
        log.exception("internal error in %s (incident %s)", method, incident)
        _log_call(method, "INTERNAL", began, guard)
        await context.abort(
            grpc.StatusCode.INTERNAL,
            f"internal error (incident {incident}); the server log has details.",
        )

    # grpc-stubs types a handler's behaviours after the sync API; under grpc.aio they are
    # coroutine functions and async generators, hence the casts.
    unary = handler.unary_unary or handler.stream_unary
    if unary:
        inner = cast(Callable[[Any, Any], Awaitable[Any]], unary)

        async def unary_response(request: Any, context: Any) -> Any:
            began = time.monotonic()
            try:
                await start(context, request)
                response = await inner(request, context)
                _log_call(method, "OK", began, guard)
                return response
            except (aio.AbortError, GeneratorExit):
                raise
            except Exception as exc:  # mapped to a status in fail()
                await fail(context, exc, began)

        factory = (
            grpc.unary_unary_rpc_method_handler
            if handler.unary_unary
            else grpc.stream_unary_rpc_method_handler
        )
        return factory(
            unary_response,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    inner_stream = cast(
        Callable[[Any, Any], AsyncGenerator[Any, None]],
        handler.unary_stream or handler.stream_stream,
    )

    async def streaming_response(request: Any, context: Any) -> AsyncIterator[Any]:
        began = time.monotonic()
        try:
            access = await start(context, request)
            async with contextlib.aclosing(
                access.rechecked(inner_stream(request, context))
            ) as items:
                async for item in items:
                    yield item
            _log_call(method, "OK", began, guard)
        except (aio.AbortError, GeneratorExit):
            raise
        except Exception as exc:  # mapped to a status in fail()
            await fail(context, exc, began)

    factory = (
        grpc.unary_stream_rpc_method_handler
        if handler.unary_stream
        else grpc.stream_stream_rpc_method_handler
    )
    return factory(
        streaming_response,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


def _log_call(method: str, code: str, began: float, guard: CallGuard) -> None:
    log.info(
        "rpc",
        extra={
            "method": method,
            "code": code,
            "duration_ms": round((time.monotonic() - began) * 1000, 1),
            "user_id": guard.principal.user_id if guard.principal else "",
        },
    )
