"""Public surface of the reports package and ReportType dispatch."""

from __future__ import annotations

import pytest
import veil_service.engine.reports as reports
from test_reports_fixtures import wbcd_context
from veil_service.engine.reports import REPORT_TYPES, build_report, check_report_type


def test_public_names_are_pinned() -> None:
    assert sorted(reports.__all__) == sorted(
        [
            "CATALOG",
            "DEFAULT_MAX_DISTRIBUTION_PLOTS",
            "LANGUAGES",
            "PLOT_KINDS",
            "REPORT_TYPES",
            "ColumnSummary",
            "Figure",
            "LinkSummary",
            "MetricResult",
            "PiaContext",
            "ReportContext",
            "ReportFile",
            "TableFeatures",
            "TableSummary",
            "Target",
            "build_figures",
            "build_report_figures",
            "build_pia_report",
            "build_report",
            "build_technical_report",
            "check_language",
            "check_report_type",
            "evaluate_metrics",
            "targets_for_context",
        ]
    )
    assert reports.PLOT_KINDS == (
        "distribution",
        "aggregate_stats",
        "correlation",
        "correlation_difference",
        "2d_projection",
        "3d_projection",
        "contribution",
        "metrics_summary",
    )


def test_build_report_by_type() -> None:
    context = wbcd_context(with_figures=False)
    basic = build_report("basic", context, "fr")
    assert basic.content.startswith(b"%PDF") and basic.extension == ".pdf"
    assert basic.media_type == REPORT_TYPES["basic"] == "application/pdf"
    pia = build_report("pia", context)
    assert pia.content.startswith(b"PK") and pia.extension == ".docx"


def test_unknown_report_type_or_language_fails_before_building() -> None:
    with pytest.raises(ValueError, match="'summary' is not one of basic, pia"):
        check_report_type("summary")
    with pytest.raises(ValueError, match="'summary' is not one of basic, pia"):
        build_report("summary", wbcd_context(with_figures=False))
    with pytest.raises(ValueError, match="'it' is not one of en, fr"):
        build_report("pia", wbcd_context(with_figures=False), "it")
