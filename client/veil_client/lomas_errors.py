"""The exceptions of ``lomas_client``, as members of the Veil error tree.

A Lomas script catches ``InvalidQueryException``, ``ExternalLibraryException``,
``UnauthorizedAccessException`` or ``InternalServerException`` (``lomas_core.error_handler``) and
reads ``error_message`` (and ``library``). The DP client raises these classes, each a subclass of
the Veil error for the same gRPC status, so both kinds of handler work::

    try:
        client.smartnoise_sql.query("SELECT AVG(bill) FROM df", 0.1, 1e-5)
    except ExternalLibraryException as e:     # Lomas's name; also an InvalidArgument
        print(e.library, e.error_message)

Where Veil is stricter than Lomas the class is a subclass of both readings: a missing or
ungranted dataset is ``DatasetNotFoundException`` (a ``NotFound`` and Lomas's
``UnauthorizedAccessException``: Veil does not reveal which of the two it is), a query over
budget is ``BudgetExhaustedException`` (a ``ResourceExhausted`` and Lomas's
``InvalidQueryException``, whose message "Not enough budget for this query epsilon remaining ...,
delta remaining ..." it keeps).
"""

from __future__ import annotations

from veil_client.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    ServerError,
    Unauthenticated,
    VeilError,
)

DP_LIBRARY_ERROR = "DP_LIBRARY_ERROR"
"""ErrorInfo reason of an error raised by a DP library (ExternalLibraryException in Lomas)."""


class LomasException(VeilError):  # noqa: N818 - Lomas's names
    """Base of the Lomas-named exceptions; ``error_message`` is Lomas's attribute name."""

    @property
    def error_message(self) -> str:
        """The server's message (Lomas's attribute name for it)."""
        return self.message


class InvalidQueryException(LomasException, InvalidArgument):
    """The query is invalid (Lomas: HTTP 400): not a measurement, bad parameters, bad columns."""


class ExternalLibraryException(LomasException, InvalidArgument):
    """A DP library refused or failed the query (Lomas: HTTP 422).

    Attributes:
        library: ``smartnoise_sql``, ``opendp``, ``diffprivlib`` or ``smartnoise_synth``.
    """

    def __init__(
        self,
        library: str,
        error_message: str,
        *,
        code: str = "",
        reason: str = "",
        field: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            error_message, code=code, reason=reason, field=field, retry_after=retry_after
        )
        self.library = library


class UnauthorizedAccessException(LomasException, PermissionDenied):
    """The caller may not do this (Lomas: HTTP 403): no access, queries disabled by an admin."""


class InternalServerException(LomasException, ServerError):  # noqa: N818
    """The server failed (Lomas: HTTP 500); the message carries an incident id."""


class DatasetNotFoundException(NotFound, UnauthorizedAccessException):
    """No such dataset, or no grant on it (Veil answers both the same way, NOT_FOUND)."""


class UserNotFoundException(Unauthenticated, UnauthorizedAccessException):
    """The credentials name no active user (Lomas: "User ... does not exist")."""


class BudgetExhaustedException(ResourceExhausted, InvalidQueryException):
    """The query costs more than the remaining budget (Lomas: "Not enough budget ...")."""


class QueryPreconditionException(FailedPrecondition, InvalidQueryException):
    """The server cannot run this query as asked (e.g. a pickled model it does not allow)."""


def as_lomas(error: VeilError, library: str | None = None) -> VeilError:
    """The Lomas-named exception for a Veil error (the same details), or ``error`` itself.

    Args:
        error: What the Veil transport raised.
        library: The DP library the call was for, if any (for ``ExternalLibraryException``).
    """
    if isinstance(error, LomasException):
        return error
    converted: VeilError
    if error.reason == DP_LIBRARY_ERROR and isinstance(error, InvalidArgument):
        converted = ExternalLibraryException(
            library or "",
            error.message,
            code=error.code,
            reason=error.reason,
            field=error.field,
            retry_after=error.retry_after,
        )
    else:
        cls = _lomas_class(error)
        if cls is None:
            return error
        converted = cls(
            error.message,
            code=error.code,
            reason=error.reason,
            field=error.field,
            retry_after=error.retry_after,
        )
    converted.__cause__ = error.__cause__
    return converted


def _lomas_class(error: VeilError) -> type[VeilError] | None:
    if isinstance(error, InvalidArgument):
        return InvalidQueryException
    if isinstance(error, ResourceExhausted) and error.reason == "BUDGET_EXHAUSTED":
        return BudgetExhaustedException
    if isinstance(error, NotFound):
        return DatasetNotFoundException
    if isinstance(error, PermissionDenied):
        return UnauthorizedAccessException
    if isinstance(error, Unauthenticated):
        return UserNotFoundException
    if isinstance(error, FailedPrecondition):
        return QueryPreconditionException
    if isinstance(error, ServerError):
        return InternalServerException
    return None


__all__ = [
    "BudgetExhaustedException",
    "DatasetNotFoundException",
    "ExternalLibraryException",
    "InternalServerException",
    "InvalidQueryException",
    "LomasException",
    "QueryPreconditionException",
    "UnauthorizedAccessException",
    "UserNotFoundException",
    "as_lomas",
]
