"""The technical report (ReportType BASIC): a PDF a data protection officer can file.

Built with reportlab's platypus (flowing paragraphs, tables, images) because matplotlib's
PdfPages cannot flow text across pages. Fonts are the DejaVu TTFs shipped with matplotlib,
embedded and subset, so accents, ≥ and ✓ render the same everywhere and the text extracts.
`invariant=1` keeps the bytes identical for identical input (no timestamp or random file id).
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from functools import lru_cache
from typing import Any
from xml.sax.saxutils import escape

import matplotlib

try:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import cm
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import (
        CondPageBreak,
        Flowable,
        Image,
        KeepTogether,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )
    from reportlab.platypus.doctemplate import BaseDocTemplate
except ImportError as error:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "the technical report needs reportlab: pip install 'veil[reports]'"
    ) from error

from veil_service.engine.reports.catalog import SERIES_SIGNAL_KEYS, MetricResult, evaluate_metrics
from veil_service.engine.reports.context import ReportContext, TableSummary, flatten_parameters
from veil_service.engine.reports.features import feature_sections
from veil_service.engine.reports.figure import Figure
from veil_service.engine.reports.i18n import Translator
from veil_service.engine.reports.reading import privacy_reading, signal_reading
from veil_service.engine.reports.risk import targets_for_context

_FONT, _BOLD = "VeilDejaVu", "VeilDejaVu-Bold"
_GREEN, _RED, _GREY = (
    colors.HexColor("#1a9850"),
    colors.HexColor("#d73027"),
    colors.HexColor("#666666"),
)
_WIDTH = A4[0] - 4 * cm
#: The metrics a computation type's verdict rests on (the individual-level ones).
_HEADLINE_PRIVACY = ("hidden_rate", "local_cloaking")
#: Figures embedded per table, in this order (the distributions come last, two per row).
_REPORT_KINDS = (
    "metrics_summary",
    "2d_projection",
    "correlation_difference",
    "aggregate_stats",
    "contribution",
)


@lru_cache(maxsize=1)
def _register_fonts() -> None:
    """Register the DejaVu fonts once per process (reportlab keeps a global font registry)."""
    folder = os.path.join(matplotlib.get_data_path(), "fonts", "ttf")
    pdfmetrics.registerFont(TTFont(_FONT, os.path.join(folder, "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(_BOLD, os.path.join(folder, "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily(_FONT, normal=_FONT, bold=_BOLD, italic=_FONT, boldItalic=_BOLD)


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=_FONT, fontSize=9.5, leading=13, spaceAfter=4)
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10, textColor=_GREY),
        "title": ParagraphStyle(
            "title", parent=base, fontName=_BOLD, fontSize=20, leading=24, spaceAfter=6
        ),
        "h1": ParagraphStyle(
            "h1", parent=base, fontName=_BOLD, fontSize=14, leading=18, spaceBefore=10, spaceAfter=6
        ),
        "h2": ParagraphStyle(
            "h2", parent=base, fontName=_BOLD, fontSize=11, leading=14, spaceBefore=8, spaceAfter=4
        ),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8.5, leading=10.5, spaceAfter=0),
    }


def _grid(rows: list[list[Any]], widths: Sequence[float], extra: list[Any] | None = None) -> Table:
    """A table with a bold shaded header row; `extra` adds TableStyle commands."""
    grid = Table(rows, colWidths=list(widths), repeatRows=1, hAlign="LEFT")
    commands: list[Any] = [
        ("FONTNAME", (0, 0), (-1, -1), _FONT),
        ("FONTNAME", (0, 0), (-1, 0), _BOLD),
        ("FONTSIZE", (0, 0), (-1, -1), 8.5),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#bbbbbb")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]
    grid.setStyle(TableStyle(commands + (extra or [])))
    return grid


def _metric_table(rows: list[MetricResult], t: Translator, cell: ParagraphStyle) -> Table:
    data: list[list[Any]] = [
        [t("common.metric"), t("common.value"), t("common.target"), t("common.result")]
    ]
    extra: list[Any] = []
    for position, row in enumerate(rows, start=1):
        value = t.number(row.value) + (f" {row.unit}" if row.value is not None and row.unit else "")
        mark = "" if row.passed is None else ("✓ " if row.passed else "✗ ")
        verdict = mark + t.verdict(row.passed, computed=row.value is not None)
        data.append(
            [Paragraph(escape(t.metric_name(row.key)), cell), value, t.target(row.target), verdict]
        )
        if row.passed is not None:
            color = _GREEN if row.passed else _RED
            extra += [
                ("TEXTCOLOR", (3, position), (3, position), color),
                ("FONTNAME", (3, position), (3, position), _BOLD),
            ]
        elif row.value is None:
            extra.append(("TEXTCOLOR", (1, position), (3, position), _GREY))
    return _grid(data, [6.5 * cm, 3.2 * cm, 2.8 * cm, 4.5 * cm], extra)


def _image(png: bytes, max_width: float, max_height: float) -> Image:
    width, height = ImageReader(io.BytesIO(png)).getSize()
    scale = min(max_width / width, max_height / height)
    return Image(io.BytesIO(png), width=width * scale, height=height * scale)


def _figures(
    figures: Sequence[Figure], t: Translator, styles: dict[str, ParagraphStyle]
) -> list[Flowable]:
    story: list[Flowable] = []
    by_kind = {f.kind: f for f in figures if f.png is not None and f.kind != "distribution"}
    for kind in _REPORT_KINDS:
        figure = by_kind.get(kind)
        if figure is None or figure.png is None:
            continue
        story.append(
            KeepTogether(
                [
                    Paragraph(escape(t(f"fig.{kind}.title")), styles["h2"]),
                    _image(figure.png, _WIDTH, 10 * cm),
                    Paragraph(escape(t(f"fig.{kind}.caption")), styles["small"]),
                ]
            )
        )
    distributions = [f for f in figures if f.kind == "distribution" and f.png is not None]
    if distributions:
        cells = [_image(f.png, _WIDTH / 2 - 0.2 * cm, 5 * cm) for f in distributions if f.png]
        rows = [
            cells[i : i + 2] + [""] * (2 - len(cells[i : i + 2])) for i in range(0, len(cells), 2)
        ]
        story.append(
            KeepTogether(
                [
                    Paragraph(escape(t("fig.distribution.title")), styles["h2"]),
                    Table(rows, colWidths=[_WIDTH / 2] * 2, hAlign="LEFT"),
                    Paragraph(escape(t("fig.distribution.caption")), styles["small"]),
                ]
            )
        )
    return story


def _dataset(
    table: TableSummary, t: Translator, styles: dict[str, ParagraphStyle]
) -> list[Flowable]:
    intro = t(
        "tech.dataset_line",
        rows=table.n_rows,
        columns=len(table.columns),
        avatar_rows=table.n_avatar_rows,
    )
    data: list[list[Any]] = [
        [t("tech.column"), t("tech.type"), t("tech.missing"), t("tech.distinct")]
    ]
    for column in table.columns:
        data.append(
            [
                Paragraph(escape(column.name), styles["cell"]),
                t(f"kind.{column.kind}"),
                t.percent(column.missing_rate),
                str(column.n_unique),
            ]
        )
    return [
        CondPageBreak(5 * cm),
        Paragraph(escape(t("tech.dataset")), styles["h2"]),
        Paragraph(escape(intro), styles["body"]),
        _grid(data, [7 * cm, 3.5 * cm, 3 * cm, 3.5 * cm]),
    ]


def _table_section(
    context: ReportContext, table: TableSummary, t: Translator, styles: dict[str, ParagraphStyle]
) -> list[Flowable]:
    targets = targets_for_context(context.pia)
    privacy = evaluate_metrics(context.privacy.get(table.name), "privacy", default_targets=targets)
    signal = evaluate_metrics(context.signal.get(table.name), "signal", default_targets=targets)
    story: list[Flowable] = [
        Paragraph(escape(t("tech.table_heading", table=table.name)), styles["h1"])
    ]
    story.append(Paragraph(escape(t("tech.reading")), styles["h2"]))
    for sentence in privacy_reading(privacy, t) + signal_reading(signal, t):
        story.append(Paragraph("• " + escape(sentence), styles["body"]))
    for section in feature_sections(context.features.get(table.name), t):
        story += [CondPageBreak(4 * cm), Paragraph(escape(section.heading), styles["h2"])]
        story += [Paragraph(escape(sentence), styles["body"]) for sentence in section.sentences]
        if section.rows:
            grid = [[Paragraph(escape(cell), styles["cell"]) for cell in section.header]]
            grid += [[Paragraph(escape(c), styles["cell"]) for c in row] for row in section.rows]
            story.append(_grid(grid, section.column_widths(17 * cm)))
        if section.image is not None:
            story.append(
                KeepTogether(
                    [
                        _image(section.image, _WIDTH, 10 * cm),
                        Paragraph(escape(section.caption), styles["small"]),
                    ]
                )
            )
    # Verdicts first: the reader signs off on them; the dataset summary is supporting detail.
    # Tables may split (their header row repeats), but never leave a heading alone at a page foot.
    story += [
        CondPageBreak(6 * cm),
        Paragraph(escape(t("tech.privacy_metrics")), styles["h2"]),
        Paragraph(escape(t("tech.privacy_intro")), styles["body"]),
        _metric_table(privacy, t, styles["cell"]),
        CondPageBreak(6 * cm),
        Paragraph(escape(t("tech.signal_metrics")), styles["h2"]),
        _metric_table(signal, t, styles["cell"]),
    ]
    if len(context.computations.get(table.name, ())) > 1:
        story += _computations(context.computations[table.name], t, styles)
    story += _dataset(table, t, styles)
    figures = context.figures.get(table.name, ())
    if any(f.png is not None for f in figures):
        # A heading alone at the foot of a page reads as a missing section.
        story.append(CondPageBreak(12 * cm))
        story.append(Paragraph(escape(t("tech.figures")), styles["h1"]))
        story += _figures(figures, t, styles)
    return story


def _pair(values: tuple[float, float] | None, t: Translator, unit: str = "") -> str:
    if values is None:
        return "—"
    return f"{t.number(values[0])}{unit} / {t.number(values[1])}{unit}"


def _links_section(
    context: ReportContext, t: Translator, styles: dict[str, ParagraphStyle]
) -> list[Flowable]:
    """Every link of a multi-table run: method, child counts, and any breach in red."""
    cell = styles["cell"]
    rows: list[list[Any]] = [
        [
            Paragraph(escape(t(key)), cell)
            for key in (
                "linked.link",
                "linked.method",
                "linked.child_rows",
                "linked.per_parent",
                "linked.childless",
                "linked.count_distance",
            )
        ]
    ]
    extra: list[Any] = []
    for position, link in enumerate(context.links, start=1):
        rows.append(
            [
                Paragraph(escape(link.label()), cell),
                Paragraph(escape(t(f"linked.method.{link.method}")), cell),
                f"{link.child_rows[0]} / {link.child_rows[1]}",
                _pair(link.children_per_parent, t),
                _pair(link.childless_share, t, " %"),
                t.number(link.count_distance),
            ]
        )
        if link.sensitive:
            extra += [
                ("TEXTCOLOR", (1, position), (1, position), _RED),
                ("FONTNAME", (1, position), (1, position), _BOLD),
            ]
    story: list[Flowable] = [
        Paragraph(escape(t("linked.heading")), styles["h1"]),
        Paragraph(escape(t("linked.intro", count=len(context.tables))), styles["body"]),
        _grid(rows, [4.4 * cm, 3.0 * cm, 2.4 * cm, 2.6 * cm, 2.6 * cm, 2.0 * cm], extra),
    ]
    for link in context.links:
        if link.sensitive:
            story.append(
                Paragraph(
                    f'<font color="#d73027"><b>{escape(t("linked.breach", link=link.label()))}'
                    "</b></font>",
                    styles["body"],
                )
            )
    return story


def _computations(
    results: Sequence[Any], t: Translator, styles: dict[str, ParagraphStyle]
) -> list[Flowable]:
    """A multi-table table's privacy under each computation type it was attacked by."""
    cell = styles["cell"]
    rows: list[list[Any]] = [
        [
            Paragraph(escape(text), cell)
            for text in (
                t("linked.computation_type"),
                t("linked.reference"),
                t.metric_name("hidden_rate"),
                t.metric_name("local_cloaking"),
                t("common.result"),
            )
        ]
    ]
    extra: list[Any] = []
    for position, result in enumerate(results, start=1):
        metadata = result.get("metadata") or {}
        checks = [v for k, v in (result.get("passed") or {}).items() if k in _HEADLINE_PRIVACY]
        passed = all(checks) if checks else None
        rows.append(
            [
                t(f"linked.type.{metadata.get('computation_type')}"),
                metadata.get("reference") or "—",
                t.number(result.get("hidden_rate")),
                t.number(result.get("local_cloaking")),
                t.verdict(passed, computed=passed is not None),
            ]
        )
        if passed is not None:
            extra.append(("TEXTCOLOR", (4, position), (4, position), _GREEN if passed else _RED))
    return [
        CondPageBreak(5 * cm),
        Paragraph(escape(t("linked.computations")), styles["h2"]),
        Paragraph(escape(t("linked.computations_intro")), styles["body"]),
        _grid(rows, [4.2 * cm, 3.0 * cm, 3.0 * cm, 3.0 * cm, 3.8 * cm], extra),
    ]


def _method(
    t: Translator, styles: dict[str, ParagraphStyle], keys: Sequence[str]
) -> list[Flowable]:
    story: list[Flowable] = [
        CondPageBreak(5 * cm),
        Paragraph(escape(t("tech.method")), styles["h1"]),
        Paragraph(escape(t("tech.attack_model")), styles["body"]),
    ]
    for key in keys:
        story.append(
            Paragraph(
                f"<b>{escape(t.metric_name(key))}</b>: {escape(t(f'desc.{key}'))}", styles["body"]
            )
        )
    return story


def build_technical_report(context: ReportContext, language: str = "en") -> bytes:
    """Render the technical report as PDF bytes.

    Args:
        context: Tables, parameters, metrics, PIA context and figures of the run.
        language: `ReportLanguage` value, "en" or "fr"; every heading, label and sentence follows.

    Returns:
        The PDF file content.

    Raises:
        ValueError: for an unknown language.
    """
    t = Translator(language)
    _register_fonts()
    styles = _styles()
    story: list[Flowable] = [
        Paragraph(escape(t("tech.title_run", run=context.run_name)), styles["title"]),
    ]
    if context.generated_at is not None:
        story.append(
            Paragraph(
                escape(
                    t(
                        "common.generated_at",
                        when=context.generated_at.strftime("%Y-%m-%d %H:%M UTC"),
                    )
                ),
                styles["small"],
            )
        )
    story.append(Spacer(1, 0.3 * cm))
    if context.links:
        story += _links_section(context, t, styles)
    for table in context.tables:
        story += _table_section(context, table, t, styles)
    story.append(CondPageBreak(5 * cm))
    story.append(Paragraph(escape(t("tech.parameters")), styles["h1"]))
    parameters = flatten_parameters(context.parameters)
    if parameters:
        rows: list[list[Any]] = [[t("tech.parameter"), t("common.value")]]
        rows += [
            [Paragraph(escape(k), styles["cell"]), Paragraph(escape(v), styles["cell"])]
            for k, v in parameters
        ]
        story.append(_grid(rows, [8 * cm, 9 * cm]))
    else:
        story.append(Paragraph(escape(t("tech.no_parameters")), styles["body"]))
    keys = [r.key for r in evaluate_metrics({}, "privacy") + evaluate_metrics({}, "signal")]
    # A time-series table's own signal metrics are defined when the report shows them.
    keys += [k for k in SERIES_SIGNAL_KEYS if any(k in m for m in context.signal.values())]
    story += _method(t, styles, keys)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=2 * cm,
        rightMargin=2 * cm,
        topMargin=2 * cm,
        bottomMargin=2 * cm,
        title=t("tech.title_run", run=context.run_name),
        author="Veil",
        lang=t.language,
        invariant=1,
    )
    footer = t("tech.footer", run=context.run_name)

    def decorate(canvas: Any, doc: BaseDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(_FONT, 7.5)
        canvas.setFillColor(_GREY)
        canvas.drawString(2 * cm, 1.2 * cm, footer)
        canvas.drawRightString(A4[0] - 2 * cm, 1.2 * cm, t("common.page", page=doc.page))
        canvas.restoreState()

    document.build(story, onFirstPage=decorate, onLaterPages=decorate)
    return buffer.getvalue()
