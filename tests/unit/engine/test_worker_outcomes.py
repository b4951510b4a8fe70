"""How a task's end is told to the server when a forked piece of it is killed."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
import veil_service.engine.tasks as tasks
from veil_service.engine.forked_map import forked_map
from veil_service.engine.tasks.context import TaskContext
from veil_service.engine.worker import execute_task
from veil_service.errors import Reason


def _killed_piece() -> int:
    os.kill(os.getpid(), signal.SIGKILL)
    return 0


def _task_with_a_killed_piece(ctx: TaskContext) -> dict[str, Any]:
    forked_map([_killed_piece, lambda: 1], workers=2)
    return {}


def test_a_killed_piece_is_a_dead_worker_not_an_incident(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(tasks, "resolve", lambda kind: _task_with_a_killed_piece)
    outcome = execute_task("standard", TaskContext({}, {}, tmp_path))
    assert not outcome.ok
    assert (outcome.code, outcome.reason) == ("INTERNAL", Reason.ENGINE_WORKER_DIED)
    assert outcome.message == (
        "a process of the engine task standard died; it may have run out of memory."
    )
    assert "Traceback" not in capsys.readouterr().err
