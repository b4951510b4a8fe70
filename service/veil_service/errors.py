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

Every error carries a :class:`Reason` (sent as ``google.rpc.ErrorInfo.reason``): a closed list,
each member documented for callers in ``docs/errors.md`` (a test keeps the two equal). Add a
member there and here together; never pass a bare string.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, ClassVar


class Reason(StrEnum):
    """Why a call failed, machine-readable and stable (``docs/errors.md`` says what to do)."""

    # One per status code, when nothing more specific applies.
    INTERNAL = "INTERNAL"
    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    NOT_FOUND = "NOT_FOUND"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    FAILED_PRECONDITION = "FAILED_PRECONDITION"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    RESOURCE_EXHAUSTED = "RESOURCE_EXHAUSTED"
    CANCELLED = "CANCELLED"
    UNAVAILABLE = "UNAVAILABLE"
    UNIMPLEMENTED = "UNIMPLEMENTED"
    # Credentials and access.
    MISSING_CREDENTIALS = "MISSING_CREDENTIALS"
    MALFORMED_CREDENTIALS = "MALFORMED_CREDENTIALS"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    EXPIRED_CREDENTIALS = "EXPIRED_CREDENTIALS"
    REVOKED_CREDENTIALS = "REVOKED_CREDENTIALS"
    USER_DISABLED = "USER_DISABLED"
    INVALID_LOGIN = "INVALID_LOGIN"
    LOGIN_THROTTLED = "LOGIN_THROTTLED"
    ADMIN_REQUIRED = "ADMIN_REQUIRED"
    NO_RULE = "NO_RULE"
    # Accounts.
    WEAK_PASSWORD = "WEAK_PASSWORD"
    PASSWORDS_DIFFER = "PASSWORDS_DIFFER"
    RESET_TOKEN_INVALID = "RESET_TOKEN_INVALID"
    RESET_TOKEN_USED = "RESET_TOKEN_USED"
    RESET_TOKEN_EXPIRED = "RESET_TOKEN_EXPIRED"
    RESET_THROTTLED = "RESET_THROTTLED"
    SELF_DISABLE = "SELF_DISABLE"
    LAST_ADMIN = "LAST_ADMIN"
    # Uploaded tables.
    MISSING_HEADER = "MISSING_HEADER"
    UNEXPECTED_HEADER = "UNEXPECTED_HEADER"
    EMPTY_STREAM = "EMPTY_STREAM"
    CORRUPT_STREAM = "CORRUPT_STREAM"
    CHECKSUM_MISMATCH = "CHECKSUM_MISMATCH"
    EMPTY_TABLE = "EMPTY_TABLE"
    TOO_MANY_COLUMNS = "TOO_MANY_COLUMNS"
    DUPLICATE_COLUMNS = "DUPLICATE_COLUMNS"
    EMPTY_COLUMN_NAME = "EMPTY_COLUMN_NAME"
    INFINITE_VALUES = "INFINITE_VALUES"
    # Runs and jobs.
    NO_TABLE = "NO_TABLE"
    NO_PARAMETERS = "NO_PARAMETERS"
    NO_AVATARS = "NO_AVATARS"
    MISSING_DEPENDENCY = "MISSING_DEPENDENCY"
    LINKS_INCOMPLETE = "LINKS_INCOMPLETE"
    JOB_RUNNING = "JOB_RUNNING"
    JOB_DONE = "JOB_DONE"
    TABLE_IN_USE = "TABLE_IN_USE"
    # Differentially private queries.
    DATASET_NOT_FOUND = "DATASET_NOT_FOUND"
    BUDGET_EXHAUSTED = "BUDGET_EXHAUSTED"
    DP_COST_MISMATCH = "DP_COST_MISMATCH"
    DP_LIBRARY_ERROR = "DP_LIBRARY_ERROR"
    PICKLE_NOT_ALLOWED = "PICKLE_NOT_ALLOWED"
    QUERIES_DISABLED = "QUERIES_DISABLED"
    # The engine.
    ENGINE_BUSY = "ENGINE_BUSY"
    ENGINE_LOST = "ENGINE_LOST"
    ENGINE_WORKER_DIED = "ENGINE_WORKER_DIED"
    ENGINE_TASK_FAILED = "ENGINE_TASK_FAILED"
    TASK_TIME_LIMIT = "TASK_TIME_LIMIT"
    OUT_OF_MEMORY = "OUT_OF_MEMORY"


class Message(StrEnum):
    """Errors a page shows in its own language: each says, as a code with parameters, what its
    English ``message`` says (the web's French catalogue, ``web/notes_fr.py``, has every member;
    a test keeps it so). An error without one is shown in English everywhere."""

    # Uploaded files (the web's upload forms).
    UPLOAD_NO_FILE = "upload.no_file"
    UPLOAD_UNKNOWN_ENCODING = "upload.unknown_encoding"
    UPLOAD_NOT_UTF8 = "upload.not_utf8"
    UPLOAD_NOT_IN_ENCODING = "upload.not_in_encoding"
    UPLOAD_NOT_PARQUET = "upload.not_parquet"
    UPLOAD_NOT_CSV_OR_PARQUET = "upload.not_csv_or_parquet"
    UPLOAD_BAD_CSV = "upload.bad_csv"
    UPLOAD_MALFORMED_CSV = "upload.malformed_csv"
    UPLOAD_MARKED_UTF8 = "upload.marked_utf8"
    UPLOAD_MARKED_OTHER = "upload.marked_other"
    TABLE_NO_COLUMNS = "table.no_columns"
    TABLE_TOO_MANY_COLUMNS = "table.too_many_columns"
    TABLE_DUPLICATE_COLUMNS = "table.duplicate_columns"
    TABLE_EMPTY_COLUMN_NAME = "table.empty_column_name"
    TABLE_NO_ROWS = "table.no_rows"
    TABLE_INFINITE_VALUES = "table.infinite_values"
    YAML_NO_FILE = "yaml.no_file"
    YAML_NOT_UTF8 = "yaml.not_utf8"
    YAML_TABLE_MISSING = "yaml.table_missing"
    # Form fields and parameters.
    FORM_NOT_INTEGER = "form.not_integer"
    FORM_NOT_NUMBER = "form.not_number"
    FORM_NO_K = "form.no_k"
    PARAMETER_NOT_INTEGER = "parameter.not_integer"
    PARAMETER_AT_LEAST = "parameter.at_least"
    PARAMETER_BETWEEN = "parameter.between"
    PARAMETER_TOO_LARGE = "parameter.too_large"
    PARAMETER_NOT_FRACTION = "parameter.not_fraction"
    PARAMETER_NOT_SHARE = "parameter.not_share"
    PARAMETER_MAX_WEIGHT = "parameter.max_weight"
    PARAMETER_NOT_BOOL = "parameter.not_bool"
    PARAMETER_COUPLED_WITHOUT_NOISE = "parameter.coupled_without_noise"
    TARGET_UNKNOWN = "target.unknown"
    TARGET_NOT_NUMBER = "target.not_number"
    TARGET_OUT_OF_RANGE = "target.out_of_range"
    KEY_NAME_LENGTH = "key.name_length"
    BUDGET_NOT_POSITIVE = "budget.not_positive"
    # Accounts (the admin's user forms, the grants' user).
    USER_BAD_USERNAME = "user.bad_username"
    USER_BAD_EMAIL = "user.bad_email"
    USER_BAD_ROLE = "user.bad_role"
    USER_TAKEN = "user.taken"
    USER_UNKNOWN = "user.unknown"
    PASSWORD_TOO_SHORT = "password.too_short"
    PASSWORD_TOO_SIMPLE = "password.too_simple"


class VeilServiceError(Exception):
    """Base of every error Veil reports to a caller.

    Args:
        message: Human-readable text that names the field or resource at fault and how to fix it.
            Never put a secret or a data value in it.
        reason: Why, from the closed :class:`Reason` list (``docs/errors.md``), sent as
            ``google.rpc.ErrorInfo.reason``; the class's default when omitted.
        field: For argument errors, the request field at fault (sent as a BadRequest violation).
        code: What ``message`` says as a :class:`Message` code, with ``params`` its values
            (numbers kept as numbers), so a page can say it in its language; the API sends
            ``message``, unchanged.
        params: The code's parameters.
    """

    code_name: ClassVar[str] = "INTERNAL"
    default_reason: ClassVar[Reason] = Reason.INTERNAL

    def __init__(
        self,
        message: str,
        *,
        reason: Reason | None = None,
        field: str | None = None,
        code: Message | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        self.field = field
        self.message_code = code
        self.message_params = dict(params or {})


class InvalidArgumentError(VeilServiceError):
    """A request field (or an uploaded table, or a parameter) is invalid."""

    code_name = "INVALID_ARGUMENT"
    default_reason = Reason.INVALID_ARGUMENT


class NotFoundError(VeilServiceError):
    """The resource does not exist, or belongs to someone else (existence is not revealed)."""

    code_name = "NOT_FOUND"
    default_reason = Reason.NOT_FOUND


class AlreadyExistsError(VeilServiceError):
    """A resource with that unique name already exists."""

    code_name = "ALREADY_EXISTS"
    default_reason = Reason.ALREADY_EXISTS


class FailedPreconditionError(VeilServiceError):
    """The system is not in the state the operation needs (e.g. a job that must succeed first)."""

    code_name = "FAILED_PRECONDITION"
    default_reason = Reason.FAILED_PRECONDITION


class PermissionDeniedError(VeilServiceError):
    """The caller is known but may not do this."""

    code_name = "PERMISSION_DENIED"
    default_reason = Reason.PERMISSION_DENIED


class UnauthenticatedError(VeilServiceError):
    """No valid credentials came with the call."""

    code_name = "UNAUTHENTICATED"
    default_reason = Reason.UNAUTHENTICATED


class ResourceExhaustedError(VeilServiceError):
    """A quota is used up: privacy budget, login attempts, sizes.

    Args:
        retry_after_seconds: When waiting helps (throttling), how long to wait.
    """

    code_name = "RESOURCE_EXHAUSTED"
    default_reason = Reason.RESOURCE_EXHAUSTED

    def __init__(
        self,
        message: str,
        *,
        reason: Reason | None = None,
        field: str | None = None,
        retry_after_seconds: float | None = None,
    ) -> None:
        super().__init__(message, reason=reason, field=field)
        self.retry_after_seconds = retry_after_seconds


class CancelledError(VeilServiceError):
    """The operation was cancelled by the caller or the client went away."""

    code_name = "CANCELLED"
    default_reason = Reason.CANCELLED


class UnavailableError(VeilServiceError):
    """A dependency (the engine) is not reachable now; retrying later may work."""

    code_name = "UNAVAILABLE"
    default_reason = Reason.UNAVAILABLE


class UnimplementedError(VeilServiceError):
    """The RPC or option exists in the contract but is not built yet."""

    code_name = "UNIMPLEMENTED"
    default_reason = Reason.UNIMPLEMENTED


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
    code_name: str, message: str, *, reason: str = "", field: str | None = None
) -> VeilServiceError:
    """Rebuild a domain error from its gRPC code name (used for errors that crossed a process).

    A reason this version does not know (an engine of another version) becomes the code's
    default reason rather than leaving the closed list.
    """
    cls = _BY_CODE.get(code_name, VeilServiceError)
    known = reason in Reason.__members__
    return cls(message, reason=Reason(reason) if known else None, field=field)
