"""The client's exception tree, and the one function that maps gRPC errors onto it.

Tree::

    VeilError
    ├── InvalidArgument        INVALID_ARGUMENT (also a ValueError)
    ├── NotFound               NOT_FOUND
    ├── AlreadyExists          ALREADY_EXISTS
    ├── FailedPrecondition     FAILED_PRECONDITION
    ├── PermissionDenied       PERMISSION_DENIED
    ├── Unauthenticated        UNAUTHENTICATED
    ├── ResourceExhausted      RESOURCE_EXHAUSTED (budget, throttling; .retry_after)
    ├── Cancelled              CANCELLED
    ├── Unavailable            UNAVAILABLE, DEADLINE_EXCEEDED
    ├── Unimplemented          UNIMPLEMENTED
    └── ServerError            INTERNAL, UNKNOWN, anything else
"""

from __future__ import annotations

from typing import Any

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status


class VeilError(Exception):
    """Base of every error the Veil client raises for a failed call.

    Attributes:
        message: The server's message (names the field at fault and the fix).
        code: gRPC status code name.
        reason: Machine-readable reason (google.rpc.ErrorInfo), e.g. "BUDGET_EXHAUSTED".
        field: The request field at fault, when the server named one.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "",
        reason: str = "",
        field: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.reason = reason
        self.field = field
        self.retry_after = retry_after


class InvalidArgument(VeilError, ValueError):  # noqa: N818 - mirrors the gRPC code names
    """The request had a bad field."""


class NotFound(VeilError, LookupError):  # noqa: N818
    """No such resource (or not yours)."""


class AlreadyExists(VeilError):  # noqa: N818
    """A resource with that name exists."""


class FailedPrecondition(VeilError):  # noqa: N818
    """The system is not in the state the call needs."""


class PermissionDenied(VeilError, PermissionError):  # noqa: N818
    """You may not do this."""


class Unauthenticated(VeilError):  # noqa: N818
    """Missing, wrong, expired or revoked credentials."""


class ResourceExhausted(VeilError):  # noqa: N818
    """A quota is used up (privacy budget, login attempts)."""


class Cancelled(VeilError):  # noqa: N818
    """The call was cancelled."""


class Unavailable(VeilError, ConnectionError):  # noqa: N818
    """The server (or its engine) cannot be reached now."""


class Unimplemented(VeilError, NotImplementedError):  # noqa: N818
    """The server does not offer this yet."""


class ServerError(VeilError):
    """The server failed; the message carries an incident id for its operators."""


_BY_CODE: dict[grpc.StatusCode, type[VeilError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.OUT_OF_RANGE: InvalidArgument,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    grpc.StatusCode.CANCELLED: Cancelled,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: Unavailable,
    grpc.StatusCode.UNIMPLEMENTED: Unimplemented,
}


def from_rpc_error(error: grpc.RpcError, *, target: str = "") -> VeilError:
    """Translate a gRPC error (with its google.rpc details) into a :class:`VeilError`.

    Args:
        error: What the gRPC call raised.
        target: The server address the call went to (named in connection errors).
    """
    call: Any = error
    code = call.code() if hasattr(call, "code") else grpc.StatusCode.UNKNOWN
    message = call.details() if hasattr(call, "details") else str(error)
    reason = field = ""
    retry_after: float | None = None
    try:
        status = rpc_status.from_call(call)
    except (ValueError, AttributeError):
        status = None
    if status is not None:
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reason = info.reason
                field = info.metadata.get("field", field)
            elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                retry = error_details_pb2.RetryInfo()
                detail.Unpack(retry)
                retry_after = retry.retry_delay.seconds + retry.retry_delay.nanos / 1e9
    cls = _BY_CODE.get(code, ServerError)
    if code == grpc.StatusCode.UNAVAILABLE and not reason:
        message = connection_message(message or "", target) or message
    return cls(
        message or code.name, code=code.name, reason=reason, field=field, retry_after=retry_after
    )


def connection_message(details: str, target: str) -> str | None:
    """One sentence for a channel that could not reach a Veil server, or None when ``details``
    (gRPC's own text) is not about the connection.

    The server's own UNAVAILABLE errors (engine down, shutting down) carry an ErrorInfo reason
    and keep their message.
    """
    where = target or "the server"
    host = target.rsplit(":", 1)[0] if target else ""
    if "Connection refused" in details:
        return (
            f"cannot reach a Veil server at {where}: nothing listens there (connection "
            "refused); start it (veil serve) or check base_url."
        )
    if any(
        text in details
        for text in ("Domain name not found", "hostname lookup", "DNS resolution failed")
    ):
        return f"cannot find the host {host!r} of base_url {where!r}: check the address."
    if "Failed parsing HTTP/2" in details:
        return (
            f"{where} answers HTTP, not gRPC: base_url must be the gRPC port of veil serve "
            "(--port), not a web server's."
        )
    if "Tls handshake failed" in details or "WRONG_VERSION_NUMBER" in details:
        return (
            f"the TLS handshake with {where} failed: it does not speak TLS on that port, "
            "use grpc:// (or the server's TLS port)."
        )
    if "Socket closed" in details or "Connection reset" in details:
        return (
            f"{where} closed the connection at once: it is not a Veil gRPC server, or it "
            "expects TLS (grpcs://); check base_url."
        )
    if "failed to connect to all addresses" in details or "Connect Failed" in details:
        return f"cannot reach a Veil server at {where}; check base_url and that it runs."
    return None
