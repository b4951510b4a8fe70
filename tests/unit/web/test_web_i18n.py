"""The web application speaks English and French, with the same messages in both."""

from __future__ import annotations

import re
from pathlib import Path

from veil_service.web import messages_en, messages_fr
from veil_service.web.i18n import Translator

TEMPLATES = Path(messages_en.__file__).parent / "templates"


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    assert set(messages_en.MESSAGES) == set(messages_fr.MESSAGES)
    for key, english in messages_en.MESSAGES.items():
        placeholders = set(re.findall(r"{(\w+)}", english))
        assert placeholders == set(re.findall(r"{(\w+)}", messages_fr.MESSAGES[key])), key


def test_every_literal_key_of_the_templates_has_a_message() -> None:
    used = {
        key
        for path in TEMPLATES.glob("*.html")
        for key in re.findall(r"""\bt\(["']([a-z0-9_.]+)["'][,)]""", path.read_text())
    }
    assert sorted(used - set(messages_en.MESSAGES)) == []


def test_french_numbers_use_a_decimal_comma() -> None:
    assert Translator("fr").number(12345.678) == "12\u202f345,68"
    assert Translator("en").number(12345.678) == "12,345.68"
    assert Translator("de").language == "en"
