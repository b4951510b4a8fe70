"""The result shape of the Octopize client, its targets, and the aggregation of batches.

One table's result is a dict with the metric keys at the top level, a ``targets`` dict stated as
Octopize's API states them (strings such as ``"> 90"``, from ``PrivacyMetricsTargets`` and
``SignalMetricsTargets``; the table is ``definitions.py``), a ``passed`` dict (metric ->
True/False, None when not computed) and a ``metadata`` dict (``table_name``,
``computation_type``, ``reference``, row counts, parameters). A run returns a list of such dicts
per table; batched runs add the aggregates built here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from veil_service.engine.metrics.definitions import targets_of
from veil_service.errors import InvalidArgumentError

PRIVACY_TARGETS: dict[str, str] = targets_of("privacy")
"""Octopize's official privacy targets, plus Veil's for the anonymeter-style risks (in %)."""

SIGNAL_TARGETS: dict[str, str] = targets_of("signal")
"""Octopize's official signal targets, plus Veil's for the scores Octopize does not have."""


def meets(value: Any, target: str) -> bool | None:
    """Whether a metric value meets a target such as ``"> 90"`` (None if not computed)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    operator, threshold = target.split()
    bound = float(threshold)
    return bool(value > bound) if operator == ">" else bool(value < bound)


def build_result(
    metrics: Mapping[str, Any],
    targets: Mapping[str, str],
    metadata: Mapping[str, Any],
) -> dict[str, Any]:
    """Assemble one table's result dict: metrics at top level, then targets, passed, metadata."""
    result: dict[str, Any] = dict(metrics)
    result["targets"] = dict(targets)
    result["passed"] = {name: meets(metrics.get(name), target) for name, target in targets.items()}
    result["metadata"] = dict(metadata)
    return result


def _worse(values: list[float], target: str) -> float:
    return min(values) if target.startswith(">") else max(values)


def _aggregate(
    results: Sequence[Mapping[str, Any]], how: str, targets: Mapping[str, str]
) -> dict[str, Any]:
    if not results:
        raise InvalidArgumentError(
            "no batch results to aggregate: pass at least one", field="results"
        )
    names = [
        k
        for k, v in results[0].items()
        if k not in ("targets", "passed", "metadata") and not isinstance(v, dict | list)
    ]
    metrics: dict[str, Any] = {}
    for name in names:
        values = [r.get(name) for r in results]
        numbers = [
            float(v)
            for v in values
            if isinstance(v, int | float) and not isinstance(v, bool) and not math.isnan(float(v))
        ]
        if len(numbers) != len(values):
            metrics[name] = values[0] if len(set(map(repr, values))) == 1 else None
        elif how == "worst" and name in targets:
            metrics[name] = _worse(numbers, targets[name])
        else:
            metrics[name] = sum(numbers) / len(numbers)
    first = results[0].get("metadata", {})
    metadata = {
        "table_name": first.get("table_name"),
        "computation_type": f"batch_{how}",
        "reference": first.get("reference"),
        "n_batches": len(results),
        "n_original_rows": sum(r.get("metadata", {}).get("n_original_rows", 0) for r in results),
        "parameters": first.get("parameters", {}),
    }
    return build_result(metrics, targets, metadata)


def aggregate_privacy_batches(results: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Aggregate per-batch privacy results: the worst batch value and the mean, per metric.

    Octopize: "For the privacy metrics, we return the worst and the mean of all metrics."
    "Worst" follows each metric's target direction (min for "> x", max for "< x"); metrics
    without a target are averaged in both.

    Returns:
        ``[worst, mean]`` result dicts, with ``computation_type`` ``batch_worst`` and
        ``batch_mean``; ``passed`` of the worst dict is the conservative verdict.
    """
    return [
        _aggregate(results, "worst", PRIVACY_TARGETS),
        _aggregate(results, "mean", PRIVACY_TARGETS),
    ]


def aggregate_signal_batches(results: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Aggregate per-batch signal results: the mean of each metric over batches.

    Octopize: "The average of all the signal metrics is computed."

    Returns:
        ``[mean]``, one result dict with ``computation_type`` ``batch_mean``.
    """
    return [_aggregate(results, "mean", SIGNAL_TARGETS)]
