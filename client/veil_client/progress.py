"""Progress bars for uploads, downloads and jobs: in a terminal, and in Jupyter too.

A bar shows when someone is watching: on a terminal (stderr is a tty) or in a Jupyter kernel
(whose stderr is not a tty, which used to hide every bar). In Jupyter the widget bar is used when
ipywidgets is installed, else the text bar, which Jupyter prints just as well. Scripts and logs
get no bar.

A job's bar reads ``standard: fitting projection  42%|####      | 00:03``: the phase is part of
the description (tqdm's postfix would print it after a stray ``, ``).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from tqdm import tqdm as text_tqdm

JOB_BAR_FORMAT = "{desc} {percentage:3.0f}%|{bar}| {elapsed}"


def in_notebook() -> bool:
    """Whether the code runs in a Jupyter kernel."""
    shell = sys.modules.get("IPython")
    if shell is None or "ipykernel" not in sys.modules:
        return False
    get_ipython = getattr(shell, "get_ipython", None)
    instance = get_ipython() if get_ipython is not None else None
    return instance is not None and type(instance).__name__ == "ZMQInteractiveShell"


def bar_class() -> Any:
    """The tqdm class to use here: the widget bar in Jupyter with ipywidgets, else the text one."""
    if in_notebook() and importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.notebook import tqdm as notebook_tqdm

        return notebook_tqdm
    return text_tqdm


def watched() -> bool:
    """Whether a person sees the output (a terminal or a notebook)."""
    return in_notebook() or sys.stderr.isatty()


def transfer_bar(total: int, description: str) -> Any:
    """A bar counting bytes of an upload or a download."""
    return bar_class()(
        total=total or None,
        unit="B",
        unit_scale=True,
        desc=description,
        disable=not watched(),
        leave=False,
    )


class JobProgress:
    """A job's bar: its progress in % and its current phase.

    Args:
        job: The job's name (its kind), shown first.
        file: Where a text bar writes (default stderr).
        enabled: Force the bar on or off (default: when someone watches).
    """

    def __init__(self, job: str, *, file: Any = None, enabled: bool | None = None) -> None:
        self.job = job
        self._bar = bar_class()(
            total=100,
            desc=job,
            leave=False,
            disable=not (watched() if enabled is None else enabled),
            bar_format=JOB_BAR_FORMAT,
            file=file,
        )

    def update(self, progress: float, phase: str) -> None:
        """Show ``progress`` (a fraction in [0, 1]) and ``phase``."""
        self._bar.set_description_str(f"{self.job}: {phase}" if phase else self.job, refresh=False)
        self._bar.n = int(100 * min(max(progress, 0.0), 1.0))
        self._bar.refresh()

    def close(self) -> None:
        """Remove the bar."""
        self._bar.close()


@contextmanager
def synth_progress(
    name: str, progress: bool | Callable[[Any], None] | None
) -> Iterator[Callable[[Any], None] | None]:
    """What a DP query gives as ``on_progress``: the caller's callable, a bar, or nothing.

    Args:
        name: Shown first on the bar (the synthesizer).
        progress: A callable (used as it is), True (a bar), False (nothing), None (a bar when
            someone watches, else nothing: the query then runs without the progress stream).

    The bar shows a dummy fit's own progress (``mwem iteration 3 of 30``), and for a private
    fit the time since the charge against the server's time limit, the only progress a private
    query reports (docs/dp.md, "Progress of long fits").
    """
    if callable(progress):
        yield progress
        return
    if progress is False or (progress is None and not watched()):
        yield None
        return
    bar = JobProgress(name, enabled=True)

    def show(message: Any) -> None:
        if message.private:
            phase = (
                f"private data, {message.elapsed_s:.0f} s of at most {message.time_limit_s:.0f} s"
            )
        else:
            phase = message.phase
        bar.update(message.fraction, phase)

    try:
        yield show
    finally:
        bar.close()
