"""The two time-series figures (``PlotKind.RAW_SERIES`` and ``PlotKind.NORMALIZED_SERIES``).

* ``raw_series``: for each variable, original and avatar series side by side on their own time
  axis (at most 40 series each, the same count on both sides), as users plot them.
* ``normalized_series``: for each variable, the series aligned on the common grid (time mapped to
  [0, 1]): mean curve and the band of one standard deviation, originals against avatars, over a
  few individual curves. It shows whether avatars keep the shape and the spread of the series.

Self-contained HTML pages (inline SVG) like every other figure (``engine.reports.html``).
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure as MplFigure

from veil_service.engine.reports.figure import Figure
from veil_service.engine.reports.html import (
    AVATAR_COLOR,
    ORIGINAL_COLOR,
    new_figure,
    page,
    settle,
    style,
    to_svg,
)

RAW_SERIES = "raw_series"
NORMALIZED_SERIES = "normalized_series"
MAX_SERIES = 40

_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "raw_series.title": "Raw series: {variable}",
        "raw_series.caption": "Original (left) and avatar (right) series of {variable} on their "
        "own time axis, {count} series each.",
        "normalized_series.title": "Aligned series: {variable}",
        "normalized_series.caption": "Series of {variable} aligned on a common grid (time from "
        "start to end): mean curve and one standard deviation band, originals in grey, avatars "
        "in green.",
        "original": "original",
        "avatar": "avatar",
        "time": "time",
        "position": "position in the series (0 = start, 1 = end)",
    },
    "fr": {
        "raw_series.title": "Séries brutes : {variable}",
        "raw_series.caption": "Séries originales (à gauche) et avatars (à droite) de {variable} "
        "sur leur propre axe du temps, {count} séries chacune.",
        "normalized_series.title": "Séries alignées : {variable}",
        "normalized_series.caption": "Séries de {variable} alignées sur une grille commune (du "
        "début à la fin) : courbe moyenne et bande d'un écart type, originaux en gris, avatars "
        "en vert.",
        "original": "original",
        "avatar": "avatar",
        "time": "temps",
        "position": "position dans la série (0 = début, 1 = fin)",
    },
}


def _series(
    owner: np.ndarray, time: np.ndarray, values: np.ndarray, picks: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for individual in picks:
        rows = owner == individual
        order = np.argsort(time[rows], kind="stable")
        out.append((time[rows][order], values[rows][order]))
    return out


def series_figures(
    table_name: str,
    variables: list[str],
    original: tuple[np.ndarray, np.ndarray, np.ndarray],
    avatar: tuple[np.ndarray, np.ndarray, np.ndarray],
    original_curves: np.ndarray,
    avatar_curves: np.ndarray,
    *,
    language: str = "en",
    seed: int = 0,
) -> list[Figure]:
    """Both time-series figures of a table, one page per variable and kind.

    Args:
        table_name: The time-series table.
        variables: Its value columns.
        original: ``(owner, time, values)`` of the original readings (values: readings x vars).
        avatar: The same for the avatar readings.
        original_curves: Original aligned curves (individuals x grid x variables).
        avatar_curves: Avatar aligned curves on the same grid.
        language: ``en`` or ``fr``.
        seed: Seed of the choice of series drawn.
    """
    text = _TEXT.get(language, _TEXT["en"])
    rng = np.random.default_rng(seed)
    owners_o, owners_a = np.unique(original[0]), np.unique(avatar[0])
    count = min(MAX_SERIES, len(owners_o), len(owners_a))
    picks_o = np.sort(rng.choice(owners_o, count, replace=False))
    picks_a = np.sort(rng.choice(owners_a, count, replace=False))
    figures: list[Figure] = []
    for v, variable in enumerate(variables):
        with style():
            figure = new_figure(9.0, 3.2)
            axes = figure.subplots(1, 2, sharey=True)
            for ax, (owner, time, values), picks, color, label in (
                (axes[0], original, picks_o, ORIGINAL_COLOR, text["original"]),
                (axes[1], avatar, picks_a, AVATAR_COLOR, text["avatar"]),
            ):
                for x, y in _series(owner, time, values[:, v], picks):
                    ax.plot(x, y, color=color, linewidth=0.7, alpha=0.6)
                ax.set_title(label)
                ax.set_xlabel(text["time"])
            axes[0].set_ylabel(variable)
            settle(figure)
            figures.append(_page(table_name, RAW_SERIES, variable, figure, text, count, language))
        with style():
            figure = new_figure(6.5, 3.4)
            ax = figure.subplots()
            grid = np.linspace(0.0, 1.0, original_curves.shape[1])
            for curves, color, label in (
                (original_curves[:, :, v], ORIGINAL_COLOR, text["original"]),
                (avatar_curves[:, :, v], AVATAR_COLOR, text["avatar"]),
            ):
                for row in curves[: min(10, len(curves))]:
                    ax.plot(grid, row, color=color, linewidth=0.4, alpha=0.35)
                mean, std = curves.mean(axis=0), curves.std(axis=0)
                ax.plot(grid, mean, color=color, linewidth=2.0, label=label)
                ax.fill_between(grid, mean - std, mean + std, color=color, alpha=0.18)
            ax.set_xlabel(text["position"])
            ax.set_ylabel(variable)
            ax.legend(frameon=False)
            settle(figure)
            figures.append(
                _page(table_name, NORMALIZED_SERIES, variable, figure, text, count, language)
            )
    return _numbered(figures)


def _page(
    table_name: str,
    kind: str,
    variable: str,
    figure: MplFigure,
    text: dict[str, str],
    count: int,
    language: str,
) -> Figure:
    heading = text[f"{kind}.title"].format(variable=variable)
    return Figure(
        kind=kind,
        index=0,
        filename="",
        html=page(
            f"{table_name} · {heading}",
            to_svg(figure),
            caption=text[f"{kind}.caption"].format(variable=variable, count=count),
            language=language,
        ),
        title=heading,
        table_name=table_name,
    )


def _numbered(figures: list[Figure]) -> list[Figure]:
    out = []
    for kind in (RAW_SERIES, NORMALIZED_SERIES):
        for index, figure in enumerate(f for f in figures if f.kind == kind):
            out.append(
                Figure(
                    kind=kind,
                    index=index,
                    filename=f"{figure.table_name}_{kind}_{index}.html",
                    html=figure.html,
                    title=figure.title,
                    table_name=figure.table_name,
                )
            )
    return out
