"""Request models and enums with the Octopize client's names (``avatars.models``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import datetime
from enum import Enum, IntEnum, StrEnum
from typing import Any


class ExpirationDays(IntEnum):
    """Lifetimes an API key may have."""

    integer_30 = 30
    integer_60 = 60
    integer_120 = 120
    integer_365 = 365
    integer_3650 = 3650


@dataclass(frozen=True)
class CreateApiKeyRequest:
    """What ``auth_client.api_keys.create_api_key`` takes."""

    name: str
    expiration_days: ExpirationDays | int = ExpirationDays.integer_365


class UserRole(str, Enum):  # noqa: UP042 - str() is 'X.member' here; StrEnum would change it
    """Roles of users."""

    admin = "admin"
    user = "user"


class JobKind(StrEnum):
    """Kinds of jobs (values as the Octopize API serializes them)."""

    standard = "standard"
    privacy_metrics = "privacy_metrics"
    signal_metrics = "signal_metrics"
    report = "report"
    advice = "advice"
    extract = "extract"
    schema_discovery = "schema_discovery"
    reference = "reference"
    regenerate = "regenerate"


class JobStatus(str, Enum):  # noqa: UP042 - str() is 'X.member' here; StrEnum would change it
    """Statuses of jobs (values as the Octopize API serializes them)."""

    queued = "queued"
    created = "created"
    pending = "pending"
    finished = "finished"
    error = "error"
    parent_error = "parent_error"
    cancelled = "cancelled"
    orphaned = "orphaned"
    lost = "lost"
    field_ = ""

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class ForgottenPasswordRequest:
    """What ``auth_client.forgotten_password`` takes (Octopize: ``ForgottenPasswordRequest``)."""

    email: str


@dataclass(frozen=True)
class ResetPasswordRequest:
    """What ``auth_client.reset_password`` takes (Octopize: ``ResetPasswordRequest``).

    ``token`` may be a string or a UUID-like object; it is sent as ``str(token)``.
    ``revoke_api_keys`` (Veil's addition) revokes every API key of the account with the reset.
    """

    email: str
    new_password: str
    new_password_repeated: str
    token: object
    revoke_api_keys: bool = False


@dataclass(frozen=True)
class LoginResponse:
    """A password session (deprecated): the token, its expiry and the server's notice."""

    session_token: str
    expires_at: datetime
    deprecation_notice: str

    def __repr__(self) -> str:
        # The token is a credential: keep it out of reprs, logs and tracebacks.
        return (
            f"LoginResponse(session_token='***', expires_at={self.expires_at!r}, "
            f"deprecation_notice={self.deprecation_notice!r})"
        )


@dataclass(frozen=True)
class PrivacyLoss:
    """The (ε, δ) one table's DP release spent, as the DP library's accounting computed it.

    Attributes:
        table_name: The table.
        generator: ``open_dp`` or ``fast_dp``.
        epsilon: ε spent (natural log base).
        delta: δ spent.
        end_to_end: Whether the whole release is differentially private (Fast DP's is not:
            its bounds are percentiles of the data).
        accountant: Who computed the loss.
    """

    table_name: str
    generator: str
    epsilon: float
    delta: float
    end_to_end: bool
    accountant: str


@dataclass(frozen=True)
class JobResponse:
    """A job as the Octopize client shows it (attributes, ``job["status"]`` and ``model_dump()``).

    Attributes:
        id: The job's id (also ``name``, Octopize's name for it).
        set_name: The run's id (a UUID, as Octopize's).
        parameters_name: The parameters document the job ran (``standard``, ``report``,
            ``advice_parameters``...).
        phase_done: Tables done so far, out of ``phase_total``.
        deleted_at: Always None: Veil lists no deleted job.
        warnings: What to know about how the job applied its parameters, one sentence each.
    """

    id: str
    name: str
    set_name: uuid.UUID
    kind: JobKind | str
    status: JobStatus
    progress: float
    phase: str
    exception: str
    done: bool
    display_name: str
    depends_on: list[str]
    created_at: Any
    parameters_name: str = ""
    phase_done: int | None = None
    phase_total: int | None = None
    deleted_at: datetime | None = None
    warnings: tuple[str, ...] = ()
    privacy_losses: tuple[PrivacyLoss, ...] = ()
    """Veil: the privacy loss of each table a DP generator released (standard jobs)."""

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)

    def model_dump(self, mode: str = "python") -> dict[str, Any]:
        """The fields as a dict (pydantic's method name); ``mode="json"`` gives JSON-ready
        values (strings for the UUID, the enums and the times)."""
        values = {field.name: getattr(self, field.name) for field in fields(self)}
        values["warnings"] = list(self.warnings)
        if mode == "json":
            values = {name: _json_value(value) for name, value in values.items()}
        return values


def _json_value(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class AdvisedLink:
    """A link ``advise_links`` proposes (Octopize's ``AdvisedLink``).

    Attributes:
        confidence: ``high`` (every foreign key value is a parent key, and the names match),
            ``medium`` or ``low``.
        overlap: Share of the foreign key's distinct values found among the parent's keys.
        rows_without_parent: Child rows this link cannot attach (an empty key, or a value the
            parent does not hold); ``run()`` refuses them until they are removed or their
            parents added.
        child_rows: Rows of the child table.
    """

    parent_table: str
    parent_field: str
    child_table: str
    child_field: str
    method: str
    confidence: str
    overlap: float = 1.0
    rows_without_parent: int = 0
    child_rows: int = 0


@dataclass(frozen=True)
class UnlinkedForeignKey:
    """A foreign key ``advise_links`` could not link, with the tables it may point to."""

    table: str
    field: str
    candidate_tables: list[str]


@dataclass(frozen=True)
class TablesLinksAdvice:
    """What ``advise_links`` returns (Octopize's ``TablesLinksAdvice``)."""

    links: list[AdvisedLink]
    unlinked_foreign_keys: list[UnlinkedForeignKey]
