"""`ReportType` dispatch: which builder makes which file, under which media type.

The engine's report task asks for a type by its `ReportType` value ("basic", "pia"); an unknown
value is a caller error named here, with the allowed values, before any work is done.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from veil_service.engine.reports.context import ReportContext
from veil_service.engine.reports.i18n import check_language
from veil_service.engine.reports.pia_docx import build_pia_report
from veil_service.engine.reports.technical_pdf import build_technical_report

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

#: `ReportType` value -> media type of the file it produces.
REPORT_TYPES: dict[str, str] = {"basic": PDF, "pia": DOCX}


@dataclass(frozen=True)
class ReportFile:
    """A built report.

    Attributes:
        content: The file bytes.
        media_type: Its media type (PDF or DOCX).
        extension: ".pdf" or ".docx", for the file name `download_report` writes.
    """

    content: bytes
    media_type: str
    extension: str


_BUILDERS: dict[str, tuple[Callable[[ReportContext, str], bytes], str]] = {
    "basic": (build_technical_report, ".pdf"),
    "pia": (build_pia_report, ".docx"),
}


def check_report_type(report_type: str) -> str:
    """Validate a `ReportType` value.

    Raises:
        ValueError: naming the supported values, for an unknown type.
    """
    if report_type not in _BUILDERS:
        raise ValueError(
            f"report type {report_type!r} is not one of {', '.join(sorted(_BUILDERS))}."
        )
    return report_type


def build_report(report_type: str, context: ReportContext, language: str = "en") -> ReportFile:
    """Build one report by its `ReportType` value.

    Args:
        report_type: "basic" (technical report, PDF) or "pia" (risk analysis, DOCX).
        context: Tables, metrics, PIA context and figures of the run.
        language: `ReportLanguage` value, "en" or "fr".

    Raises:
        ValueError: for an unknown report type or language (checked before building).
    """
    builder, extension = _BUILDERS[check_report_type(report_type)]
    check_language(language)
    return ReportFile(builder(context, language), REPORT_TYPES[report_type], extension)
