"""A throwaway PostgreSQL cluster for the tests: initdb and pg_ctl in a temp dir, a free port.

PostgreSQL refuses to run as root, so when the tests run as root (CI containers, these machines)
every server command runs as the ``postgres`` system user through ``runuser``, in a directory
handed over to that user. The cluster is tuned for tests only (no fsync, no full-page writes):
a crash loses it, which is fine for a cluster that lives as long as one pytest session.

A machine without PostgreSQL fails loudly with the command that installs it; no test skips.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path

PG_BIN_CANDIDATES = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin")
INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl) were not found. Install them with "
    "`apt-get install -y postgresql-15` (Debian) or set VEIL_PG_BIN to their folder."
)
SUPERUSER = "veil"


def find_bin_dir() -> Path:
    """The folder holding initdb and pg_ctl (``VEIL_PG_BIN`` first)."""
    candidates = [os.environ.get("VEIL_PG_BIN", ""), *PG_BIN_CANDIDATES]
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").is_file():
            return Path(candidate)
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise RuntimeError(INSTALL_HINT)


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresCluster:
    """One PostgreSQL server on 127.0.0.1, trust authentication, for one test session."""

    def __init__(self) -> None:
        self.bin_dir = find_bin_dir()
        self.as_postgres = os.geteuid() == 0
        # Not under pytest's temp dir: that one is 0700 and root's, which `postgres` cannot enter.
        self.root = Path(tempfile.mkdtemp(prefix="veil-pg-"))
        self.data_dir = self.root / "data"
        self.socket_dir = self.root / "socket"
        self.port = 0
        self._template: str | None = None
        if self.as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)

    def _run(self, args: Sequence[str], timeout: float = 120) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{args[0]} failed (exit {result.returncode}): {result.stderr.strip()[-2000:]}"
            )

    def start(self) -> None:
        """initdb, then start the server on a free port and wait until it accepts connections."""
        self._run(
            [
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ]
        )
        self._mkdir_socket()
        options = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self.socket_dir}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=300",
                "-c shared_buffers=32MB",
            ]
        )
        for _ in range(5):  # a port found free may be taken before the server binds it
            self.port = free_port()
            try:
                self._run(
                    [
                        "pg_ctl",
                        "-D",
                        str(self.data_dir),
                        "-l",
                        str(self.root / "server.log"),
                        "-w",
                        "-t",
                        "60",
                        "-o",
                        f"-p {self.port} {options}",
                        "start",
                    ]
                )
                return
            except RuntimeError:
                if "could not bind" not in self.log_tail():
                    raise
        raise RuntimeError(f"PostgreSQL did not start: {self.log_tail()}")

    def _mkdir_socket(self) -> None:
        self.socket_dir.mkdir()
        if self.as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self.socket_dir, user.pw_uid, user.pw_gid)

    def log_tail(self) -> str:
        """The end of the server's log, for error messages."""
        with contextlib.suppress(OSError):
            return (self.root / "server.log").read_text()[-2000:]
        return ""

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL of ``database`` on this cluster (psycopg 3 driver)."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "veil", *, migrated: bool = False) -> str:
        """A new database, empty or already on the current schema; returns its URL.

        A migrated database is a copy of a template migrated once per session (``CREATE
        DATABASE ... TEMPLATE``): a tenth of a second instead of running every migration again.
        """
        import psycopg

        template = ""
        if migrated:
            if self._template is None:
                self._template = self._migrated_template()
            template = f' TEMPLATE "{self._template}"'
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        dsn = f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname=postgres"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"{template} STRATEGY FILE_COPY')
        return self.url(name)

    def _migrated_template(self) -> str:
        from veil_service.storage.db import open_database

        url = self.create_database("template")
        open_database(url).dispose()
        return url.rsplit("/", 1)[1]

    def drop_database(self, url: str) -> None:
        """Drop the database of ``url``, ending its sessions first."""
        import psycopg

        name = url.rsplit("/", 1)[1]
        dsn = f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname=postgres"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Stop the server at once and remove its files."""
        try:
            if (self.data_dir / "postmaster.pid").exists():
                self._run(["pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop"])
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
