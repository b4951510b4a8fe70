"""Defect 11: ``veil admin create-user`` takes no password from the command line (issue 19).

The attack: ``veil admin create-user --password ...`` puts the password in /proc/PID/cmdline,
readable by every local user. It now comes from standard input, a file or a prompt; the flag
still works but prints a deprecation warning saying why.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import sqlalchemy as sa
from veil_service.accounts.passwords import verify_password
from veil_service.cli import main
from veil_service.storage import schema
from veil_service.storage.db import open_database

PASSWORD = "Ada-Lovelace-1815"


def _hash_of(data_dir: Path, username: str) -> str | None:
    engine = open_database(f"sqlite:///{data_dir / 'veil.db'}")
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(schema.users.c.password_hash).where(schema.users.c.username == username)
        ).one()
    engine.dispose()
    return row[0]


def _create(data_dir: Path, *flags: str) -> int:
    return main(
        [
            "admin",
            "create-user",
            "--data-dir",
            str(data_dir),
            "--email",
            f"{flags[0]}@example.org",
            "--username",
            *flags,
        ]
    )


def test_password_from_stdin_or_file_not_argv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["admin", "bootstrap", "--data-dir", str(tmp_path)]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert _create(tmp_path, "ada", "--password-stdin") == 0
    assert verify_password(_hash_of(tmp_path, "ada"), PASSWORD)

    secret = tmp_path / "password.txt"
    secret.write_text(PASSWORD + "\n")
    assert _create(tmp_path, "grace", "--password-file", str(secret)) == 0
    assert verify_password(_hash_of(tmp_path, "grace"), PASSWORD)
    assert "deprecated" not in capsys.readouterr().err


def test_the_password_flag_still_works_but_warns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["admin", "bootstrap", "--data-dir", str(tmp_path)]) == 0
    capsys.readouterr()
    assert _create(tmp_path, "alan", "--password", PASSWORD) == 0
    err = capsys.readouterr().err
    assert "--password is deprecated" in err and "/proc" in err
    assert verify_password(_hash_of(tmp_path, "alan"), PASSWORD)
