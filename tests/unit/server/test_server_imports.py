"""What the long-running server process imports: its resident memory starts there.

The streaming target (peak RSS under 150 MiB) leaves no room for libraries the server never
uses while serving: pandas and the engine's libraries belong to the engine process, Alembic to
the migration child, CSV/Parquet readers to the rare admin registration of a file.

The service and the client share wire code through ``veil_wire`` only: the service never imports
``veil_client`` (so the client ships alone, and the server never loads the client's pandas), and
the client never imports ``veil_service``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

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
    "veil_client",
    # The web application's stack is imported only when --web-port is given.
    "starlette",
    "jinja2",
    "uvicorn",
    "multipart",
    "python_multipart",
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


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("service/veil_service", "veil_client"),
        ("client/veil_client", "veil_service"),
        ("client/veil_wire", "veil_client"),
        ("client/veil_wire", "veil_service"),
    ],
)
def test_no_source_file_imports_the_other_side(package: str, forbidden: str) -> None:
    offenders = sorted(
        f"{path.relative_to(ROOT)}: {module}"
        for path in (ROOT / package).rglob("*.py")
        for module in _imported_modules(path)
        if module == forbidden or module.startswith(forbidden + ".")
    )
    assert offenders == []
