"""Privacy targets of the privacy-targeted advice: names, defaults and accepted ranges.

The server checks a request's targets with them (a bad name or value is INVALID_ARGUMENT before
any engine work) and the engine's search (engine/privacy_advice.py) measures trials against them.
The defaults are issue 21's targets: six privacy measures and one utility bound
(``utility_loss``: a model trained on avatars within 0.03 of one trained on real rows), which the
search can only measure when a target column is named.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from veil_service.errors import InvalidArgumentError, Message


@dataclass(frozen=True)
class PrivacyTargets:
    """What a parameter set must reach on the sample (issue 21's targets by default).

    Attributes:
        hidden_rate: Minimum hidden rate, in % (strictly above).
        local_cloaking: Minimum median local cloaking.
        singling_out: Maximum singling-out risk, a fraction in [0, 1].
        linkability: Maximum linkability risk, a fraction.
        inference: Maximum inference risk (worst secret), a fraction.
        distance_ratio: Maximum ratio of control to training distances to the nearest avatar.
        unique_copies: Maximum share of avatars equal to a row that occurs once.
        utility_loss: Maximum loss of the utility model's score (ROC AUC, accuracy or R2 of the
            named target column trained on real rows, minus the same trained on avatars, both
            tested on the held-out part). Issue 21 states its privacy targets next to this one:
            avatars that meet every risk but no longer predict are not what was asked for.
            Measured only with a target column; without one it is not checked (the column
            shapes and pair trends score has no "real" reference to lose against).
    """

    hidden_rate: float = 90.0
    local_cloaking: float = 10.0
    singling_out: float = 0.10
    linkability: float = 0.10
    inference: float = 0.10
    distance_ratio: float = 1.1
    unique_copies: float = 0.0
    utility_loss: float = 0.03

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> PrivacyTargets:
        """Targets from a dict of overrides; unknown names and bad values are refused.

        Raises:
            InvalidArgumentError: a name is not a target or a value is out of its range.
        """
        known = {f.name for f in fields(cls)}
        overrides: dict[str, float] = {}
        for name, value in (values or {}).items():
            where = f"privacy_targets.{name}"
            if name not in known:
                raise InvalidArgumentError(
                    f"{name!r} is not a privacy target; use one of {', '.join(sorted(known))}.",
                    field=where,
                    code=Message.TARGET_UNKNOWN,
                    params={"name": name, "choices": ", ".join(sorted(known))},
                )
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidArgumentError(
                    f"{where} must be a number; got {value!r}.",
                    field=where,
                    code=Message.TARGET_NOT_NUMBER,
                    params={"field": where, "value": value},
                )
            low, high = _RANGES[name]
            if not low <= float(value) <= high:
                raise InvalidArgumentError(
                    f"{where} must be between {low} and {high}; got {value!r}.",
                    field=where,
                    code=Message.TARGET_OUT_OF_RANGE,
                    params={"field": where, "low": low, "high": high, "value": value},
                )
            overrides[name] = float(value)
        return cls(**overrides)

    def failures(self, measures: Mapping[str, float]) -> tuple[str, ...]:
        """Names of the targets ``measures`` miss, in the attribute order (NaN misses; the
        utility target only when ``measures`` has ``utility_loss``, see the class docstring)."""
        failed = []
        for name in _LOWER_BOUNDS:
            if not measures[name] > getattr(self, name) - (name == "local_cloaking") * 1e-9:
                failed.append(name)
        for name in self._upper_bounds(measures):  # written so that a NaN (not computable) fails
            if not measures[name] <= getattr(self, name) + 1e-12:
                failed.append(name)
        return tuple(failed)

    @staticmethod
    def privacy_failures(failed: tuple[str, ...]) -> tuple[str, ...]:
        """The privacy targets among ``failed`` (every target but the utility bound)."""
        return tuple(name for name in failed if name != UTILITY_TARGET)

    @staticmethod
    def _upper_bounds(measures: Mapping[str, float]) -> tuple[str, ...]:
        return _UPPER_BOUNDS + ((UTILITY_TARGET,) if UTILITY_TARGET in measures else ())

    def shortfall(self, measures: Mapping[str, float]) -> float:
        """How far ``measures`` are from the targets, each miss relative to its target."""
        worst = 0.0
        for name in _LOWER_BOUNDS:
            target = getattr(self, name)
            miss = (target - measures[name]) / max(target, 1e-9)
            worst = max(worst, 1.0 if math.isnan(miss) else miss)
        for name in self._upper_bounds(measures):
            target = getattr(self, name)
            miss = (measures[name] - target) / max(target, 0.01)
            worst = max(worst, 1.0 if math.isnan(miss) else miss)
        return worst

    def as_dict(self) -> dict[str, float]:
        """Every target by name."""
        return {f.name: float(getattr(self, f.name)) for f in fields(self)}


def check_privacy_targets(values: Mapping[str, Any]) -> dict[str, float]:
    """The targets with defaults filled in; a bad name or value raises (see ``from_mapping``)."""
    return PrivacyTargets.from_mapping(values).as_dict()


_RANGES = {
    "hidden_rate": (0.0, 100.0),
    "local_cloaking": (0.0, 1000.0),
    "singling_out": (0.0, 1.0),
    "linkability": (0.0, 1.0),
    "inference": (0.0, 1.0),
    "distance_ratio": (0.5, 10.0),
    "unique_copies": (0.0, 1.0),
    "utility_loss": (0.0, 1.0),
}
#: The one target that bounds utility, not a risk.
UTILITY_TARGET = "utility_loss"
_LOWER_BOUNDS = ("hidden_rate", "local_cloaking")
_UPPER_BOUNDS = (
    "singling_out",
    "linkability",
    "inference",
    "distance_ratio",
    "unique_copies",
)
