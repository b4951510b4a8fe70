"""Shared fixtures: one real server per test session (tests isolate by creating their own users
and runs), and helpers to make users."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import FIXTURES, ServerThread, TestUser, create_user, start_server

TESTS = Path(__file__).resolve().parent


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    """A skipped test fails: a test that cannot run here must say why, loudly (issue 18)."""
    report = yield
    if report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"{item.nodeid} was skipped ({report.longrepr}); tests never skip."
    return report


@pytest.fixture(scope="session", autouse=True)
def engine_test_tasks() -> Iterator[None]:
    """Engines started by the tests also run the test-only tasks of ``engine_test_tasks``."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(
            "VEIL_ENGINE_EXTRA_TASKS",
            "sleep=engine_test_tasks:run_sleep,crash=engine_test_tasks:run_crash",
        )
        patch.setenv(
            "PYTHONPATH", os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))
        )
        yield


@pytest.fixture(scope="session")
def veil_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """A real Veil server on port 0 with a fresh data dir, a local engine child and the web
    application on another free port."""
    # RegisterDatasetFromPath reads only under dataset roots: the test fixtures and pytest's temp.
    roots = (str(FIXTURES), str(tmp_path_factory.getbasetemp()))
    # The web application is on (a free port) so the web tests share this server and its engine.
    server = start_server(tmp_path_factory.mktemp("veil-data"), dataset_roots=roots, web_port=0)
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
