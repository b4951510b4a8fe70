"""A test-only speed-up: cheap argon2id parameters while a test runs.

The service hashes with argon2-cffi's defaults (RFC 9106, 64 MiB, ~50 ms on an idle core, seconds
on a loaded CI machine). The auth tests hash dozens of passwords; what they check is the flow, not
the cost, so they swap in a cheap argon2id hasher. Hashes keep their parameters inside, so the
service verifies them unchanged. ``tests/unit/accounts/test_accounts_passwords.py`` pins the
real defaults.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher, Type
from veil_service.accounts import passwords


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Use argon2id with 1 pass over 8 MiB on 1 lane for the duration of one test."""
    monkeypatch.setattr(
        passwords,
        "_hasher",
        PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1, type=Type.ID),
    )
    yield
