"""Build every single-table figure of a run as self-contained HTML pages.

The engine calls `build_figures` once per table at the end of the standard and metrics jobs
(switch `compute_figures`). Each figure is a complete HTML page with inline SVG (or, for the 3D
projection, an inline canvas script), so `render_plot` can show it in a notebook or write
`<table>_<kind>_<i>.html` and open it without network access.

The report job calls `build_report_figures` instead: the reports embed PNGs of a few key figures
only, and the pages already exist (the standard job wrote them), so it draws those figures
alone and rasterizes them, with no SVG. Drawing every page again there cost Adult's report job
about 2 of its 4 CPU seconds (docs/benchmarks.md, "Figures: drawn once, on both cores").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import pandas as pd
from matplotlib.figure import Figure as MplFigure

from veil_service.engine.forked_map import forked_map
from veil_service.engine.reports.catalog import MetricResult
from veil_service.engine.reports.context import PiaContext
from veil_service.engine.reports.figure import PLOT_KINDS, Figure
from veil_service.engine.reports.html import message, page, settle, style, to_png, to_svg
from veil_service.engine.reports.i18n import Translator
from veil_service.engine.reports.plots_multivariate import (
    contribution_figure,
    correlation_difference_figure,
    correlation_figure,
    correlation_matrices,
    projection_2d_figure,
)
from veil_service.engine.reports.plots_summary import (
    metrics_summary_figure,
    metrics_summary_table,
    summary_rows,
)
from veil_service.engine.reports.plots_univariate import (
    aggregate_stats_figure,
    distribution_figure,
)
from veil_service.engine.reports.projection import contributions as compute_contributions
from veil_service.engine.reports.projection import famd_like_projection
from veil_service.engine.reports.projection3d import projection_3d_body
from veil_service.engine.reports.risk import targets_for_context

__all__ = [
    "DEFAULT_MAX_DISTRIBUTION_PLOTS",
    "PLOT_KINDS",
    "REPORT_PAGE_KINDS",
    "Figure",
    "build_figures",
    "build_report_figures",
]

#: Distribution plots per table when the run does not set `max_distribution_plots`.
DEFAULT_MAX_DISTRIBUTION_PLOTS = 20
#: Distribution plots that also get a PNG for the technical report.
_REPORT_DISTRIBUTIONS = 4
#: Kinds whose PNG the reports embed.
KEY_KINDS = frozenset(
    {
        "distribution",
        "aggregate_stats",
        "correlation_difference",
        "2d_projection",
        "contribution",
        "metrics_summary",
    }
)
#: Kinds whose page the report job writes as well: only it has the metrics they summarize.
REPORT_PAGE_KINDS = frozenset({"metrics_summary"})


class _Builder:
    """Collects figures for one table, rendering SVG (and PNG for key ones) as it goes.

    With ``pages`` off (the report job), it keeps only the figures that get a PNG and renders
    the SVG page of `REPORT_PAGE_KINDS` alone; callers ask `wants` before drawing a figure, so
    a figure nobody keeps is never drawn.
    """

    def __init__(self, table_name: str, t: Translator, with_png: bool, pages: bool = True) -> None:
        self.table_name = table_name
        self.t = t
        self.with_png = with_png
        self.pages = pages
        self.figures: list[Figure] = []

    def wants(self, *, png: bool = False) -> bool:
        """Whether a figure with (or without) a PNG is kept, so worth drawing at all."""
        return self.pages or (png and self.with_png)

    def add(
        self,
        kind: str,
        figure: MplFigure | None,
        *,
        extra_html: str = "",
        title: str | None = None,
        png: bool = False,
        fallback: str = "",
    ) -> None:
        if not self.wants(png=png):
            return
        index = sum(1 for f in self.figures if f.kind == kind)
        heading = title or self.t(f"fig.{kind}.title")
        with_page = self.pages or kind in REPORT_PAGE_KINDS
        html = ""
        png_bytes = None
        if figure is not None:
            settle(figure)
            if with_page:
                html = self._page(heading, kind, to_svg(figure) + extra_html)
            png_bytes = to_png(figure) if png and self.with_png else None
        elif with_page:
            html = self._page(
                heading, kind, message(fallback or self.t("fig.unavailable")) + extra_html
            )
        self.figures.append(
            Figure(
                kind=kind,
                index=index,
                filename=f"{self.table_name}_{kind}_{index}.html",
                html=html,
                title=heading,
                table_name=self.table_name,
                png=png_bytes,
            )
        )

    def _page(self, heading: str, kind: str, body: str) -> str:
        return page(
            f"{self.table_name} · {heading}",
            body,
            caption=self.t(f"fig.{kind}.caption"),
            language=self.t.language,
        )


def build_figures(
    original: pd.DataFrame,
    avatars: pd.DataFrame,
    *,
    original_projections: pd.DataFrame | None = None,
    avatar_projections: pd.DataFrame | None = None,
    privacy: Mapping[str, Any] | None = None,
    signal: Mapping[str, Any] | None = None,
    table_name: str,
    max_distribution_plots: int = DEFAULT_MAX_DISTRIBUTION_PLOTS,
    contributions: pd.DataFrame | None = None,
    language: str = "en",
    pia: PiaContext | None = None,
    seed: int = 0,
    with_png: bool = True,
    workers: int = 1,
) -> list[Figure]:
    """Render every single-table PlotKind for one table.

    Args:
        original: Original table.
        avatars: Avatar table (same columns; shuffled or not).
        original_projections: FAMD coordinates of the originals from the standard job; when
            None (metrics-only runs) a light projection is computed here, for pictures only.
        avatar_projections: FAMD coordinates of the avatars, same columns.
        privacy: Privacy metrics dict of the table (metrics_summary), or None.
        signal: Signal metrics dict of the table, or None.
        table_name: Table name, used in titles and file names.
        max_distribution_plots: At most this many distribution figures, first columns first.
        contributions: Variable contributions (%) per dimension, index = variable; computed
            from the coordinates when None.
        language: "en" or "fr" for titles and labels (the run's report language).
        pia: PIA context, for the targets metrics_summary judges against.
        seed: Seed of the point samples, so the same run draws the same pictures.
        with_png: Also rasterize the key figures for the reports.
        workers: Processes to draw in; with 2 or more, the distributions are drawn in one
            forked process and the other kinds in another (the engine's jobs pass their cores;
            the figures are the same either way).

    Returns:
        Figures in PlotKind order; every kind is present, with an explanatory page when its
        data is missing (e.g. "fewer than two numeric columns").

    Raises:
        ValueError: for an unknown language or a negative `max_distribution_plots`.
    """
    if max_distribution_plots < 0:
        raise ValueError("max_distribution_plots must be >= 0.")
    translator = Translator(language)
    return _Drawing(
        partial(_Builder, table_name, translator, with_png),
        original,
        avatars,
        original_projections,
        avatar_projections,
        contributions,
        summary_rows(privacy, signal, targets_for_context(pia or PiaContext())),
        max_distribution_plots,
        seed,
    ).figures(workers)


def build_report_figures(
    original: pd.DataFrame,
    avatars: pd.DataFrame,
    *,
    original_projections: pd.DataFrame | None = None,
    avatar_projections: pd.DataFrame | None = None,
    privacy: Mapping[str, Any] | None,
    signal: Mapping[str, Any] | None,
    table_name: str,
    language: str = "en",
    pia: PiaContext | None = None,
    seed: int = 0,
    workers: int = 1,
) -> list[Figure]:
    """The figures the technical report embeds, as PNG, and the metrics summary's page.

    The same figures, drawn the same way, as `build_figures` gives a PNG to (its first
    distributions and the key kinds), and nothing else: the other pages are the standard job's.
    Only the `REPORT_PAGE_KINDS` figures carry their HTML page; the others' ``html`` is empty.

    Args:
        original: Original table.
        avatars: Avatar table (same columns).
        original_projections: The standard job's coordinates of the originals, as for
            `build_figures`; None for a light projection of both tables.
        avatar_projections: The standard job's coordinates of the avatars.
        privacy: Privacy metrics dict of the table, or None.
        signal: Signal metrics dict of the table, or None.
        table_name: Table name, used in titles and file names.
        language: "en" or "fr", the run's report language.
        pia: PIA context, for the targets the metrics summary judges against.
        seed: Seed of the point samples, as for `build_figures`.
        workers: Processes to draw in, as for `build_figures`.

    Returns:
        Figures in PlotKind order; a kind with nothing to draw still gets a figure, without PNG.

    Raises:
        ValueError: for an unknown language.
    """
    translator = Translator(language)
    return _Drawing(
        partial(_Builder, table_name, translator, with_png=True, pages=False),
        original,
        avatars,
        original_projections,
        avatar_projections,
        None,
        summary_rows(privacy, signal, targets_for_context(pia or PiaContext())),
        DEFAULT_MAX_DISTRIBUTION_PLOTS,
        seed,
    ).figures(workers)


@dataclass(frozen=True)
class _Drawing:
    """What one table's figures are drawn from, and the two halves they are drawn in.

    The distributions (one figure per column) and the other kinds take about the same time on
    a table of a dozen columns, and share nothing but these inputs, so with two cores each
    half is drawn in its own forked process (`forked_map`) and the figures are put back in
    PlotKind order: the same figures, in the same order, as drawn one after the other.
    """

    new_builder: Callable[[], _Builder]
    original: pd.DataFrame
    avatars: pd.DataFrame
    original_projections: pd.DataFrame | None
    avatar_projections: pd.DataFrame | None
    contributions: pd.DataFrame | None
    rows: list[MetricResult]
    max_distribution_plots: int
    seed: int

    def figures(self, workers: int) -> list[Figure]:
        """Every figure, drawing the halves side by side when ``workers`` > 1."""
        halves = [partial(self._half, self._distributions), partial(self._half, self._others)]
        if workers <= 1:
            return [figure for half in halves for figure in half()]
        return [figure for drawn in forked_map(halves, workers=workers) for figure in drawn]

    def _half(self, draw: Callable[[_Builder], None]) -> list[Figure]:
        builder = self.new_builder()
        with style():
            draw(builder)
        return builder.figures

    def _distributions(self, builder: _Builder) -> None:
        _distributions(builder, self.original, self.avatars, self.max_distribution_plots)

    def _others(self, builder: _Builder) -> None:
        t = builder.t
        original, avatars, seed = self.original, self.avatars, self.seed
        figure, stats_table = aggregate_stats_figure(original, avatars, t)
        builder.add(
            "aggregate_stats",
            figure,
            extra_html=stats_table,
            png=True,
            fallback=t("fig.no_numeric"),
        )
        wanted = [
            (kind, draw)
            for kind, draw in (
                ("correlation", correlation_figure),
                ("correlation_difference", correlation_difference_figure),
            )
            if builder.wants(png=kind in KEY_KINDS)
        ]
        matrices = correlation_matrices(original, avatars) if wanted else None
        for kind, draw in wanted:
            drawn = draw(matrices, t) if matrices is not None else None
            builder.add(kind, drawn, png=kind in KEY_KINDS, fallback=t("fig.no_numeric"))
        coords_o, coords_a = _coordinates(
            original, avatars, self.original_projections, self.avatar_projections, seed
        )
        _projections(builder, original, avatars, coords_o, coords_a, seed)
        contributions = self.contributions
        if contributions is None and coords_o is not None:
            contributions = compute_contributions(original, coords_o)
        drawn_contrib = (
            contribution_figure(contributions, t)
            if contributions is not None and not contributions.empty
            else None
        )
        builder.add("contribution", drawn_contrib, png=True)
        builder.add(
            "metrics_summary",
            metrics_summary_figure(self.rows, t),
            extra_html=metrics_summary_table(self.rows, t),
            png=True,
            fallback=t("fig.no_metrics"),
        )


def _distributions(
    builder: _Builder, original: pd.DataFrame, avatars: pd.DataFrame, limit: int
) -> None:
    empty = pd.Series([], dtype="float64")
    for position, column in enumerate(list(original.columns)[:limit]):
        if not builder.wants(png=position < _REPORT_DISTRIBUTIONS):
            break
        other = avatars.get(column, empty)
        figure = distribution_figure(str(column), original[column], other, builder.t)
        builder.add(
            "distribution",
            figure,
            title=builder.t("fig.distribution.title_column", column=column),
            png=position < _REPORT_DISTRIBUTIONS,
        )


def _usable(frame: pd.DataFrame | None) -> bool:
    return frame is not None and frame.shape[1] >= 2


def _coordinates(
    original: pd.DataFrame,
    avatars: pd.DataFrame,
    original_projections: pd.DataFrame | None,
    avatar_projections: pd.DataFrame | None,
    seed: int,
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Given coordinates when both are usable, else the fallback projection."""
    if _usable(original_projections) and _usable(avatar_projections):
        return original_projections, avatar_projections
    if original.empty or avatars.empty:
        return None, None
    return famd_like_projection(original, avatars, n_components=3, seed=seed)


def _projections(
    builder: _Builder,
    original: pd.DataFrame,
    avatars: pd.DataFrame,
    coords_o: pd.DataFrame | None,
    coords_a: pd.DataFrame | None,
    seed: int,
) -> None:
    t = builder.t
    if coords_o is None or coords_a is None:
        builder.add("2d_projection", None)
        builder.add("3d_projection", None)
        return
    if coords_o.shape[1] < 2 or coords_a.shape[1] < 2:
        # One informative column (a single numeric one, or the others constant) projects on
        # one dimension: there is no plane to draw, and the job must not fail for it.
        builder.add("2d_projection", None, png=True, fallback=t("fig.2d_projection.too_few"))
    else:
        builder.add("2d_projection", projection_2d_figure(coords_o, coords_a, t, seed), png=True)
    if not builder.wants():
        return  # the 3D view is a page only
    caption = t("fig.3d_projection.caption")
    if (coords_o.shape[1] < 3 or coords_a.shape[1] < 3) and original.shape[1] >= 3:
        # The job kept two components (ncp=2): draw the 3D view from our own projection.
        coords_o, coords_a = famd_like_projection(original, avatars, n_components=3, seed=seed)
        caption = t("fig.3d_projection.caption_refit")
    if coords_o.shape[1] < 3 or coords_a.shape[1] < 3:
        builder.add("3d_projection", None, fallback=t("fig.3d_projection.too_few"))
        return
    body = projection_3d_body(
        coords_o,
        coords_a,
        labels=(t("fig.original"), t("fig.avatars")),
        hint=t("fig.3d_projection.hint"),
        no_script=t("fig.3d_projection.no_script"),
        seed=seed,
    )
    index = 0
    builder.figures.append(
        Figure(
            kind="3d_projection",
            index=index,
            filename=f"{builder.table_name}_3d_projection_{index}.html",
            html=page(
                f"{builder.table_name} · {t('fig.3d_projection.title')}",
                body,
                caption=caption,
                language=t.language,
            ),
            title=t("fig.3d_projection.title"),
            table_name=builder.table_name,
        )
    )
