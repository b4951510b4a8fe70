"""The registry of engine tasks: kind name -> function(TaskContext) -> summary dict.

Each task module wraps one algorithm package; adding a task means adding one line here. An engine
may be given extra task kinds through ``VEIL_ENGINE_EXTRA_TASKS`` (tests register their own that
way; nothing test-only ships in the registry).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from veil_service.errors import InvalidArgumentError

if TYPE_CHECKING:
    from veil_service.engine.tasks.context import TaskContext

TaskFunction = Callable[["TaskContext"], dict[str, Any]]

# kind -> "module:function", imported lazily so a task's heavy libraries load only when used.
TASKS: dict[str, str] = {
    "describe": "veil_service.engine.tasks.describe:run_describe",
    # Runs: the standard job's release (engine/tasks/standard.py); metrics, reports, advice
    # (engine/tasks/avatar_jobs.py).
    "avatarize": "veil_service.engine.tasks.standard:run_standard",
    # The standard job of a large table on a Dask cluster (engine/tasks/partitioned.py).
    "avatarize_partitioned": "veil_service.engine.tasks.partitioned:run_avatarize_partitioned",
    "privacy_metrics": "veil_service.engine.tasks.avatar_jobs:run_privacy_metrics",
    "signal_metrics": "veil_service.engine.tasks.avatar_jobs:run_signal_metrics",
    "report": "veil_service.engine.tasks.avatar_jobs:run_report",
    "advice": "veil_service.engine.tasks.avatar_jobs:run_advice",
    # Multi-table runs (linked tables, time series): engine/tasks/linked_jobs.py.
    "avatarize_tables": "veil_service.engine.tasks.linked_jobs:run_avatarize_tables",
    "linked_privacy_metrics": "veil_service.engine.tasks.linked_jobs:run_linked_privacy_metrics",
    "linked_signal_metrics": "veil_service.engine.tasks.linked_jobs:run_linked_signal_metrics",
    "linked_report": "veil_service.engine.tasks.linked_report:run_linked_report",
    "advise_links": "veil_service.engine.tasks.linked_jobs:run_advise_links",
    "check_tables": "veil_service.engine.tasks.linked_jobs:run_check_tables",
    "linked_advice": "veil_service.engine.tasks.linked_jobs:run_linked_advice",
    # Differentially private queries: engine/tasks/dp.py.
    "dp_query": "veil_service.engine.tasks.dp:run_dp_query",
    "dp_cost": "veil_service.engine.tasks.dp:run_dp_cost",
    "dp_dummy": "veil_service.engine.tasks.dp:run_dp_dummy",
}


EXTRA_TASKS_ENV = "VEIL_ENGINE_EXTRA_TASKS"
"""Environment variable naming extra task kinds: ``kind=module:function`` pairs, comma-separated."""


def _extra_tasks(spec: str) -> dict[str, str]:
    extra: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        kind, _, target = item.partition("=")
        if not kind or ":" not in target:
            raise ValueError(f"{EXTRA_TASKS_ENV}: {item!r} is not kind=module:function")
        extra[kind.strip()] = target.strip()
    return extra


TASKS.update(_extra_tasks(os.environ.get(EXTRA_TASKS_ENV, "")))


def resolve(kind: str) -> TaskFunction:
    """The function of a task kind.

    Raises:
        InvalidArgumentError: unknown kind.
    """
    target = TASKS.get(kind)
    if target is None:
        raise InvalidArgumentError(
            f"unknown engine task {kind!r}; known: {sorted(TASKS)}.", field="kind"
        )
    module_name, _, function_name = target.partition(":")
    function: TaskFunction = getattr(importlib.import_module(module_name), function_name)
    return function
