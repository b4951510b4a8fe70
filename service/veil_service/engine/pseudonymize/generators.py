"""Pseudonym generators: fresh values for each strategy kind, from a seeded random stream.

Every random draw comes from one ``numpy.random.Generator`` (and a Faker instance seeded from it),
so a column's pseudonyms depend only on the run's secret, the column and its distinct values: the
same run gives the same pseudonyms every time it is computed. HASH_SHA256 is not random: it is
HMAC-SHA256 keyed with the run's secret (see docs/pseudonymization.md for why a plain hash would
be reversible).
"""

from __future__ import annotations

import hashlib
import hmac
import string
import uuid
from collections.abc import Callable
from typing import Final

import numpy as np

from veil_service.engine_contract.pseudonymization import Strategy, tokens
from veil_service.errors import InvalidArgumentError

_DIGITS: Final = string.digits
_LETTERS: Final = {"upper": string.ascii_uppercase, "lower": string.ascii_lowercase}
_LETTERS_BOTH: Final = string.ascii_letters
#: Draws tried before giving up on finding unused pseudonyms (a pattern with too little room).
_MAX_ROUNDS: Final = 50


def keyed_hash(secret: bytes, namespace: str, key: str) -> str:
    """HMAC-SHA256 of one value, keyed with the run's secret, as 64 hex characters."""
    message = namespace.encode() + b"\x00" + key.encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def fresh_values(
    strategy: Strategy,
    count: int,
    rng: np.random.Generator,
    *,
    taken: set[str],
    unique: bool,
    column: str,
) -> list[str]:
    """``count`` new pseudonyms (HASH_SHA256 and CONSTANT are handled by the caller).

    Args:
        strategy: The column's strategy.
        count: How many values to draw.
        rng: The column's random stream.
        taken: Pseudonyms already in use (an inherited mapping's); new ones avoid them when
            ``unique``.
        unique: Every value must differ from the others and from ``taken``.
        column: Column name, for error messages.

    Raises:
        InvalidArgumentError: the strategy cannot produce that many distinct values.
    """
    draw = _drawer(strategy, rng)
    if not unique:
        return [draw() for _ in range(count)]
    capacity = _capacity(strategy)
    if capacity is not None and capacity < count + len(taken):
        raise InvalidArgumentError(
            f"pseudonymized_columns[{column}]: pattern {strategy.pattern!r} allows "
            f"{capacity} distinct IDs but the column needs {count + len(taken)}; add "
            "placeholders (# ? ^) to the pattern.",
            field=f"pseudonymized_columns[{column}].pattern",
        )
    out: list[str] = []
    seen = set(taken)
    for _ in range(_MAX_ROUNDS):
        for _ in range(count - len(out)):
            value = draw()
            if value not in seen:
                seen.add(value)
                out.append(value)
        if len(out) == count:
            return out
    raise InvalidArgumentError(
        f"pseudonymized_columns[{column}]: could not draw {count} distinct pseudonyms with "
        f"{strategy.kind}; the column has more distinct values than the strategy can tell "
        "apart. Use Uuid4Strategy or a longer pattern, or set consistent=False.",
        field=f"pseudonymized_columns[{column}]",
    )


def _capacity(strategy: Strategy) -> int | None:
    if strategy.kind != "SPECIFIC_ID" or strategy.pattern is None:
        return None
    size = {
        "digit": 10,
        "letter": 52 if strategy.letter_case == "both" else 26,
        "alphanumeric": 62 if strategy.letter_case == "both" else 36,
    }
    capacity = 1
    for kind, _ in tokens(strategy.pattern):
        capacity *= size.get(kind, 1)
        if capacity > 10**18:
            return None
    return capacity


def _drawer(strategy: Strategy, rng: np.random.Generator) -> Callable[[], str]:
    if strategy.kind == "UUID4":
        return lambda: str(uuid.UUID(bytes=rng.bytes(16), version=4))
    if strategy.kind == "SPECIFIC_ID":
        return _specific_id_drawer(strategy, rng)
    if strategy.kind == "FAKER":
        return _faker_drawer(strategy, rng)
    raise ValueError(f"no random drawer for {strategy.kind}")  # pragma: no cover - caller's bug


def _specific_id_drawer(strategy: Strategy, rng: np.random.Generator) -> Callable[[], str]:
    letters = _LETTERS.get(strategy.letter_case, _LETTERS_BOTH)
    alphabet = {
        "digit": _DIGITS,
        "letter": letters,
        "alphanumeric": letters + _DIGITS,
    }
    # Column placeholders are filled per row by the caller; here they stay as markers.
    parts = [(kind, text) for kind, text in tokens(strategy.pattern or "")]

    def draw() -> str:
        out = []
        for kind, text in parts:
            if kind in alphabet:
                chars = alphabet[kind]
                out.append(chars[int(rng.integers(len(chars)))])
            elif kind == "column":
                out.append("\x00{" + text + "}\x00")
            else:
                out.append(text)
        return "".join(out)

    return draw


def _faker_drawer(strategy: Strategy, rng: np.random.Generator) -> Callable[[], str]:
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(int(rng.integers(2**63 - 1)))
    make: dict[str, Callable[[], str]] = {
        "EMAIL": fake.email,
        "FIRST_NAME": fake.first_name,
        "LAST_NAME": fake.last_name,
        "FULL_NAME": fake.name,
        "PHONE": fake.phone_number,
        "SSN": fake.ssn,
        "ADDRESS": lambda: fake.address().replace("\n", ", "),
        "FREE_TEXT": lambda: fake.text(max_nb_chars=120).replace("\n", " "),
    }
    return make[strategy.pii_type or "FREE_TEXT"]
