"""The metrics the reports know: their targets, the attack each one measures, and pass/fail.

The metrics, their order, attacks, units and targets are the metrics package's own table
(``engine/metrics/definitions.py``): the reports judge exactly as the metrics job does.

A metrics dict may carry its own `targets` ({metric: "> 90" or a number}); those win over the
catalog, so the report always shows the target the metrics job judged against.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from veil_service.engine.metrics.definitions import ATTACKS, METRICS, Attack, Family

__all__ = [
    "ATTACKS",
    "CATALOG",
    "SERIES_SIGNAL_KEYS",
    "SPECS",
    "Attack",
    "Family",
    "MetricResult",
    "MetricSpec",
    "Target",
]

_TARGET_RE = re.compile(r"^\s*(>=|<=|>|<)\s*(-?[0-9.]+(?:[eE]-?[0-9]+)?)\s*%?\s*$")
#: Keys of a metrics dict that are not metrics.
_NON_METRIC_KEYS = frozenset(
    {"targets", "passed", "details", "metadata", "table_name", "computation_type"}
)


@dataclass(frozen=True)
class Target:
    """A threshold such as "> 90": the metric passes when `value <op> threshold`."""

    op: Literal[">", "<", ">=", "<="]
    threshold: float

    @classmethod
    def parse(cls, raw: Any, *, higher_is_better: bool) -> Target | None:
        """Read a target as Octopize writes it ("> 90") or as a bare number.

        Args:
            raw: "> 90", "<0.1", 90, 0.1 or None.
            higher_is_better: Direction used when `raw` is a bare number.

        Returns:
            The target, or None when `raw` is None or unreadable (shown as "no target").
        """
        if raw is None or isinstance(raw, bool):
            return None
        if isinstance(raw, int | float):
            return cls(">" if higher_is_better else "<", float(raw))
        match = _TARGET_RE.match(str(raw))
        if match is None:
            return None
        op = cast(Literal[">", "<", ">=", "<="], match.group(1))
        return cls(op, float(match.group(2)))

    def is_met(self, value: float) -> bool:
        """Whether `value` satisfies the target."""
        if self.op == ">":
            return value > self.threshold
        if self.op == ">=":
            return value >= self.threshold
        if self.op == "<":
            return value < self.threshold
        return value <= self.threshold


@dataclass(frozen=True)
class MetricSpec:
    """What the reports know about one metric.

    Attributes:
        key: Key in the metrics dict.
        family: "privacy" or "signal".
        attack: The GDPR/EDPB criterion it informs, None for signal metrics.
        unit: "%" for percentages, "" otherwise (shown after the value).
        higher_is_better: Direction, used for bare-number targets and the summary chart.
        target: The strictest default target, None when the metric has none.
    """

    key: str
    family: Family
    attack: Attack | None
    unit: str
    higher_is_better: bool
    target: Target | None


def _spec(
    key: str, family: Family, attack: Attack | None, unit: str, target: str | None
) -> MetricSpec:
    higher = target is None or target.lstrip().startswith(">")
    parsed = Target.parse(target, higher_is_better=higher)
    return MetricSpec(key, family, attack, unit, higher, parsed)


#: Every metric a report lists, in report order.
CATALOG: tuple[MetricSpec, ...] = tuple(
    _spec(m.key, m.family, m.attack, m.unit, m.target) for m in METRICS
)
SPECS: dict[str, MetricSpec] = {spec.key: spec for spec in CATALOG}
#: Signal metrics of a time-series table (engine/timeseries/metrics.py, multitable/metrics.py):
#: not in every report, so outside the catalog, but named and defined in both languages.
SERIES_SIGNAL_KEYS: tuple[str, ...] = (
    "pointwise_hellinger_mean",
    "pointwise_hellinger_std",
    "density_hellinger_mean",
    "density_hellinger_std",
    "series_length_mean_original",
    "series_length_mean_avatar",
)


@dataclass(frozen=True)
class MetricResult:
    """One metric as a report row shows it.

    Attributes:
        key: Metric key.
        family: "privacy" or "signal".
        attack: Criterion it informs (privacy metrics of the catalog), else None.
        value: The value, None when the metrics job did not compute it.
        target: The target judged against, None when there is none.
        unit: "%" or "".
    """

    key: str
    family: Family
    attack: Attack | None
    value: float | None
    target: Target | None
    unit: str

    @property
    def passed(self) -> bool | None:
        """True/False against the target; None when not computed or without a target."""
        if self.value is None or self.target is None:
            return None
        return self.target.is_met(self.value)


def _as_number(raw: Any) -> float | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    value = float(raw)
    return None if math.isnan(value) else value


def evaluate_metrics(
    metrics: Mapping[str, Any] | None,
    family: Family,
    *,
    default_targets: Mapping[str, Target | None] | None = None,
    override_targets: Mapping[str, Target | None] | None = None,
) -> list[MetricResult]:
    """Judge every metric of a family against its target.

    Every catalog metric of the family gets a row (value None when missing) so the reader sees
    what was not computed; numeric keys the catalog does not know follow, without a target.

    Args:
        metrics: A privacy or signal metrics dict, or None when that job produced nothing.
        family: Which catalog metrics to list.
        default_targets: Targets used when the dict has none for a metric; the catalog's
            strictest targets otherwise.
        override_targets: Targets that win over the dict's own (the PIA report's relaxed
            targets for a contained context, which the metrics job did not know about).

    Returns:
        Rows in catalog order, then unknown metrics sorted by key.
    """
    metrics = metrics or {}
    own_targets = metrics.get("targets")
    own_targets = own_targets if isinstance(own_targets, Mapping) else {}
    defaults = default_targets or {}
    rows: list[MetricResult] = []
    for spec in CATALOG:
        if spec.family != family:
            continue
        target = Target.parse(own_targets.get(spec.key), higher_is_better=spec.higher_is_better)
        if override_targets and spec.key in override_targets:
            target = override_targets[spec.key]
        elif target is None:
            target = defaults.get(spec.key, spec.target)
        value = _as_number(metrics.get(spec.key))
        rows.append(MetricResult(spec.key, family, spec.attack, value, target, spec.unit))
    for key in sorted(k for k in metrics if k not in SPECS and k not in _NON_METRIC_KEYS):
        value = _as_number(metrics[key])
        if value is None:
            continue
        target = Target.parse(own_targets.get(key), higher_is_better=True)
        rows.append(MetricResult(key, family, None, value, target, ""))
    return rows


def format_number(value: float, language: str) -> str:
    """Format a metric value for a reader, with the French decimal comma where due.

    At most two decimals from 1 up (85.51, 24), three significant digits below (0.991, 0.0523):
    more digits would suggest a precision the metrics do not have.
    """
    if abs(value) >= 1000:
        text = f"{value:,.0f}".replace(",", "\u202f" if language == "fr" else ",")
    elif abs(value) >= 1:
        text = f"{value:.2f}".rstrip("0").rstrip(".")
    elif value == 0:
        text = "0"
    else:
        text = f"{value:.3g}"
    return text.replace(".", ",") if language == "fr" else text


def format_target(target: Target | None, language: str) -> str:
    """Render a target as "> 90" (with a decimal comma in French); "" when there is none."""
    if target is None:
        return ""
    return f"{target.op} {format_number(target.threshold, language)}"
