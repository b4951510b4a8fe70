"""What a report is built from: table summaries, parameters, metrics, PIA context and figures.

The engine gathers these after the metrics jobs succeeded and hands one `ReportContext` to
`build_technical_report` or `build_pia_report`. Everything here is plain data (no protobuf, no
database rows), so the report builders can be tested on a DataFrame and a metrics dict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from veil_service.engine.reports.features import TableFeatures
from veil_service.engine.reports.figure import Figure

#: Serialized values of `SensitivityLevel` (reference/avatar_client.md section 6).
SENSITIVITY_LEVELS = ("Very High", "High", "Medium", "Low", "Very Low", "Negligible", "Undefined")
#: Serialized values of `DataType`.
DATA_TYPES = ("unknown", "health", "hr", "mobility", "insurance", "finance", "education")
#: Serialized values of `DataSubject`.
DATA_SUBJECTS = ("unknown", "patients", "employees", "clients", "users", "students")
#: Serialized values of `DataRecipient`.
DATA_RECIPIENTS = (
    "unknown",
    "opendata",
    "contractual_thirdparty",
    "internal",
    "outside_eu",
    "trusted_thirdparty",
)


@dataclass(frozen=True)
class PiaContext:
    """The PIA metadata given to `create_runner`.

    Unset fields keep the client's defaults (`Undefined` / `unknown`), which the reports read as
    the strictest case: the data may be very sensitive and may end up anywhere.

    Attributes:
        sensitivity_level: A `SensitivityLevel` value, e.g. "High".
        data_type: A `DataType` value, e.g. "health".
        data_subject: A `DataSubject` value, e.g. "patients".
        data_recipient: A `DataRecipient` value, e.g. "opendata".
    """

    sensitivity_level: str = "Undefined"
    data_type: str = "unknown"
    data_subject: str = "unknown"
    data_recipient: str = "unknown"

    def __post_init__(self) -> None:
        """Reject values the client enums do not have, so a typo never relaxes a target."""
        checks = (
            ("sensitivity_level", self.sensitivity_level, SENSITIVITY_LEVELS),
            ("data_type", self.data_type, DATA_TYPES),
            ("data_subject", self.data_subject, DATA_SUBJECTS),
            ("data_recipient", self.data_recipient, DATA_RECIPIENTS),
        )
        for name, value, allowed in checks:
            if value not in allowed:
                raise ValueError(f"{name}={value!r} is not one of {', '.join(allowed)}.")

    @property
    def is_unset(self) -> bool:
        """True when no PIA field was given (every field at its default)."""
        return self == PiaContext()


@dataclass(frozen=True)
class ColumnSummary:
    """One column of a table, as the dataset summary shows it.

    Attributes:
        name: Column name.
        kind: "numeric", "categorical", "boolean" or "datetime".
        missing_rate: Share of missing values in the original column, in [0, 1].
        n_unique: Number of distinct non-missing values in the original column.
    """

    name: str
    kind: str
    missing_rate: float
    n_unique: int


@dataclass(frozen=True)
class TableSummary:
    """Shape of one table and of its avatars.

    Attributes:
        name: Table name.
        n_rows: Rows in the original table.
        n_avatar_rows: Rows in the avatar table.
        columns: One summary per original column, in table order.
    """

    name: str
    n_rows: int
    n_avatar_rows: int
    columns: tuple[ColumnSummary, ...]

    @classmethod
    def from_frames(cls, name: str, original: pd.DataFrame, avatars: pd.DataFrame) -> TableSummary:
        """Summarize an original table and its avatars.

        Args:
            name: Table name.
            original: The original table.
            avatars: The avatar table (same columns; any row order).

        Returns:
            The summary; it holds counts and rates only, never a data value.
        """
        n = max(len(original), 1)
        columns = tuple(
            ColumnSummary(
                name=str(col),
                kind=column_kind(original[col]),
                missing_rate=float(original[col].isna().sum()) / n,
                n_unique=int(original[col].nunique(dropna=True)),
            )
            for col in original.columns
        )
        return cls(name=name, n_rows=len(original), n_avatar_rows=len(avatars), columns=columns)


def column_kind(series: pd.Series) -> str:
    """Classify a column the way the plots and the summary treat it.

    Booleans are told apart from numbers because a histogram of 0/1 says less than two bars.
    """
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    if pd.api.types.is_numeric_dtype(series):
        return "numeric"
    return "categorical"


@dataclass(frozen=True)
class LinkSummary:
    """One link of a multi-table run, as the reports show it (counts, never data values).

    Attributes:
        parent_table: The parent table.
        parent_field: Its primary key.
        child_table: The child table.
        child_field: The child's foreign key.
        method: The avatar_yaml LinkMethod value that assigned avatar children to avatar
            parents.
        child_rows: Rows of the child table, (original, avatar).
        children_per_parent: Mean children per parent row, (original, avatar); for a time
            series, mean readings per series.
        childless_share: Percent of parent rows without children, (original, avatar).
        count_distance: Hellinger distance between the child-count distributions, in [0, 1].
    """

    parent_table: str
    parent_field: str
    child_table: str
    child_field: str
    method: str
    child_rows: tuple[int, int] = (0, 0)
    children_per_parent: tuple[float, float] | None = None
    childless_share: tuple[float, float] | None = None
    count_distance: float | None = None

    @property
    def sensitive(self) -> bool:
        """The link keeps the original structure (a privacy breach the reports flag)."""
        return self.method == "sensitive_original_order_assignment"

    def label(self) -> str:
        """``patient.p_id → visit.patient_id``."""
        return f"{self.parent_table}.{self.parent_field} → {self.child_table}.{self.child_field}"


@dataclass(frozen=True)
class ReportContext:
    """Everything a report shows about one run.

    Attributes:
        run_name: Display name of the run (shown on the title page).
        tables: One summary per table, in the order the reports show them.
        parameters: Parameters used, e.g. {"wbcd": {"k": 20, "ncp": 5}, "seed": 1}; nested
            mappings are flattened to "wbcd.k" in the reports.
        privacy: Table name -> privacy metrics dict in the Octopize shape: metric keys at top
            level (hidden_rate, local_cloaking, ..., singling_out_risk, ...), plus `targets`
            {metric: "> 90" | number} and `metadata` {table_name, ...}. Missing tables or keys
            are shown as "not computed".
        signal: Table name -> signal metrics dict (hellinger_mean, hellinger_std,
            correlation_difference_ratio, ...; optional `targets`).
        pia: The PIA metadata of the run.
        figures: Table name -> figures built by `build_figures`; the reports embed the PNG of
            the key ones.
        generated_at: Timestamp printed on the reports; None prints none, which keeps the
            output byte-stable for tests.
        links: The links of a multi-table run (empty for a single table).
        computations: Table name -> every privacy result of a multi-table run, one per
            computation type (``metadata.computation_type``, ``metadata.reference``);
            ``privacy`` holds the one each table's verdict rests on.
        features: Table name -> the avatarization features it used (DP generator and its
            privacy loss, data augmentation, processors, pseudonymization); each gets its
            section.
    """

    run_name: str
    tables: tuple[TableSummary, ...]
    parameters: Mapping[str, Any] = field(default_factory=dict)
    privacy: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    signal: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    pia: PiaContext = field(default_factory=PiaContext)
    figures: Mapping[str, Sequence[Figure]] = field(default_factory=dict)
    generated_at: datetime | None = None
    links: tuple[LinkSummary, ...] = ()
    computations: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)
    features: Mapping[str, TableFeatures] = field(default_factory=dict)

    def breached_tables(self) -> set[str]:
        """Child tables of a link that kept the original structure."""
        return {link.child_table for link in self.links if link.sensitive}


def flatten_parameters(parameters: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Flatten nested parameters to ("table.k", "20") rows, keys sorted for a stable report."""
    rows: list[tuple[str, str]] = []
    for key in sorted(parameters, key=str):
        value = parameters[key]
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            rows.extend(flatten_parameters(value, prefix=f"{name}."))
        elif value is not None:
            rows.append((name, _format_parameter(value)))
    return rows


def _format_parameter(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    return str(value)
