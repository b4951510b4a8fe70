"""The job progress bar (issue 13 item 12): no stray comma, and a bar in Jupyter."""

from __future__ import annotations

import io
import sys
import types

import pytest
from veil_client import progress


def test_the_phase_reads_without_a_stray_comma() -> None:
    # Before: "standard:   0%|          | , starting" (tqdm's postfix begins with ", ").
    out = io.StringIO()
    bar = progress.JobProgress("standard", file=out, enabled=True)
    bar.update(0.0, "starting")
    bar.update(0.42, "fitting projection")
    bar.close()
    text = out.getvalue()
    assert "standard: starting   0%|" in text
    assert "standard: fitting projection  42%|" in text
    assert ", starting" not in text and "| ," not in text


class _Kernel:
    """Stands for IPython's ZMQInteractiveShell, the shell of a Jupyter kernel."""


_Kernel.__name__ = "ZMQInteractiveShell"


@pytest.fixture()
def jupyter(monkeypatch: pytest.MonkeyPatch) -> None:
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: _Kernel()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))


def test_in_jupyter_without_ipywidgets_the_text_bar_shows(
    jupyter: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: stderr is not a tty in a kernel, so every bar was disabled.
    monkeypatch.setattr(progress.importlib.util, "find_spec", lambda name: None)
    assert progress.in_notebook() and progress.watched()
    assert progress.bar_class() is progress.text_tqdm
    out = io.StringIO()
    bar = progress.JobProgress("standard", file=out)
    bar.update(0.5, "neighbours")
    bar.close()
    assert "standard: neighbours  50%|" in out.getvalue()


def test_in_jupyter_with_ipywidgets_the_widget_bar_is_chosen(
    jupyter: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(progress.importlib.util, "find_spec", lambda name: object())
    assert progress.bar_class().__module__ == "tqdm.notebook"


def test_outside_a_terminal_or_notebook_no_bar_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)  # a script whose output is logged
    assert not progress.in_notebook() and not progress.watched()
    out = io.StringIO()
    bar = progress.JobProgress("standard", file=out)
    bar.update(0.5, "neighbours")
    bar.close()
    assert out.getvalue() == ""
