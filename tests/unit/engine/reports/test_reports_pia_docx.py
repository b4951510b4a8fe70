"""PIA report (ReportType PIA): DOCX text in both languages, context, residual risk, conclusion."""

from __future__ import annotations

import io

import pytest
from docx import Document
from test_reports_fixtures import PRIVACY, wbcd_context
from veil_service.engine.reports import PiaContext, build_pia_report


def _text(docx: bytes) -> str:
    document = Document(io.BytesIO(docx))
    parts = [paragraph.text for paragraph in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


def test_english_pia_with_unset_context_takes_the_strictest_case() -> None:
    docx = build_pia_report(wbcd_context(with_figures=False), "en")
    assert docx.startswith(b"PK")
    text = _text(docx)
    for heading in (
        "Privacy impact assessment: risk analysis",
        "Context of the processing",
        "Likelihood of an attack",
        "Residual risk per attack: table wbcd",
        "Singling out",
        "Linkability",
        "Inference",
        "Conclusion",
    ):
        assert heading in text, heading
    assert "Undefined (not set: strictest assumption)" in text
    assert "Privacy targets applied: strict." in text
    assert "93.21 %" in text and "41.5 %" in text and "not computed" in text
    assert "Resources needed:" in text
    # column_direct_match_protection misses "> 50" and exposure is maximum.
    assert "Residual risk: significant" in text
    assert "the residual risk is not compatible" in text


def test_french_pia_translates_context_and_levels() -> None:
    pia = PiaContext(
        sensitivity_level="High",
        data_type="health",
        data_subject="patients",
        data_recipient="opendata",
    )
    text = _text(build_pia_report(wbcd_context(pia=pia, with_figures=False), "fr"))
    for expected in (
        "Analyse d'impact relative à la protection des données",
        "Contexte du traitement",
        "Vraisemblance d'une attaque",
        "Individualisation",
        "Corrélation",
        "Inférence",
        "Santé",
        "Patients",
        "Open data",
        "Élevé",
        "93,21 %",
        "non calculé",
        "Risque résiduel : important",
    ):
        assert expected in text, expected
    for english in ("Residual risk", "Likelihood", "not computed", "Conclusion:"):
        assert english not in text, english
    # Levels agree with the feminine vraisemblance and exposition (they read "jugée maximal").
    assert "compte tenu d'une vraisemblance d'attaque jugée maximale." in text
    assert "\nVraisemblance d'une attaque\nmaximale\n" in text
    assert "\nExposition (destinataire)\nmaximale\n" in text
    assert "jugée maximal." not in text


def test_contained_context_with_all_targets_met_is_compatible() -> None:
    privacy = dict(PRIVACY, column_direct_match_protection=75.0)
    pia = PiaContext(sensitivity_level="Low", data_type="mobility", data_recipient="internal")
    text = _text(build_pia_report(wbcd_context(privacy=privacy, pia=pia, with_figures=False), "en"))
    assert "Privacy targets applied: light." in text
    assert "Table wbcd: the residual risk is compatible" in text
    assert "Recommended actions" not in text


def test_unknown_language_is_rejected() -> None:
    with pytest.raises(ValueError, match="en, fr"):
        build_pia_report(wbcd_context(with_figures=False), "es")


def test_attacks_without_metrics_leave_the_conclusion_open() -> None:
    privacy = {"hidden_rate": 97.0, "local_cloaking": 12.0}
    pia = PiaContext(sensitivity_level="Low", data_recipient="internal")
    text = _text(build_pia_report(wbcd_context(privacy=privacy, pia=pia, with_figures=False), "en"))
    assert "Residual risk: not assessed" in text
    assert "these attacks could not be assessed: Linkability, Inference" in text
    assert "known_variables" in text
    assert "Recommended actions" not in text
