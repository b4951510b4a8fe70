"""Residual-risk reasoning of the PIA report: targets by context, risk per attack, likelihood.

The technical metrics assume a worst case (the attacker holds the original and the avatar
tables). The PIA asks a different question: given who will receive the avatars and how sensitive
the data is, how likely is an attack, what would it take, and is the remaining risk acceptable?

Levels follow the four-step scale of the CNIL PIA method: 0 negligible, 1 limited,
2 significant, 3 maximum. The rules below are Veil's (Octopize does not publish its own); they
are documented in docs/reports.md and unset PIA fields always take the strictest branch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from veil_service.engine.metrics.definitions import ATTACKS, Attack
from veil_service.engine.reports.catalog import CATALOG, MetricResult, Target, evaluate_metrics
from veil_service.engine.reports.context import PiaContext

Tier = Literal["strict", "standard", "light"]
TechnicalLevel = Literal["low", "moderate", "high", "not_assessed"]
LEVELS = ("negligible", "limited", "significant", "maximum")

#: How far a recipient puts the avatars from the controller's safeguards (0..3).
_EXPOSURE = {
    "internal": 0,
    "trusted_thirdparty": 1,
    "contractual_thirdparty": 1,
    "outside_eu": 2,
    "opendata": 3,
    "unknown": 3,
}
#: Sensitivity level -> severity (0..3); "Undefined" is the worst case.
_SEVERITY = {
    "Negligible": 0,
    "Very Low": 0,
    "Low": 1,
    "Medium": 1,
    "High": 2,
    "Very High": 3,
    "Undefined": 3,
}
#: Data types whose disclosure harms people most (special categories, money, work).
_SENSITIVE_TYPES = frozenset({"health", "finance", "insurance", "hr"})
#: Subjects in a dependent or vulnerable position towards the controller.
_VULNERABLE_SUBJECTS = frozenset({"patients", "students", "employees"})

#: Relaxed targets for less exposed contexts; "strict" is the catalog (Octopize's targets).
_RELAXED: dict[str, dict[str, str]] = {
    "standard": {
        "hidden_rate": "> 85",
        "local_cloaking": "> 3",
        "distance_to_closest": "> 0.15",
        "closest_distances_ratio": "> 0.25",
        "closest_rate": "> 85",
        "row_direct_match_protection": "> 85",
        "column_direct_match_protection": "> 40",
        "categorical_hidden_rate": "> 85",
        "singling_out_risk": "< 15",
        "correlation_protection_rate": "> 90",
        "linkability_risk": "< 15",
        "inference_continuous": "> 8",
        "inference_categorical": "> 8",
        "inference_risk": "< 15",
    },
    "light": {
        "hidden_rate": "> 80",
        "local_cloaking": "> 2",
        "distance_to_closest": "> 0.1",
        "closest_distances_ratio": "> 0.2",
        "closest_rate": "> 80",
        "row_direct_match_protection": "> 80",
        "column_direct_match_protection": "> 30",
        "categorical_hidden_rate": "> 80",
        "singling_out_risk": "< 20",
        "correlation_protection_rate": "> 85",
        "linkability_risk": "< 20",
        "inference_continuous": "> 5",
        "inference_categorical": "> 5",
        "inference_risk": "< 20",
    },
}


def exposure_level(pia: PiaContext) -> int:
    """How exposed the avatars will be (0..3), from the data recipient."""
    return _EXPOSURE[pia.data_recipient]


def severity_level(pia: PiaContext) -> int:
    """How much a disclosure would hurt (0..3), from sensitivity, data type and subjects."""
    severity = _SEVERITY[pia.sensitivity_level]
    if pia.data_type in _SENSITIVE_TYPES or pia.data_subject in _VULNERABLE_SUBJECTS:
        severity = max(severity, 2)
    return severity


def requirement_tier(pia: PiaContext) -> Tier:
    """Which target set applies: strict unless the context is both contained and mild.

    Sensitive data (severity >= 2: health, finance, HR, patients...) never gets the light set.
    """
    severity, exposure = severity_level(pia), exposure_level(pia)
    if max(severity, exposure) >= 3:
        return "strict"
    if severity >= 2 or severity + exposure >= 3:
        return "standard"
    return "light"


def targets_for_context(pia: PiaContext) -> dict[str, Target | None]:
    """Privacy targets adjusted to the PIA context (the catalog's targets when strict).

    The metrics job may use this to fill its own `targets`; the reports use it for metrics whose
    dict carries none.
    """
    tier = requirement_tier(pia)
    targets: dict[str, Target | None] = {spec.key: spec.target for spec in CATALOG}
    for key, raw in _RELAXED.get(tier, {}).items():
        targets[key] = Target.parse(raw, higher_is_better=raw.startswith(">"))
    return targets


def likelihood_level(pia: PiaContext) -> int:
    """Likelihood that someone tries an attack (0..3).

    Exposure decides who can get the avatars at all; severity says how attractive the data is to
    an attacker (worth the effort of gathering auxiliary data). Rounded up so ties stay cautious.
    """
    return math.ceil((exposure_level(pia) + severity_level(pia)) / 2)


@dataclass(frozen=True)
class AttackAssessment:
    """The residual risk of one attack (singling out, linkability or inference).

    Attributes:
        attack: The criterion.
        results: Its metrics, judged against the context's targets.
        technical: "low" (all computed metrics pass), "moderate" (one fails), "high" (more fail),
            "not_assessed" (none computed).
        residual: Index into LEVELS once likelihood is taken into account; None when not
            assessed, which the conclusion reports as a gap rather than as a pass or a fail.
    """

    attack: Attack
    results: tuple[MetricResult, ...]
    technical: TechnicalLevel
    residual: int | None

    @property
    def acceptable(self) -> bool:
        """Whether the residual risk is known and at most "limited"."""
        return self.residual is not None and self.residual <= 1


def _technical_level(results: tuple[MetricResult, ...]) -> TechnicalLevel:
    judged = [r.passed for r in results if r.passed is not None]
    if not judged:
        return "not_assessed"
    failed = judged.count(False)
    if failed == 0:
        return "low"
    return "moderate" if failed == 1 else "high"


def assess_attacks(privacy: Mapping[str, Any] | None, pia: PiaContext) -> list[AttackAssessment]:
    """Residual risk per attack for one table.

    A failed target counts more when the avatars will be widely exposed or are attractive
    (likelihood >= significant): one failure then makes the residual risk significant.

    Args:
        privacy: The table's privacy metrics dict, or None when none was computed.
        pia: The PIA context of the run.

    Returns:
        One assessment per attack, in the order singling out, linkability, inference.
    """
    # The metrics job judged against the strict targets; a contained context relaxes them here.
    targets = targets_for_context(pia)
    strict = requirement_tier(pia) == "strict"
    results = evaluate_metrics(
        privacy,
        "privacy",
        default_targets=targets,
        override_targets=None if strict else targets,
    )
    boost = 1 if likelihood_level(pia) >= 2 else 0
    base = {"low": 0, "moderate": 1, "high": 2}
    assessments = []
    for attack in ATTACKS:
        mine = tuple(r for r in results if r.attack == attack)
        technical = _technical_level(mine)
        residual: int | None = None
        if technical != "not_assessed":
            residual = 0 if technical == "low" else min(3, base[technical] + boost)
        assessments.append(AttackAssessment(attack, mine, technical, residual))
    return assessments


Conclusion = Literal["compatible", "incomplete", "incompatible"]


def conclude(assessments: list[AttackAssessment]) -> Conclusion:
    """Overall verdict for one table.

    Any assessed attack above "limited" makes the sharing incompatible; otherwise an attack that
    could not be assessed (no metric computed, e.g. no `known_variables`) leaves it incomplete,
    because silence about an attack is not evidence that it fails.
    """
    if any(a.residual is not None and a.residual > 1 for a in assessments):
        return "incompatible"
    if any(a.residual is None for a in assessments):
        return "incomplete"
    return "compatible"
