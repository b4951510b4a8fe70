"""Bivariate and multivariate figures: correlations, 2D projection, variable contributions.

Correlations use continuous columns only (Pearson), as Octopize's report does, and the
difference figure is the picture behind `correlation_difference_ratio`. The projection overlays
at most 10,000 originals (grey) and 10,000 avatars (green) on the first two dimensions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure as MplFigure
from matplotlib.image import AxesImage

from veil_service.engine.reports.html import (
    AVATAR_COLOR,
    ORIGINAL_COLOR,
    new_figure,
    short_label,
)
from veil_service.engine.reports.i18n import Translator
from veil_service.engine.reports.plots_univariate import numeric_columns

#: Columns shown in a correlation matrix; more become unreadable.
MAX_CORRELATION_COLUMNS = 30
#: Points per population in the 2D projection (Octopize's report uses at most 10,000).
MAX_PROJECTION_POINTS = 10_000
#: Variables shown per dimension in the contribution figure.
MAX_CONTRIBUTION_VARIABLES = 20


def correlation_matrices(
    original: pd.DataFrame, avatars: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Pearson matrices of the continuous columns; None with fewer than two such columns."""
    columns = [c for c in numeric_columns(original) if c in avatars][:MAX_CORRELATION_COLUMNS]
    columns = [c for c in columns if original[c].nunique(dropna=True) > 1]
    if len(columns) < 2:
        return None
    o = original[columns].apply(pd.to_numeric, errors="coerce").astype(float).corr()
    a = avatars[columns].apply(pd.to_numeric, errors="coerce").astype(float).corr()
    return o.fillna(0.0), a.fillna(0.0)


def _heatmap(
    ax: Axes, matrix: pd.DataFrame, cmap: str, vmin: float, vmax: float, annotate: bool
) -> AxesImage:
    image = ax.imshow(matrix.to_numpy(), cmap=cmap, vmin=vmin, vmax=vmax)
    labels = [short_label(str(c), 14) for c in matrix.columns]
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    if annotate:
        for (row, col), value in np.ndenumerate(matrix.to_numpy()):
            ax.text(col, row, f"{value:.2f}", ha="center", va="center", fontsize=5.5)
    return image


def correlation_figure(matrices: tuple[pd.DataFrame, pd.DataFrame], t: Translator) -> MplFigure:
    """Original and avatar correlation matrices side by side, on one colour scale."""
    size = len(matrices[0])
    side = min(5.0, 2.2 + 0.2 * size)
    figure = new_figure(2 * side + 0.8, side, constrained=True)
    image: AxesImage | None = None
    for slot, (matrix, title) in enumerate(
        zip(matrices, (t("fig.original"), t("fig.avatars")), strict=True)
    ):
        ax = figure.add_subplot(1, 2, slot + 1)
        image = _heatmap(ax, matrix, "RdBu_r", -1.0, 1.0, annotate=False)
        ax.set_title(title)
    if image is not None:
        figure.colorbar(image, ax=figure.axes, shrink=0.8)
    return figure


def correlation_difference_figure(
    matrices: tuple[pd.DataFrame, pd.DataFrame], t: Translator
) -> MplFigure:
    """Absolute difference of the two correlation matrices (0 = relation kept exactly)."""
    difference = (matrices[0] - matrices[1]).abs()
    size = len(difference)
    side = min(6.0, 2.6 + 0.22 * size)
    figure = new_figure(side + 1.0, side)
    ax = figure.add_subplot()
    top = max(0.2, float(difference.to_numpy().max()))
    image = _heatmap(ax, difference, "Reds", 0.0, top, annotate=size <= 12)
    ax.set_title(t("fig.corr_diff.axis"))
    figure.colorbar(image, ax=ax, shrink=0.8)
    return figure


def _sample(frame: pd.DataFrame, limit: int, seed: int) -> pd.DataFrame:
    if len(frame) <= limit:
        return frame
    return frame.sample(n=limit, random_state=seed)


def projection_2d_figure(
    original: pd.DataFrame, avatars: pd.DataFrame, t: Translator, seed: int = 0
) -> MplFigure:
    """Originals and avatars on the first two dimensions; points rasterized to keep SVG small."""
    x, y = original.columns[0], original.columns[1]
    o = _sample(original, MAX_PROJECTION_POINTS, seed)
    a = _sample(avatars, MAX_PROJECTION_POINTS, seed + 1)
    figure = new_figure(6.0, 4.6)
    ax = figure.add_subplot()
    size = 4 if len(o) > 2000 else 9
    ax.scatter(
        o[x],
        o[y],
        s=size,
        color=ORIGINAL_COLOR,
        alpha=0.5,
        linewidths=0,
        label=t("fig.original"),
        rasterized=True,
    )
    ax.scatter(
        a[avatars.columns[0]],
        a[avatars.columns[1]],
        s=size,
        color=AVATAR_COLOR,
        alpha=0.5,
        linewidths=0,
        label=t("fig.avatars"),
        rasterized=True,
    )
    ax.set_xlabel(str(x))
    ax.set_ylabel(str(y))
    ax.legend(frameon=False, markerscale=2.5)
    return figure


def contribution_figure(contrib: pd.DataFrame, t: Translator) -> MplFigure:
    """Contribution (%) of each variable to the first dimensions, largest first."""
    dims = list(contrib.columns)
    shown = min(len(contrib), MAX_CONTRIBUTION_VARIABLES)
    figure = new_figure(3.6 * len(dims) + 0.6, 0.9 + 0.26 * shown)
    for slot, dim in enumerate(dims):
        values = contrib[dim].sort_values(ascending=False).head(shown)
        ax = figure.add_subplot(1, len(dims), slot + 1)
        positions = np.arange(len(values))
        ax.barh(positions, values.to_numpy(), color=AVATAR_COLOR, height=0.6)
        ax.set_yticks(positions, [short_label(str(v), 22) for v in values.index], fontsize=7)
        ax.invert_yaxis()
        ax.set_title(str(dim))
        ax.set_xlabel(t("fig.contribution.axis"))
    return figure
