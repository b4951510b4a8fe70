"""Figures and reports of a run: self-contained HTML plots, the technical PDF, the PIA DOCX.

Pure functions the engine calls after the metrics jobs; no gRPC, protobuf or database here.

    figures = build_figures(original, avatars, table_name="wbcd", privacy=..., signal=...)
    context = ReportContext(run_name="run", tables=(TableSummary.from_frames(...),), ...)
    pdf = build_technical_report(context, "fr")
    docx = build_pia_report(context, "en")
"""

from veil_service.engine.reports.catalog import CATALOG, MetricResult, Target, evaluate_metrics
from veil_service.engine.reports.context import (
    ColumnSummary,
    LinkSummary,
    PiaContext,
    ReportContext,
    TableSummary,
)
from veil_service.engine.reports.features import TableFeatures
from veil_service.engine.reports.figure import PLOT_KINDS, Figure
from veil_service.engine.reports.figures import (
    DEFAULT_MAX_DISTRIBUTION_PLOTS,
    build_figures,
    build_report_figures,
)
from veil_service.engine.reports.i18n import LANGUAGES, check_language
from veil_service.engine.reports.pia_docx import build_pia_report
from veil_service.engine.reports.report_types import (
    REPORT_TYPES,
    ReportFile,
    build_report,
    check_report_type,
)
from veil_service.engine.reports.risk import targets_for_context
from veil_service.engine.reports.technical_pdf import build_technical_report

__all__ = [
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
    "build_pia_report",
    "build_report",
    "build_report_figures",
    "build_technical_report",
    "check_language",
    "check_report_type",
    "evaluate_metrics",
    "targets_for_context",
]
