"""Password hashing (argon2id with RFC 9106 parameters) and strength rules."""

from __future__ import annotations

import pytest
from argon2 import Type
from veil_service.accounts import passwords
from veil_service.errors import InvalidArgumentError


def test_hashes_are_argon2id_with_the_recommended_cost() -> None:
    hasher = passwords._hasher
    assert hasher.type is Type.ID
    assert (hasher.time_cost, hasher.memory_cost, hasher.parallelism) == (3, 65536, 4)
    digest = passwords.hash_password("Correct-Horse-9")
    assert digest.startswith("$argon2id$")
    assert "Correct-Horse-9" not in digest
    assert passwords.verify_password(digest, "Correct-Horse-9")
    assert not passwords.verify_password(digest, "Correct-Horse-8")


def test_verify_without_a_hash_is_false() -> None:
    assert not passwords.verify_password(None, "anything-at-ALL-1")
    assert not passwords.verify_password("not-a-hash", "anything-at-ALL-1")


@pytest.mark.parametrize("weak", ["Sh0rt!", "onlylowercaseletters", "ONLYUPPER12345", ""])
def test_weak_passwords_are_refused_without_echoing_them(weak: str) -> None:
    with pytest.raises(InvalidArgumentError) as refused:
        passwords.check_strength(weak, field="new_password")
    assert refused.value.reason == "WEAK_PASSWORD"
    assert refused.value.field == "new_password"
    assert not weak or weak not in refused.value.message
