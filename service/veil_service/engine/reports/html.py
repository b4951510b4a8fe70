"""Self-contained HTML pages for figures, and the matplotlib plumbing that feeds them.

Why inline SVG rather than plotly: a plotly page that works offline inlines 4.8 MB of JavaScript
per figure (reference/deps.md section 5). A matplotlib SVG is tens of kilobytes, needs no script,
and prints. Dense scatter layers are rasterized inside the SVG (a base64 PNG `<image>`), which
keeps a 10,000-point projection small while axes and text stay vector.

Nothing here touches pyplot: figures are `matplotlib.figure.Figure` objects drawn on an Agg
canvas, and every rcParam we need is set through `style()` (a context manager), so no state
leaks from one call to the next or into the caller's own plots.
"""

from __future__ import annotations

import html
import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure as MplFigure

ORIGINAL_COLOR = "#8c8c8c"
AVATAR_COLOR = "#1a9850"
FAIL_COLOR = "#d73027"

_RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "veil",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.dpi": 100,
}
_SVG_METADATA = {"Creator": None, "Date": None, "Format": None, "Type": None}

_CSS = """
body{font-family:-apple-system,"Segoe UI","DejaVu Sans",Arial,sans-serif;margin:16px;color:#222}
h1{font-size:17px;margin:0 0 4px}
p.caption{font-size:13px;color:#555;margin:0 0 10px;max-width:900px}
div.plot svg{max-width:100%;height:auto}
table{border-collapse:collapse;font-size:12px;margin-top:10px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}
td.pass{color:#1a9850;font-weight:bold}td.fail{color:#d73027;font-weight:bold}
"""


@contextmanager
def style() -> Iterator[None]:
    """Apply Veil's plot style for the duration of a block, then restore the caller's."""
    with matplotlib.rc_context(cast(Any, _RC)):
        yield


def new_figure(width: float, height: float, *, constrained: bool = False) -> MplFigure:
    """A figure on its own Agg canvas (inches), independent of pyplot's figure registry."""
    figure = MplFigure(figsize=(width, height), layout="constrained" if constrained else None)
    FigureCanvasAgg(figure)
    return figure


def settle(figure: MplFigure) -> None:
    """Lay a figure out once so labels fit, before saving it (possibly twice: SVG and PNG).

    `savefig(bbox_inches="tight")` would redraw the whole figure at every save to measure it;
    `tight_layout` measures the text once. Figures created with their own layout engine
    (colorbars spanning several axes need "constrained") are left to it.
    """
    if figure.get_layout_engine() is None:
        figure.tight_layout(pad=0.6)


def to_svg(figure: MplFigure) -> str:
    """Serialize a figure to an `<svg>` element ready to inline (no XML prolog, no DOCTYPE).

    The DOCTYPE names a DTD by URL; browsers never fetch it, but dropping it keeps the page free
    of any http reference other than XML namespace names.
    """
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", metadata=_SVG_METADATA)
    text = buffer.getvalue().decode("utf-8")
    return text[text.index("<svg") :]


def to_png(figure: MplFigure, dpi: int = 110) -> bytes:
    """Rasterize a figure for the PDF and DOCX reports."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def page(title: str, body: str, *, caption: str = "", language: str = "en") -> str:
    """Wrap figure markup in a complete HTML page with inline CSS only.

    Args:
        title: Heading and document title (plain text; escaped here).
        body: Trusted markup produced by this package (SVG, table, canvas).
        caption: One plain-text sentence saying how to read the figure.
        language: Value of the `lang` attribute.
    """
    caption_html = f'<p class="caption">{html.escape(caption)}</p>' if caption else ""
    return (
        f'<!DOCTYPE html>\n<html lang="{html.escape(language)}"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{caption_html}"
        f'<div class="plot">{body}</div></body></html>\n'
    )


def table(header: list[str], rows: list[list[str]], classes: list[str] | None = None) -> str:
    """An HTML table of already formatted cells; `classes` sets a CSS class on the last cell."""
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
    lines = [f"<tr>{head}</tr>"]
    for position, row in enumerate(rows):
        css = classes[position] if classes else ""
        last = len(row) - 1
        cells = [
            f'<td class="{css}">{html.escape(cell)}</td>'
            if css and column == last
            else f"<td>{html.escape(cell)}</td>"
            for column, cell in enumerate(row)
        ]
        lines.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table>{''.join(lines)}</table>"


def message(text: str) -> str:
    """Body for a figure that cannot be drawn (e.g. no numeric column); the kind still exists."""
    return f'<p class="caption">{html.escape(text)}</p>'


def short_label(name: str, limit: int = 18) -> str:
    """Truncate long column names so tick labels stay readable."""
    return name if len(name) <= limit else name[: limit - 1] + "…"
