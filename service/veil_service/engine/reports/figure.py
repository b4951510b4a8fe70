"""The figure record the engine returns for each plot (one HTML file, optionally a PNG)."""

from __future__ import annotations

from dataclasses import dataclass

#: Single-table `PlotKind` values (reference/avatar_client.md section 6) that Veil produces.
PLOT_KINDS = (
    "distribution",
    "aggregate_stats",
    "correlation",
    "correlation_difference",
    "2d_projection",
    "3d_projection",
    "contribution",
    "metrics_summary",
)


@dataclass(frozen=True)
class Figure:
    """One rendered plot.

    Attributes:
        kind: The `PlotKind` string value, e.g. "2d_projection".
        index: Position among the figures of that kind and table (distribution: one per column).
        filename: "<table>_<kind>_<index>.html", the name `render_plot` writes it under.
        html: A complete, self-contained HTML page: inline SVG or canvas, no external resource.
            Empty for a figure drawn for the reports only (`build_report_figures`), whose page
            the standard job wrote.
        title: Human-readable title (already translated).
        table_name: The table the figure describes.
        png: A raster copy for the reports, only for the key figures; None otherwise.
    """

    kind: str
    index: int
    filename: str
    html: str
    title: str = ""
    table_name: str = ""
    png: bytes | None = None

    @property
    def metadata(self) -> dict[str, str]:
        """The `figures_metadata.json` entry the client routes this file with."""
        return {"kind": self.kind, "filename": self.filename, "table_name": self.table_name}
