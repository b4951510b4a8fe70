"""Live job status by server push: a run's jobs as Server-Sent Events.

The stream is the runs domain's ``watch_jobs`` (the generator behind the gRPC WatchJobs): it is
woken by the dispatcher's job events, not by polling, and ends when every job has ended. The
page's script (``static/veil.js``) updates the status, progress bar and phase of each job row;
without JavaScript the page still shows the state it was rendered with.

The session is checked again while the stream is open, as the gRPC streams' (``auth.recheck``):
once it is ended (logout, password reset, an admin disabling the user) the stream sends a
``signed_out`` event, on which the page goes to the sign-in form, and closes. A run whose jobs
wait for hours sends no event to check before, so the stream sends an SSE comment every
``HEARTBEAT_SECONDS`` without a change, checked like an event: an idle stream ends too, and a
browser gone away is noticed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TypeVar
from urllib.parse import quote

from starlette.responses import Response, StreamingResponse

from veil_service.errors import PermissionDeniedError, UnauthenticatedError
from veil_service.runs.jobs import JobRecord
from veil_service.storage.db_calls import db_call
from veil_service.web.i18n import Translator
from veil_service.web.page import Page, guarded
from veil_service.web.runs_pages import RUN_JOBS_SHOWN, run_status

log = logging.getLogger("veil.web")

T = TypeVar("T")

HEARTBEAT_SECONDS = 15.0
"""Without a job change for this long, the stream sends a comment (after checking the session)."""
HEARTBEAT = ": still watching\n\n"


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


def signed_out_event(page: Page) -> str:
    """The ``signed_out`` event: the session ended while the stream was open; where to sign in
    again (back to this run afterwards)."""
    run_id = page.request.path_params["run_id"]
    payload = {"login": f"/login?next={quote(f'/runs/{run_id}')}"}
    return f"event: signed_out\ndata: {json.dumps(payload)}\n\n"


async def with_heartbeats(
    items: AsyncGenerator[T, None], seconds: float
) -> AsyncGenerator[T | None, None]:
    """``items``, with None in between whenever none came for ``seconds``.

    The next item is awaited in a task of its own, so a heartbeat does not cancel it (cancelling
    ``watch_jobs`` mid-wait would end the watch). ``items`` is closed however this ends.
    """
    pending: asyncio.Future[T] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(items))
            done, _ = await asyncio.wait({pending}, timeout=seconds)
            if not done:
                yield None
                continue
            finished, pending = pending, None
            try:
                item = finished.result()
            except StopAsyncIteration:
                return
            yield item
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await pending
        await items.aclose()


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
    watch = page.ctx.runs.watch_jobs(page.user_id, run_id=run_id, job_ids=[])
    changes = page.rechecked(with_heartbeats(watch, HEARTBEAT_SECONDS))

    async def events() -> AsyncIterator[str]:
        yield "retry: 3000\n\n"
        last = {job.id: job for job in known}
        try:
            async for job in changes:
                if job is None:
                    yield HEARTBEAT
                    continue
                last[job.id] = job
                yield job_event(job, list(last.values()), page.t)
        except (UnauthenticatedError, PermissionDeniedError):
            log.info("live job events ended: the session ended", extra={"run_id": run_id})
            yield signed_out_event(page)
            return
        yield end_event(list(last.values()), page.t)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )
