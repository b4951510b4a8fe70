"""The privacy loss of a job's DP releases, as the engine's DP library accounted it.

A standard job whose table uses a DP generator (``open_dp_epsilon`` or ``fast_dp_epsilon``) gets
one :class:`PrivacyLoss` per table it released. The engine computes them (OpenDP's own map of its
compositor for Open DP) and returns them in the task's summary; the dispatcher records them on the
job, the Job message carries them, and the report states them.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class PrivacyLoss:
    """The (ε, δ) one table's release spent.

    Attributes:
        table_name: The table.
        generator: ``open_dp`` or ``fast_dp``.
        epsilon: ε spent (natural log base).
        delta: δ spent.
        end_to_end: Whether the whole release is DP (Fast DP's bounds are not).
        accountant: Who computed the loss.
    """

    table_name: str
    generator: str
    epsilon: float
    delta: float
    end_to_end: bool
    accountant: str


def from_summary(table_name: str, summary: dict[str, Any]) -> PrivacyLoss | None:
    """The loss an engine task reported in its summary (``privacy_loss``), if any."""
    loss = summary.get("privacy_loss")
    if not isinstance(loss, dict):
        return None
    epsilon, delta = float(loss.get("epsilon", math.nan)), float(loss.get("delta", math.nan))
    if not (math.isfinite(epsilon) and math.isfinite(delta)):
        return None
    return PrivacyLoss(
        table_name,
        str(loss.get("generator", "")),
        epsilon,
        delta,
        bool(loss.get("end_to_end", False)),
        str(loss.get("accountant", "")),
    )


def to_json(losses: list[PrivacyLoss]) -> str:
    """The job column's text."""
    return json.dumps([asdict(loss) for loss in losses])


def from_json(text: str | None) -> list[PrivacyLoss]:
    """Inverse of :func:`to_json` (empty for jobs without DP release)."""
    return [PrivacyLoss(**item) for item in json.loads(text or "[]")]
