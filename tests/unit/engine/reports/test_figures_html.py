"""Figures: every single-table PlotKind, self-contained HTML, limits and fallbacks."""

from __future__ import annotations

import re

import matplotlib
import numpy as np
import pandas as pd
import pytest
from test_reports_fixtures import PRIVACY, SIGNAL, TABLE, wbcd_figures, wbcd_tables
from veil_service.engine.reports import PLOT_KINDS, build_figures, build_report_figures

#: Anything that would make a browser fetch a resource.
_REMOTE = re.compile(
    r"""(?:src|href|xlink:href|action)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?(?:https?:)?//"""
    r"""|@import|<link\b|<iframe\b|<object\b""",
    re.IGNORECASE,
)


def test_every_plot_kind_is_produced() -> None:
    figures = wbcd_figures()
    assert {f.kind for f in figures} == set(PLOT_KINDS)
    original, _ = wbcd_tables()
    distributions = [f for f in figures if f.kind == "distribution"]
    assert len(distributions) == len(original.columns)
    assert [f.index for f in distributions] == list(range(len(original.columns)))


def test_figures_are_self_contained_html() -> None:
    for figure in wbcd_figures():
        assert figure.html.startswith("<!DOCTYPE html>"), figure.filename
        assert _REMOTE.search(figure.html) is None, figure.filename
        assert "<script src" not in figure.html
        assert figure.filename == f"{TABLE}_{figure.kind}_{figure.index}.html"
        assert figure.table_name == TABLE
        assert len(figure.html.encode()) < 300_000, figure.filename


def test_static_kinds_are_inline_svg_and_3d_is_an_inline_canvas() -> None:
    by_kind = {f.kind: f for f in wbcd_figures()}
    for kind in set(PLOT_KINDS) - {"3d_projection"}:
        assert "<svg" in by_kind[kind].html, kind
    three_d = by_kind["3d_projection"].html
    assert "<canvas" in three_d and "getContext" in three_d


def test_key_figures_carry_a_png_for_the_reports() -> None:
    by_kind = {f.kind: f for f in wbcd_figures() if f.index == 0}
    for kind in ("2d_projection", "correlation_difference", "metrics_summary", "contribution"):
        png = by_kind[kind].png
        assert png is not None and png.startswith(b"\x89PNG"), kind


def test_report_figures_are_the_pages_pngs_drawn_alone() -> None:
    """The report job draws only what the reports embed, and draws it as the pages' run does."""
    original, avatars = wbcd_tables()
    report = build_report_figures(
        original, avatars, privacy=PRIVACY, signal=SIGNAL, table_name=TABLE, seed=0
    )
    with_png = [f for f in wbcd_figures() if f.png is not None]
    assert [(f.kind, f.index) for f in report] == [(f.kind, f.index) for f in with_png]
    assert [f.kind for f in report].count("distribution") == 4
    for drawn_alone, drawn_with_pages in zip(report, with_png, strict=True):
        assert drawn_alone.png == drawn_with_pages.png, drawn_alone.filename
        assert drawn_alone.title == drawn_with_pages.title
    pages = {f.kind: f.html for f in report if f.html}
    assert set(pages) == {"metrics_summary"}
    assert pages["metrics_summary"] == next(
        f.html for f in wbcd_figures() if f.kind == "metrics_summary"
    )


def test_figures_drawn_in_two_processes_are_the_same() -> None:
    """The engine draws the distributions and the other kinds in two forked processes."""
    original, avatars = wbcd_tables()
    alone = wbcd_figures()
    side_by_side = build_figures(
        original, avatars, privacy=PRIVACY, signal=SIGNAL, table_name=TABLE, workers=2
    )
    assert [(f.kind, f.index, f.html, f.png) for f in side_by_side] == [
        (f.kind, f.index, f.html, f.png) for f in alone
    ]
    report = build_report_figures(
        original, avatars, privacy=PRIVACY, signal=SIGNAL, table_name=TABLE, workers=2
    )
    assert [f.png for f in report] == [f.png for f in alone if f.png is not None]


def test_metrics_summary_lists_values_and_verdicts() -> None:
    summary = next(f for f in wbcd_figures() if f.kind == "metrics_summary").html
    assert "Hidden rate" in summary and "93.21" in summary
    assert 'class="fail"' in summary  # column_direct_match_protection 41.5 < 50
    assert "not computed" in summary  # closest_rate is absent


def test_french_titles() -> None:
    original, avatars = wbcd_tables()
    figures = build_figures(
        original.iloc[:, :3],
        avatars.iloc[:, :3],
        table_name="t",
        language="fr",
        max_distribution_plots=1,
        with_png=False,
    )
    titles = {f.kind: f.title for f in figures}
    assert titles["correlation_difference"] == "Écart des corrélations"
    assert titles["metrics_summary"] == "Synthèse des métriques"
    assert all('lang="fr"' in f.html for f in figures)
    assert "Aucune métrique avec objectif" in figures[-1].html


def test_max_distribution_plots_and_given_projections() -> None:
    original, avatars = wbcd_tables()
    rng = np.random.default_rng(0)
    coords_o = pd.DataFrame(rng.normal(size=(len(original), 3)), columns=["PC1", "PC2", "PC3"])
    coords_a = pd.DataFrame(rng.normal(size=(len(avatars), 3)), columns=["PC1", "PC2", "PC3"])
    figures = build_figures(
        original.iloc[:, :4],
        avatars.iloc[:, :4],
        original_projections=coords_o,
        avatar_projections=coords_a,
        table_name="small",
        max_distribution_plots=2,
        with_png=False,
    )
    assert sum(f.kind == "distribution" for f in figures) == 2
    assert all(f.png is None for f in figures)
    projection = next(f for f in figures if f.kind == "2d_projection").html
    assert "PC1" in projection and "PC2" in projection


def test_missing_inputs_still_produce_every_kind_with_an_explanation() -> None:
    original = pd.DataFrame({"colour": ["red", "blue", "red", "green"] * 10})
    avatars = original.sample(frac=1.0, random_state=0).reset_index(drop=True)
    figures = build_figures(original, avatars, table_name="tiny", with_png=False)
    by_kind = {f.kind: f.html for f in figures}
    assert set(by_kind) == set(PLOT_KINDS)
    assert "fewer than two numeric columns" in by_kind["correlation"]
    assert "No metric with a target" in by_kind["metrics_summary"]
    flat = pd.DataFrame({"d1": np.arange(40.0), "d2": np.arange(40.0)[::-1]})
    figures = build_figures(
        original,
        avatars,
        table_name="tiny",
        original_projections=flat,
        avatar_projections=flat,
        with_png=False,
    )
    three_d = next(f for f in figures if f.kind == "3d_projection").html
    assert "fewer than three dimensions" in three_d


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_one_dimension_projection_gets_an_explanation_not_an_error(language: str) -> None:
    # One numeric column (or the others constant) projects on one dimension: the 2D figure
    # indexed a second one, and the standard job failed (IndexError) after the avatars.
    rng = np.random.default_rng(0)
    original = pd.DataFrame({"v": rng.normal(size=60)})
    avatars = pd.DataFrame({"v": rng.normal(size=60)})
    line = pd.DataFrame({"Dim.1": rng.normal(size=60)})
    for draw in (build_figures, build_report_figures):
        kwargs = {"with_png": False} if draw is build_figures else {"privacy": None, "signal": None}
        figures = draw(
            original,
            avatars,
            table_name="line",
            original_projections=line,
            avatar_projections=line,
            language=language,
            **kwargs,
        )
        two_d = next(f for f in figures if f.kind == "2d_projection")
        assert two_d.png is None
        if draw is build_figures:
            says = {"en": "fewer than two dimensions", "fr": "moins de deux dimensions"}
            assert says[language] in two_d.html


def test_rc_params_do_not_leak() -> None:
    before = dict(matplotlib.rcParams)
    original, avatars = wbcd_tables()
    build_figures(
        original.iloc[:, :3],
        avatars.iloc[:, :3],
        table_name="t",
        with_png=False,
        privacy=PRIVACY,
        signal=SIGNAL,
    )
    assert dict(matplotlib.rcParams) == before


def test_bad_arguments() -> None:
    original, avatars = wbcd_tables()
    with pytest.raises(ValueError, match="en, fr"):
        build_figures(original, avatars, table_name="t", language="de")
    with pytest.raises(ValueError, match="max_distribution_plots"):
        build_figures(original, avatars, table_name="t", max_distribution_plots=-1)


def test_two_component_projections_get_a_refitted_3d_view() -> None:
    original, avatars = wbcd_tables()
    rng = np.random.default_rng(1)
    two_o = pd.DataFrame(rng.normal(size=(len(original), 2)), columns=["Dim. 1", "Dim. 2"])
    two_a = pd.DataFrame(rng.normal(size=(len(avatars), 2)), columns=["Dim. 1", "Dim. 2"])
    figures = build_figures(
        original.iloc[:, :4],
        avatars.iloc[:, :4],
        original_projections=two_o,
        avatar_projections=two_a,
        table_name="t",
        max_distribution_plots=0,
        with_png=False,
    )
    three_d = next(f for f in figures if f.kind == "3d_projection").html
    assert "<canvas" in three_d and "the run kept only two" in three_d


def test_same_input_gives_identical_pages() -> None:
    original, avatars = wbcd_tables()

    def pages() -> list[str]:
        figures = build_figures(
            original.iloc[:, :4],
            avatars.iloc[:, :4],
            table_name="t",
            max_distribution_plots=1,
            with_png=False,
            seed=5,
        )
        return [f.html for f in figures]

    assert pages() == pages()
