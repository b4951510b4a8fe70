"""Database connection and migrations.

SQLite (the embedded default, in WAL mode) or PostgreSQL by URL. Migrations are Alembic's, applied
at start-up so that a fresh data dir and an old one both come up on the current schema.

Alembic is imported only to migrate. ``veil serve`` migrates in a short-lived child process
(:func:`migrate_in_child`), so the long-running server never holds Alembic's modules: about
12 MiB of the server's resident memory, a twelfth of its budget, for code used once at start.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from veil_service.errors import FailedPreconditionError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers proceed while a writer commits; busy_timeout makes concurrent writers wait
    # instead of failing with "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


POOL_SIZE = 5
POOL_OVERFLOW = 10
"""Connections kept open, and opened beyond them at peak (SQLAlchemy's defaults, named because
``storage.db_calls.DB_THREADS`` is sized below their sum)."""


def create_db_engine(url: str) -> sa.Engine:
    """Create the SQLAlchemy engine for ``url`` with the settings Veil relies on."""
    pool = {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW}
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 10}, **pool
        )
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, **pool)


MIGRATION_TIMEOUT_S = 600.0
MIGRATION_LOCK_KEY = 0x7665696C  # "veil": the PostgreSQL advisory lock held while migrating


def alembic_config(engine: sa.Engine | None = None) -> Any:
    """Alembic's configuration for Veil's migrations (on ``engine``'s database, when given)."""
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def migrate(engine: sa.Engine) -> None:
    """Apply every pending Alembic migration (idempotent)."""
    from alembic import command

    cfg = alembic_config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Several servers starting at once on one database: one migrates, the others wait
            # for its commit, then find the schema current. Released at commit.
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


def migrate_in_child(url: str) -> None:
    """Apply pending migrations in a child process (``python -m veil_service.storage.db URL``).

    Raises:
        FailedPreconditionError: the migration failed; the message carries the child's last
            line of error output.
    """
    result = subprocess.run(
        [sys.executable, "-m", "veil_service.storage.db", url],
        capture_output=True,
        text=True,
        timeout=MIGRATION_TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        detail = lines[-1] if lines else f"exit code {result.returncode}"
        raise FailedPreconditionError(
            f"the database could not be migrated to the current schema: {detail}. Check "
            "--database-url and that the data dir is writable.",
            field="database_url",
        )


def open_database(url: str, *, migrate_in_subprocess: bool = False) -> sa.Engine:
    """Create the engine and bring the schema up to date.

    Args:
        migrate_in_subprocess: Migrate in a child process (see the module docstring); the
            long-running server does, one-shot commands and tests need not.
    """
    if migrate_in_subprocess:
        migrate_in_child(url)
        return create_db_engine(url)
    engine = create_db_engine(url)
    migrate(engine)
    return engine


def _main(argv: list[str]) -> int:
    """Child entry of :func:`migrate_in_child`: migrate the database at ``argv[0]``."""
    engine = create_db_engine(argv[0])
    try:
        migrate(engine)
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
