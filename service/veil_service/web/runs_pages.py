"""Anonymization pages: the runs list, a run with its tables, parameters, jobs and results.

Each handler calls the runs domain (``runs.service.RunsService``, the instance the gRPC
servicer calls) for the signed-in user; another user's run is NOT_FOUND there, hence 404 here.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response

from veil_service.errors import VeilServiceError
from veil_service.runs.jobs import JobRecord
from veil_service.runs.results import ResultRecord
from veil_service.runs.service import RunView
from veil_service.storage.db_calls import db_call
from veil_service.web.forms import form_int
from veil_service.web.page import Page, guarded

PAGE_SIZE = 20
RUN_JOBS_SHOWN = 200
JSON_RESULT_MAX_BYTES = 4 << 20
#: A figure's title is in the first bytes of its HTML page (engine/reports/html.py ``page``).
FIGURE_HEAD_BYTES = 2048
TITLE = re.compile(r"<title>(.*?)</title>", re.S)
"""Metrics results are read into the page; a larger JSON file is only offered for download."""


def run_status(jobs: list[JobRecord]) -> str:
    """One word for a run's state, from its jobs (Octopize's job statuses)."""
    if not jobs:
        return "created"
    statuses = {job.status for job in jobs}
    for status in ("pending", "queued", "error", "parent_error", "cancelled"):
        if status in statuses:
            return status
    return "finished"


@dataclass(frozen=True)
class RunRow:
    """A line of the runs list."""

    run: RunView
    status: str
    jobs: int


@guarded("RunsService/ListRuns")
def runs_list(page: Page) -> Response:
    """The caller's runs, newest first, searched by name, 20 a page."""
    query = page.request.query_params.get("q", "").strip()[:256]
    number = max(1, form_int(page.request.query_params.get("page", ""), "page", default=1))
    found = page.ctx.runs.list_runs(
        page.user_id,
        display_name="",
        name_contains=query,
        limit=PAGE_SIZE + 1,
        offset=(number - 1) * PAGE_SIZE,
    )
    rows = []
    for run in found[:PAGE_SIZE]:
        jobs = page.ctx.runs.list_jobs(
            page.user_id,
            run_id=run.record.id,
            display_name="",
            kinds=[],
            statuses=[],
            limit=RUN_JOBS_SHOWN,
            offset=0,
        )
        rows.append(RunRow(run, run_status(jobs), len(jobs)))
    return page.render(
        "runs.html",
        section="runs",
        rows=rows,
        query=query,
        number=number,
        has_next=len(found) > PAGE_SIZE,
        deprecated_login=page.request.query_params.get("deprecated_login") == "1",
    )


@dataclass(frozen=True)
class TableResults:
    """What a run produced for one table, ready to show."""

    name: str
    privacy: list[dict[str, Any]]
    signal: list[dict[str, Any]]
    avatars: ResultRecord | None
    figures: list[ResultRecord]
    reports: list[ResultRecord]
    figure_titles: dict[str, str] = field(default_factory=dict)


def _read_json(page: Page, result: ResultRecord) -> list[dict[str, Any]]:
    if result.size_bytes > JSON_RESULT_MAX_BYTES:
        return []
    data = b"".join(page.ctx.runs.result_chunks(result, 1 << 20))
    value = json.loads(data)
    return value if isinstance(value, list) else [value]


def figure_title(page: Page, result: ResultRecord) -> str:
    """The title the engine gave a figure (``Distribution of radius_mean``), read from the head
    of its page; empty when there is none."""
    chunks = page.ctx.runs.result_chunks(result, FIGURE_HEAD_BYTES)
    try:
        head = next(iter(chunks), b"")
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    found = TITLE.search(head.decode("utf-8", "replace"))
    return html.unescape(found.group(1)).strip() if found else ""


def table_results(page: Page, results: list[ResultRecord]) -> list[TableResults]:
    """Group a run's results by table: metrics read, files listed."""
    names = sorted({r.table_name for r in results if r.table_name})
    grouped = []
    for name in names:
        mine = [r for r in results if r.table_name == name]
        privacy = [x for r in mine if r.kind == "privacy_metrics" for x in _read_json(page, r)]
        signal = [x for r in mine if r.kind == "signal_metrics" for x in _read_json(page, r)]
        avatars = next((r for r in mine if r.kind == "shuffled"), None)
        # A figure a later job drew again (the metrics summary) is shown once, in its last form.
        figures = list({r.subkind: r for r in mine if r.kind == "figures"}.values())
        reports = [r for r in mine if r.kind == "report"]
        # One distribution per column: the link names the column (the figure's own title, less
        # the table's name, which the section's heading gives).
        titles = {
            r.id: figure_title(page, r).removeprefix(f"{name} · ")
            for r in figures
            if r.subkind.startswith("distribution")
        }
        grouped.append(TableResults(name, privacy, signal, avatars, figures, reports, titles))
    return grouped


def metric_rows(result: dict[str, Any]) -> list[tuple[str, Any, str | None, bool | None]]:
    """(metric, value, target, passed) of one metrics result, targets first, in file order."""
    targets: dict[str, str] = result.get("targets", {})
    passed: dict[str, bool | None] = result.get("passed", {})
    rows = []
    for key, value in result.items():
        if key in ("targets", "passed", "metadata") or isinstance(value, dict | list):
            continue
        rows.append((key, value, targets.get(key), passed.get(key)))
    rows.sort(key=lambda row: row[2] is None)
    return rows


@guarded("RunsService/GetRun")
def run_page(page: Page) -> Response:
    """A run: jobs (live), tables, parameters, metrics against targets, figures, downloads."""
    run_id = page.request.path_params["run_id"]
    run = page.ctx.runs.get_run(page.user_id, run_id)
    jobs = page.ctx.runs.list_jobs(
        page.user_id,
        run_id=run_id,
        display_name="",
        kinds=[],
        statuses=[],
        limit=RUN_JOBS_SHOWN,
        offset=0,
    )
    results = page.ctx.runs.list_results(page.user_id, run_id=run_id, job_id="")
    versions = page.ctx.runs.list_runs(
        page.user_id, display_name=run.record.display_name, limit=50, offset=0
    )
    return page.render(
        "run.html",
        section="runs",
        run=run,
        config=run.config,
        jobs=sorted(jobs, key=lambda j: j.created_at),
        run_state=run_status(jobs),
        tables=table_results(page, results),
        versions=versions,
        metric_rows=metric_rows,
        message=page.request.query_params.get("message", ""),
    )


@guarded("RunsService/CancelJob")
async def cancel_job_submit(page: Page) -> Response:
    """Cancel a queued or running job, then show its run."""
    job = await db_call(page.ctx.runs.get_job, page.user_id, page.request.path_params["job_id"])
    try:
        await page.ctx.runs.cancel_job(page.user_id, job.id)
    except VeilServiceError as exc:
        if exc.code_name != "FAILED_PRECONDITION":  # it ended meanwhile: show it as it is
            raise
    return page.redirect(f"/runs/{job.run_id}#jobs")
