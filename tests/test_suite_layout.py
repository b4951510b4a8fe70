"""The test suite's own rules: unit tests mirror the packages, and only the fidelity tests read
the shared data sets (everything else uses tests/fixtures, so a clean clone runs it all)."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
PACKAGES = {
    "client": ROOT / "client" / "veil_client",
    "wire": ROOT / "client" / "veil_wire",
}
SERVICE = ROOT / "service" / "veil_service"


def test_only_the_fidelity_tests_read_the_shared_data() -> None:
    readers = sorted(
        str(path.relative_to(TESTS))
        for path in TESTS.rglob("*.py")
        if re.search(r"^from shared_data import|^import shared_data", path.read_text(), re.M)
        and TESTS / "fidelity" not in path.parents
    )
    assert readers == []


def test_unit_test_folders_name_packages() -> None:
    for folder in (p for p in (TESTS / "unit").rglob("*") if p.is_dir()):
        if folder.name == "__pycache__":
            continue
        relative = folder.relative_to(TESTS / "unit")
        top = PACKAGES.get(relative.parts[0])
        package = top.joinpath(*relative.parts[1:]) if top else SERVICE / relative
        assert package.is_dir(), f"tests/unit/{relative} mirrors no package ({package})"
