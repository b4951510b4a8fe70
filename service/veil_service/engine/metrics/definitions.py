"""Every metric Veil reports, defined once: its family, the attack it informs, unit and target.

The metrics package judges results against these targets (``output.PRIVACY_TARGETS`` and
``SIGNAL_TARGETS`` are views of this table), the reports list the metrics in this order with these
targets, and tests check that each one is explained in docs/metrics.md and labelled and described
in every report language (``metric.<key>`` and ``desc.<key>`` in ``reports/messages_*.py``).
Adding a metric means: compute it, add a line here, explain it in docs/metrics.md, label it.

Targets are Octopize's `PrivacyMetricsTargets` / `SignalMetricsTargets` where Octopize has one
(reference/avatar_method.md sections 2 and 3); otherwise Veil's own, marked ``octopize=False``: the
anonymeter-style risks (percentages where lower is safer) and the SDMetrics-style scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Family = Literal["privacy", "signal"]
Attack = Literal["singling_out", "linkability", "inference"]
ATTACKS: tuple[Attack, ...] = ("singling_out", "linkability", "inference")


@dataclass(frozen=True)
class MetricDefinition:
    """One metric.

    Attributes:
        key: Key in the metrics result dict.
        family: "privacy" or "signal".
        attack: The GDPR/EDPB criterion a privacy metric informs; None for signal metrics.
        unit: "%" for percentages, "" otherwise.
        target: The target as Octopize writes it ("> 90", "< 0.1"); None when there is none.
        octopize: Whether the target is Octopize's (else Veil's own, see docs/metrics.md).
    """

    key: str
    family: Family
    attack: Attack | None
    unit: str
    target: str | None
    octopize: bool = True


METRICS: tuple[MetricDefinition, ...] = (
    MetricDefinition("hidden_rate", "privacy", "singling_out", "%", "> 90"),
    MetricDefinition("local_cloaking", "privacy", "singling_out", "", "> 5"),
    MetricDefinition("distance_to_closest", "privacy", "singling_out", "", "> 0.2"),
    MetricDefinition("closest_distances_ratio", "privacy", "singling_out", "", "> 0.3"),
    MetricDefinition("closest_rate", "privacy", "singling_out", "%", "> 90"),
    MetricDefinition("row_direct_match_protection", "privacy", "singling_out", "%", "> 90"),
    MetricDefinition("column_direct_match_protection", "privacy", "singling_out", "%", "> 50"),
    MetricDefinition("categorical_hidden_rate", "privacy", "singling_out", "%", "> 90"),
    MetricDefinition("singling_out_risk", "privacy", "singling_out", "%", "< 10", octopize=False),
    MetricDefinition("correlation_protection_rate", "privacy", "linkability", "%", "> 95"),
    MetricDefinition("linkability_risk", "privacy", "linkability", "%", "< 10", octopize=False),
    MetricDefinition("inference_continuous", "privacy", "inference", "", "> 10"),
    MetricDefinition("inference_categorical", "privacy", "inference", "", "> 10"),
    MetricDefinition("inference_risk", "privacy", "inference", "%", "< 10", octopize=False),
    # Octopize's assessment names (its current client), derived from the above; targets Veil's.
    MetricDefinition(
        "knowledge_protection_rate", "privacy", "linkability", "%", "> 95", octopize=False
    ),
    MetricDefinition(
        "linkability_protection_rate", "privacy", "linkability", "%", "> 90", octopize=False
    ),
    MetricDefinition(
        "inference_accuracy_ratio", "privacy", "inference", "%", "> 90", octopize=False
    ),
    MetricDefinition("hellinger_mean", "signal", None, "", "< 0.1"),
    MetricDefinition("hellinger_std", "signal", None, "", None),
    MetricDefinition("correlation_difference_ratio", "signal", None, "%", "< 10"),
    MetricDefinition("column_shapes_score", "signal", None, "", "> 0.8", octopize=False),
    MetricDefinition("pair_trends_score", "signal", None, "", "> 0.8", octopize=False),
    MetricDefinition("ml_utility_ratio", "signal", None, "", "> 0.9", octopize=False),
    MetricDefinition("ml_utility_real", "signal", None, "", None),
    MetricDefinition("ml_utility_avatar", "signal", None, "", None),
    MetricDefinition("ml_utility_chance", "signal", None, "", None),
)
"""Every metric, in report order."""


def targets_of(family: Family) -> dict[str, str]:
    """The targets of a family's metrics that have one, as result dicts state them."""
    return {m.key: m.target for m in METRICS if m.family == family and m.target is not None}
