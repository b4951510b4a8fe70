"""Passwords: argon2id hashes, strength rules.

Passwords are deprecated as a way in (API keys are recommended) but still work, so they get the
same care: argon2id (argon2-cffi's defaults follow RFC 9106's second recommendation).
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from veil_service.errors import InvalidArgumentError, Message, Reason

_hasher = PasswordHasher()

MIN_LENGTH = 12


def check_strength(password: str, *, field: str = "password") -> None:
    """Refuse weak passwords, saying what is needed.

    Raises:
        InvalidArgumentError: shorter than 12 characters, or fewer than 3 of the 4 character
            classes (lower, upper, digit, other).
    """
    if len(password) < MIN_LENGTH:
        raise InvalidArgumentError(
            f"{field} is too weak: use at least {MIN_LENGTH} characters.",
            field=field,
            reason=Reason.WEAK_PASSWORD,
            code=Message.PASSWORD_TOO_SHORT,
            params={"field": field, "length": MIN_LENGTH},
        )
    classes = sum(
        [
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        ]
    )
    if classes < 3:
        raise InvalidArgumentError(
            f"{field} is too weak: mix at least three of lower case, upper case, digits and "
            "symbols.",
            field=field,
            reason=Reason.WEAK_PASSWORD,
            code=Message.PASSWORD_TOO_SIMPLE,
            params={"field": field},
        )


def hash_password(password: str) -> str:
    """argon2id hash of a password (after the strength check)."""
    check_strength(password)
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether a password matches its hash (constant work even when there is no hash)."""
    if not password_hash:
        _hasher.hash(password)
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
