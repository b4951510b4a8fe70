"""Live job status by server push: a run's jobs as Server-Sent Events.

The stream is the runs domain's ``watch_jobs`` (the generator behind the gRPC WatchJobs): it is
woken by the dispatcher's job events, not by polling, and ends when every job has ended. The
page's script (``static/veil.js``) updates the status, progress bar and phase of each job row;
without JavaScript the page still shows the state it was rendered with.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from starlette.responses import Response, StreamingResponse

from veil_service.runs.jobs import JobRecord
from veil_service.storage.db_calls import db_call
from veil_service.web.i18n import Translator
from veil_service.web.page import Page, guarded
from veil_service.web.runs_pages import RUN_JOBS_SHOWN, run_status


def job_event(job: JobRecord, run_jobs: list[JobRecord], t: Translator) -> str:
    """One job's state as an SSE ``job`` event, with the run's status as it now stands."""
    status = run_status(run_jobs)
    payload = {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "status_label": t(f"status.{job.status}"),
        "progress": round(job.progress, 4),
        "phase": t.phase(job.phase) if job.phase else "",
        "exception": job.exception,
        "done": job.done,
        "run_status": status,
        "run_status_label": t(f"status.{status}"),
    }
    return f"event: job\ndata: {json.dumps(payload)}\n\n"


def end_event(run_jobs: list[JobRecord], t: Translator) -> str:
    """The ``end`` event: every job has ended; the run's status as the run page words it."""
    status = run_status(run_jobs)
    payload = {"run_status": status, "run_status_label": t(f"status.{status}")}
    return f"event: end\ndata: {json.dumps(payload)}\n\n"


@guarded("RunsService/WatchJobs")
async def run_events(page: Page) -> Response:
    """The run's jobs now, then at each change, then an ``end`` event once all have ended."""
    run_id = page.request.path_params["run_id"]
    await db_call(page.ctx.runs.get_run, page.user_id, run_id)  # 404 before the stream starts
    # Every job of the run as it is now, so the run's status is right from the first event.
    known = await db_call(
        page.ctx.runs.list_jobs,
        page.user_id,
        run_id=run_id,
        display_name="",
        kinds=[],
        statuses=[],
        limit=RUN_JOBS_SHOWN,
        offset=0,
    )
    changes = page.ctx.runs.watch_jobs(page.user_id, run_id=run_id, job_ids=[])

    async def events() -> AsyncIterator[str]:
        yield "retry: 3000\n\n"
        last = {job.id: job for job in known}
        async for job in changes:
            last[job.id] = job
            yield job_event(job, list(last.values()), page.t)
        yield end_event(list(last.values()), page.t)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )
