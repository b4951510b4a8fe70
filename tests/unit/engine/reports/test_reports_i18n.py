"""Translations: every language has the same keys and placeholders as English."""

from __future__ import annotations

import string

import pytest
from veil_service.engine.reports.catalog import CATALOG
from veil_service.engine.reports.context import (
    DATA_RECIPIENTS,
    DATA_SUBJECTS,
    DATA_TYPES,
    SENSITIVITY_LEVELS,
)
from veil_service.engine.reports.i18n import CATALOGS, LANGUAGES, Translator, check_language
from veil_service.engine.reports.messages_en import EN
from veil_service.engine.reports.messages_fr import FR


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_language_has_a_catalog() -> None:
    assert set(CATALOGS) == set(LANGUAGES) == {"en", "fr"}


def test_french_and_english_have_the_same_keys() -> None:
    assert set(FR) == set(EN)


@pytest.mark.parametrize("key", sorted(EN))
def test_placeholders_match(key: str) -> None:
    assert _fields(FR[key]) == _fields(EN[key])
    assert FR[key].strip() and EN[key].strip()


def test_every_metric_and_enum_value_is_named() -> None:
    for spec in CATALOG:
        assert f"metric.{spec.key}" in EN and f"desc.{spec.key}" in EN
    for family, values in (
        ("sensitivity", SENSITIVITY_LEVELS),
        ("data_type", DATA_TYPES),
        ("data_subject", DATA_SUBJECTS),
        ("data_recipient", DATA_RECIPIENTS),
    ):
        for value in values:
            assert f"enum.{family}.{value}" in EN


def test_translator_formats_numbers_per_language() -> None:
    assert Translator("en").number(93.21) == "93.21"
    assert Translator("fr").number(93.21) == "93,21"
    assert Translator("fr").number(None) == "non calculé"
    assert Translator("fr").percent(0.125) == "12,5 %"


def test_unknown_language() -> None:
    with pytest.raises(ValueError, match="'de' is not one of en, fr"):
        check_language("de")
