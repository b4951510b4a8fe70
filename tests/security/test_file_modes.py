"""Defect 5: no other local user can read Veil's files, whatever the umask (issue 19).

The attack: blobs, veil.db, its WAL and the engine cache were 0644 in 0755 directories; user
``nobody`` read the raw rows and copied the database with its password hashes. Now the data dir
is 0700 and everything in it 0600 (directories 0700) whatever the umask, checked at start with a
warning (and tightened) if someone loosened them. Checked here by reading as ``nobody``.
"""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dp_support import grant, manager, register
from support import create_user, start_server
from veil_client import Manager
from veil_client.models import JobKind

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a probe as nobody")


@pytest.fixture()
def open_parent() -> Iterator[Path]:
    """A folder every local user may traverse (pytest's own tmp folders are 0700)."""
    parent = Path(tempfile.mkdtemp(prefix="veil-modes-"))
    parent.chmod(0o755)
    try:
        yield parent
    finally:
        subprocess.run(["rm", "-rf", str(parent)], check=False)


def _readable_by_nobody(path: Path) -> bool:
    # cat, not this venv's python: nobody may not even reach the interpreter.
    return subprocess.run(["cat", str(path)], user="nobody", capture_output=True).returncode == 0


def _loose(root: Path) -> list[str]:
    found = []
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if path.is_symlink():
            continue
        if mode & 0o077:
            found.append(f"{path.relative_to(root)} {mode:o}")
    return found


def test_no_file_is_readable_by_another_user(
    open_parent: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = open_parent / "data"
    # The server shares this process's umask: start it under a permissive one, and give the test
    # process its own back only when the server is gone.
    previous = os.umask(0o022)
    server = start_server(data_dir)
    try:
        user = create_user(server)
        runner = Manager(base_url=server.url, api_key=user.api_key).create_runner("modes")
        rng = np.random.default_rng(0)
        runner.add_table("t", pd.DataFrame(rng.normal(size=(60, 5)), columns=list("abcde")))
        runner.set_parameters("t", k=5)
        runner.run(jobs_to_run=[JobKind.standard])
        runner.get_all_results()
        dataset = register(server)
        grant(server, user, dataset, 5.0, 1e-3)
        manager(server, user).dp(dataset).smartnoise_sql.query(
            "SELECT COUNT(*) AS n FROM df", 0.5, 1e-5
        )
    finally:
        server.stop()
        os.umask(previous)
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert _loose(data_dir) == []
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert any(p.name == "veil.db" for p in files)
    assert any("blobs" in p.parts for p in files)
    for path in [data_dir / "veil.db", *[p for p in files if "blobs" in p.parts][:3]]:
        assert not _readable_by_nobody(path), path

    # Someone loosens them: the next start says so and tightens them again.
    (data_dir / "veil.db").chmod(0o644)
    data_dir.chmod(0o755)
    with caplog.at_level(logging.WARNING):
        restarted = start_server(data_dir)
    restarted.stop()
    os.umask(previous)
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((data_dir / "veil.db").stat().st_mode) == 0o600
    assert any("readable by other users" in r.getMessage() for r in caplog.records)
