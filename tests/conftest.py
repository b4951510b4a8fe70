"""Shared fixtures: one real server per test session (tests isolate by creating their own users
and runs), and helpers to make users."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))  # shared_data

from shared_data import SHARED_DATA
from support import ServerThread, TestUser, create_user, start_server


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder (../shared/data next to the repository)."""
    return SHARED_DATA


@pytest.fixture(scope="session")
def veil_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """A real Veil server on port 0 with a fresh data dir and a local engine child."""
    server = start_server(tmp_path_factory.mktemp("veil-data"))
    yield server
    server.stop()


@pytest.fixture()
def user(veil_server: ServerThread) -> TestUser:
    """A fresh user with an API key."""
    return create_user(veil_server, "user")


@pytest.fixture()
def admin(veil_server: ServerThread) -> TestUser:
    """A fresh admin with an API key."""
    return create_user(veil_server, "admin")
