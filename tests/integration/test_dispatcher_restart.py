"""Jobs survive a server restart: a job interrupted while running is requeued and finishes."""

from __future__ import annotations

from pathlib import Path

from support import adult, assert_eventually, create_user, start_server
from veil_client import Manager
from veil_client.models import JobKind, JobStatus


def test_running_job_resumes_after_restart(tmp_path: Path) -> None:
    table = adult(copies=6)  # 36,000 rows: the job is still running when the server stops
    server = start_server(tmp_path / "data")
    user = create_user(server)
    try:
        manager = Manager(base_url=server.url, api_key=user.api_key)
        runner = manager.create_runner("restart", seed=5)
        runner.add_table("adult", table)
        runner.set_parameters("adult", k=20)
        runner.run(jobs_to_run=[JobKind.standard, JobKind.signal_metrics])
        assert_eventually(lambda: runner.get_status(JobKind.standard) == JobStatus.pending, 60)
    finally:
        server.stop()

    restarted = start_server(tmp_path / "data")
    try:
        manager = Manager(base_url=restarted.url, api_key=user.api_key)
        runner = manager.create_runner_from_id(runner.set_name)
        assert runner.shuffled("adult").shape == table.shape
        job = runner.get_job(JobKind.standard)
        assert job.status == JobStatus.finished
        assert runner.signal_metrics("adult")[0]["hellinger_mean"] >= 0
        assert runner.get_status(JobKind.signal_metrics) == JobStatus.finished
        with restarted.app.db.connect() as conn:
            from veil_service.runs import jobs

            record = jobs.get_job(conn, job.id, None)
        assert record.attempts == 2
    finally:
        restarted.stop()
