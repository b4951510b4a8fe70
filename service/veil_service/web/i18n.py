"""The web application in English and French, like the reports.

Messages live in ``messages_en.py`` and ``messages_fr.py`` (a test keeps their keys equal). The
language comes from ``?lang=``, then the ``veil-lang`` cookie, then ``Accept-Language``.

Numbers are written the page's way in one place, :func:`localize` (babel is no dependency):
French takes a decimal comma, narrow no-break spaces between thousands and ``\u00d7 10⁻⁵`` for an
exponent; English keeps Python's own writing. Every number a message takes goes through it
(:class:`Translator` formats messages with :class:`_LocalFormatter`), and the templates show raw
values with :meth:`Translator.show` and :meth:`Translator.significant`.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.requests import Request

from veil_service.engine_contract.advice_notes import render
from veil_service.errors import VeilServiceError
from veil_service.web import messages_en, messages_fr, notes_fr
from veil_service.web.security import LANGUAGE_COOKIE

LANGUAGES = ("en", "fr")
DECIMAL_POINT = re.compile(r"(\d)\.(\d)")
BATCH_PHASE = re.compile(r"avatarizing batch (\d+/\d+)")
CATALOGS: dict[str, dict[str, str]] = {"en": messages_en.MESSAGES, "fr": messages_fr.MESSAGES}
#: The advice's notes and the service's errors by code, in the languages other than English
#: (English pages show the English text they came with).
NOTE_CATALOGS: dict[str, dict[str, str]] = {"fr": notes_fr.NOTES}
ERROR_CATALOGS: dict[str, dict[str, str]] = {"fr": notes_fr.ERRORS}
EXPONENT = re.compile(r"e([+-])0*(\d+)$")
SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
#: French thousands separator (narrow no-break space, as babel's ``fr`` locale writes it).
FRENCH_GROUP = "\u202f"
TIMES = "\u00d7"


def localize(text: str, language: str) -> str:
    """A number Python wrote (``1,234.5``, ``0.5``, ``1e-05``) as ``language`` writes it.

    French: ``1\u202f234,5``, ``0,5``, ``1 \u00d7 10⁻⁵``; English: unchanged.
    """
    if language != "fr":
        return text
    mantissa, exponent = text, ""
    power = EXPONENT.search(text)
    if power:
        mantissa = text[: power.start()]
        digits = ("-" if power.group(1) == "-" else "") + power.group(2)
        exponent = "10" + digits.translate(SUPERSCRIPTS)
    mantissa = mantissa.replace(",", FRENCH_GROUP).replace(".", ",")
    if not exponent:
        return mantissa
    return exponent if mantissa == "1" else f"{mantissa} {TIMES} {exponent}"


def is_number(value: object) -> bool:
    """An int or a float, not a bool (``True`` is shown as yes/no, never as 1)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


class _LocalFormatter(string.Formatter):
    """``str.format`` with the numbers of the arguments written the page's way: the format
    spec applies first (``{share:.0f}``), then :func:`localize`; a whole number without a spec
    gets French thousands groups, and a yes/no is a word of the language (``False`` is
    English and Python's, ``non`` French)."""

    def __init__(self, language: str) -> None:
        self.language = language

    def format_field(self, value: Any, format_spec: str) -> Any:
        if isinstance(value, bool) and not format_spec and self.language != "en":
            return CATALOGS[self.language]["yes" if value else "no"]
        if not is_number(value):
            return super().format_field(value, format_spec)
        if isinstance(value, int) and not format_spec and self.language == "fr":
            format_spec = ","
        return localize(format(value, format_spec), self.language)


class Translator:
    """Messages of one language; ``t("key", name=...)`` formats with ``str.format``."""

    def __init__(self, language: str) -> None:
        self.language = language if language in CATALOGS else "en"
        self._messages = CATALOGS[self.language]
        self._formatter = _LocalFormatter(self.language)

    def __call__(self, key: str, **values: Any) -> str:
        text = self._messages.get(key) or messages_en.MESSAGES.get(key) or key
        return self.format(text, values) if values else text

    def format(self, template: str, values: Mapping[str, Any]) -> str:
        """``template`` filled with ``values``, its numbers written this language's way."""
        return self._formatter.vformat(template, (), values)

    def note(self, parts: Sequence[Mapping[str, Any]], english: str) -> str:
        """An advice note (``engine_contract.advice_notes``'s parts) in this language; the
        ``english`` text it came with on an English page, or when a code or a parameter has no
        words here (a note newer than this catalogue is shown, in English, never lost)."""
        catalog = NOTE_CATALOGS.get(self.language)
        if catalog is None or not parts:
            return english
        try:
            return render(parts, catalog.__getitem__, self.format)
        except (KeyError, IndexError, ValueError, TypeError):
            return english

    def notes(self, english: Sequence[str], structured: Sequence[Sequence[Any]]) -> list[str]:
        """An advice's notes in this language (each in English when the structured notes do
        not match them one for one: an older result)."""
        if len(structured) != len(english):
            return list(english)
        return [self.note(parts, text) for parts, text in zip(structured, english, strict=True)]

    def error(self, error: VeilServiceError) -> str:
        """A service error's message in this language: from its ``errors.Message`` code and
        parameters when the catalogue has it, else the English message it came with."""
        catalog = ERROR_CATALOGS.get(self.language)
        if catalog is None or error.message_code is None:
            return error.message
        template = catalog.get(str(error.message_code))
        if template is None:
            return error.message
        try:
            return self.format(template, error.message_params)
        except (KeyError, IndexError, ValueError, TypeError):
            return error.message

    def label(self, key: str, fallback: str) -> str:
        """The message of ``key`` when there is one, else ``fallback`` (a parameter the web has
        no words for is shown by its name)."""
        return self._messages.get(key) or messages_en.MESSAGES.get(key) or fallback

    def phase(self, phase: str) -> str:
        """A job's phase in this language (the engine reports it in English words).

        ``"avatarizing batch 2/5"`` and ``"wbcd: figures"`` keep their numbers and table name;
        a phase without a message is shown as it came.
        """
        table, _, words = phase.rpartition(": ")
        batch = BATCH_PHASE.fullmatch(words)
        if batch:
            text = self("phase.avatarizing batch", batch=batch.group(1))
        else:
            text = self._messages.get(f"phase.{words}") or words
        return f"{table}: {text}" if table else text

    def decimals(self, text: str) -> str:
        """Numbers inside a text (a target such as ``> 0.2``) with this language's decimal mark."""
        if self.language == "fr":
            return DECIMAL_POINT.sub(r"\1,\2", text)
        return text

    def number(self, value: float, digits: int = 2) -> str:
        """A number as this language writes it (French: comma decimal, thin space groups)."""
        return localize(f"{value:,.{digits}f}", self.language)

    def significant(self, value: float, digits: int = 3) -> str:
        """A number to ``digits`` significant digits (a δ: ``1e-05``, French ``1 \u00d7 10⁻⁵``)."""
        return localize(f"{value:.{digits}g}", self.language)

    def show(self, value: Any) -> str:
        """Any value a page shows as it came (a released value, a metadata bound, a count):
        numbers the page's way (whole numbers grouped in French), lists joined, ``None`` as a
        dash, text as it is."""
        if value is None:
            return "—"
        if isinstance(value, bool):
            return self("yes" if value else "no")
        if isinstance(value, int):
            return localize(f"{value:,}", self.language) if self.language == "fr" else str(value)
        if isinstance(value, float):
            return localize(repr(value), self.language)
        if isinstance(value, Sequence) and not isinstance(value, str | bytes):
            return ", ".join(self.show(item) for item in value)
        return str(value)


def choose_language(request: Request) -> tuple[str, bool]:
    """The page's language, and whether the request asked to switch to it (``?lang=``)."""
    asked = request.query_params.get("lang", "")
    if asked in LANGUAGES:
        return asked, asked != request.cookies.get(LANGUAGE_COOKIE)
    cookie = request.cookies.get(LANGUAGE_COOKIE, "")
    if cookie in LANGUAGES:
        return cookie, False
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code, False
    return "en", False
