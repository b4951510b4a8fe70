"""Cancelling a job the scheduler has just claimed ends it, instead of leaving it "pending".

The scheduler marks claimed jobs "pending" in the database before their tasks run. A cancel
that arrived in that window used to cancel a task before its first step, so that none of the
job's own handler ran: the job stayed "pending" (and the dependants "queued") although the owner
had cancelled it. These tests build that window on purpose, with the scheduling loop paused so
that the test decides when the claim happens.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support import ServerThread, create_user, start_server
from veil_client import Manager
from veil_client.models import JobKind, JobStatus
from veil_client.runner import Runner
from veil_service.runs import jobs
from veil_service.storage.db_calls import db_read


@pytest.fixture()
def paused_server(tmp_path: Path) -> Iterator[ServerThread]:
    """A server whose scheduling loop is stopped: queued jobs wait for the test's claim."""
    server = start_server(tmp_path / "data")

    async def pause() -> None:
        loop_task = server.server.dispatcher._loop_task
        assert loop_task is not None
        loop_task.cancel()
        await asyncio.gather(loop_task, return_exceptions=True)

    server.run(pause())
    try:
        yield server
    finally:
        server.stop()


def _queued_run(server: ServerThread) -> tuple[Runner, dict[JobKind, str]]:
    user = create_user(server)
    manager = Manager(base_url=server.url, api_key=user.api_key)
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"a": rng.normal(size=120), "b": rng.normal(size=120)})
    runner = manager.create_runner("claimed-then-cancelled")
    runner.add_table("t", table)
    runner.set_parameters("t", k=5)
    runner.run(jobs_to_run=[JobKind.standard, JobKind.signal_metrics])
    return runner, {JobKind(kind): job_id for kind, job_id in runner.jobs.items()}


def _status(server: ServerThread, job_id: str) -> str:
    with server.app.db.connect() as conn:
        return jobs.get_job(conn, job_id, None).status


def test_cancel_with_a_stale_queued_record_ends_the_claimed_job(
    paused_server: ServerThread,
) -> None:
    server = paused_server
    _, job_ids = _queued_run(server)
    standard = job_ids[JobKind.standard]
    dispatcher = server.server.dispatcher

    async def claim_then_cancel() -> bool:
        stale = await db_read(server.app.db, jobs.get_job, standard, None)
        assert stale.status == "queued"
        await dispatcher._schedule()  # the job is now "pending", its task not yet started
        await dispatcher.cancel_job(replace(stale, status="pending"))
        return standard in dispatcher.running

    still_running = server.run(claim_then_cancel())

    assert not still_running
    assert _status(server, standard) == "cancelled"
    assert _status(server, job_ids[JobKind.signal_metrics]) == "parent_error"


def test_a_task_cancelled_before_its_first_step_records_the_cancellation(
    paused_server: ServerThread,
) -> None:
    server = paused_server
    runner, job_ids = _queued_run(server)
    standard = job_ids[JobKind.standard]
    dispatcher = server.server.dispatcher

    async def cancel_unstarted_task() -> bool:
        await dispatcher._schedule()
        task = dispatcher.running[standard]
        task.cancel()  # before the loop ran a single step of it: _run's handler never runs
        await asyncio.gather(task, return_exceptions=True)
        assert task.cancelled()
        record = await db_read(server.app.db, jobs.get_job, standard, None)
        assert record.status == "pending"  # what was left behind before the fix
        await dispatcher._after_cancelled_task(record)
        return standard in dispatcher.running

    still_running = server.run(cancel_unstarted_task())

    assert not still_running
    # What the owner sees through the client.
    assert runner.statuses() == {
        JobKind.standard: JobStatus.cancelled,
        JobKind.signal_metrics: JobStatus.parent_error,
    }
