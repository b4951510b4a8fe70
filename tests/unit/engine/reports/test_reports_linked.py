"""Reports of a multi-table run cover every table and link, and flag a link that kept the
original structure (sensitive_original_order_assignment) as a privacy breach."""

from __future__ import annotations

import dataclasses
import io

import pytest
from docx import Document
from pypdf import PdfReader
from test_reports_fixtures import PRIVACY, SIGNAL, wbcd_context
from veil_service.engine.reports import (
    LinkSummary,
    PiaContext,
    ReportContext,
    build_pia_report,
    build_technical_report,
)


def _linked_context(method: str) -> ReportContext:
    base = wbcd_context(with_figures=False, pia=PiaContext("Low", "health", "patients", "internal"))
    [table] = base.tables
    child = dataclasses.replace(table, name="visit")
    visit_results = [
        {
            **PRIVACY,
            "hidden_rate": 88.5,
            "local_cloaking": 7.0,
            "passed": {"hidden_rate": False, "local_cloaking": True},
            "metadata": {"computation_type": ctype, "reference": "wbcd", "table_name": "visit"},
        }
        for ctype in ("to_bottom_id_propagated", "full_enriched")
    ]
    return dataclasses.replace(
        base,
        tables=(table, child),
        privacy={**base.privacy, "visit": visit_results[0]},
        signal={**base.signal, "visit": SIGNAL},
        links=(
            LinkSummary(
                "wbcd",
                "id",
                "visit",
                "wbcd_id",
                method,
                child_rows=(1366, 1366),
                children_per_parent=(2.0, 2.0),
                childless_share=(12.5, 11.75),
                count_distance=0.031,
            ),
        ),
        computations={"visit": visit_results},
    )


def _pdf_text(pdf: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _docx_text(docx: bytes) -> str:
    document = Document(io.BytesIO(docx))
    return "\n".join(p.text for p in document.paragraphs)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_technical_report_lists_links_and_computation_types(language: str) -> None:
    text = " ".join(
        _pdf_text(
            build_technical_report(_linked_context("linear_sum_assignment"), language)
        ).split()
    )
    heading, per_parent = {
        "en": ("Linked tables", "Children per parent"),
        "fr": ("Tables liées", "Enfants par parent"),
    }[language]
    assert heading in text and per_parent in text
    assert "wbcd.id → visit.wbcd_id" in text
    assert "to_bottom_id_propagated" in text and "full_enriched" in text
    assert ("12.5 %" if language == "en" else "12,5 %") in text
    assert "sensitive_original_order_assignment" not in text


@pytest.mark.parametrize(
    ("language", "says"),
    [
        ("en", "The verdicts above rest on the standalone result"),
        ("fr", "Les verdicts ci-dessus reposent sur le résultat standalone"),
    ],
)
def test_a_parent_verdict_is_said_to_rest_on_its_standalone_result(
    language: str, says: str
) -> None:
    # A parent passes standalone and fails to_top_enriched: its verdict shows the standalone
    # result (docs/reports.md), so the report must not claim it rests on the weakest side.
    context = _linked_context("linear_sum_assignment")
    standalone = {**context.privacy["wbcd"], "metadata": {"computation_type": "standalone"}}
    enriched = {
        **PRIVACY,
        "hidden_rate": 80.0,
        "passed": {"hidden_rate": False},
        "metadata": {"computation_type": "to_top_enriched", "reference": "visit"},
    }
    context = dataclasses.replace(
        context, computations={**context.computations, "wbcd": [standalone, enriched]}
    )
    text = " ".join(_pdf_text(build_technical_report(context, language)).split())
    assert says in text
    assert "rest on the weakest of them" not in text
    assert "reposent sur le plus faible d'entre eux" not in text


def test_sensitive_original_order_is_flagged_as_a_breach() -> None:
    context = _linked_context("sensitive_original_order_assignment")
    pdf = " ".join(_pdf_text(build_technical_report(context, "en")).split())
    assert "Privacy breach: the link wbcd.id → visit.wbcd_id uses" in pdf
    assert "original order (SENSITIVE)" in pdf
    pia = _docx_text(build_pia_report(context, "en"))
    assert "Privacy breach: the link wbcd.id → visit.wbcd_id" in pia
    assert "Table visit: not compatible with an anonymous release" in pia
    assert "Table visit: the residual risk is not compatible" in pia
    french = _docx_text(build_pia_report(context, "fr"))
    assert "Atteinte à la vie privée : le lien wbcd.id → visit.wbcd_id" in french


def test_a_safe_link_leaves_the_verdicts_to_the_metrics() -> None:
    pia = _docx_text(build_pia_report(_linked_context("minimum_distance_assignment"), "en"))
    assert (
        "wbcd.id → visit.wbcd_id: avatar children assigned by minimum distance assignment." in pia
    )
    assert "not compatible with an anonymous release" not in pia


@pytest.mark.parametrize(
    ("language", "names"),
    [
        ("en", ("Hellinger distance per time point (mean)", "Readings per series, avatars (mean)")),
        ("fr", ("Distance de Hellinger par instant (moyenne)", "Relevés par série, avatars")),
    ],
)
def test_time_series_signal_metrics_are_named_and_defined(
    language: str, names: tuple[str, ...]
) -> None:
    # A time-series table's signal metrics showed as raw keys (pointwise_hellinger_mean...)
    # in both languages, with no definition.
    context = _linked_context("time_series")
    series = {
        "hellinger_mean": 0.1,
        "hellinger_std": 0.1,
        "pointwise_hellinger_mean": 0.348,
        "pointwise_hellinger_std": 0.102,
        "density_hellinger_mean": 0.157,
        "density_hellinger_std": 0.09,
        "series_length_mean_original": 30.0,
        "series_length_mean_avatar": 30.0,
        "targets": {"pointwise_hellinger_mean": "< 0.1", "density_hellinger_mean": "< 0.1"},
    }
    context = dataclasses.replace(context, signal={**context.signal, "visit": series})
    text = " ".join(_pdf_text(build_technical_report(context, language)).split())
    for name in names:
        assert name in text
    for key in ("pointwise_hellinger", "density_hellinger", "series_length_mean"):
        assert key not in text
    definition = {
        "en": "Hellinger distance of all readings (mean): for a time series",
        "fr": "Distance de Hellinger de tous les relevés (moyenne): pour une série temporelle",
    }[language]
    assert definition in text


def test_time_series_link_counts_individuals_without_a_series() -> None:
    # wage_panel as a panel: 2 of 545 men never read. The report's link table showed "—" for
    # parents without children and readings per *series* as children per parent.
    import pandas as pd
    from veil_service.engine.multitable import Link, Schema, TableKeys
    from veil_service.engine.tasks.linked_report import link_summary

    link = Link("persons", "nr", "readings", "nr", "time_series")
    schema = Schema(
        (
            TableKeys("persons", "nr"),
            TableKeys("readings", "rid", ("nr",), time_series_time="year"),
        ),
        (link,),
    )
    persons = pd.DataFrame({"nr": [1, 2, 3, 4], "educ": [12, 14, 9, 16]})
    readings = pd.DataFrame(
        {"rid": range(6), "nr": [1, 1, 2, 2, 2, 3], "year": [80, 81, 80, 81, 82, 80], "v": 1.0}
    )
    avatar_readings = readings.assign(nr=[1, 1, 2, 2, 4, 4])
    signal = {"readings": [{"series_length_mean_original": 2.0, "series_length_mean_avatar": 2.0}]}
    summary = link_summary(
        schema,
        link,
        {"persons": persons, "readings": readings},
        {"persons": persons, "readings": avatar_readings},
        signal,
    )
    assert summary.childless_share == (25.0, 25.0)
    assert summary.children_per_parent == (1.5, 1.5)
