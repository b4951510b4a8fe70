"""Veil's files are the service user's alone: data dir 0700, files 0600, whatever the umask.

The data dir holds the raw rows (blobs, the engine's table cache) and the database with password
hashes. Before issue 19 they were created under the default umask (0644 files in 0755 folders),
so any local user could copy them. Now :func:`secure_data_dir`, called once by ``veil serve``,
``veil engine`` and ``veil admin`` before anything is written:

1. sets the process umask to 0o077, so every file created afterwards (SQLite's database, WAL
   and shared-memory files, blobs, results, the engine child's cache, which inherits the umask)
   is 0600 and every folder 0700;
2. creates the data dir 0700, or, if it exists, looks at it and everything in it: whatever has
   group or other permission bits is logged as a warning and tightened.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger("veil.storage")

PRIVATE_UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600


def secure_data_dir(data_dir: Path) -> list[str]:
    """Make ``data_dir`` and what it holds private to this user; return what was tightened.

    Sets the process umask as a side effect (see the module docstring).
    """
    os.umask(PRIVATE_UMASK)
    data_dir.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    tightened: list[str] = []
    for path in _walk(data_dir):
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(info.st_mode) or not stat.S_IMODE(info.st_mode) & 0o077:
            continue
        wanted = DIR_MODE if stat.S_ISDIR(info.st_mode) else FILE_MODE
        mode = stat.S_IMODE(info.st_mode)
        try:
            path.chmod(wanted | (mode & 0o700 if stat.S_ISDIR(info.st_mode) else 0))
        except OSError as exc:  # not ours: say so, the operator must fix it
            log.warning(
                "%s is mode %o, readable by other users, and cannot be changed (%s)",
                path,
                mode,
                exc.strerror,
            )
            continue
        tightened.append(f"{path} {mode:o}")
    if tightened:
        log.warning(
            "%d path(s) under the data dir were readable by other users; set to 0700/0600: %s",
            len(tightened),
            ", ".join(tightened[:10]) + (" ..." if len(tightened) > 10 else ""),
        )
    return tightened


def _walk(root: Path) -> list[Path]:
    found = [root]
    for folder, dirs, files in os.walk(root):
        base = Path(folder)
        found.extend(base / name for name in dirs)
        found.extend(base / name for name in files)
    return found
