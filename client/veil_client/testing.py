"""A transport whose server is a Python function, for fast tests of code built on the client.

Like httpx's ``MockTransport``: hand a function to :class:`FakeTransport` and give the transport
to a ``Manager``; every RPC the client makes calls the function with the method name and the
request message, and what it returns is the response::

    from veil.v1 import runs_pb2
    from veil_client import Manager
    from veil_client.testing import FakeRpcError, FakeTransport

    def server(method, request):
        if method == "GetJob":
            raise FakeRpcError(grpc.StatusCode.NOT_FOUND, "no job " + request.job_id)
        ...

    manager = Manager(transport=FakeTransport(server))

The requests and responses are the real protobuf messages, serialized and parsed on the way as
gRPC would, so the client's RPC layer, retry policy and error mapping all run as they do against
a server. Only the network and the server are missing: tests of the server itself start a real
one (tests/support.py).

* Unary RPCs: return the response message.
* Server streams: return an iterable of messages; ``bytes`` items are table chunks (framed and
  delivered as the client's zero-copy ``memoryview`` chunks).
* Client streams (uploads): the function gets a list: the header message, then each chunk's
  bytes.
* Failures: raise :class:`FakeRpcError` with a status code, a message and optionally the reason
  and field the server would attach.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from veil_wire.framing import frame_bytes_field, parse_bytes_field

from veil_client.transport import (
    DEFAULT_TIMEOUT_S,
    RetryPolicy,
    Rpc,
    RpcKind,
    Transport,
)

Handler = Callable[[str, Any], Any]
"""``handler(method_name, request) -> response`` (see the module docstring)."""

_STATUS_DETAILS_KEY = "grpc-status-details-bin"


class FakeRpcError(grpc.RpcError):
    """A failed call as gRPC would raise it, with the server's ErrorInfo and RetryInfo details.

    Args:
        code: The status code.
        message: The server's message.
        reason: ErrorInfo reason (e.g. ``RUN_NOT_FOUND``).
        field: The request field at fault (ErrorInfo metadata ``field``).
        retry_after: Seconds to wait (RetryInfo), for RESOURCE_EXHAUSTED.
    """

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        *,
        reason: str = "",
        field: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self._code = code
        self._message = message
        status = status_pb2.Status(code=code.value[0], message=message)
        if reason or field:
            info = error_details_pb2.ErrorInfo(reason=reason, domain="veil")
            if field:
                info.metadata["field"] = field
            packed = any_pb2.Any()
            packed.Pack(info)
            status.details.append(packed)
        if retry_after is not None:
            retry = error_details_pb2.RetryInfo()
            retry.retry_delay.FromNanoseconds(int(retry_after * 1e9))
            packed = any_pb2.Any()
            packed.Pack(retry)
            status.details.append(packed)
        self._trailing = ((_STATUS_DETAILS_KEY, status.SerializeToString()),)

    def code(self) -> grpc.StatusCode:
        """The status code."""
        return self._code

    def details(self) -> str:
        """The server's message."""
        return self._message

    def trailing_metadata(self) -> Any:  # grpc-stubs type it as objects; gRPC sends pairs
        """The status details, as a server sends them: ``(key, value)`` pairs."""
        return self._trailing


@dataclass(frozen=True)
class FakeCall:
    """One call the client made: which RPC, with what, with which credential and deadline."""

    method: str
    request: Any
    metadata: tuple[tuple[str, str], ...]
    timeout: float


class FakeTransport(Transport):
    """A transport that hands each call to ``handler`` instead of a server.

    Args:
        handler: ``handler(method_name, request) -> response``.
        api_key: The credential the client sends (recorded in :attr:`calls`).
        retry: Retry policy; by default retries happen without waiting.

    Attributes:
        calls: Every attempt, in order.
    """

    target = "fake"

    def __init__(
        self,
        handler: Handler,
        *,
        api_key: str | None = "veil_fake",
        timeout: float = DEFAULT_TIMEOUT_S,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(
            api_key=api_key,
            timeout=timeout,
            retry=retry or RetryPolicy(initial_backoff_s=0.0, max_backoff_s=0.0),
        )
        self.handler = handler
        self.calls: list[FakeCall] = []

    def methods(self) -> list[str]:
        """Names of the RPCs called so far, in order."""
        return [call.method for call in self.calls]

    def _invoke(
        self,
        rpc: Rpc[Any, Any],
        request: Any,
        metadata: tuple[tuple[str, str], ...],
        timeout: float,
    ) -> Any:
        if rpc.kind is RpcKind.CLIENT_STREAM:
            request = [_received_item(rpc, item) for item in request]
        else:
            rpc.serialize(request)  # what gRPC does: a message that cannot serialize fails here
        self.calls.append(FakeCall(rpc.name, request, metadata, timeout))
        result = self.handler(rpc.name, request)
        if rpc.kind is RpcKind.SERVER_STREAM:
            return _deliver_stream(rpc, result)
        return rpc.deserialize(result.SerializeToString())


def _received_item(rpc: Rpc[Any, Any], item: Any) -> Any:
    """An upload item as the server sees it: the header message, or a chunk's payload."""
    raw = rpc.serialize(item)
    if isinstance(item, bytes | bytearray):
        payload = parse_bytes_field(raw)
        if payload is not None:
            return payload
    return item


def _deliver_stream(rpc: Rpc[Any, Any], items: Iterable[Any]) -> Iterator[Any]:
    for item in items:
        if isinstance(item, bytes | bytearray | memoryview):
            yield rpc.deserialize(frame_bytes_field(bytes(item)))
        else:
            yield rpc.deserialize(item.SerializeToString())
