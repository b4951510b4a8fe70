"""The PIA report (ReportType PIA): a DOCX risk analysis the controller completes and signs.

DOCX rather than PDF because a privacy impact assessment is a living document: the data
protection officer adds the processing's purpose, the safeguards and the signatures. The report
states the context given to `create_runner`, the residual risk of each GDPR/EDPB attack
(singling out, linkability, inference) from the privacy metrics, how likely an attack is and what
it would take, and concludes whether the residual risk is compatible with the intended sharing.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from docx import Document
from docx.shared import Cm, Pt, RGBColor

from veil_service.engine.reports.catalog import MetricResult
from veil_service.engine.reports.context import PiaContext, ReportContext
from veil_service.engine.reports.features import feature_sections
from veil_service.engine.reports.i18n import Translator
from veil_service.engine.reports.reading import privacy_reading
from veil_service.engine.reports.risk import (
    LEVELS,
    AttackAssessment,
    Conclusion,
    assess_attacks,
    conclude,
    exposure_level,
    likelihood_level,
    requirement_tier,
    severity_level,
)

_GREEN, _RED, _GREY = (
    RGBColor(0x1A, 0x98, 0x50),
    RGBColor(0xD7, 0x30, 0x27),
    RGBColor(0x66, 0x66, 0x66),
)
_METRIC_WIDTHS = [6.5, 3.0, 2.5, 3.5]
_AMBER = RGBColor(0xB3, 0x6B, 0x00)
#: Fixed document dates keep the bytes stable when the context carries no timestamp.
_EPOCH = datetime(2000, 1, 1)


def _context_rows(pia: PiaContext, t: Translator) -> list[tuple[str, str]]:
    fields = (
        ("pia.field.sensitivity_level", "sensitivity", pia.sensitivity_level, "Undefined"),
        ("pia.field.data_type", "data_type", pia.data_type, "unknown"),
        ("pia.field.data_subject", "data_subject", pia.data_subject, "unknown"),
        ("pia.field.data_recipient", "data_recipient", pia.data_recipient, "unknown"),
    )
    rows = []
    for label, family, value, unset in fields:
        text = t(f"enum.{family}.{value}")
        if value == unset:
            text = f"{text} ({t('pia.unset')})"
        rows.append((t(label), text))
    return rows


def _add_table(
    document: Any, header: list[str], rows: list[list[str]], widths_cm: list[float]
) -> Any:
    """A grid table kept on one page, followed by a little space before the next paragraph."""
    grid = document.add_table(rows=1, cols=len(header))
    grid.style = "Table Grid"
    grid.autofit = False
    for cell, text in zip(grid.rows[0].cells, header, strict=True):
        cell.text = ""
        cell.paragraphs[0].add_run(text).bold = True
    for row in rows:
        for cell, text in zip(grid.add_row().cells, row, strict=True):
            cell.text = text
    for column, width in zip(grid.columns, widths_cm, strict=True):
        column.width = Cm(width)
    last = len(grid.rows) - 1
    for position, row in enumerate(grid.rows):
        for cell, width in zip(row.cells, widths_cm, strict=True):
            cell.width = Cm(width)
            for paragraph in cell.paragraphs:
                # Rows stay together; the last one does not bind the table to what follows.
                paragraph.paragraph_format.keep_with_next = position < last
                paragraph.paragraph_format.space_after = Pt(1)
    document.add_paragraph().paragraph_format.space_after = Pt(0)
    return grid


def _metric_rows(results: tuple[MetricResult, ...], t: Translator) -> list[list[str]]:
    rows = []
    for row in results:
        value = t.number(row.value) + (f" {row.unit}" if row.value is not None and row.unit else "")
        rows.append(
            [
                t.metric_name(row.key),
                value,
                t.target(row.target),
                t.verdict(row.passed, computed=row.value is not None),
            ]
        )
    return rows


def _colour_verdicts(grid: Any, results: tuple[MetricResult, ...]) -> None:
    for row, result in zip(grid.rows[1:], results, strict=True):
        colour = _GREY if result.passed is None else (_GREEN if result.passed else _RED)
        for run in row.cells[3].paragraphs[0].runs:
            run.font.color.rgb = colour
            run.bold = result.passed is not None


def _attack_section(
    document: Any, assessment: AttackAssessment, likelihood: int, t: Translator
) -> None:
    attack = assessment.attack
    document.add_heading(t(f"pia.attack.{attack}"), level=3)
    document.add_paragraph(t(f"pia.attack.{attack}.what"))
    header = [t("common.metric"), t("common.value"), t("common.target"), t("common.result")]
    grid = _add_table(document, header, _metric_rows(assessment.results, t), _METRIC_WIDTHS)
    _colour_verdicts(grid, assessment.results)
    document.add_paragraph(t(f"pia.attack.{attack}.resources"))
    paragraph = document.add_paragraph()
    paragraph.add_run(t("pia.technical_risk") + " ").bold = True
    paragraph.add_run(t(f"pia.technical.{assessment.technical}"))
    paragraph = document.add_paragraph()
    paragraph.add_run(t("pia.residual_risk") + " ").bold = True
    if assessment.residual is None:
        run = paragraph.add_run(t("pia.residual.not_assessed"))
        run.bold = True
        run.font.color.rgb = _AMBER
        return
    run = paragraph.add_run(t(f"level.{LEVELS[assessment.residual]}"))
    run.bold = True
    run.font.color.rgb = _GREEN if assessment.acceptable else _RED
    paragraph.add_run(" — " + t("pia.residual_why", likelihood=t(f"level_f.{LEVELS[likelihood]}")))


def _likelihood_section(document: Any, pia: PiaContext, t: Translator) -> int:
    document.add_heading(t("pia.likelihood"), level=1)
    exposure, severity, likelihood = exposure_level(pia), severity_level(pia), likelihood_level(pia)
    document.add_paragraph(t(f"pia.exposure.{pia.data_recipient}"))
    document.add_paragraph(t("pia.attractiveness", level=t(f"level.{LEVELS[severity]}")))
    _add_table(
        document,
        [t("pia.factor"), t("pia.level")],
        [
            [t("pia.factor.exposure"), t(f"level_f.{LEVELS[exposure]}")],
            [t("pia.factor.attractiveness"), t(f"level.{LEVELS[severity]}")],
            [t("pia.factor.likelihood"), t(f"level_f.{LEVELS[likelihood]}")],
        ],
        [7.0, 5.0],
    )
    document.add_paragraph(t("pia.likelihood_rule"))
    return likelihood


def _conclusion(
    document: Any, verdicts: list[tuple[str, Conclusion, list[AttackAssessment]]], t: Translator
) -> None:
    document.add_heading(t("pia.conclusion_heading"), level=1)
    for name, verdict, assessments in verdicts:
        missing = ", ".join(t(f"pia.attack.{a.attack}") for a in assessments if a.residual is None)
        paragraph = document.add_paragraph()
        run = paragraph.add_run(t(f"pia.conclusion.{verdict}", table=name, attacks=missing))
        run.bold = True
        run.font.color.rgb = {"compatible": _GREEN, "incomplete": _AMBER}.get(verdict, _RED)
    if any(verdict == "incompatible" for _, verdict, _ in verdicts):
        intro = document.add_paragraph(t("pia.recommendations"))
        intro.paragraph_format.keep_with_next = True
        for number in range(1, 5):
            document.add_paragraph(t(f"pia.recommendation.{number}"), style="List Bullet")
    if any(a.residual is None for _, _, assessments in verdicts for a in assessments):
        document.add_paragraph(t("pia.recommendation.assess"))


def build_pia_report(context: ReportContext, language: str = "en") -> bytes:
    """Render the PIA risk analysis as DOCX bytes.

    Args:
        context: Tables, metrics and the PIA context of the run; unset PIA fields are read as
            the strictest case (strict targets, maximum exposure).
        language: `ReportLanguage` value, "en" or "fr".

    Returns:
        The DOCX file content.

    Raises:
        ValueError: for an unknown language.
    """
    t = Translator(language)
    pia = context.pia
    document = Document()
    document.styles["Normal"].font.name = "Calibri"
    document.styles["Normal"].font.size = Pt(10.5)
    properties = document.core_properties
    properties.title = t("pia.title")
    properties.author = "Veil"
    properties.language = t.language
    properties.created = properties.modified = context.generated_at or _EPOCH
    properties.revision = 1

    document.add_heading(t("pia.title"), level=0)
    document.add_paragraph(t("common.run", run=context.run_name))
    if context.generated_at is not None:
        document.add_paragraph(
            t("common.generated_at", when=context.generated_at.strftime("%Y-%m-%d %H:%M UTC"))
        )
    document.add_heading(t("pia.purpose_heading"), level=1)
    document.add_paragraph(t("pia.purpose"))

    document.add_heading(t("pia.context_heading"), level=1)
    _add_table(
        document,
        [t("pia.field"), t("pia.value")],
        [list(row) for row in _context_rows(pia, t)],
        [6.0, 9.5],
    )
    tier = requirement_tier(pia)
    document.add_paragraph(t("pia.tier", tier=t(f"pia.tier.{tier}")))
    document.add_paragraph(t(f"pia.tier.{tier}.why"))

    document.add_heading(t("pia.attack_model_heading"), level=1)
    document.add_paragraph(t("tech.attack_model"))
    likelihood = _likelihood_section(document, pia, t)

    if context.links:
        document.add_heading(t("pia.linked_heading"), level=1)
        document.add_paragraph(t("linked.intro", count=len(context.tables)))
        for link in context.links:
            line = document.add_paragraph(style="List Bullet")
            run = line.add_run(
                t(
                    "pia.linked_link",
                    link=link.label(),
                    method=t(f"linked.method.{link.method}"),
                )
            )
            if link.sensitive:
                run.bold = True
                run.font.color.rgb = _RED
                breach = document.add_paragraph().add_run(t("linked.breach", link=link.label()))
                breach.bold = True
                breach.font.color.rgb = _RED
    breached = context.breached_tables()
    verdicts: list[tuple[str, Conclusion, list[AttackAssessment]]] = []
    for table in context.tables:
        document.add_heading(t("pia.residual_heading", table=table.name), level=1)
        for section in feature_sections(context.features.get(table.name), t):
            document.add_heading(section.heading, level=2)
            for sentence in section.sentences:
                document.add_paragraph(sentence)
            if section.rows:
                widths = section.column_widths(15.5)
                _add_table(document, list(section.header), [list(r) for r in section.rows], widths)
            if section.image is not None:
                document.add_picture(io.BytesIO(section.image), width=Cm(15.5))
                caption = document.add_paragraph().add_run(section.caption)
                caption.font.size = Pt(8)
                caption.font.color.rgb = _GREY
        assessments = assess_attacks(context.privacy.get(table.name), pia)
        for assessment in assessments:
            _attack_section(document, assessment, likelihood, t)
        document.add_heading(t("tech.reading"), level=3)
        results = [r for a in assessments for r in a.results]
        for sentence in privacy_reading(results, t):
            document.add_paragraph(sentence, style="List Bullet")
        verdict = conclude(assessments)
        if table.name in breached:
            # The structure released is the original one, whatever the row-level metrics say.
            verdict = "incompatible"
            document.add_paragraph().add_run(
                t("pia.linked_breach_verdict", table=table.name)
            ).bold = True
        verdicts.append((table.name, verdict, assessments))
    _conclusion(document, verdicts, t)
    document.add_paragraph(t("pia.signoff"))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
