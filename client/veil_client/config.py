"""avatar_yaml's enums and strategy classes, with their names and string values.

Octopize scripts import these from ``avatar_yaml`` or one of its ``models.*`` modules
(``from avatar_yaml.models.schema import ColumnType``); with Veil, from ``veil_client.config``.
"""

from __future__ import annotations

from enum import StrEnum

from veil_client.pseudonymization import (
    ConstantStrategy,
    FakeDataStrategy,
    HashSha256Strategy,
    IntegerStrategy,
    PiiType,
    PseudonymizationStrategy,
    SpecificIdLetterCase,
    SpecificIdStrategy,
    Uuid4Strategy,
)
from veil_client.server_processors import (
    AvatarizationProcessorParameters,
    InterRecordRangeDifferenceParameters,
    RelativeDifferenceParameters,
)


class ColumnType(StrEnum):
    """Declared type of a column."""

    INT = "int"
    BOOL = "bool"
    CATEGORY = "category"
    NUMERIC = "float"
    DATETIME = "datetime"
    DATETIME_TZ = "datetime_tz"


class ImputeMethod(StrEnum):
    """How missing values are imputed for the projection (missingness itself is reproduced)."""

    KNN = "knn"
    MODE = "mode"
    MEDIAN = "median"
    MEAN = "mean"
    FAST_KNN = "fast_knn"


class ExcludeVariablesMethod(StrEnum):
    """How excluded variables are put back."""

    ROW_ORDER = "row_order"
    COORDINATE_SIMILARITY = "coordinate_similarity"


class ReportType(StrEnum):
    """Reports a run produces."""

    BASIC = "basic"
    PIA = "pia"


class ReportLanguage(StrEnum):
    """Languages of the reports."""

    EN = "en"
    FR = "fr"


class OutputFormat(StrEnum):
    """Formats of report files."""

    PDF = "pdf"
    DOCX = "docx"


class SensitivityLevel(StrEnum):
    """PIA: how sensitive the data is."""

    VERY_HIGH = "Very High"
    HIGH = "High"
    MEDIUM = "Medium"
    LOW = "Low"
    VERY_LOW = "Very Low"
    NEGLIGIBLE = "Negligible"
    UNDEFINED = "Undefined"


class DataType(StrEnum):
    """PIA: domain of the data."""

    UNKNOWN = "unknown"
    HEALTH = "health"
    HR = "hr"
    MOBILITY = "mobility"
    INSURANCE = "insurance"
    FINANCE = "finance"
    EDUCATION = "education"


class DataSubject(StrEnum):
    """PIA: who the rows are about."""

    UNKNOWN = "unknown"
    PATIENTS = "patients"
    EMPLOYEES = "employees"
    CLIENTS = "clients"
    USERS = "users"
    STUDENTS = "students"


class DataRecipient(StrEnum):
    """PIA: who receives the avatars."""

    UNKNOWN = "unknown"
    OPENDATA = "opendata"
    CONTRACTUAL_THIRDPARTY = "contractual_thirdparty"
    INTERNAL = "internal"
    OUTSIDE_EU = "outside_eu"
    TRUSTED_THIRDPARTY = "trusted_thirdparty"


class LinkMethod(StrEnum):
    """How child rows are re-linked to parent avatars (multi-table runs)."""

    LINEAR_SUM_ASSIGNMENT = "linear_sum_assignment"
    MINIMUM_DISTANCE_ASSIGNMENT = "minimum_distance_assignment"
    SENSITIVE_ORIGINAL_ORDER_ASSIGNMENT = "sensitive_original_order_assignment"
    TIME_SERIES = "time_series"


class ProjectionType(StrEnum):
    """How each time series is reduced to a few numbers before avatarization."""

    FPCA = "fpca"
    FLATTEN = "flatten"


class AlignmentMethod(StrEnum):
    """How time series of different lengths are aligned to a common number of points."""

    SPECIFIED = "specified"
    MAX = "max"
    MIN = "min"
    MEAN = "mean"


class UnalignmentStrategy(StrEnum):
    """How aligned avatar series get back their own number of points."""

    UNIFORM = "uniform"
    SKIP = "skip"


class AugmentationStrategy(StrEnum):
    """Which classes data augmentation adds rows to (or pass a multiplier or ratios)."""

    minority = "minority"
    not_majority = "not_majority"


class AdviceType(StrEnum):
    """What an advice job advises on."""

    VARIABLES = "variables"
    PARAMETERS = "parameters"
    TABLES_LINKS = "tables_links"


__all__ = [
    "AdviceType",
    "AlignmentMethod",
    "AugmentationStrategy",
    "AvatarizationProcessorParameters",
    "ColumnType",
    "ConstantStrategy",
    "DataRecipient",
    "DataSubject",
    "DataType",
    "ExcludeVariablesMethod",
    "FakeDataStrategy",
    "HashSha256Strategy",
    "ImputeMethod",
    "IntegerStrategy",
    "InterRecordRangeDifferenceParameters",
    "LinkMethod",
    "OutputFormat",
    "PiiType",
    "ProjectionType",
    "PseudonymizationStrategy",
    "RelativeDifferenceParameters",
    "ReportLanguage",
    "ReportType",
    "SensitivityLevel",
    "SpecificIdLetterCase",
    "SpecificIdStrategy",
    "UnalignmentStrategy",
    "Uuid4Strategy",
]
