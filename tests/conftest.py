"""Shared fixtures: one real server per test session (tests isolate by creating their own users
and runs), and helpers to make users."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from postgres_cluster import PostgresCluster
from support import FIXTURES, ServerThread, TestUser, create_user, start_server
from veil_service.storage.db import open_database

TESTS = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    """The ``soak`` marker: a test that repeats more under ``make soak`` (``support.soak``)."""
    config.addinivalue_line(
        "markers", "soak: repeats more under `make soak` (VEIL_SOAK=1); `make test` runs it short"
    )
    config.addinivalue_line(
        "markers",
        "every_database: an e2e module that runs on every backend of VEIL_TEST_DATABASES "
        "(other e2e modules run on the first only)",
    )
    config.addinivalue_line(
        "markers",
        "serial: measures wall-clock time; `make test` runs it alone after the parallel part",
    )


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


DATABASE_BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """A real PostgreSQL server for the session (started only when a test asks for it)."""
    cluster = PostgresCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=DATABASE_BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'veil.db'}"
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    url = cluster.create_database()
    yield url
    cluster.drop_database(url)


@pytest.fixture(params=DATABASE_BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """A database on the current schema, on each backend (as ``database_url``)."""
    if request.param == "sqlite":
        engine = open_database(f"sqlite:///{tmp_path / 'veil.db'}")
        yield engine
        engine.dispose()
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    url = cluster.create_database(migrated=True)
    engine = open_database(url)
    yield engine
    engine.dispose()
    cluster.drop_database(url)


def _server_databases() -> tuple[str, ...]:
    """The backends the server-level suites run on: ``VEIL_TEST_DATABASES`` (default both)."""
    chosen = tuple(
        name.strip()
        for name in os.environ.get("VEIL_TEST_DATABASES", ",".join(DATABASE_BACKENDS)).split(",")
        if name.strip()
    )
    unknown = set(chosen) - set(DATABASE_BACKENDS)
    if unknown or not chosen:
        raise pytest.UsageError(
            f"VEIL_TEST_DATABASES={os.environ.get('VEIL_TEST_DATABASES')!r}: name one or more of "
            f"{', '.join(DATABASE_BACKENDS)}, comma-separated"
        )
    return chosen


E2E = TESTS / "e2e"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run the server-level suites on each backend, but the end-to-end walks on the first only.

    Integration and security tests exercise the storage layer (budgets, leases, audit, keys) and
    run on every backend of ``VEIL_TEST_DATABASES``. The e2e tests walk the engine's paths (a
    tutorial, a report) through the same storage calls: a second backend doubles their cost
    without testing anything new, and CI must finish in 30 minutes on 2 cores. A module that
    does depend on the backend says so with ``pytestmark = pytest.mark.every_database``;
    ``VEIL_E2E_EVERY_DATABASE=1`` (``make test-every-database``) runs them all on every backend.
    """
    if "veil_server" not in metafunc.fixturenames:
        return
    backends = _server_databases()
    end_to_end = metafunc.definition.path.is_relative_to(E2E)
    if (
        end_to_end
        and metafunc.definition.get_closest_marker("every_database") is None
        and os.environ.get("VEIL_E2E_EVERY_DATABASE") != "1"
    ):
        backends = backends[:1]
    metafunc.parametrize("veil_server", backends, indirect=True, scope="session")


@pytest.fixture(scope="session")
def veil_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerThread]:
    """A real Veil server on port 0 with a fresh data dir, a local engine child and the web
    application on another free port, on each database backend in turn (SQLite under the data
    dir, then a real PostgreSQL)."""
    # RegisterDatasetFromPath reads only under dataset roots: the test fixtures and pytest's temp.
    roots = (str(FIXTURES), str(tmp_path_factory.getbasetemp()))
    database_url = ""
    if request.param == "postgresql":
        cluster: PostgresCluster = request.getfixturevalue("postgres")
        database_url = cluster.create_database("server", migrated=True)
    # The web application is on (a free port) so the web tests share this server and its engine.
    server = start_server(
        tmp_path_factory.mktemp("veil-data"),
        dataset_roots=roots,
        # RegisterDatasetFromUrl reads only loopback URLs (the tests' own HTTP servers).
        dataset_url_prefixes=("http://127.0.0.1",),
        web_port=0,
        database_url=database_url,
    )
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
