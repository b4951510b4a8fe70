"""Pseudonymization strategies (avatar_yaml's ``pseudonymization`` kinds), parsed and checked.

A strategy arrives as a field map with a ``kind`` tag, as avatar_yaml writes it on a schema
column: ``{kind: FAKER, pii_type: EMAIL}``, ``{kind: HASH_SHA256}``, ``{kind: UUID4,
consistent: true}``, ``{kind: CONSTANT, value: "REDACTED"}``, ``{kind: INTEGER}``,
``{kind: SPECIFIC_ID, pattern: "EMP-####", letter_case: upper}``.

In the contract package because both sides parse them: the runs domain when a configuration is
set (a bad strategy is refused before any job exists), the engine when it applies them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from veil_service.errors import InvalidArgumentError

PII_TYPES: Final = (
    "EMAIL",
    "FIRST_NAME",
    "LAST_NAME",
    "FULL_NAME",
    "PHONE",
    "SSN",
    "ADDRESS",
    "FREE_TEXT",
)
KINDS: Final = ("FAKER", "HASH_SHA256", "UUID4", "CONSTANT", "INTEGER", "SPECIFIC_ID")
LETTER_CASES: Final = ("upper", "lower", "both")
#: Placeholders of a SPECIFIC_ID pattern that draw a random character.
RANDOM_PLACEHOLDERS: Final = {"#": "digit", "?": "letter", "^": "alphanumeric"}
_COLUMN_PLACEHOLDER = re.compile(r"\{\{([^{}]+)\}\}")


@dataclass(frozen=True)
class Strategy:
    """One column's pseudonymization.

    Attributes:
        kind: One of :data:`KINDS`.
        consistent: The same original value always gets the same pseudonym within a run
            (HASH_SHA256 is always consistent; CONSTANT has one value).
        pii_type: FAKER: what to fake (one of :data:`PII_TYPES`).
        high_variability: FAKER: every distinct original gets a distinct fake value.
        value: CONSTANT: the replacement text.
        pattern: SPECIFIC_ID: ``#`` digit, ``?`` letter, ``^`` letter or digit, ``{{col}}`` the
            row's value of another column, ``\\`` before a placeholder keeps it literal.
        letter_case: SPECIFIC_ID: case of ``?`` and ``^`` letters (``upper``, ``lower``, ``both``).
    """

    kind: str
    consistent: bool = True
    pii_type: str | None = None
    high_variability: bool = False
    value: str | None = None
    pattern: str | None = None
    letter_case: str = "both"

    @property
    def is_consistent(self) -> bool:
        """Whether equal originals get equal pseudonyms."""
        return self.kind == "HASH_SHA256" or (self.kind != "CONSTANT" and self.consistent)

    def field_map(self) -> dict[str, Any]:
        """The canonical field map of the strategy (what the run configuration stores)."""
        fields: dict[str, Any] = {"kind": self.kind}
        if self.kind in ("FAKER", "UUID4", "INTEGER", "SPECIFIC_ID"):
            fields["consistent"] = self.consistent
        if self.kind == "FAKER":
            fields.update(pii_type=self.pii_type, high_variability=self.high_variability)
        elif self.kind == "CONSTANT":
            fields["value"] = self.value
        elif self.kind == "SPECIFIC_ID":
            fields.update(pattern=self.pattern, letter_case=self.letter_case)
        return fields

    def referenced_columns(self) -> list[str]:
        """Columns a SPECIFIC_ID pattern copies values from (``{{col}}``)."""
        if self.kind != "SPECIFIC_ID" or self.pattern is None:
            return []
        return [m.group(1).strip() for m in _COLUMN_PLACEHOLDER.finditer(self.pattern)]


def parse_strategy(column: str, spec: dict[str, Any]) -> Strategy:
    """A checked :class:`Strategy` from its field map.

    Raises:
        InvalidArgumentError: unknown kind, a missing or bad field; the message names the column.
    """
    path = f"pseudonymized_columns[{column}]"
    if not isinstance(spec, dict):
        raise InvalidArgumentError(
            f"{path} must be a strategy (e.g. Uuid4Strategy()); got {spec!r}.", field=path
        )
    kind = str(spec.get("kind", "")).upper()
    if kind not in KINDS:
        raise InvalidArgumentError(
            f"{path}.kind must be one of {list(KINDS)}; got {spec.get('kind')!r}.",
            field=f"{path}.kind",
        )
    allowed = {
        "FAKER": {"kind", "pii_type", "consistent", "high_variability"},
        "HASH_SHA256": {"kind"},
        "UUID4": {"kind", "consistent"},
        "CONSTANT": {"kind", "value"},
        "INTEGER": {"kind", "consistent"},
        "SPECIFIC_ID": {"kind", "pattern", "letter_case", "consistent"},
    }[kind]
    unknown = sorted(k for k, v in spec.items() if k not in allowed and v is not None)
    if unknown:
        raise InvalidArgumentError(
            f"{path}: {kind} takes no {unknown}; its fields are {sorted(allowed - {'kind'})}.",
            field=f"{path}.{unknown[0]}",
        )
    consistent = spec.get("consistent", True)
    for flag in ("consistent", "high_variability"):
        if flag in spec and spec[flag] is not None and not isinstance(spec[flag], bool):
            raise InvalidArgumentError(
                f"{path}.{flag} must be true or false; got {spec[flag]!r}.", field=f"{path}.{flag}"
            )
    strategy = Strategy(
        kind=kind,
        consistent=True if consistent is None else consistent,
        pii_type=_upper(spec.get("pii_type")),
        high_variability=bool(spec.get("high_variability") or False),
        value=spec.get("value"),
        pattern=spec.get("pattern"),
        letter_case=str(spec.get("letter_case") or "both").lower(),
    )
    _check(path, strategy)
    return strategy


def _upper(value: Any) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value)).upper()


def _check(path: str, strategy: Strategy) -> None:
    if strategy.kind == "FAKER" and strategy.pii_type not in PII_TYPES:
        raise InvalidArgumentError(
            f"{path}.pii_type must be one of {list(PII_TYPES)} for FAKER; got "
            f"{strategy.pii_type!r}. Example: FakeDataStrategy(pii_type=PiiType.EMAIL).",
            field=f"{path}.pii_type",
        )
    if strategy.kind == "CONSTANT" and (not isinstance(strategy.value, str) or not strategy.value):
        raise InvalidArgumentError(
            f"{path}.value must be a non-empty string for CONSTANT; got {strategy.value!r}. "
            'Example: ConstantStrategy(value="REDACTED").',
            field=f"{path}.value",
        )
    if strategy.kind == "SPECIFIC_ID":
        pattern = strategy.pattern
        if not isinstance(pattern, str) or not pattern:
            raise InvalidArgumentError(
                f"{path}.pattern must be a non-empty string for SPECIFIC_ID; got {pattern!r}. "
                'Example: SpecificIdStrategy(pattern="EMP-####").',
                field=f"{path}.pattern",
            )
        if random_slots(pattern) == 0:
            raise InvalidArgumentError(
                f"{path}.pattern {pattern!r} has no placeholder: every row would get the same "
                "text (or a copy of another column), which pseudonymizes nothing. Add # (digit), "
                '? (letter) or ^ (letter or digit), e.g. "ID-####".',
                field=f"{path}.pattern",
            )
        if strategy.letter_case not in LETTER_CASES:
            raise InvalidArgumentError(
                f"{path}.letter_case must be one of {list(LETTER_CASES)}; got "
                f"{strategy.letter_case!r}.",
                field=f"{path}.letter_case",
            )


def tokens(pattern: str) -> list[tuple[str, str]]:
    """A SPECIFIC_ID pattern as (kind, text) tokens: ``literal``, ``digit``, ``letter``,
    ``alphanumeric`` or ``column`` (text = the column name)."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            out.append(("literal", pattern[i + 1]))
            i += 2
            continue
        match = _COLUMN_PLACEHOLDER.match(pattern, i)
        if match:
            out.append(("column", match.group(1).strip()))
            i = match.end()
            continue
        out.append((RANDOM_PLACEHOLDERS.get(char, "literal"), char))
        i += 1
    return out


def random_slots(pattern: str) -> int:
    """Number of random characters a pattern draws."""
    return sum(1 for kind, _ in tokens(pattern) if kind in RANDOM_PLACEHOLDERS.values())
