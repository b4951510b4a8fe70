"""The ``class_projection_2d`` figure of data augmentation with a target column: originals and
output rows on the first two dimensions, coloured by class, the extra rows drawn apart.

It shows what class balancing did: the minority classes' clouds fill up with extra rows that
sit in the same region as their class's originals (a fresh avatar is drawn among its original's
neighbours), never on top of one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from veil_service.engine.reports.figure import Figure
from veil_service.engine.reports.figures import _Builder
from veil_service.engine.reports.html import new_figure, style
from veil_service.engine.reports.i18n import Translator

#: Points drawn per panel (the rest is sampled away to keep the page light).
MAX_POINTS = 6_000
#: Classes coloured one by one; the rest are grouped.
MAX_CLASSES = 8
_PALETTE = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666")


def _sample(rows: np.ndarray, limit: int, rng: np.random.Generator) -> np.ndarray:
    return rows if len(rows) <= limit else np.sort(rng.choice(rows, limit, replace=False))


def class_projection_figure(
    original_projections: pd.DataFrame,
    avatar_projections: pd.DataFrame,
    original_classes: pd.Series,
    avatar_classes: pd.Series,
    *,
    n_original: int,
    table_name: str,
    language: str = "en",
    seed: int = 0,
) -> Figure:
    """The figure (see the module docstring).

    Args:
        original_projections: Coordinates of the originals (first two columns used).
        avatar_projections: Coordinates of the output rows, unshuffled: the first
            ``n_original`` rows are the avatars of the originals, the rest the extra rows.
        original_classes: The target column of the originals.
        avatar_classes: The target column of the output rows, same order.
        n_original: Rows of the original table.
        table_name: The table's name.
        language: "en" or "fr".
        seed: Seed of the point samples.
    """
    t = Translator(language)
    builder = _Builder(table_name, t, with_png=False)
    if original_projections.shape[1] < 2 or avatar_projections.shape[1] < 2:
        builder.add("class_projection_2d", None, fallback=t("fig.unavailable"))
        return builder.figures[0]
    counts = original_classes.astype(str).value_counts()
    shown = list(counts.index[:MAX_CLASSES])
    rng = np.random.default_rng(seed)
    with style():
        figure = new_figure(9.0, 4.4)
        panels = (
            (t("fig.original"), original_projections, original_classes, None),
            (t("fig.class_projection_2d.output"), avatar_projections, avatar_classes, n_original),
        )
        for slot, (title, coords, classes, first_extra) in enumerate(panels):
            ax = figure.add_subplot(1, 2, slot + 1)
            labels = classes.astype(str).to_numpy()
            xy = coords.iloc[:, :2].to_numpy(dtype=float)
            for position, level in enumerate([*shown, None]):
                mask = ~np.isin(labels, shown) if level is None else labels == level
                rows = np.flatnonzero(mask)
                if not len(rows):
                    continue
                color = _PALETTE[position % len(_PALETTE)] if level is not None else "#bbbbbb"
                name = str(level) if level is not None else t("fig.other")
                if first_extra is None:
                    picked = _sample(rows, MAX_POINTS, rng)
                    ax.scatter(
                        xy[picked, 0],
                        xy[picked, 1],
                        s=6,
                        color=color,
                        alpha=0.6,
                        linewidths=0,
                        label=name,
                        rasterized=True,
                    )
                    continue
                base, extra = rows[rows < first_extra], rows[rows >= first_extra]
                picked = _sample(base, MAX_POINTS, rng)
                ax.scatter(
                    xy[picked, 0],
                    xy[picked, 1],
                    s=6,
                    color=color,
                    alpha=0.45,
                    linewidths=0,
                    label=name,
                    rasterized=True,
                )
                if len(extra):
                    picked = _sample(extra, MAX_POINTS, rng)
                    ax.scatter(
                        xy[picked, 0],
                        xy[picked, 1],
                        s=14,
                        facecolors="none",
                        edgecolors=color,
                        linewidths=0.6,
                        alpha=0.8,
                        label=t("fig.class_projection_2d.extra", label=name),
                        rasterized=True,
                    )
            ax.set_title(title, fontsize=9)
            ax.set_xlabel(str(coords.columns[0]))
            ax.set_ylabel(str(coords.columns[1]))
            ax.legend(frameon=False, fontsize=6, markerscale=1.5)
        builder.add("class_projection_2d", figure)
    return builder.figures[0]
