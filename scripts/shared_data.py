"""Where the shared data sets are: the tests, the demo and the benchmarks all ask here.

The data sets live outside the repository, in a ``shared`` folder beside it. A clone made
somewhere else (CI clones into a fresh temporary directory) has no such neighbour, so the
folder beside the repository it was cloned from counts too. In order:

1. ``$VEIL_SHARED_DIR``;
2. ``../shared`` beside this checkout;
3. ``../shared`` beside the clone's origin, when the origin is a local path.

The first that holds a ``data`` folder wins; with none, the answer is the second, so that
messages about missing files name the expected place.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent


def find_shared_dir() -> Path:
    """The ``shared`` folder (see the module docstring for the search order)."""
    candidates = []
    if os.environ.get("VEIL_SHARED_DIR"):
        candidates.append(Path(os.environ["VEIL_SHARED_DIR"]).expanduser())
    candidates.append(REPOSITORY.parent / "shared")
    origin = _local_origin()
    if origin is not None:
        candidates.append(origin.parent / "shared")
    for candidate in candidates:
        if (candidate / "data").is_dir():
            return candidate
    return REPOSITORY.parent / "shared"


def _local_origin() -> Path | None:
    """The directory this checkout was cloned from, if ``origin`` is a local path."""
    try:
        result = subprocess.run(
            ["git", "-C", str(REPOSITORY), "config", "--get", "remote.origin.url"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    url = result.stdout.strip().removeprefix("file://")
    if not url or "://" in url or ":" in url.split("/", 1)[0]:
        return None  # a remote (https://, ssh://, git@host:path)
    path = Path(url).expanduser()
    return path.resolve() if path.is_dir() else None


SHARED_DIR = find_shared_dir()
SHARED_DATA = SHARED_DIR / "data"
