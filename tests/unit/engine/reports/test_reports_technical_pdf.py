"""Technical report (ReportType BASIC): PDF text in both languages, values, marks, determinism."""

from __future__ import annotations

import io
from functools import lru_cache

import pytest
from pypdf import PdfReader
from test_reports_fixtures import TABLE, wbcd_context
from veil_service.engine.reports import build_technical_report


@lru_cache(maxsize=2)
def _report(language: str) -> bytes:
    return build_technical_report(wbcd_context(), language)


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def test_english_report_has_every_section_and_value() -> None:
    pdf = _report("en")
    assert pdf.startswith(b"%PDF")
    text = _text(pdf)
    for heading in (
        "Avatarization technical report",
        f"Table {TABLE}",
        "Reading of the results",
        "Dataset summary",
        "Privacy metrics",
        "Signal metrics",
        "Key figures",
        "Parameters used",
        "Method and definitions",
    ):
        assert heading in text, heading
    for value in ("93.21", "41.5", "0.0523", "2.81", "683 original rows", "> 90", "< 0.1"):
        assert value in text, value
    assert "✓ pass" in text and "✗ fail" in text and "not computed" in text
    assert "Targets missed: Column direct match protection" in text
    assert "wbcd.k" in text and "seed" in text


def test_french_report_is_fully_translated() -> None:
    text = _text(_report("fr"))
    for heading in (
        "Rapport technique d'avatarisation",
        "Lecture des résultats",
        "Résumé du jeu de données",
        "Métriques de confidentialité",
        "Métriques d'utilité",
        "Figures clés",
        "Paramètres utilisés",
        "Méthode et définitions",
    ):
        assert heading in text, heading
    for value in ("93,21", "41,5", "0,0523", "2,81", "> 0,2"):
        assert value in text, value
    assert "✓ atteint" in text and "✗ non atteint" in text and "non calculé" in text
    for english in ("Privacy metrics", "Reading of the results", "not computed", "Hidden rate"):
        assert english not in text, english


def test_same_input_gives_identical_bytes() -> None:
    context = wbcd_context(with_figures=False)
    assert build_technical_report(context, "en") == build_technical_report(context, "en")


def test_missing_privacy_metrics_read_as_not_computed() -> None:
    text = _text(build_technical_report(wbcd_context(privacy=None, with_figures=False), "en"))
    assert "No privacy metric has been computed for this table." in text
    assert "Key figures" not in text


def test_unknown_language_is_rejected() -> None:
    with pytest.raises(ValueError, match="'de' is not one of en, fr"):
        build_technical_report(wbcd_context(with_figures=False), "de")
