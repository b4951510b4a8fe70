"""Test support: a real Veil server on port 0 in a background thread, users and keys."""

from __future__ import annotations

import asyncio
import gzip
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from veil_service.accounts import api_keys, users
from veil_service.server.app import VeilServer
from veil_service.settings import Settings, load_settings

FIXTURES = Path(__file__).resolve().parent / "fixtures"
"""The tests' own data (tests/fixtures/README.md): all tests but the paper-fidelity ones use it."""


def soak(short: int, long: int) -> int:
    """How many times a repeated or statistical test repeats: ``short`` in ``make test``, ``long``
    under ``make soak`` (``VEIL_SOAK=1``), so CI stays fast and the long run stays one command.

    Tests that use it carry ``@pytest.mark.soak`` (``make soak`` selects them).
    """
    return long if os.environ.get("VEIL_SOAK") == "1" else short


def octopize_fixtures(folder: Path) -> Path:
    """The Octopize client's fixtures in ``folder`` as its tutorials read them (``name.csv``).

    The compressed ones (``name.csv.gz`` in tests/fixtures) are unpacked; the others linked.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for source in (FIXTURES / "avatar" / "fixtures").iterdir():
        if source.suffix == ".gz":
            with gzip.open(source) as packed, (folder / source.stem).open("wb") as unpacked:
                shutil.copyfileobj(packed, unpacked)
        else:
            (folder / source.name).symlink_to(source)
    return folder


def adult(copies: int = 1) -> pd.DataFrame:
    """The 6,000-row Adult sample, repeated ``copies`` times (for jobs that must run a while)."""
    sample = pd.read_csv(FIXTURES / "tables" / "adult_6000.csv.gz")
    return pd.concat([sample] * copies, ignore_index=True) if copies > 1 else sample


class ServerThread:
    """A VeilServer running on its own event loop in a daemon thread."""

    def __init__(self, settings: Settings) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = VeilServer(settings)
        self.port: int = self.run(self.server.start(), timeout=120)
        self.settings = settings

    def run(self, coroutine: Any, timeout: float = 60) -> Any:
        """Run a coroutine on the server's loop and wait for it."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    @property
    def url(self) -> str:
        """Address for Manager(base_url=...)."""
        return f"localhost:{self.port}"

    @property
    def app(self) -> Any:
        """The server's AppContext."""
        return self.server.app

    def stop(self) -> None:
        """Stop the server and its loop."""
        try:
            self.run(self.server.stop(1.0), timeout=60)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()


def start_server(data_dir: Path, **overrides: Any) -> ServerThread:
    """Start a server with a fresh data dir on port 0."""
    settings = load_settings(
        {"data_dir": data_dir, "port": 0, "engine_capacity": 2, **overrides}, environ={}
    )
    return ServerThread(settings)


@dataclass(frozen=True)
class TestUser:
    """A user created for one test, with an API key."""

    __test__ = False

    id: str
    username: str
    email: str
    role: str
    api_key: str
    password: str


def create_user(server: ServerThread, role: str = "user", password: str | None = None) -> TestUser:
    """Create a user with a unique name and an API key, directly in the server's database."""
    from veil_service.accounts.passwords import hash_password

    suffix = uuid.uuid4().hex[:10]
    username = f"{role}_{suffix}"
    email = f"{username}@example.org"
    with server.app.db.begin() as conn:
        user = users.create_user(
            conn,
            username=username,
            email=email,
            role=role,
            password_hash=hash_password(password) if password else None,
        )
        _, key = api_keys.create_api_key(conn, user_id=user.id, name="test", expiration_days=30)
    return TestUser(user.id, username, email, role, key, password or "")


def assert_eventually(
    predicate: Callable[[], bool],
    timeout: float = 20.0,
    interval: float = 0.1,
    message: str = "condition not met",
) -> None:
    """Wait until ``predicate()`` is true, failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"{message} within {timeout} s")
