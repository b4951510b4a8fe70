"""Migrations in a child process, as ``veil serve`` runs them (Alembic stays out of the server)."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from postgres_cluster import PostgresCluster
from veil_service.errors import FailedPreconditionError
from veil_service.storage.db import open_database


def test_a_child_process_brings_a_fresh_database_to_the_current_schema(database_url: str) -> None:
    url = database_url
    engine = open_database(url, migrate_in_subprocess=True)
    try:
        tables = set(sa.inspect(engine).get_table_names())
        assert {"users", "api_keys", "runs", "blobs", "alembic_version"} <= tables
        with engine.connect() as conn:
            head = conn.execute(sa.text("select version_num from alembic_version")).scalar()
    finally:
        engine.dispose()
    again = open_database(url, migrate_in_subprocess=True)  # idempotent
    with again.connect() as conn:
        assert conn.execute(sa.text("select version_num from alembic_version")).scalar() == head
    again.dispose()


def test_a_failed_migration_is_a_clear_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing-dir' / 'veil.db'}"
    with pytest.raises(FailedPreconditionError, match="could not be migrated") as caught:
        open_database(url, migrate_in_subprocess=True)
    assert caught.value.field == "database_url"
    assert "Traceback" not in caught.value.message


def test_the_serving_process_does_not_import_alembic(tmp_path: Path) -> None:
    code = (
        "import sys; from veil_service.storage.db import open_database; "
        f"open_database('sqlite:///{tmp_path / 'v.db'}', migrate_in_subprocess=True); "
        "print('alembic' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "False"


def test_the_migrations_build_exactly_the_schema_the_code_queries(database_url: str) -> None:
    """Every migration runs on both backends and ends on ``schema.metadata``, nothing missing."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from veil_service.storage.schema import metadata

    engine = open_database(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_servers_starting_together_on_one_postgresql_migrate_it_once(
    postgres: PostgresCluster,
) -> None:
    """Three child migrations race on an empty database; the advisory lock lets one work."""
    url = postgres.create_database()
    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            list(
                pool.map(
                    lambda _: open_database(url, migrate_in_subprocess=True).dispose(), range(3)
                )
            )
        engine = open_database(url)
        with engine.connect() as conn:
            versions = conn.execute(sa.text("select version_num from alembic_version")).all()
        engine.dispose()
        assert len(versions) == 1
    finally:
        postgres.drop_database(url)
