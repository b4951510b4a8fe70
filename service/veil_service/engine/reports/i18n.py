"""Report languages: pick a catalog, format messages and numbers the way a reader expects.

Every visible string of the figures and reports goes through a `Translator`; the catalogs live
in messages_<code>.py (one dict each, same keys and placeholders), so adding a language means
adding one catalog module, registering it in `CATALOGS` and its code in `LANGUAGES`;
tests/unit/engine/reports/test_reports_i18n.py checks the keys and placeholders match.
"""

from __future__ import annotations

from typing import Any, Literal

from veil_service.engine.reports.catalog import Target, format_number, format_target
from veil_service.engine.reports.messages_en import EN
from veil_service.engine.reports.messages_fr import FR

Language = Literal["en", "fr"]
#: `ReportLanguage` values (reference/avatar_client.md section 6).
LANGUAGES: tuple[Language, ...] = ("en", "fr")
#: Language code -> message catalog.
CATALOGS: dict[str, dict[str, str]] = {"en": EN, "fr": FR}


def check_language(language: str) -> Language:
    """Validate a `ReportLanguage` value.

    Raises:
        ValueError: naming the supported values, for an unknown language.
    """
    if language not in LANGUAGES:
        raise ValueError(f"report language {language!r} is not one of {', '.join(LANGUAGES)}.")
    return language


class Translator:
    """Messages and numbers in one language.

    Args:
        language: "en" or "fr".

    Raises:
        ValueError: for an unknown language.
    """

    def __init__(self, language: str) -> None:
        self.language: Language = check_language(language)
        self._messages = CATALOGS[self.language]

    def __call__(self, key: str, **values: Any) -> str:
        """The message `key`, with `{placeholders}` filled from `values`.

        Raises:
            KeyError: for a key missing from the catalog (a bug the i18n test catches).
        """
        text = self._messages[key]
        return text.format(**values) if values else text

    def number(self, value: float | None) -> str:
        """A metric value with the language's decimal mark; "not computed" for None."""
        if value is None:
            return self("common.not_computed")
        return format_number(value, self.language)

    def target(self, target: Target | None) -> str:
        """A target such as "> 90"; "no target" for None."""
        return format_target(target, self.language) if target else self("common.no_target")

    def percent(self, share: float) -> str:
        """A share in [0, 1] as a percentage with one decimal ("12.5 %", "12,5 %")."""
        text = f"{100 * share:.1f}"
        return (text.replace(".", ",") if self.language == "fr" else text) + " %"

    def metric_name(self, key: str) -> str:
        """Display name of a metric; the raw key for metrics the catalog does not name."""
        name = self._messages.get(f"metric.{key}")
        return name if name is not None else key

    def verdict(self, passed: bool | None, *, computed: bool) -> str:
        """The pass/fail mark of a metric row."""
        if not computed:
            return self("common.not_computed")
        if passed is None:
            return self("common.no_target")
        return self("common.pass") if passed else self("common.fail")
