"""The one error tree of the Veil service.

Every failure the service reports to a caller is a ``VeilServiceError``. Each subclass knows the
gRPC status code it maps to, so the single server interceptor (``veil_service.server.interceptor``)
can translate any domain error without a lookup table scattered across servicers. Engine code raises
these too: an engine failure travels to the server as the TaskFailed message (code name, reason,
message, field) and is rebuilt there with :func:`error_from_code`.

Tree::

    VeilServiceError                      INTERNAL (never raised directly)
    ├── InvalidArgumentError              INVALID_ARGUMENT  (bad field: names it and the fix)
    ├── NotFoundError                     NOT_FOUND        (also: another user's resource)
    ├── AlreadyExistsError                ALREADY_EXISTS
    ├── FailedPreconditionError           FAILED_PRECONDITION
    ├── PermissionDeniedError             PERMISSION_DENIED
    ├── UnauthenticatedError              UNAUTHENTICATED
    ├── ResourceExhaustedError            RESOURCE_EXHAUSTED (budget, throttling)
    ├── CancelledError                    CANCELLED
    ├── UnavailableError                  UNAVAILABLE      (engine down, shutting down)
    └── UnimplementedError                UNIMPLEMENTED
"""

from __future__ import annotations

from typing import ClassVar


class VeilServiceError(Exception):
    """Base of every error Veil reports to a caller.

    Args:
        message: Human-readable text that names the field or resource at fault and how to fix it.
            Never put a secret or a data value in it.
        reason: A stable, machine-readable reason from the documented closed list
            (``docs/errors.md``), sent as ``google.rpc.ErrorInfo.reason``.
        field: For argument errors, the request field at fault (sent as a BadRequest violation).
    """

    code_name: ClassVar[str] = "INTERNAL"
    default_reason: ClassVar[str] = "INTERNAL"

    def __init__(
        self, message: str, *, reason: str | None = None, field: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        self.field = field


class InvalidArgumentError(VeilServiceError):
    """A request field (or an uploaded table, or a parameter) is invalid."""

    code_name = "INVALID_ARGUMENT"
    default_reason = "INVALID_ARGUMENT"


class NotFoundError(VeilServiceError):
    """The resource does not exist, or belongs to someone else (existence is not revealed)."""

    code_name = "NOT_FOUND"
    default_reason = "NOT_FOUND"


class AlreadyExistsError(VeilServiceError):
    """A resource with that unique name already exists."""

    code_name = "ALREADY_EXISTS"
    default_reason = "ALREADY_EXISTS"


class FailedPreconditionError(VeilServiceError):
    """The system is not in the state the operation needs (e.g. a job that must succeed first)."""

    code_name = "FAILED_PRECONDITION"
    default_reason = "FAILED_PRECONDITION"


class PermissionDeniedError(VeilServiceError):
    """The caller is known but may not do this."""

    code_name = "PERMISSION_DENIED"
    default_reason = "PERMISSION_DENIED"


class UnauthenticatedError(VeilServiceError):
    """No valid credentials came with the call."""

    code_name = "UNAUTHENTICATED"
    default_reason = "UNAUTHENTICATED"


class ResourceExhaustedError(VeilServiceError):
    """A quota is used up: privacy budget, login attempts, sizes.

    Args:
        retry_after_seconds: When waiting helps (throttling), how long to wait.
    """

    code_name = "RESOURCE_EXHAUSTED"
    default_reason = "RESOURCE_EXHAUSTED"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        field: str | None = None,
        retry_after_seconds: float | None = None,
    ) -> None:
        super().__init__(message, reason=reason, field=field)
        self.retry_after_seconds = retry_after_seconds


class CancelledError(VeilServiceError):
    """The operation was cancelled by the caller or the client went away."""

    code_name = "CANCELLED"
    default_reason = "CANCELLED"


class UnavailableError(VeilServiceError):
    """A dependency (the engine) is not reachable now; retrying later may work."""

    code_name = "UNAVAILABLE"
    default_reason = "UNAVAILABLE"


class UnimplementedError(VeilServiceError):
    """The RPC or option exists in the contract but is not built yet."""

    code_name = "UNIMPLEMENTED"
    default_reason = "UNIMPLEMENTED"


_BY_CODE: dict[str, type[VeilServiceError]] = {
    cls.code_name: cls
    for cls in (
        VeilServiceError,
        InvalidArgumentError,
        NotFoundError,
        AlreadyExistsError,
        FailedPreconditionError,
        PermissionDeniedError,
        UnauthenticatedError,
        ResourceExhaustedError,
        CancelledError,
        UnavailableError,
        UnimplementedError,
    )
}


def error_from_code(
    code_name: str, message: str, *, reason: str | None = None, field: str | None = None
) -> VeilServiceError:
    """Rebuild a domain error from its gRPC code name (used for errors that crossed a process)."""
    cls = _BY_CODE.get(code_name, VeilServiceError)
    return cls(message, reason=reason, field=field)
