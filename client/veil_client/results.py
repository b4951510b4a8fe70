"""``runner.get_all_results()``: every result of a run, organized as Octopize's ResultsOrganizer.

Attributes are keyed by table (``results.shuffled["wbcd"]`` is a DataFrame), except
``run_metadata`` (keyed by job kind) and the two metrics summaries (keyed by table, then by
reference). Reports are not in it (Octopize leaves them out too): ``runner.download_report``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd


@dataclass
class ResultsOrganizer:
    """Every downloaded result of a run (see the module docstring)."""

    shuffled: dict[str, pd.DataFrame] = field(default_factory=dict)
    sensitive_unshuffled: dict[str, pd.DataFrame] = field(default_factory=dict)
    privacy_metrics: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    signal_metrics: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    original_projections: dict[str, pd.DataFrame] = field(default_factory=dict)
    avatars_projections: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    advice: dict[str, dict[str, Any]] = field(default_factory=dict)
    reference_tables: dict[str, Any] = field(default_factory=dict)
    run_metadata: dict[str, dict[str, Any]] = field(default_factory=dict)
    privacy_metrics_summary: dict[str, dict[str, Any]] = field(default_factory=dict)
    signal_metrics_summary: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, kind: str, subkind: str, table: str, value: Any) -> None:
        """File one downloaded result under its attribute."""
        if kind in _TABLE_ATTRIBUTES:
            getattr(self, _TABLE_ATTRIBUTES[kind])[table] = value
        elif kind in ("privacy_metrics", "signal_metrics"):
            getattr(self, kind).setdefault(table, []).extend(
                value if isinstance(value, list) else [value]
            )
        elif kind == "figures":
            plot_kind = subkind.partition(":")[0]
            self.figures.setdefault(table, {}).setdefault(plot_kind, []).append(value)
        elif kind == "run_metadata":
            self.run_metadata[subkind or table] = value
        elif kind in ("privacy_metrics_summary", "signal_metrics_summary"):
            getattr(self, kind).update(value)
        elif kind == "advice":
            self.advice[table] = value
        elif kind == "reference_tables":
            self.reference_tables[table] = value

    def __getitem__(self, name: str) -> Any:
        return getattr(self, name)

    def __repr__(self) -> str:
        # The tables and figures themselves would fill a screen: name what is there instead.
        held = ", ".join(
            f"{name}={sorted(map(str, value))}" for name, value in vars(self).items() if value
        )
        return f"ResultsOrganizer({held})"


_TABLE_ATTRIBUTES = {
    "shuffled": "shuffled",
    "unshuffled": "sensitive_unshuffled",
    "original_projections": "original_projections",
    "avatar_projections": "avatars_projections",
}

STORED_KINDS = frozenset(
    {
        *_TABLE_ATTRIBUTES,
        "privacy_metrics",
        "signal_metrics",
        "figures",
        "run_metadata",
        "privacy_metrics_summary",
        "signal_metrics_summary",
        "advice",
        "reference_tables",
    }
)
"""Result kinds get_all_results downloads (Octopize's RESULTS_TO_STORE)."""
