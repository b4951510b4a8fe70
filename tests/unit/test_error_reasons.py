"""The ErrorInfo reasons are one closed list: the enum, docs/errors.md and the code agree."""

from __future__ import annotations

import re
from pathlib import Path

from veil_service import errors
from veil_service.errors import Reason, VeilServiceError

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "errors.md"
SOURCE = ROOT / "service" / "veil_service"


def _documented() -> dict[str, str]:
    rows = re.findall(r"^\| `([A-Z_]+)` \| ([A-Z_, ]+) \|", DOC.read_text(), re.M)
    return dict(rows)


def test_docs_list_exactly_the_reasons_of_the_enum() -> None:
    assert sorted(_documented()) == sorted(Reason.__members__)


def test_each_status_code_has_its_default_reason_documented_under_it() -> None:
    documented = _documented()
    classes = [c for c in vars(errors).values() if isinstance(c, type)]
    for cls in (c for c in classes if issubclass(c, VeilServiceError)):
        assert documented[cls.default_reason] == cls.code_name


def test_every_specific_reason_is_raised_somewhere() -> None:
    code = "\n".join(p.read_text() for p in SOURCE.rglob("*.py") if p.name != "errors.py")
    defaults = {
        c.default_reason
        for c in vars(errors).values()
        if isinstance(c, type) and issubclass(c, VeilServiceError)
    }
    unused = [r for r in Reason if r not in defaults and f"Reason.{r.name}" not in code]
    assert unused == []


def test_reasons_are_never_bare_strings_in_the_service() -> None:
    offenders = [
        f"{p.relative_to(ROOT)}:{n}"
        for p in SOURCE.rglob("*.py")
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if re.search(r'reason="[A-Z_]+"', line)
    ]
    assert offenders == []


def test_an_unknown_reason_from_another_process_falls_back_to_the_codes_default() -> None:
    error = errors.error_from_code("NOT_FOUND", "gone", reason="SOMETHING_NEW", field="x")
    assert isinstance(error, errors.NotFoundError)
    assert error.reason is Reason.NOT_FOUND and error.field == "x"
    known = errors.error_from_code("RESOURCE_EXHAUSTED", "full", reason="ENGINE_BUSY")
    assert known.reason is Reason.ENGINE_BUSY
