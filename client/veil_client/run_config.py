"""The Runner's local configuration of a run: tables, their types and parameters, report settings.

Plain dataclasses; :mod:`veil_client.api.run_config_proto` turns them into the RunConfig message
the server validates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from veil_client.config import (
    AlignmentMethod,
    ColumnType,
    ExcludeVariablesMethod,
    ImputeMethod,
    LinkMethod,
    ProjectionType,
    UnalignmentStrategy,
)

IMPUTE_METHODS = frozenset(m.value for m in ImputeMethod)
EXCLUDE_METHODS = frozenset(m.value for m in ExcludeVariablesMethod)
COLUMN_TYPES = frozenset(t.value for t in ColumnType)
LINK_METHODS = frozenset(m.value for m in LinkMethod)
PROJECTION_TYPES = frozenset(p.value for p in ProjectionType)
ALIGNMENT_METHODS = frozenset(m.value for m in AlignmentMethod)
UNALIGNMENT_STRATEGIES = frozenset(s.value for s in UnalignmentStrategy)


@dataclass
class TableState:
    """One table as the runner knows it.

    Attributes:
        time_series: Time-series parameters by their stored names (``projection_type``, ``nf``,
            ``method``, ``nb_points``, ``unalignment``); None when never set.
    """

    name: str
    types: dict[str, str] = field(default_factory=dict)
    primary_key: str = ""
    has_avatar_data: bool = False
    avatarization: dict[str, Any] | None = None
    privacy_metrics: dict[str, Any] = field(default_factory=dict)
    signal_metrics: dict[str, Any] = field(default_factory=dict)
    individual_level: bool | None = None
    foreign_keys: list[str] = field(default_factory=list)
    time_series_time: str = ""
    time_series: dict[str, Any] | None = None
    advice: dict[str, Any] | None = None
    pseudonymized_columns: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class LinkState:
    """A link between two tables, declared on the parent (Octopize's ``add_link``)."""

    parent_table: str
    parent_field: str
    child_table: str
    child_field: str
    method: str = LinkMethod.LINEAR_SUM_ASSIGNMENT.value


@dataclass
class RunnerConfig:
    """Everything the runner sends with SetConfig."""

    tables: dict[str, TableState] = field(default_factory=dict)
    links: list[LinkState] = field(default_factory=list)
    seed: int | None = None
    report_language: str = "en"
    pia: dict[str, str] = field(
        default_factory=lambda: {
            "sensitivity_level": "Undefined",
            "data_type": "unknown",
            "data_subject": "unknown",
            "data_recipient": "unknown",
        }
    )
    compute_figures: bool = True
    max_distribution_plots: int | None = None
    annotations: dict[str, str] = field(default_factory=dict)
