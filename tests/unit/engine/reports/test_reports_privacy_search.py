"""The privacy-targeted advice's search in the reports (issue 21 item 4): the technical PDF and
the PIA DOCX of a table whose advice searched parameters show what was tried, the binding target,
the chosen set and the privacy-utility curve, in English and in French."""

from __future__ import annotations

import dataclasses
import io
from typing import Any

from docx import Document
from pypdf import PdfReader
from test_reports_fixtures import TABLE, wbcd_context
from veil_service.engine.reports import TableFeatures, build_pia_report, build_technical_report

TARGETS = {
    "hidden_rate": 90.0,
    "local_cloaking": 10.0,
    "singling_out": 0.10,
    "linkability": 0.10,
    "inference": 0.10,
    "distance_ratio": 1.1,
    "unique_copies": 0.0,
}


def _trial(k: int, noise: float, utility: float, inference: float, failed: list[str]) -> Any:
    knobs = (
        {"max_weight": 1.0, "local_noise": 0.0, "redraw_unique_copies": False}
        if noise == 0
        else {"max_weight": round(2 / k, 6), "local_noise": noise, "redraw_unique_copies": True}
    )
    return {
        "parameters": {"k": k, "ncp": 5, **knobs},
        "measures": {
            "hidden_rate": 95.0,
            "local_cloaking": 14.0,
            "singling_out": 0.04,
            "linkability": 0.01,
            "inference": inference,
            "distance_ratio": 1.04,
            "unique_copies": 0.0,
            "utility": utility,
        },
        "failed": failed,
    }


SEARCH = {
    "parameters": {"k": 10, "ncp": 5, "max_weight": 0.2, "local_noise": 1.0},
    "met": True,
    "binding": "inference",
    "reason": "...",
    "targets": TARGETS,
    "utility_metric": "ml_utility_ratio",
    "sample_rows": 683,
    "splits": 3,
    "chosen_index": 1,
    "trials": [
        _trial(10, 0.0, 0.991, 0.4137, ["inference"]),
        _trial(10, 1.0, 0.975, 0.0912, []),
        _trial(20, 1.0, 0.962, 0.0655, []),
    ],
}


def _context(search: dict[str, Any] | None, k: int = 10) -> Any:
    features = TableFeatures(parameters={"k": k}, privacy_search=search)
    base = wbcd_context(with_figures=False)
    return dataclasses.replace(base, features={TABLE: features})


def _pdf(pdf: bytes) -> tuple[str, int]:
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(" ".join(page.extract_text() or "" for page in reader.pages).split())
    return text, sum(len(page.images) for page in reader.pages)


def test_the_technical_report_shows_the_search_and_its_curve() -> None:
    text, images = _pdf(build_technical_report(_context(SEARCH), "en"))
    assert "Privacy-targeted parameter search" in text
    assert "3 parameter sets" in text and "683 rows" in text
    assert "mean over 3 random splits" in text
    assert "counts the attacks of 3 random splits of the sample together" in text
    assert "meets every target" in text
    assert "binding target: worst inference risk" in text
    assert "This run used the chosen parameters" in text
    # The trials table: the missed target of the unbounded set, the chosen set marked.
    assert "0.414" in text and "0.0912" in text
    assert "chosen" in text
    assert images == 1  # the privacy-utility curve (the context has no other figure)
    plain, none = _pdf(build_technical_report(_context(None), "en"))
    assert "Privacy-targeted parameter search" not in plain and none == 0


def test_the_report_says_when_the_run_did_not_use_the_advised_parameters() -> None:
    missed = {**SEARCH, "met": False, "binding": "inference", "chosen_index": 2}
    missed["trials"] = [
        _trial(10, 0.0, 0.991, 0.4137, ["inference"]),
        _trial(20, 1.0, 0.962, 0.1655, ["inference"]),
        _trial(30, 1.0, 0.95, 0.1201, ["inference"]),
    ]
    text, _ = _pdf(build_technical_report(_context(missed, k=20), "en"))
    assert "No parameter set tried meets every target" in text
    assert "at least as private as them on every measure). It misses worst inference risk" in text
    assert "This run used other parameters than the advised ones" in text


def test_the_french_report_translates_the_search() -> None:
    text, images = _pdf(build_technical_report(_context(SEARCH), "fr"))
    assert "Recherche de paramètres guidée par les cibles de confidentialité" in text
    assert "0,414" in text and "683 lignes" in text and "moyenne sur 3 partages" in text
    assert images == 1
    for english in ("Privacy-targeted", "binding target", "chosen", "parameter sets"):
        assert english not in text, english


def test_the_pia_report_carries_the_same_section() -> None:
    document = Document(io.BytesIO(build_pia_report(_context(SEARCH), "en")))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "Privacy-targeted parameter search" in text
    assert len(document.inline_shapes) >= 1


def test_the_report_says_when_k_grew_for_a_table_larger_than_the_sample() -> None:
    grown = {
        **SEARCH,
        "parameters": {"k": 21, "ncp": 5, "max_weight": round(2 / 21, 6), "local_noise": 1.0},
        "sample_k": 10,
        "table_rows": 30_000,
    }
    text, _ = _pdf(build_technical_report(_context(grown, k=21), "en"))
    assert "The table has 30000 rows, more than the sample: k grows from 10 to 21" in text
    assert "This run used the chosen parameters" in text  # k=21 is what was advised
    french, _ = _pdf(build_technical_report(_context(grown, k=10), "fr"))
    assert "k passe de 10 à 21" in french
    assert "Cette exécution a utilisé d'autres paramètres" in french


def test_the_report_names_secrets_too_rare_to_measure_with_their_interval() -> None:
    # german_credit's foreign_worker (96 % one value): the advice leaves it out of the worst
    # inference, and the report must say so with its figures, not hide it.
    rare = {**SEARCH, "min_minority_rows": 50}
    chosen = {
        **_trial(10, 1.0, 0.975, 0.0912, []),
        "inference_by_secret": {"credit_risk": 0.0912, "foreign_worker": 0.276},
        "inference_intervals": {"credit_risk": [0.01, 0.17], "foreign_worker": [0.0, 0.609]},
        "unmeasured_secrets": {"foreign_worker": 23},
    }
    rare["trials"] = [SEARCH["trials"][0], chosen, SEARCH["trials"][2]]
    text, _ = _pdf(build_technical_report(_context(rare), "en"))
    assert "Inference on foreign_worker could not be measured on the sample" in text
    assert "fewer than 50 control rows" in text
    assert "foreign_worker 0.276 [0, 0.609]" in text
    french, _ = _pdf(build_technical_report(_context(rare), "fr"))
    assert "L'inférence sur foreign_worker n'a pas pu être mesurée" in french
    assert "foreign_worker 0,276 [0, 0,609]" in french
    plain, _ = _pdf(build_technical_report(_context(SEARCH), "en"))
    assert "could not be measured" not in plain


def test_the_report_says_when_privacy_came_first_and_utility_was_missed() -> None:
    private = {
        **SEARCH,
        "met": False,
        "binding": "utility_loss",
        "chosen_index": 2,
        "targets": {**TARGETS, "utility_loss": 0.03},
    }
    private["trials"] = [
        _trial(10, 0.0, 0.991, 0.4137, ["inference"]),
        _trial(10, 1.0, 0.975, 0.1912, ["inference"]),
        _trial(20, 1.0, 0.952, 0.0655, ["utility_loss"]),
    ]
    private["trials"][2]["measures"]["utility_loss"] = 0.041
    text, images = _pdf(build_technical_report(_context(private, k=20), "en"))
    assert "the most useful set that meets every privacy target (privacy comes first)" in text
    assert "scores 0.041 below one trained on real rows (target: at most 0.03)" in text
    assert "at least as private as them" not in text
    assert "misses utility loss" in text and images == 1
    french, _ = _pdf(build_technical_report(_context(private, k=20), "fr"))
    assert "la confidentialité passe d'abord" in french and "perd 0,041" in french


def test_the_report_shows_the_check_on_the_table_and_its_misses() -> None:
    check = _trial(21, 1.0, 0.95, 0.1422, ["inference"])
    checked = {
        **SEARCH,
        "parameters": {"k": 23, "ncp": 5, "max_weight": round(2 / 23, 6), "local_noise": 1.0},
        "sample_k": 10,
        "table_rows": 30_000,
        "table_check": {**check, "rows": 30_000, "train_rows": 21_000},
    }
    text, _ = _pdf(build_technical_report(_context(checked, k=23), "en"))
    assert (
        "Checked on the table (21000 rows avatarized at k=21, the rest as control), the chosen "
        "parameters miss worst inference risk: hidden rate 95 %, local cloaking 14" in text
    )
    assert "worst inference risk 0.142" in text
    french, _ = _pdf(build_technical_report(_context(checked, k=23), "fr"))
    assert "Vérifiés sur la table (21000 lignes avatarisées à k=21" in french
    assert "manquent : pire risque d" in french
    drawn = {**checked, "table_rows": 1_000_000}
    drawn["table_check"] = {**check, "failed": [], "rows": 50_000, "train_rows": 35_000}
    text, _ = _pdf(build_technical_report(_context(drawn, k=23), "en"))
    assert "Checked on a draw of 50000 of its rows (35000 rows avatarized at k=21" in text
    assert "the chosen parameters meet every target" in text
    document = Document(io.BytesIO(build_pia_report(_context(checked, k=23), "en")))
    assert "Checked on the table" in "\n".join(p.text for p in document.paragraphs)
