"""Fixtures shared by the DP integration tests: a PENGUIN dataset per module, a client on it."""

from __future__ import annotations

import pytest
from dp_support import grant, manager, register
from support import ServerThread, TestUser
from veil_client.dp_client import DPClient


@pytest.fixture(scope="module")
def penguin(veil_server: ServerThread) -> str:
    """One PENGUIN dataset for the module, under a name no other module uses."""
    return register(veil_server)


@pytest.fixture()
def client(veil_server: ServerThread, user: TestUser, penguin: str) -> DPClient:
    """The test user's DP client on the module's PENGUIN, with a budget of (20, 1e-3)."""
    grant(veil_server, user, penguin, 20.0, 1e-3)
    return manager(veil_server, user).dp(penguin)
