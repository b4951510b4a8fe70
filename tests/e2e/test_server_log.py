"""Ordinary runs leave a clean server log (issue 13 item 11).

Before the fix, `veil serve`'s log (the server's and its engine child's stderr) showed
"Task was destroyed but it is pending! task: <Task pending coro=<Queue.get()>>": the engine
raced each progress message's helper task against the job's task, and a stream cancelled while
it waited (a killed job, a time limit) left the helper pending until the garbage collector found
it. This test runs what a user runs (every job kind of a one-table run, then a run killed while
the engine streams its progress) against `veil serve` started as operators start it, stops it,
and reads its whole log. When the message appears depends on the collector, so this test guards
the log as a whole; tests/unit/test_engine_progress_stream.py is the one that failed before the
fix, deterministically.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from support import FIXTURES
from veil_client import Manager
from veil_client.models import JobKind, JobStatus

VEIL = [sys.executable, "-m", "veil_service.cli"]


def test_ordinary_runs_leave_no_pending_task_and_no_traceback_in_the_log(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    key = subprocess.run(
        [*VEIL, "admin", "bootstrap", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()[-1]
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [*VEIL, "serve", "--data-dir", str(data_dir), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        try:
            assert server.stdout is not None
            line = server.stdout.readline()
            server.stdout.close()
            assert "listening on 127.0.0.1:" in line, log_path.read_text()
            manager = Manager(base_url=f"localhost:{line.rsplit(':', 1)[1].strip()}", api_key=key)

            runner = manager.create_runner("ordinary")
            runner.add_table("iris", str(FIXTURES / "tables" / "iris.csv"))
            runner.set_parameters("iris", k=10)
            runner.run()
            runner.get_all_results()
            assert set(runner.statuses().values()) == {JobStatus.finished}

            killed = manager.create_runner("killed")
            killed.add_table("wbcd", str(FIXTURES / "tables" / "wbcd.csv"))
            killed.set_parameters("wbcd", k=15)
            killed.run(jobs_to_run=[JobKind.standard, JobKind.privacy_metrics])
            deadline = time.monotonic() + 120
            while (job := killed.get_job(JobKind.standard)).progress <= 0:
                assert job.status in (JobStatus.queued, JobStatus.pending), job.exception
                assert time.monotonic() < deadline, "the job never reached the engine"
                time.sleep(0.05)
            killed.kill()  # while the engine streams the job's progress
            assert set(killed.statuses().values()) <= {
                JobStatus.cancelled,
                JobStatus.finished,
                JobStatus.parent_error,
            }
        finally:
            server.send_signal(signal.SIGTERM)
            code = server.wait(60)
    text = log_path.read_text()
    assert code == 0, text
    assert "Task was destroyed but it is pending" not in text, text
    assert "Traceback" not in text, text
