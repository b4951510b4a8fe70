"""Run Octopize client code against Veil, changing only its import lines (and the placeholders
the Octopize text tells its reader to fill in).

The code is kept as Octopize published it (user guide snippets, tutorial steps), in strings.
:func:`port` rewrites the import lines with :data:`IMPORTS` and nothing else, then :func:`run`
executes the result in a namespace, from a working directory where ``fixtures/`` and
``../fixtures`` hold the Octopize fixture files (from tests/fixtures). The server address and
the API key reach ``Manager()`` through the environment (``VEIL_URL``; Octopize's scripts read
``AVATAR_API_KEY`` themselves), so no ``base_url`` needs writing at all.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import IPython.display
import pytest
from support import FIXTURES, octopize_fixtures

IMPORTS = {
    "avatars": "veil_client",
    "avatars.client": "veil_client",
    "avatars.client_config": "veil_client",
    "avatars.manager": "veil_client",
    "avatars.runner": "veil_client",
    "avatars.models": "veil_client.models",
    "avatars.constants": "veil_client.constants",
    "avatars.processors": "veil_client.processors",
}
"""Octopize module -> Veil module; any ``avatar_yaml`` module maps to ``veil_client.config``."""

_FROM_IMPORT = re.compile(r"^(\s*)from\s+((?:avatars|avatar_yaml)(?:\.[\w.]+)?)\s+import\b")


def _veil_module(module: str) -> str:
    if module == "avatar_yaml" or module.startswith("avatar_yaml."):
        return "veil_client.config"
    if module not in IMPORTS:
        raise KeyError(f"no Veil module for Octopize's {module!r}: add it to IMPORTS")
    return IMPORTS[module]


def port(source: str, placeholders: Mapping[str, str] | None = None) -> str:
    """The Octopize code with Veil's import lines; every other line is left as it is, except
    the literal ``placeholders`` (text the Octopize docs ask the reader to replace)."""
    lines = []
    for line in source.splitlines():
        match = _FROM_IMPORT.match(line)
        if match:
            line = (
                f"{match.group(1)}from {_veil_module(match.group(2))} import" + line[match.end() :]
            )
        elif re.match(r"^\s*import\s+(avatars|avatar_yaml)\b", line):
            raise ValueError(f"write 'from ... import' in the test's Octopize code: {line!r}")
        lines.append(line)
    ported = "\n".join(lines) + "\n"
    for placeholder, value in (placeholders or {}).items():
        if placeholder not in ported:
            raise ValueError(f"placeholder {placeholder!r} is not in the Octopize code")
        ported = ported.replace(placeholder, value)
    return ported


def run(
    source: str,
    namespace: dict[str, Any] | None = None,
    *,
    placeholders: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Execute Octopize code (ported) in ``namespace``; returns the namespace."""
    namespace = {} if namespace is None else namespace
    namespace.setdefault("__name__", "__octopize__")
    exec(compile(port(source, placeholders), "<octopize>", "exec"), namespace)
    return namespace


@contextmanager
def octopize_workdir(root: Path) -> Iterator[Path]:
    """Work in ``root/notebooks``, where both ``fixtures/...`` (the user guide's paths) and
    ``../fixtures/...`` (the tutorials' paths) reach the Octopize client's fixtures (the test
    fixtures' avatar/fixtures, wbcd.csv and yaml_from_web.yaml)."""
    notebooks = root / "notebooks"
    notebooks.mkdir(parents=True, exist_ok=True)
    for fixtures in (root / "fixtures", notebooks / "fixtures"):
        octopize_fixtures(fixtures)
        for source in (
            FIXTURES / "tables" / "wbcd.csv",
            FIXTURES / "avatar" / "yaml" / "yaml_from_web.yaml",
        ):
            (fixtures / source.name).symlink_to(source)
    previous = Path.cwd()
    os.chdir(notebooks)
    try:
        yield notebooks
    finally:
        os.chdir(previous)


def show_figures_inline(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Run notebook code as Jupyter would show it: ``render_plot`` believes it runs in a
    notebook and IPython's ``display`` collects the HTML it is given (returned, for checks).

    Outside a notebook ``render_plot`` writes nothing and warns (there is nothing to show a
    figure in), as a script running the tutorials' code would be told.
    """
    shown: list[Any] = []
    monkeypatch.setattr("veil_client.runner.in_notebook", lambda: True)
    monkeypatch.setattr(IPython.display, "display", shown.append)
    return shown
