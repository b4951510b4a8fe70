"""The privacy-targeted advice's outcome on the setup page (templates/_privacy_search.html): the
check on the table is shown beside the sample's verdict, with the targets it misses, in both
languages; the trials' table heads its columns with each target in the page's language (the
French page failed on the percent targets: the filter that makes a number text applied to the
other branch of the conditional)."""

from __future__ import annotations

import html
from types import SimpleNamespace
from typing import Any

import jinja2
import pytest
from veil_service.web.context import TEMPLATES_DIR, b64
from veil_service.web.i18n import Translator
from veil_service.web.runs_new import PERCENT_TARGETS, TARGET_NAMES

TARGETS = {
    "hidden_rate": 90.0,
    "local_cloaking": 10.0,
    "singling_out": 0.10,
    "linkability": 0.10,
    "inference": 0.10,
    "distance_ratio": 1.1,
    "unique_copies": 0.0,
    "utility_loss": 0.03,
}


def _trial(k: int, failed: list[str]) -> dict[str, Any]:
    return {
        "parameters": {"k": k, "ncp": 5, "max_weight": 2 / k, "local_noise": 1.0},
        "measures": {"hidden_rate": 95.0, "inference": 0.05, "utility": 0.97},
        "failed": failed,
    }


def _render(search: dict[str, Any], language: str, advised: dict[str, Any] | None = None) -> str:
    templates = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    templates.filters["b64"] = b64
    t = Translator(language)
    return templates.get_template("_privacy_search.html").render(
        search=search,
        advised=advised or {"curve_svg": ""},
        advise_form="advise-adult",
        t=t,
        page=SimpleNamespace(t=t),
        target_names=TARGET_NAMES,
        percent_targets=PERCENT_TARGETS,
    )


def _search(check: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "met": True,
        "binding": "inference",
        "reason": "...",
        "targets": TARGETS,
        "utility_metric": "ml_utility_ratio",
        "sample_rows": 3000,
        "chosen_index": 0,
        "trials": [_trial(20, [])],
        "table_check": check,
    }


@pytest.mark.parametrize(
    ("language", "met", "missed"),
    [
        ("en", "every target is met there", "misses Inference risk, maximum (%), Utility loss"),
        ("fr", "toutes les cibles y sont atteintes", "manquent Risque d&#39;inférence, maximum"),
    ],
)
def test_the_check_on_the_table_is_shown_with_its_misses(
    language: str, met: str, missed: str
) -> None:
    passed = {**_trial(46, []), "rows": 32561, "train_rows": 22792}
    page = _render(_search(passed), language)
    assert 'data-check-met="true"' in page and met in page
    group = "\u202f" if language == "fr" else ""
    assert f"32{group}561" in page and f"22{group}792" in page and "k=46" in page
    failed = {**passed, "failed": ["inference", "utility_loss"]}
    page = _render(_search(failed), language)
    assert 'data-check-met="false"' in page
    assert missed in page
    assert "table-check" not in _render(_search(None), language)


def test_the_searchs_choice_reads_in_the_pages_language() -> None:
    from veil_service.engine_contract.advice_notes import english, note

    why = [
        note(
            "search.met",
            trials=16,
            rows=3000,
            each=[],
            utility=note("search.utility_loss", utility=0.9734, loss=0.012),
        ),
        note("search.met.binding", better=2, binding="inference"),
    ]
    search = {**_search(None), "reason": english(why)}
    advised = {"curve_svg": "", "structured_notes": [[note("ncp.no_column")], why]}
    assert search["reason"] in html.unescape(_render(search, "en", advised))
    french = html.unescape(_render(search, "fr", advised))
    assert (
        "Le plus utile des 16 jeux de paramètres essayés sur 3\u202f000 lignes qui atteint "
        "toutes les cibles (utilité 0,973, 0,012 sous le score des données réelles) ; 2 jeu(x) "
        "plus utile(s) manquai(en)t une cible, d'abord 'inference'." in french
    )
    assert "The most useful" not in french
