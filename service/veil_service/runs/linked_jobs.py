"""Jobs of multi-table runs: one engine task per job, over every table of the run.

A run whose tables are linked is avatarized as one (a parent's avatars carry its children's
structure, a child's avatars are assigned to avatar parents), so each of its jobs is a single
engine task that receives every table: ``original@<table>`` and, for metrics and reports, the
avatars ``avatars@<table>``. The task names its results ``<kind>[:<subkind>]@<table>`` (or
``<kind>`` for the whole run; ``engine_contract.linked_tables.table_ref``), which the
dispatcher files under their table.
"""

from __future__ import annotations

from typing import Any

from veil_service.engine_contract.linked_tables import schema_to_dict
from veil_service.runs.config import RunConfig

ENGINE_KIND = {
    "standard": "avatarize_tables",
    "privacy_metrics": "linked_privacy_metrics",
    "signal_metrics": "linked_signal_metrics",
    "report": "linked_report",
}
"""Job kind -> engine task of a linked run (advice stays per table)."""


def task_params(config: RunConfig, *, run_name: str) -> dict[str, Any]:
    """The JSON parameters of a linked run's engine tasks (engine/tasks/linked_jobs.py)."""
    return {
        "schema": schema_to_dict(config.schema()),
        "tables": {
            table.name: {
                "column_types": table.column_types,
                "avatarization": table.avatarization or {},
                "time_series": table.time_series or {},
                "privacy_metrics": table.privacy_metrics,
                "signal_metrics": table.signal_metrics,
                "pseudonymized_columns": table.pseudonymized_columns,
            }
            for table in config.tables
        },
        "seed": config.seed,
        "compute_figures": config.compute_figures,
        "max_distribution_plots": config.max_distribution_plots,
        "language": config.report_language,
        "pia": vars(config.pia),
        "run_name": run_name,
    }
