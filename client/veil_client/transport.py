"""How every RPC of the client is made: one ``_rpc_call`` owns metadata, deadline, retry and errors.

The per-service modules (:mod:`veil_client.api`) describe each RPC once as an :class:`Rpc` and call
it through a :class:`Transport`; nothing else in the client touches gRPC. A transport is either
:class:`GrpcTransport` (a channel to a server) or :class:`veil_client.testing.FakeTransport`
(a function standing in for the server, for fast unit tests of Manager and Runner).

What ``_rpc_call`` does for every call:

* sends the caller's credential as ``authorization: Bearer ...`` metadata;
* sets a deadline (the RPC's own, else the transport's default);
* retries calls marked idempotent when the server answers UNAVAILABLE (restarting, or not yet
  listening), with exponential backoff and jitter; a call that may have taken effect (creating a
  run, starting jobs, a DP query that spends budget) is never retried;
* turns any ``grpc.RpcError`` into the :mod:`veil_client.errors` exception of its status code,
  through the one mapping function :func:`veil_client.errors.from_rpc_error`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, TypeVar

import grpc
from veil_wire.channel import AddressError, open_channel, parse_base_url
from veil_wire.framing import chunk_deserializer, chunk_serializer
from veil_wire.malloc_tuning import tune_malloc

from veil_client.errors import InvalidArgument, VeilError, from_rpc_error

DEFAULT_TIMEOUT_S = 60.0
"""Deadline of a unary call unless its RPC or the caller says otherwise."""

LONG_TIMEOUT_S = 6 * 3600.0
"""Deadline of table transfers and of calls that wait for the engine (advice, DP queries)."""

RequestT = TypeVar("RequestT")
ResponseT = TypeVar("ResponseT")


class RpcKind(Enum):
    """The shape of an RPC: one message each way, or a stream on one side."""

    UNARY = "unary"
    SERVER_STREAM = "server_stream"
    CLIENT_STREAM = "client_stream"


@dataclass(frozen=True)
class Rpc(Generic[RequestT, ResponseT]):
    """One RPC of a Veil service, described once.

    Attributes:
        path: ``/package.Service/Method``.
        kind: Unary, or streaming on one side.
        serialize: Request message to bytes.
        deserialize: Bytes to a response message (or, for table streams, to a ``memoryview`` of
            the chunk's payload).
        idempotent: Repeating the call has the effect of making it once, so it may be retried.
        timeout: Deadline in seconds (None: the transport's default).
    """

    path: str
    kind: RpcKind
    serialize: Callable[[Any], bytes]
    deserialize: Callable[[bytes], ResponseT]
    idempotent: bool = False
    timeout: float | None = None

    @property
    def name(self) -> str:
        """The method name, e.g. ``GetJob``."""
        return self.path.rsplit("/", 1)[1]


def unary(
    service: str,
    method: str,
    request_type: type[RequestT],
    response_type: type[ResponseT],
    *,
    idempotent: bool = False,
    timeout: float | None = None,
) -> Rpc[RequestT, ResponseT]:
    """Describe a unary RPC of ``service`` (e.g. ``veil.v1.RunsService``)."""
    return Rpc(
        f"/{service}/{method}",
        RpcKind.UNARY,
        _serialize,
        response_type.FromString,  # type: ignore[attr-defined]
        idempotent,
        timeout,
    )


def table_download(
    service: str, method: str, request_type: type[RequestT], response_type: type[ResponseT]
) -> Rpc[RequestT, ResponseT | memoryview]:
    """Describe a server stream of one header message and then table bytes (zero-copy)."""
    return Rpc(
        f"/{service}/{method}",
        RpcKind.SERVER_STREAM,
        _serialize,
        chunk_deserializer(response_type),
        idempotent=True,
        timeout=LONG_TIMEOUT_S,
    )


def table_upload(
    service: str, method: str, request_type: type[RequestT], response_type: type[ResponseT]
) -> Rpc[RequestT | bytes, ResponseT]:
    """Describe a client stream of one header message and then pre-framed table bytes."""
    return Rpc(
        f"/{service}/{method}",
        RpcKind.CLIENT_STREAM,
        chunk_serializer,
        response_type.FromString,  # type: ignore[attr-defined]
        idempotent=False,
        timeout=LONG_TIMEOUT_S,
    )


def server_stream(
    service: str,
    method: str,
    request_type: type[RequestT],
    response_type: type[ResponseT],
    *,
    timeout: float | None = None,
) -> Rpc[RequestT, ResponseT]:
    """Describe a read-only server stream of messages (retried only before its first message)."""
    return Rpc(
        f"/{service}/{method}",
        RpcKind.SERVER_STREAM,
        _serialize,
        response_type.FromString,  # type: ignore[attr-defined]
        idempotent=True,
        timeout=timeout,
    )


def _serialize(message: Any) -> bytes:
    return bytes(message.SerializeToString())


@dataclass(frozen=True)
class RetryPolicy:
    """How idempotent calls are retried when the server is UNAVAILABLE.

    Attributes:
        max_attempts: Attempts in all, the first included (1 disables retries).
        initial_backoff_s: Wait before the second attempt, in seconds.
        max_backoff_s: Longest wait between two attempts, in seconds.
        multiplier: Growth of the wait from one attempt to the next.
    """

    max_attempts: int = 5
    initial_backoff_s: float = 0.1
    max_backoff_s: float = 2.0
    multiplier: float = 2.0

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based), with jitter."""
        ceiling = min(self.max_backoff_s, self.initial_backoff_s * self.multiplier ** (attempt - 1))
        return ceiling * random.uniform(0.5, 1.0)


class Transport:
    """The caller's credential, deadlines and retry policy, and one way to send an RPC.

    Subclasses implement :meth:`_invoke` (how bytes reach a server); everything else lives here.

    Args:
        api_key: An API key or a session token, sent with every call.
        timeout: Default deadline of unary calls, in seconds.
        retry: Retry policy of idempotent calls.
    """

    target = ""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._credential = api_key

    def set_credential(self, credential: str | None) -> None:
        """Use an API key or session token for the following calls."""
        self._credential = credential

    @property
    def has_credential(self) -> bool:
        """Whether a credential is set."""
        return bool(self._credential)

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """Call metadata carrying the credential."""
        if not self._credential:
            return ()
        return (("authorization", f"Bearer {self._credential}"),)

    # -- the three call shapes, all through _rpc_call -------------------------------------------

    def call(
        self, rpc: Rpc[RequestT, ResponseT], request: RequestT, *, timeout: float | None = None
    ) -> ResponseT:
        """A unary call: one request, one response."""
        response: ResponseT = self._rpc_call(rpc, request, timeout)
        return response

    def upload(
        self,
        rpc: Rpc[RequestT, ResponseT],
        requests: Iterable[RequestT],
        *,
        timeout: float | None = None,
    ) -> ResponseT:
        """A client stream: many requests (a header, then chunks), one response.

        An exception raised while the requests are produced (a CSV that stops decoding midway,
        a DataFrame slice Arrow cannot convert) reaches gRPC inside its request iterator, which
        cancels the call as "Exception iterating requests!". That exception, not gRPC's
        message, is what the caller gets.
        """
        raised: list[BaseException] = []

        def watched() -> Iterator[RequestT]:
            try:
                yield from requests
            except Exception as exc:
                raised.append(exc)
                raise

        try:
            response: ResponseT = self._rpc_call(rpc, watched(), timeout)
        except VeilError:
            if raised:
                raise raised[0] from None
            raise
        return response

    def stream(
        self, rpc: Rpc[RequestT, ResponseT], request: RequestT, *, timeout: float | None = None
    ) -> Iterator[ResponseT]:
        """A server stream: one request, responses as they arrive (errors mapped while
        iterating)."""
        responses: Iterator[ResponseT] = self._rpc_call(rpc, request, timeout)
        return responses

    def _rpc_call(self, rpc: Rpc[Any, Any], request: Any, timeout: float | None) -> Any:
        """Make the call with metadata and deadline, retrying and translating errors."""
        deadline = timeout or rpc.timeout or self.timeout
        if rpc.kind is RpcKind.SERVER_STREAM:
            return self._stream_with_retry(rpc, request, deadline)
        attempt = 1
        while True:
            try:
                return self._invoke(rpc, request, self.metadata(), deadline)
            except grpc.RpcError as error:
                if not self._should_retry(rpc, error, attempt):
                    raise self._translate(error) from None
            time.sleep(self.retry.backoff(attempt))
            attempt += 1

    def _stream_with_retry(
        self, rpc: Rpc[Any, Any], request: Any, deadline: float
    ) -> Iterator[Any]:
        attempt = 1
        while True:
            received = False
            try:
                for response in self._invoke(rpc, request, self.metadata(), deadline):
                    received = True
                    yield response
                return
            except grpc.RpcError as error:
                if received or not self._should_retry(rpc, error, attempt):
                    raise self._translate(error) from None
            time.sleep(self.retry.backoff(attempt))
            attempt += 1

    def _should_retry(self, rpc: Rpc[Any, Any], error: grpc.RpcError, attempt: int) -> bool:
        code = error.code() if hasattr(error, "code") else None
        return (
            rpc.idempotent
            and code == grpc.StatusCode.UNAVAILABLE
            and attempt < self.retry.max_attempts
        )

    def _translate(self, error: grpc.RpcError) -> VeilError:
        return from_rpc_error(error, target=self.target)

    def _invoke(
        self,
        rpc: Rpc[Any, Any],
        request: Any,
        metadata: tuple[tuple[str, str], ...],
        timeout: float,
    ) -> Any:
        """Send one attempt of the call; raise ``grpc.RpcError`` on failure."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the connection (nothing to release by default)."""

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class GrpcTransport(Transport):
    """A gRPC channel to a Veil server.

    Args:
        base_url: ``localhost:PORT``, ``grpc://host:port`` or ``grpcs://host:port``.
        root_certificates: PEM CA bundle for ``grpcs://`` servers with a private CA (default:
            the file named by ``VEIL_CA_CERT``, else the system's roots).

    Raises:
        InvalidArgument: the address is empty or an HTTP URL.
    """

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        root_certificates: bytes | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(api_key=api_key, timeout=timeout, retry=retry)
        try:
            target, tls = parse_base_url(base_url)
        except AddressError as exc:
            raise InvalidArgument(str(exc), field="base_url") from None
        tune_malloc()  # streamed tables: see veil_wire.malloc_tuning (VEIL_MALLOC_TUNING=off)
        self.target = target
        self.channel = open_channel(target, tls=tls, root_certificates=root_certificates)
        self._callables: dict[str, Any] = {}

    def _callable(self, rpc: Rpc[Any, Any]) -> Any:
        found = self._callables.get(rpc.path)
        if found is None:
            factory = {
                RpcKind.UNARY: self.channel.unary_unary,
                RpcKind.SERVER_STREAM: self.channel.unary_stream,
                RpcKind.CLIENT_STREAM: self.channel.stream_unary,
            }[rpc.kind]
            found = factory(
                rpc.path, request_serializer=rpc.serialize, response_deserializer=rpc.deserialize
            )
            self._callables[rpc.path] = found
        return found

    def _invoke(
        self,
        rpc: Rpc[Any, Any],
        request: Any,
        metadata: tuple[tuple[str, str], ...],
        timeout: float,
    ) -> Any:
        return self._callable(rpc)(request, metadata=metadata, timeout=timeout)

    def close(self) -> None:
        """Close the channel."""
        self.channel.close()
