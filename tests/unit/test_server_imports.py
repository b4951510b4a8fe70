"""What the long-running server process imports: its resident memory starts there.

The streaming target (peak RSS under 150 MiB) leaves no room for libraries the server never
uses while serving: pandas and the engine's libraries belong to the engine process, Alembic to
the migration child, CSV/Parquet readers to the rare admin registration of a file.
"""

from __future__ import annotations

import subprocess
import sys

KEPT_OUT = (
    "pandas",
    "alembic",
    "sklearn",
    "scipy",
    "opendp",
    "snsql",
    "snsynth",
    "diffprivlib",
    "torch",
    "pyarrow.parquet",
    "pyarrow.csv",
    "pyarrow.fs",
    "pyarrow.dataset",
)


def test_the_server_imports_none_of_the_heavy_libraries() -> None:
    code = (
        "import sys, veil_service.server.app, veil_service.cli; "
        f"print(sorted(m for m in {KEPT_OUT!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "[]"
