"""The Runner's local configuration of a run: tables, their types and parameters, report settings.

Plain dataclasses; :mod:`veil_client.api.run_config_proto` turns them into the RunConfig message
the server validates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from veil_client.config import ColumnType, ExcludeVariablesMethod, ImputeMethod

IMPUTE_METHODS = frozenset(m.value for m in ImputeMethod)
EXCLUDE_METHODS = frozenset(m.value for m in ExcludeVariablesMethod)
COLUMN_TYPES = frozenset(t.value for t in ColumnType)


@dataclass
class TableState:
    """One table as the runner knows it."""

    name: str
    types: dict[str, str] = field(default_factory=dict)
    primary_key: str = ""
    has_avatar_data: bool = False
    avatarization: dict[str, Any] | None = None
    privacy_metrics: dict[str, Any] = field(default_factory=dict)
    signal_metrics: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunnerConfig:
    """Everything the runner sends with SetConfig."""

    tables: dict[str, TableState] = field(default_factory=dict)
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
