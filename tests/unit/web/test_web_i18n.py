"""The web application speaks English and French, with the same messages in both."""

from __future__ import annotations

import re
import string
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


def test_every_choice_of_the_run_parameters_has_a_name() -> None:
    from veil_service.web.runs_new import CHOICES

    values = {
        value for key, choices in CHOICES.items() if key != "report_language" for value in choices
    }
    assert {f"choice.{value}" for value in values} <= set(messages_en.MESSAGES)


def test_job_phases_read_in_french_with_their_numbers_and_tables() -> None:
    t = Translator("fr")
    assert t.phase("done") == "terminé"
    assert t.phase("avatarizing batch 2/5") == "avatarisation du lot 2/5"
    assert t.phase("patients: figures") == "patients: figures"
    assert t.phase("patients: writing results") == "patients: écriture des résultats"
    assert t.phase("a phase the engine added later") == "a phase the engine added later"


def test_targets_take_the_language_s_decimal_mark() -> None:
    assert Translator("fr").decimals("> 0.2") == "> 0,2"
    assert Translator("fr").decimals("< 10") == "< 10"
    assert Translator("en").decimals("> 0.2") == "> 0.2"


def test_every_metric_the_engine_reports_has_a_label_in_both_languages() -> None:
    # The server may not import the engine (tests/test_architecture.py), so the web keeps its
    # own labels; this keeps them complete when a metric is added to the definitions.
    from veil_service.engine.metrics.definitions import METRICS

    missing = [m.key for m in METRICS if f"metric.{m.key}" not in messages_en.MESSAGES]
    assert missing == []


def test_numbers_are_written_the_pages_way_in_one_place() -> None:
    french, english = Translator("fr"), Translator("en")
    assert french.significant(8.5e-05) == "8,5 \u00d7 10⁻⁵" and french.significant(1e-05) == "10⁻⁵"
    assert english.significant(8.5e-05) == "8.5e-05"
    assert french.show(45.037455333766964) == "45,037455333766964"
    assert french.show(1309) == "1\u202f309" and english.show(1309) == "1309"
    assert french.show([30.0, 65.5]) == "30,0, 65,5" and french.show(True) == "oui"
    assert french.show(None) == "—" and french.show("Adelie") == "Adelie"
    # Messages: a number takes its format spec, then the language's marks; text is untouched.
    assert (
        french.format(
            "{share:.0f} % de {rows} ({name!r})", {"share": 99.6, "rows": 12000, "name": "a.b"}
        )
        == "100 % de 12\u202f000 ('a.b')"
    )
    assert (
        english.format("{share:.1f} of {rows}", {"share": 99.62, "rows": 12000}) == "99.6 of 12000"
    )


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_advice_note_and_coded_error_has_french_words_with_the_same_placeholders() -> None:
    from veil_service.engine_contract.advice_notes import NOTES
    from veil_service.errors import Message
    from veil_service.web import notes_fr

    assert sorted(set(NOTES) - set(notes_fr.NOTES)) == []  # a new note needs its French
    assert sorted(set(notes_fr.NOTES) - set(NOTES)) == []
    for code, english in NOTES.items():
        assert _placeholders(english) == _placeholders(notes_fr.NOTES[code]), code
    assert sorted({m.value for m in Message} ^ set(notes_fr.ERRORS)) == []


def test_a_note_or_error_without_french_words_is_shown_in_english() -> None:
    from veil_service.engine_contract.advice_notes import note
    from veil_service.errors import InvalidArgumentError, Message

    french = Translator("fr")
    unknown = [{"code": "k.from_the_future", "params": {"k": 3}}]
    assert french.note(unknown, "k = 3: why") == "k = 3: why"
    missing_param = [{"code": "k.usual", "params": {}}]
    assert french.note(missing_param, "k = 20: why") == "k = 20: why"
    assert french.notes(["a", "b"], [[note("ncp.no_column")]]) == ["a", "b"]  # older result
    coded = InvalidArgumentError("name must be 1-128 characters.", code=Message.KEY_NAME_LENGTH)
    assert french.error(coded) == "Le nom doit compter de 1 à 128 caractères."
    assert Translator("en").error(coded) == "name must be 1-128 characters."
    assert french.error(InvalidArgumentError("plain English.")) == "plain English."
    nested = [
        note("parameter", name="k", value=True),
        note(
            "column.identifier",
            distinct=1309,
            rows=1309,
            share=100.0,
            named=[note("column.identifier_named")],
        ),
    ]
    assert french.note(nested, "").startswith(
        "k = oui : Ressemble à un identifiant : 1\u202f309 valeurs"
    )
