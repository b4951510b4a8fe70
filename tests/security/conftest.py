"""Fixtures of the security tests: the DP helpers of the integration tests, a PENGUIN dataset."""

from __future__ import annotations

import pytest
from dp_support import grant, manager, register
from support import ServerThread, TestUser
from veil_client.dp_client import DPClient


@pytest.fixture(scope="module")
def penguin(veil_server: ServerThread) -> str:
    """One PENGUIN dataset for the module."""
    return register(veil_server)


@pytest.fixture()
def client(veil_server: ServerThread, user: TestUser, penguin: str) -> DPClient:
    """The test user's DP client on the module's PENGUIN, with a budget of (50, 1e-2)."""
    grant(veil_server, user, penguin, 50.0, 1e-2)
    return manager(veil_server, user).dp(penguin)
