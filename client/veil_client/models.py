"""Request models and enums with the Octopize client's names (``avatars.models``)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum


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


class UserRole(str, Enum):
    """Roles of users."""

    admin = "admin"
    user = "user"


class JobKind(str, Enum):
    """Kinds of jobs (values as the Octopize API serializes them)."""

    standard = "standard"
    privacy_metrics = "privacy_metrics"
    signal_metrics = "signal_metrics"
    report = "report"
    advice = "advice"

    def __str__(self) -> str:
        return self.value


class JobStatus(str, Enum):
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
