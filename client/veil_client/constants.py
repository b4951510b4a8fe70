"""Constants with the Octopize client's names (``avatars.constants``)."""

from __future__ import annotations

from enum import StrEnum

from veil_client.config import ColumnType
from veil_client.models import JobKind, JobStatus


class Results(StrEnum):
    """Kinds of results a job produces."""

    ADVICE = "advice"
    SHUFFLED = "shuffled"
    UNSHUFFLED = "unshuffled"
    PRIVACY_METRICS = "privacy_metrics"
    SIGNAL_METRICS = "signal_metrics"
    REPORT_IMAGES = "report_images"
    PROJECTIONS_ORIGINAL = "original_projections"
    PROJECTIONS_AVATARS = "avatar_projections"
    METADATA = "run_metadata"
    REPORT = "report"
    META_PRIVACY_METRIC = "meta_privacy_metric"
    META_SIGNAL_METRIC = "meta_signal_metric"
    FIGURES = "figures"
    FIGURES_METADATA = "figures_metadata"
    PRIVACY_METRICS_SUMMARY = "privacy_metrics_summary"
    SIGNAL_METRICS_SUMMARY = "signal_metrics_summary"
    REFERENCE_TABLES = "reference_tables"


class PlotKind(StrEnum):
    """Kinds of figures."""

    CORRELATION = "correlation"
    CORRELATION_DIFFERENCE = "correlation_difference"
    CONTRIBUTION = "contribution"
    PROJECTION_2D = "2d_projection"
    PROJECTION_3D = "3d_projection"
    DISTRIBUTION = "distribution"
    AGGREGATE_STATS = "aggregate_stats"
    RAW_SERIES = "raw_series"
    NORMALIZED_SERIES = "normalized_series"
    CLASS_PROJECTION_2D = "class_projection_2d"
    METRICS_SUMMARY = "metrics_summary"


JOB_EXECUTION_ORDER = [
    JobKind.standard,
    JobKind.signal_metrics,
    JobKind.privacy_metrics,
    JobKind.report,
]
ERROR_STATUSES = [JobStatus.parent_error, JobStatus.error, JobStatus.lost, JobStatus.orphaned]
CANCELLED_STATUSES = [JobStatus.cancelled]
READY_STATUSES = [JobStatus.finished, *ERROR_STATUSES, *CANCELLED_STATUSES]
DEFAULT_TYPE = ColumnType.CATEGORY

__all__ = [
    "CANCELLED_STATUSES",
    "DEFAULT_TYPE",
    "ERROR_STATUSES",
    "JOB_EXECUTION_ORDER",
    "READY_STATUSES",
    "ColumnType",
    "JobKind",
    "JobStatus",
    "PlotKind",
    "Results",
]
