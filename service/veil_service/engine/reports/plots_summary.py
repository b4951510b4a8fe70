"""The metrics_summary figure: every privacy and signal metric against its target.

Metrics have unrelated units (percentages, counts, distances), so the chart plots each one's
distance to its target as a ratio (1 = exactly on target, right of the line = target met) and
the table under it gives the raw values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure as MplFigure

from veil_service.engine.reports.catalog import MetricResult, Target, evaluate_metrics
from veil_service.engine.reports.html import AVATAR_COLOR, FAIL_COLOR, ORIGINAL_COLOR, new_figure
from veil_service.engine.reports.html import table as html_table
from veil_service.engine.reports.i18n import Translator

#: Ratios are clipped so that one huge margin does not flatten the others.
_MAX_RATIO = 3.0


def target_ratio(value: float, target: Target) -> float:
    """How far a value is past its target: > 1 means met, < 1 missed, clipped to [0, 3]."""
    if target.op in (">", ">="):
        ratio = value / target.threshold if target.threshold else (_MAX_RATIO if value > 0 else 0)
    else:
        ratio = target.threshold / value if value > 0 else _MAX_RATIO
    return float(np.clip(ratio, 0.0, _MAX_RATIO))


def summary_rows(
    privacy: Mapping[str, Any] | None,
    signal: Mapping[str, Any] | None,
    targets: Mapping[str, Target | None] | None = None,
) -> list[MetricResult]:
    """Privacy then signal rows, judged as the reports judge them."""
    return evaluate_metrics(privacy, "privacy", default_targets=targets) + evaluate_metrics(
        signal, "signal", default_targets=targets
    )


def metrics_summary_figure(rows: list[MetricResult], t: Translator) -> MplFigure | None:
    """Horizontal bars of target ratios; None when no metric with a target was computed."""
    judged = [r for r in rows if r.value is not None and r.target is not None]
    if not judged:
        return None
    figure = new_figure(6.6, 0.9 + 0.3 * len(judged))
    ax = figure.add_subplot()
    positions = np.arange(len(judged))
    ratios = [target_ratio(r.value, r.target) for r in judged if r.value is not None and r.target]
    colors = [AVATAR_COLOR if r.passed else FAIL_COLOR for r in judged]
    # A value of 0 (e.g. distance_to_closest with exact copies) still gets a visible red stub.
    ax.barh(positions, [max(ratio, 0.03) for ratio in ratios], color=colors, height=0.6)
    ax.axvline(1.0, color=ORIGINAL_COLOR, linestyle="--", linewidth=1)
    ax.set_yticks(positions, [t.metric_name(r.key) for r in judged], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, _MAX_RATIO)
    ax.set_xlabel(t("fig.summary.axis"))
    return figure


def metrics_summary_table(rows: list[MetricResult], t: Translator) -> str:
    """HTML table of every row, "not computed" included, with a coloured verdict cell."""
    header = [t("common.metric"), t("common.value"), t("common.target"), t("common.result")]
    cells, classes = [], []
    for row in rows:
        verdict = t.verdict(row.passed, computed=row.value is not None)
        value = t.number(row.value) + (f" {row.unit}" if row.value is not None and row.unit else "")
        cells.append([t.metric_name(row.key), value, t.target(row.target), verdict])
        classes.append("" if row.passed is None else ("pass" if row.passed else "fail"))
    return html_table(header, cells, classes)
