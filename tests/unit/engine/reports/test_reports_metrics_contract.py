"""The reports read the metrics package's real output: same keys, same verdicts."""

from __future__ import annotations

import io
from functools import lru_cache
from typing import Any

from docx import Document
from pypdf import PdfReader
from test_reports_fixtures import TABLE, wbcd_tables
from veil_service.engine.metrics.evaluate import privacy_metrics, signal_metrics
from veil_service.engine.reports import (
    CATALOG,
    ReportContext,
    TableSummary,
    build_pia_report,
    build_technical_report,
    evaluate_metrics,
)
from veil_service.engine.reports.catalog import format_number


@lru_cache(maxsize=1)
def _metrics() -> tuple[dict[str, Any], dict[str, Any]]:
    original, avatars = wbcd_tables()
    return privacy_metrics(original, avatars), signal_metrics(original, avatars)


def test_every_judged_metric_is_in_the_catalog() -> None:
    privacy, signal = _metrics()
    known = {spec.key for spec in CATALOG}
    assert set(privacy["passed"]) <= known
    assert set(signal["passed"]) <= known


def test_verdicts_agree_with_the_metrics_package() -> None:
    privacy, signal = _metrics()
    rows = {r.key: r for r in evaluate_metrics(privacy, "privacy")}
    rows.update({r.key: r for r in evaluate_metrics(signal, "signal")})
    for key, passed in {**privacy["passed"], **signal["passed"]}.items():
        assert rows[key].passed == passed, key


def test_reports_build_from_real_metrics() -> None:
    privacy, signal = _metrics()
    original, avatars = wbcd_tables()
    context = ReportContext(
        run_name="contract",
        tables=(TableSummary.from_frames(TABLE, original, avatars),),
        privacy={TABLE: privacy},
        signal={TABLE: signal},
    )
    pdf_text = "\n".join(
        page.extract_text() or ""
        for page in PdfReader(io.BytesIO(build_technical_report(context, "en"))).pages
    )
    hidden = format_number(privacy["hidden_rate"], "en")
    assert hidden in pdf_text
    document = Document(io.BytesIO(build_pia_report(context, "fr")))
    cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
    assert format_number(privacy["hidden_rate"], "fr") + " %" in cells
