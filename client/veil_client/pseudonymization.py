"""Pseudonymization strategies with avatar_yaml's names (``avatars.FakeDataStrategy`` & co.).

Passed as ``set_parameters(table, pseudonymized_columns={"email": FakeDataStrategy(
pii_type=PiiType.EMAIL), "ssn": Uuid4Strategy()})``. Each becomes the field map avatar_yaml
writes on the schema column (``{"kind": "FAKER", "pii_type": "EMAIL", ...}``), which the server
checks and the engine applies after avatarization. Foreign keys inherit their parent key's
mapping, so only the parent's key needs a strategy.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar


class PiiType(StrEnum):
    """What a :class:`FakeDataStrategy` fakes (values are the member names, as in avatar_yaml)."""

    EMAIL = "EMAIL"
    FIRST_NAME = "FIRST_NAME"
    LAST_NAME = "LAST_NAME"
    FULL_NAME = "FULL_NAME"
    PHONE = "PHONE"
    SSN = "SSN"
    ADDRESS = "ADDRESS"
    FREE_TEXT = "FREE_TEXT"


class SpecificIdLetterCase(StrEnum):
    """Case of the letters a :class:`SpecificIdStrategy` draws."""

    UPPER = "upper"
    LOWER = "lower"
    BOTH = "both"


@dataclass(frozen=True)
class PseudonymizationStrategy:
    """Base of the strategies; ``kind`` is avatar_yaml's tag."""

    kind: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        """The avatar_yaml field map: ``kind`` plus the strategy's fields."""
        fields = {
            name: getattr(value, "value", value)
            for name, value in vars(self).items()
            if value is not None
        }
        return {"kind": self.kind, **fields}


@dataclass(frozen=True)
class FakeDataStrategy(PseudonymizationStrategy):
    """Realistic fake values of a PII type.

    Attributes:
        pii_type: What to fake.
        consistent: The same original always gets the same fake value within a run.
        high_variability: Every distinct original gets a distinct fake value.
    """

    kind: ClassVar[str] = "FAKER"
    pii_type: PiiType
    consistent: bool = True
    high_variability: bool = False


@dataclass(frozen=True)
class HashSha256Strategy(PseudonymizationStrategy):
    """A keyed SHA-256 of the value (always consistent; the key is the run's secret)."""

    kind: ClassVar[str] = "HASH_SHA256"


@dataclass(frozen=True)
class Uuid4Strategy(PseudonymizationStrategy):
    """A random UUID4 per original value (or per row when not consistent)."""

    kind: ClassVar[str] = "UUID4"
    consistent: bool = True


@dataclass(frozen=True)
class ConstantStrategy(PseudonymizationStrategy):
    """One fixed string for every row (suppresses the column)."""

    kind: ClassVar[str] = "CONSTANT"
    value: str


@dataclass(frozen=True)
class IntegerStrategy(PseudonymizationStrategy):
    """A unique integer per original value, in random order."""

    kind: ClassVar[str] = "INTEGER"
    consistent: bool = True


@dataclass(frozen=True)
class SpecificIdStrategy(PseudonymizationStrategy):
    """An identifier drawn from a pattern: ``#`` digit, ``?`` letter, ``^`` letter or digit,
    ``{{col}}`` the row's value of another column, ``\\`` before a placeholder keeps it
    literal."""

    kind: ClassVar[str] = "SPECIFIC_ID"
    pattern: str
    letter_case: SpecificIdLetterCase = SpecificIdLetterCase.BOTH
    consistent: bool = True


STRATEGIES: tuple[type[PseudonymizationStrategy], ...] = (
    FakeDataStrategy,
    HashSha256Strategy,
    Uuid4Strategy,
    ConstantStrategy,
    IntegerStrategy,
    SpecificIdStrategy,
)
