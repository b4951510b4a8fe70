"""Turning attack success counts into a risk, as anonymeter does (Giomi et al., PoPETs 2023).

Each attack is run three times: on the original records (main), on control records that never
helped build the avatars, and as a random-guess baseline. Success rates get Wilson score
intervals, and the risk is the part of the main success the control does not explain:
``risk = (r_main - r_ref) / (1 - r_ref)``, clipped to [0, 1], reported in % like Veil's other
rates. Without a control set the baseline is the reference, which overstates the risk (a random
guesser is weaker than a real outsider) instead of understating it: for a privacy decision the
safe side. See docs/metrics.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.stats import norm


@dataclass(frozen=True)
class SuccessRate:
    """A Wilson-score estimate of an attack's success rate (fractions in [0, 1])."""

    value: float
    error: float


def wilson_rate(successes: float, attempts: int, confidence: float) -> SuccessRate:
    """Wilson score estimate of a success rate, anonymeter's ``probit``-based formula.

    Args:
        successes: Number of successful attempts (may be fractional when rescaled).
        attempts: Number of attempts (> 0).
        confidence: Two-sided confidence level, e.g. 0.95.
    """
    z = float(norm.ppf(1.0 - (1.0 - confidence) / 2.0))
    n = float(attempts)
    centre = (successes + z * z / 2.0) / (n + z * z)
    spread = max(successes * (n - successes) / n, 0.0) + z * z / 4.0
    return SuccessRate(value=centre, error=z / (n + z * z) * math.sqrt(spread))


@dataclass(frozen=True)
class AttackResult:
    """The outcome of one attack, as reported in the result dict (rates and risk in %)."""

    risk: float
    risk_low: float
    risk_high: float
    main_rate: float
    reference_rate: float
    baseline_rate: float
    reference: str
    n_attacks: int
    trustworthy: bool
    #: The raw counts the rates come from, so that attacks repeated on several samples can be
    #: pooled into one risk (engine/privacy_advice.py) instead of averaging clipped risks.
    main_successes: float = 0.0
    baseline_successes: float = 0.0
    control_successes: float | None = None

    def as_dict(self) -> dict[str, float | int | str | bool | list[float]]:
        """Plain values for the result dict."""
        return {
            "risk": self.risk,
            "confidence_interval": [self.risk_low, self.risk_high],
            "main_success_rate": self.main_rate,
            "reference_success_rate": self.reference_rate,
            "baseline_success_rate": self.baseline_rate,
            "reference": self.reference,
            "n_attacks": self.n_attacks,
            "trustworthy": self.trustworthy,
        }


def attack_risk(
    main_successes: float,
    baseline_successes: float,
    control_successes: float | None,
    n_attacks: int,
    confidence: float,
    excess_error: float | None = None,
) -> AttackResult:
    """Combine the three attacks' successes into a risk with its confidence interval.

    Args:
        main_successes: Successes against the original records.
        baseline_successes: Successes of the random-guess attacker.
        control_successes: Successes against the control records, or None without a control.
        n_attacks: Attempts of each attack.
        confidence: Confidence level of the interval.
        excess_error: The standard deviation, in successes, of main minus control successes
            when the control's figure was estimated from the main attack's own successes, so
            the two are not independent (singling out with a smaller control,
            ``attacks.control_at_original_size``); the interval is then built from it instead
            of from the two rates' own errors.

    Returns:
        The risk in % with its interval. ``trustworthy`` is False when the baseline does at least
        as well as the main attack (anonymeter's "results cannot be trusted" warning): the
        attack then learned nothing from the avatars and the risk says little.
    """
    main = wilson_rate(main_successes, n_attacks, confidence)
    baseline = wilson_rate(baseline_successes, n_attacks, confidence)
    if control_successes is None:
        ref, label = baseline, "baseline"
    else:
        ref, label = wilson_rate(control_successes, n_attacks, confidence), "control"
    if ref.value >= 1.0:
        risk, error = 0.0, 1.0
    else:
        risk = (main.value - ref.value) / (1.0 - ref.value)
        d_main = 1.0 / (1.0 - ref.value)
        d_ref = (main.value - 1.0) / (1.0 - ref.value) ** 2
        error = math.sqrt((main.error * d_main) ** 2 + (ref.error * d_ref) ** 2)
        if excess_error is not None and control_successes is not None:
            z = float(norm.ppf(1.0 - (1.0 - confidence) / 2.0))
            error = z * excess_error / (n_attacks + z * z) / (1.0 - ref.value)
    clipped = min(max(risk, 0.0), 1.0)
    return AttackResult(
        risk=clipped * 100.0,
        risk_low=min(max(risk - error, 0.0), 1.0) * 100.0,
        risk_high=min(max(risk + error, 0.0), 1.0) * 100.0,
        main_rate=main.value * 100.0,
        reference_rate=ref.value * 100.0,
        baseline_rate=baseline.value * 100.0,
        reference=label,
        n_attacks=n_attacks,
        trustworthy=baseline.value < main.value,
        main_successes=float(main_successes),
        baseline_successes=float(baseline_successes),
        control_successes=None if control_successes is None else float(control_successes),
    )
