"""The web application in English and French, like the reports.

Messages live in ``messages_en.py`` and ``messages_fr.py`` (a test keeps their keys equal). The
language comes from ``?lang=``, then the ``veil-lang`` cookie, then ``Accept-Language``.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request

from veil_service.web import messages_en, messages_fr
from veil_service.web.security import LANGUAGE_COOKIE

LANGUAGES = ("en", "fr")
DECIMAL_POINT = re.compile(r"(\d)\.(\d)")
BATCH_PHASE = re.compile(r"avatarizing batch (\d+/\d+)")
CATALOGS: dict[str, dict[str, str]] = {"en": messages_en.MESSAGES, "fr": messages_fr.MESSAGES}


class Translator:
    """Messages of one language; ``t("key", name=...)`` formats with ``str.format``."""

    def __init__(self, language: str) -> None:
        self.language = language if language in CATALOGS else "en"
        self._messages = CATALOGS[self.language]

    def __call__(self, key: str, **values: Any) -> str:
        text = self._messages.get(key) or messages_en.MESSAGES.get(key) or key
        return text.format(**values) if values else text

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
        text = f"{value:,.{digits}f}"
        if self.language == "fr":
            text = text.replace(",", "\u202f").replace(".", ",")
        return text


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
