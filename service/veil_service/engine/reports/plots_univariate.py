"""Univariate figures: one distribution per column, and mean/std of the first numeric columns.

Originals (grey) and avatars (green) share the same bins or categories on the same axes, since
the question a reader asks is "do the two shapes match?".
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure as MplFigure

from veil_service.engine.reports.context import column_kind
from veil_service.engine.reports.html import (
    AVATAR_COLOR,
    ORIGINAL_COLOR,
    new_figure,
    short_label,
    table,
)
from veil_service.engine.reports.i18n import Translator

#: Categories shown before the rest is grouped into "other".
_MAX_CATEGORIES = 15
#: Columns summarized by aggregate_stats (the Octopize figure shows the first 10).
AGGREGATE_COLUMNS = 10


def _as_plot_numbers(series: pd.Series) -> np.ndarray:
    if column_kind(series) == "datetime":
        values = pd.to_datetime(series, utc=True).dropna().dt.tz_localize(None)
        # Days since 1970-01-01: matplotlib's default date epoch, so xaxis_date() reads them.
        nanoseconds = values.to_numpy(dtype="datetime64[ns]").astype("int64")
        return nanoseconds.astype(float) / 86_400e9
    numbers: np.ndarray = np.asarray(pd.to_numeric(series, errors="coerce"), dtype=float)
    finite: np.ndarray = numbers[np.isfinite(numbers)]
    return finite


def _labels(series: pd.Series, kind: str, t: Translator) -> pd.Series:
    """Category labels; numbers go through float so that 5 and 5.0 are the same bar."""
    if kind == "numeric":
        numbers = pd.to_numeric(series, errors="coerce")
        labels = numbers.map(lambda v: f"{v:g}", na_action="ignore")
        return labels.astype("string").fillna(t("fig.missing"))
    return series.astype("string").fillna(t("fig.missing"))


def _numeric_order(level: str, t: Translator) -> float:
    """Sort key putting numeric levels in value order and the missing label last."""
    try:
        return float(level)
    except ValueError:
        return float("inf")


def distribution_figure(
    column: str, original: pd.Series, avatars: pd.Series, t: Translator
) -> MplFigure:
    """Overlaid histograms (numeric, datetime) or paired bars (categorical, boolean).

    Args:
        column: Column name (title and axis label).
        original: The original column.
        avatars: The avatar column.
        t: Translator for labels.
    """
    figure = new_figure(6.4, 3.4)
    ax = figure.add_subplot()
    kind = column_kind(original)
    if kind in ("numeric", "datetime") and original.nunique(dropna=True) > _MAX_CATEGORIES:
        o, a = _as_plot_numbers(original), _as_plot_numbers(avatars)
        both = np.concatenate([o, a])
        if both.size == 0:
            both = np.zeros(1)
        edges = np.histogram_bin_edges(both, bins=min(40, max(5, int(np.sqrt(both.size)))))
        bins_list = [float(edge) for edge in edges]
        ax.hist(
            o,
            bins=bins_list,
            density=True,
            histtype="stepfilled",
            color=ORIGINAL_COLOR,
            alpha=0.55,
            label=t("fig.original"),
        )
        ax.hist(
            a,
            bins=bins_list,
            density=True,
            histtype="step",
            linewidth=1.6,
            color=AVATAR_COLOR,
            label=t("fig.avatars"),
        )
        ax.set_ylabel(t("fig.density"))
        if kind == "datetime":
            ax.xaxis_date()
    else:
        o_share = _labels(original, kind, t).value_counts(normalize=True)
        a_share = _labels(avatars, kind, t).value_counts(normalize=True)
        levels = [str(level) for level in o_share.index[:_MAX_CATEGORIES]]
        if kind == "numeric":
            levels.sort(key=lambda level: _numeric_order(level, t))
        o_vals = [float(o_share.get(level, 0.0)) for level in levels]
        a_vals = [float(a_share.get(level, 0.0)) for level in levels]
        o_rest, a_rest = max(0.0, 1.0 - sum(o_vals)), max(0.0, 1.0 - sum(a_vals))
        if max(o_rest, a_rest) > 0.001:
            levels.append(t("fig.other"))
            o_vals.append(o_rest)
            a_vals.append(a_rest)
        positions = np.arange(len(levels))
        ax.barh(positions - 0.2, o_vals, height=0.4, color=ORIGINAL_COLOR, label=t("fig.original"))
        ax.barh(positions + 0.2, a_vals, height=0.4, color=AVATAR_COLOR, label=t("fig.avatars"))
        ax.set_yticks(positions, [short_label(str(level), 24) for level in levels])
        ax.invert_yaxis()
        ax.set_xlabel(t("fig.share"))
    ax.set_title(column)
    ax.legend(frameon=False, fontsize=8)
    return figure


def numeric_columns(original: pd.DataFrame) -> list[str]:
    """Columns treated as continuous by aggregate_stats and the correlation figures."""
    return [str(c) for c in original.columns if column_kind(original[c]) == "numeric"]


def aggregate_stats_figure(
    original: pd.DataFrame, avatars: pd.DataFrame, t: Translator
) -> tuple[MplFigure | None, str]:
    """Mean and standard deviation of the first numeric columns, originals against avatars.

    Columns have unrelated scales, so the chart shows each avatar statistic as a percentage of the
    original one (100 % = identical) and the table beside it gives the raw values.

    Returns:
        (figure, HTML table); the figure is None when the table has no numeric column.
    """
    columns = [c for c in numeric_columns(original) if c in avatars][:AGGREGATE_COLUMNS]
    if not columns:
        return None, ""
    rows: list[list[str]] = []
    mean_ratio, std_ratio = [], []
    for col in columns:
        o = pd.to_numeric(original[col], errors="coerce")
        a = pd.to_numeric(avatars[col], errors="coerce")
        om, am, os_, as_ = float(o.mean()), float(a.mean()), float(o.std()), float(a.std())
        mean_ratio.append(100.0 * am / om if om else np.nan)
        std_ratio.append(100.0 * as_ / os_ if os_ else np.nan)
        rows.append([col, *(t.number(v) if np.isfinite(v) else "-" for v in (om, am, os_, as_))])
    figure = new_figure(7.2, 0.9 + 0.32 * len(columns))
    positions = np.arange(len(columns))
    labels = [short_label(c) for c in columns]
    for slot, (values, title) in enumerate(
        ((mean_ratio, t("fig.agg.mean_ratio")), (std_ratio, t("fig.agg.std_ratio")))
    ):
        ax = figure.add_subplot(1, 2, slot + 1)
        ax.barh(positions, values, color=AVATAR_COLOR, height=0.6)
        ax.axvline(100.0, color=ORIGINAL_COLOR, linestyle="--", linewidth=1)
        ax.set_yticks(positions, labels if slot == 0 else [""] * len(labels))
        ax.invert_yaxis()
        ax.set_title(title)
        ax.set_xlabel("%")
    header = [
        t("fig.agg.column"),
        t("fig.agg.mean_original"),
        t("fig.agg.mean_avatars"),
        t("fig.agg.std_original"),
        t("fig.agg.std_avatars"),
    ]
    return figure, table(header, rows)
