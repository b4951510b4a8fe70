"""The job dispatcher: queued jobs run on engines once their dependencies finished.

Jobs live in the database, so a server restart loses none: jobs that were running are queued
again (once) or failed with a reason. Each running job is an asyncio task; cancelling a job
cancels its engine call, which makes the engine kill the worker process doing the compute.
Every job write is published on :attr:`Dispatcher.events` once committed, which is what pushes
WatchJobs streams (see ``job_events``).

Several servers may share one PostgreSQL database (``docs/scale.md``). A server claims a queued job
with ``SELECT ... FOR UPDATE SKIP LOCKED`` and holds it by a lease it renews every third of
``job_lease_seconds``; a job whose lease ran out (its server died or hung) is requeued (once) or
failed by whichever server sees it first. Results are recorded only while the lease is held,
under a lock on the job's row, so a job never completes twice and a late server's results are
dropped. Cancelling a job that runs on another server sets ``cancel_requested``, which its server
sees at its next renewal. With SQLite (one server per database file) a restart requeues every
job left running at once, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa

from veil_service.context import AppContext
from veil_service.engine_client.protocol import TaskInput, TaskOutput
from veil_service.engine_contract import avatar_features, partitioned
from veil_service.engine_contract.linked_tables import split_table_ref, table_ref
from veil_service.errors import FailedPreconditionError, Reason, VeilServiceError
from veil_service.runs import (
    jobs,
    linked_jobs,
    partition_path,
    privacy_loss,
    results,
    store,
    tables,
)
from veil_service.runs.config import RunConfig, advice_task_params
from veil_service.runs.job_events import JobEvents
from veil_service.storage import schema
from veil_service.storage.db_calls import db_call, db_read

log = logging.getLogger("veil.dispatcher")

MAX_ATTEMPTS = 2
PROGRESS_WRITE_INTERVAL_S = 0.5
CANCEL_WAIT_S = 5.0
"""How long cancelling a running job waits for it to stop before answering with its state."""
ENGINE_KIND = {
    "standard": "avatarize",
    "privacy_metrics": "privacy_metrics",
    "signal_metrics": "signal_metrics",
    "report": "report",
    "advice": "advice",
}
SUFFIX = {
    "application/vnd.apache.arrow.stream": ".arrows",
    "application/json": ".json",
    "application/pdf": ".pdf",
    "text/html": ".html",
    "image/png": ".png",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
}


@dataclass(frozen=True)
class _Named:
    kind: str
    subkind: str
    table: str | None = None


def parse_result_name(name: str) -> _Named:
    """Engine result names are ``kind`` or ``kind:subkind`` (e.g. ``figures:2d_projection:0``),
    with ``@table`` when a multi-table task names the table (``shuffled@visit``)."""
    head, table = split_table_ref(name)
    kind, _, subkind = head.partition(":")
    return _Named(kind, subkind, table)


class _LeaseLostError(Exception):
    """This server no longer holds the job's lease: another server took the job over."""


class Dispatcher:
    """Schedules and runs jobs (see module docstring)."""

    def __init__(self, app: AppContext) -> None:
        self.app = app
        # Names the server holding a job's lease: host and pid tell an operator which process.
        self.server_id = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.wake = asyncio.Event()
        self.events = JobEvents()
        self.running: dict[str, asyncio.Task[None]] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._lost: set[str] = set()
        self._claiming = asyncio.Lock()
        self._renewed_at = 0.0

    @property
    def shared(self) -> bool:
        """Whether other servers may run jobs of this database (see the module docstring)."""
        return self.app.settings.shared_database

    @property
    def lease_seconds(self) -> float:
        """How long a claimed job stays this server's without a renewal."""
        return self.app.settings.job_lease_seconds

    def recover(self) -> None:
        """Requeue (once) or fail jobs a previous server left running.

        With SQLite every running job is a previous run's; with a shared database only those
        whose lease ran out are (the others belong to live servers).
        """
        changed = self._reclaim(everything=not self.shared)
        for run_id in changed:
            self.events.publish(run_id)

    def _reclaim(self, *, everything: bool) -> set[str]:
        """Requeue or fail running jobs whose lease expired (all running jobs if ``everything``);
        returns the runs changed."""
        j = schema.jobs
        stale_filter = [j.c.status == "pending"]
        if not everything:
            stale_filter.append(
                sa.or_(j.c.lease_expires_at.is_(None), j.c.lease_expires_at < time.time())
            )
        changed: set[str] = set()
        with self.app.blobs.releasing() as released, self.app.db.begin() as conn:
            stale = conn.execute(
                sa.select(j.c.id, j.c.run_id, j.c.attempts)
                .where(*stale_filter)
                .with_for_update(skip_locked=True)
            ).all()
            for job_id, run_id, attempts in stale:
                if job_id in self.running:
                    continue  # ours and alive (a lease renewal came late)
                changed.add(run_id)
                if attempts < MAX_ATTEMPTS:
                    _drop_partial_results(conn, job_id, released)
                    jobs.update(
                        conn,
                        job_id,
                        status="queued",
                        phase="requeued: its server stopped",
                        progress=0.0,
                        lease_owner=None,
                        lease_expires_at=None,
                    )
                    log.warning("job %s requeued: the server running it stopped", job_id)
                else:
                    jobs.finish(
                        conn,
                        job_id,
                        "error",
                        "the server running this job stopped, twice; start it again.",
                    )
        return changed

    async def start(self) -> None:
        """Recover, then run the scheduling loop."""
        await db_call(self.recover)
        self._loop_task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        """Stop scheduling; running jobs are left to be recovered by the next start."""
        self._stopping = True
        if self._loop_task is not None:
            self._loop_task.cancel()
        for task in list(self.running.values()):
            task.cancel()
        await asyncio.gather(
            *self.running.values(), self._loop_task or asyncio.sleep(0), return_exceptions=True
        )

    async def _loop(self) -> None:
        last_reclaim = 0.0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), 0.5)
            self.wake.clear()
            try:
                if self.running:
                    self._stop(await db_call(self._renew_leases, list(self.running)))
                if self.shared and time.monotonic() - last_reclaim > self.lease_seconds / 3:
                    last_reclaim = time.monotonic()
                    for run_id in await db_call(self._reclaim, everything=False):
                        self.events.publish(run_id)
                await self._schedule()
            except Exception:  # the loop must survive a bad row or a lost connection; logged
                log.exception("scheduling failed")

    def _stop(self, to_stop: dict[str, bool]) -> None:
        """Cancel the tasks of jobs cancelled elsewhere (False) or whose lease was lost (True)."""
        for job_id, lost in to_stop.items():
            task = self.running.get(job_id)
            if task is None or task.done():
                continue
            if lost:
                log.warning("job %s: lease lost; stopping it here without a result", job_id)
                self._lost.add(job_id)
            task.cancel()

    def _renew_leases(self, ids: list[str]) -> dict[str, bool]:
        """Extend the leases of the jobs running here (``ids``); say which to stop: those
        cancelled elsewhere (False) or whose lease was lost (True).

        Called every loop turn (half a second) while jobs run: the renewal writes only when a
        third of the lease has passed, but a cancellation asked on another server is seen at
        once. Runs on a database thread: it touches no task.
        """
        j = schema.jobs
        now = time.time()
        to_stop: dict[str, bool] = {}
        with self.app.db.begin() as conn:
            rows = conn.execute(
                sa.select(j.c.id, j.c.status, j.c.lease_owner, j.c.cancel_requested).where(
                    j.c.id.in_(ids)
                )
            ).all()
            for job_id, status, owner, cancel_requested in rows:
                if status != "pending" or owner != self.server_id:
                    to_stop[job_id] = True
                elif cancel_requested:
                    to_stop[job_id] = False
            if now - self._renewed_at > self.lease_seconds / 3:
                self._renewed_at = now
                conn.execute(
                    sa.update(j)
                    .where(
                        j.c.id.in_(ids), j.c.lease_owner == self.server_id, j.c.status == "pending"
                    )
                    .values(lease_expires_at=now + self.lease_seconds)
                )
        return to_stop

    def _capacity(self) -> int:
        return max(1, sum(slot.capacity for slot in self.app.engines.slots))

    async def _schedule(self) -> None:
        # Claimed jobs are "pending" in the database before their tasks exist: the lock keeps
        # cancel_job from reading a job in between, when it would be neither queued nor running.
        async with self._claiming:
            free = self._capacity() - len(self.running)
            claimed, changed = await db_call(self._claim, set(self.running), free)
            loop = asyncio.get_running_loop()
            for job in claimed:
                self.running[job.id] = loop.create_task(self._run(job))
        for run_id in changed:
            self.events.publish(run_id)

    def _claim(self, running: set[str], free: int) -> tuple[list[jobs.JobRecord], set[str]]:
        """Claim up to ``free`` queued jobs whose dependencies finished (fail those whose
        dependencies failed); returns the claimed jobs and the runs changed. On a database
        thread: the caller starts the claimed jobs' tasks."""
        changed: set[str] = set()
        claimed: list[jobs.JobRecord] = []
        with self.app.db.begin() as conn:
            # Rows another server is claiming now are skipped, not waited for: each queued job
            # is claimed by exactly one server.
            queued = [
                jobs.to_record(r)
                for r in conn.execute(
                    sa.select(schema.jobs)
                    .where(schema.jobs.c.status == "queued")
                    .order_by(schema.jobs.c.seq)
                    .with_for_update(skip_locked=True)
                ).mappings()
            ]
            for job in queued:
                if job.id in running:
                    continue
                statuses = dict(
                    conn.execute(
                        sa.select(schema.jobs.c.id, schema.jobs.c.status).where(
                            schema.jobs.c.id.in_(job.depends_on)
                        )
                    ).all()
                )
                if any(statuses.get(d, "error") in jobs.FAILED_STATUSES for d in job.depends_on):
                    jobs.finish(
                        conn,
                        job.id,
                        "parent_error",
                        "a job it depends on did not finish; see that job's exception.",
                    )
                    changed.add(job.run_id)
                    continue
                if any(statuses.get(d) != "finished" for d in job.depends_on):
                    continue
                if len(claimed) >= free:
                    break
                jobs.update(
                    conn,
                    job.id,
                    status="pending",
                    started_at=time.time(),
                    attempts=job.attempts + 1,
                    lease_owner=self.server_id,
                    lease_expires_at=time.time() + self.lease_seconds,
                    phase="starting",
                )
                changed.add(job.run_id)
                claimed.append(job)
        return claimed, changed

    def jobs_queued(self, run_id: str) -> None:
        """New jobs of ``run_id`` are in the database: schedule them and tell its watchers."""
        self.events.publish(run_id)
        self.wake.set()

    def cancel(self, job_id: str) -> bool:
        """Cancel a running job without waiting; returns whether it was running here.

        A job running on another server is asked to stop through the database.
        """
        task = self.running.get(job_id)
        if task is None:
            if self.shared:
                self._request_cancel(job_id)
            return False
        # Called on the loop or from a database thread (``storage.db_calls``).
        task.get_loop().call_soon_threadsafe(task.cancel)
        return True

    def _request_cancel(self, job_id: str) -> None:
        j = schema.jobs
        with self.app.db.begin() as conn:
            conn.execute(
                sa.update(j)
                .where(j.c.id == job_id, j.c.status == "pending")
                .values(cancel_requested=True)
            )

    async def _wait_until_done(self, job_id: str, timeout: float) -> None:
        """Wait for a job running on another server to record its end (polled)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (await db_read(self.app.db, jobs.get_job, job_id, None)).done:
                return
            await asyncio.sleep(0.2)

    async def cancel_job(self, job: jobs.JobRecord) -> None:
        """Cancel a queued or running job; a running one gets :data:`CANCEL_WAIT_S` to stop.

        ``job`` may be stale: the scheduler can claim it between the caller's read and this
        call. So the state is read again while no claim is in flight (the claim lock), and a
        task cancelled before its first step, whose ``_run`` never got to record the end, has
        its end recorded here: otherwise the job would stay "pending" and run to the end.

        Raises:
            FailedPreconditionError: the job already ended (reason ``JOB_DONE``).
        """
        if job.done:
            raise FailedPreconditionError(
                f"job {job.id} already ended ({job.status}).", reason=Reason.JOB_DONE
            )
        async with self._claiming:
            job = await db_read(self.app.db, jobs.get_job, job.id, None)
            if job.done:
                return  # it ended since it was asked; the caller reads the final state
            if job.status == "queued":
                await self._finish(job, "cancelled", "cancelled by its owner.")
                return
            task = self.running.get(job.id)
        if task is not None:
            task.cancel()
            # _run records the cancellation before it ends; asyncio.wait never cancels the task.
            await asyncio.wait({task}, timeout=CANCEL_WAIT_S)
            if task.cancelled():
                await self._after_cancelled_task(job)
        elif job.status == "pending" and self.shared:
            await db_call(
                self._request_cancel, job.id
            )  # it runs on another server, which will stop it
            await self._wait_until_done(job.id, CANCEL_WAIT_S + self.lease_seconds)

    async def _after_cancelled_task(self, job: jobs.JobRecord) -> None:
        """Clean up after a task that ended cancelled rather than through ``_run``'s handler.

        That happens at shutdown (``_run`` re-raises; the job is requeued by the next start)
        and when the task was cancelled before its first step, so that none of ``_run`` ran:
        then this records the cancellation (the lease is still this server's) and frees the
        slot.
        """
        self.running.pop(job.id, None)
        lost = job.id in self._lost
        self._lost.discard(job.id)
        if not self._stopping and not lost:
            await self._finish(job, "cancelled", "cancelled by its owner.", leased=True)
        self.wake.set()

    async def _finish(
        self, job: jobs.JobRecord, status: str, exception: str = "", *, leased: bool = False
    ) -> None:
        """Record a job's end; a job this server ran only while it still holds its lease."""
        if await db_call(self._record_end, job.id, status, exception, leased=leased):
            self.events.publish(job.run_id)

    def _record_end(self, job_id: str, status: str, exception: str, *, leased: bool) -> bool:
        with self.app.db.begin() as conn:
            if leased and not self._hold(conn, job_id):
                log.warning("job %s: lease lost; its end (%s) is not recorded here", job_id, status)
                return False
            jobs.finish(conn, job_id, status, exception)
        return True

    def _update_job(self, job_id: str, **values: Any) -> None:
        with self.app.db.begin() as conn:
            jobs.update(conn, job_id, **values)

    def _hold(self, conn: sa.Connection, job_id: str) -> bool:
        """Lock the job's row and say whether this server still holds its lease.

        Run inside the transaction that records results or the end: the row lock keeps
        another server from requeueing the job until that transaction is over.
        """
        j = schema.jobs
        row = conn.execute(
            sa.select(j.c.status, j.c.lease_owner).where(j.c.id == job_id).with_for_update()
        ).first()
        return row is not None and row.status == "pending" and row.lease_owner == self.server_id

    async def _run(self, job: jobs.JobRecord) -> None:
        try:
            await self._execute(job)
            await self._finish(job, "finished", leased=True)
        except asyncio.CancelledError:
            if self._stopping:
                # Server shutdown: leave the job "pending"; the next start requeues it (or,
                # with a shared database, any server once the lease runs out).
                log.info("job %s interrupted by shutdown; it will be requeued", job.id)
                raise
            if job.id in self._lost:
                return  # another server took it over; nothing of this attempt is recorded
            await self._finish(job, "cancelled", "cancelled by its owner.", leased=True)
        except _LeaseLostError:
            log.warning("job %s: lease lost while recording results; they were dropped", job.id)
        except VeilServiceError as exc:
            await self._finish(job, "error", exc.message, leased=True)
        except Exception:  # a bug must fail the job, not the dispatcher
            incident = str(uuid.uuid4())[:8]
            log.exception("job %s failed (incident %s)", job.id, incident)
            await self._finish(
                job,
                "error",
                f"internal error (incident {incident}); the server log has details.",
                leased=True,
            )
        finally:
            self.running.pop(job.id, None)
            self._lost.discard(job.id)
            self.wake.set()

    def _run_and_tables(
        self, job: jobs.JobRecord
    ) -> tuple[store.RunRecord, list[tables.StoredTable]]:
        with self.app.db.connect() as conn:
            run = store.get_owned_run(conn, job.run_id, job.owner_id)
            return run, tables.list_tables(conn, run.id)

    async def _execute(self, job: jobs.JobRecord) -> None:
        run, run_tables = await db_call(self._run_and_tables, job)
        config = RunConfig.from_dict(run.config)
        if config.linked and job.kind in linked_jobs.ENGINE_KIND:
            await self._execute_linked(job, config, run_tables, run.display_name)
            return
        originals = [t for t in run_tables if t.role == "original"]
        last_write = 0.0

        began = time.monotonic()
        timings: list[dict[str, Any]] = []
        warnings: list[str] = []
        figures: list[dict[str, str]] = []
        meta_metrics: dict[str, dict[str, float | None]] = {}
        await db_call(self._update_job, job.id, phase_done=0, phase_total=len(originals))
        losses: list[privacy_loss.PrivacyLoss] = []
        for index, table in enumerate(originals):

            async def progress(
                fraction: float, phase: str, index: int = index, table_name: str = table.name
            ) -> None:
                nonlocal last_write
                now = time.monotonic()
                if now - last_write < PROGRESS_WRITE_INTERVAL_S and fraction < 1.0:
                    return
                last_write = now
                overall = (index + fraction) / len(originals)
                label = f"{table_name}: {phase}" if len(originals) > 1 else phase
                await db_call(self._update_job, job.id, progress=overall, phase=label[:64])
                self.events.publish(job.run_id)

            task_began = time.monotonic()
            if await db_call(self._record_measured_on_partitions, job, table.name):
                timings.append({"table_name": table.name, "measured_on_partitions": True})
                await db_call(self._update_job, job.id, phase_done=index + 1)
                continue
            params, inputs = await db_call(
                self._task_for, job, config, table, run_tables, run.display_name
            )
            kind, work_dir = ENGINE_KIND[job.kind], None
            table_config = config.find(table.name)
            if partition_path.applies(self.app.settings, job.kind, table, table_config):
                assert table_config is not None
                kind, inputs = partitioned.KIND, []  # the Dask workers read the blob store
                params, work_dir = partition_path.task(
                    self.app.settings, self.app.blobs, job.id, table, table_config, params
                )
            try:
                output = await self.app.engines.run(
                    kind, params, inputs, progress, owner=job.owner_id
                )
            finally:
                if work_dir is not None:
                    await asyncio.to_thread(partition_path.remove_work_dir, work_dir)
            timings.append(
                {
                    "table_name": table.name,
                    "engine_compute_seconds": output.summary.get("compute_seconds"),
                    "engine_compute_started_at": output.summary.get("compute_started_at"),
                    "task_wall_seconds": round(time.monotonic() - task_began, 4),
                }
            )
            figures += await db_call(self._store_results, job, table.name, output)
            warnings += [str(w) for w in output.summary.get("warnings") or []]
            if "meta_metric" in output.summary:
                meta_metrics[table.name] = {"standalone": output.summary["meta_metric"]}
            loss = privacy_loss.from_summary(table.name, output.summary)
            if loss is not None:
                losses.append(loss)
            await db_call(
                self._update_job, job.id, phase_done=index + 1, warnings_json=json.dumps(warnings)
            )
            self.events.publish(job.run_id)
        if losses:
            await db_call(self._update_job, job.id, privacy_loss_json=privacy_loss.to_json(losses))
        if figures:
            await db_call(
                self._store_json, job, "figures_metadata", "", "figures_metadata.json", figures
            )
        if meta_metrics:
            kind = f"{job.kind}_summary"
            await db_call(self._store_json, job, kind, "", f"{kind}.json", meta_metrics)
        await db_call(
            self._store_json,
            job,
            "run_metadata",
            job.kind,
            f"run_metadata.{job.kind}.json",
            {
                "job_id": job.id,
                "kind": job.kind,
                "tables": timings,
                "warnings": warnings,
                "job_wall_seconds": round(time.monotonic() - began, 4),
            },
        )

    async def _execute_linked(
        self,
        job: jobs.JobRecord,
        config: RunConfig,
        run_tables: list[tables.StoredTable],
        display_name: str,
    ) -> None:
        """One engine task over every table of a linked run (see ``runs.linked_jobs``).

        ``display_name`` is the run's, read with it: a claimed job's record carries none (the
        claim selects the jobs table alone), and the reports are titled with it.
        """
        last_write = 0.0

        async def progress(fraction: float, phase: str) -> None:
            nonlocal last_write
            now = time.monotonic()
            if now - last_write < PROGRESS_WRITE_INTERVAL_S and fraction < 1.0:
                return
            last_write = now
            await db_call(self._update_job, job.id, progress=fraction, phase=phase[:64])
            self.events.publish(job.run_id)

        names = [t.name for t in config.tables]
        inputs, from_standard = await db_call(self._linked_inputs, job, names, run_tables)
        params = linked_jobs.task_params(config, run_name=display_name)
        if from_standard:
            # Per table: the avatars come from the run's standard job, which released its
            # identifier-like columns as pseudonyms (the metrics and reports leave them out);
            # uploaded avatars keep them (a kept identifier must show in the metrics).
            params["avatars_from_standard"] = from_standard
        await db_call(self._update_job, job.id, phase_done=0, phase_total=len(names))
        if job.kind == "standard" and any(t.pseudonymized_columns for t in config.tables):
            secret = await db_read(self.app.db, store.run_secret, job.run_id)
            params[avatar_features.PSEUDONYM_SECRET_PARAM] = secret.hex()
        began = time.monotonic()
        output = await self.app.engines.run(
            linked_jobs.ENGINE_KIND[job.kind], params, inputs, progress, owner=job.owner_id
        )
        figures = await db_call(self._store_results, job, "", output)
        warnings = [str(w) for w in output.summary.get("warnings") or []]
        await db_call(
            self._update_job,
            job.id,
            phase_done=len(names),
            phase_total=len(names),
            warnings_json=json.dumps(warnings),
        )
        self.events.publish(job.run_id)
        if figures:
            await db_call(
                self._store_json, job, "figures_metadata", "", "figures_metadata.json", figures
            )
        await db_call(
            self._store_json,
            job,
            "run_metadata",
            job.kind,
            f"run_metadata.{job.kind}.json",
            {
                "job_id": job.id,
                "kind": job.kind,
                "tables": [{"table_name": name} for name in names],
                "engine_compute_seconds": output.summary.get("compute_seconds"),
                "engine_compute_started_at": output.summary.get("compute_started_at"),
                "warnings": warnings,
                "job_wall_seconds": round(time.monotonic() - began, 4),
            },
        )

    def _linked_inputs(
        self, job: jobs.JobRecord, names: list[str], run_tables: list[tables.StoredTable]
    ) -> tuple[list[TaskInput], dict[str, bool]]:
        """The engine inputs of a linked run's job (reads results: on a database thread), and
        for metrics and reports, whether each table's avatars come from the standard job."""
        inputs = [
            self._input(table_ref("original", t.name), t)
            for t in run_tables
            if t.role == "original" and t.name in names
        ]
        from_standard: dict[str, bool] = {}
        if job.kind in ("privacy_metrics", "signal_metrics", "report"):
            for name in names:
                avatars, from_standard[name] = self._avatars_input(job.run_id, name, run_tables)
                inputs.append(
                    TaskInput(
                        table_ref("avatars", name), avatars.path, avatars.sha256, avatars.size_bytes
                    )
                )
            for name in names:
                if from_standard[name]:
                    # An augmented table's lineage: the metrics pair each original with its
                    # first avatar and measure the extra rows by barycentres.
                    inputs += [
                        replace(found, name=table_ref(avatar_features.LINEAGE_RESULT, name))
                        for found in self._lineage_input(job.run_id, name)
                    ]
        if job.kind == "report":
            for kind in ("privacy_metrics", "signal_metrics"):
                for name in names:
                    inputs.append(self._result_input(job.run_id, kind, name, table_ref(kind, name)))
            for name in names:
                if from_standard[name]:
                    inputs += [
                        replace(found, name=table_ref(found.name, name))
                        for found in self._projection_inputs(job.run_id, name)
                    ]
        return inputs, from_standard

    def _record_measured_on_partitions(self, job: jobs.JobRecord, table_name: str) -> bool:
        """For a metrics job: record the metrics its run's standard job measured on the Dask
        partitions of the table (``runs.partition_path``), if it did; on a database thread."""
        with self.app.db.connect() as conn:
            measured = partition_path.measured_on_partitions(conn, job.run_id, job.kind, table_name)
        if measured is None:
            return False
        with self.app.blobs.writer(".json") as writer:
            for chunk in self.app.blobs.iter_chunks(measured.relative_path):
                writer.write(chunk)
            stored = writer.commit()
        try:
            with self.app.db.begin() as conn:
                if not self._hold(conn, job.id):
                    raise _LeaseLostError(job.id)
                results.add_result(
                    conn,
                    job_id=job.id,
                    run_id=job.run_id,
                    kind=job.kind,
                    subkind="",
                    table_name=table_name,
                    filename=f"{table_name}.{job.kind}.json",
                    media_type="application/json",
                    stored=stored,
                )
        except BaseException:
            self.app.blobs.delete(stored.relative_path)
            raise
        return True

    def _store_json(
        self, job: jobs.JobRecord, kind: str, subkind: str, filename: str, payload: Any
    ) -> None:
        """Record a job-wide JSON result: its timings (``run_metadata``, Octopize's
        Results.METADATA), its figures' index (``figures_metadata``), its metrics' summary."""
        with self.app.blobs.writer(".json") as writer:
            writer.write(json.dumps(payload).encode())
            stored = writer.commit()
        try:
            with self.app.db.begin() as conn:
                if not self._hold(conn, job.id):
                    raise _LeaseLostError(job.id)
                results.add_result(
                    conn,
                    job_id=job.id,
                    run_id=job.run_id,
                    kind=kind,
                    subkind=subkind,
                    table_name="",
                    filename=filename,
                    media_type="application/json",
                    stored=stored,
                )
        except BaseException:
            self.app.blobs.delete(stored.relative_path)
            raise

    def _task_for(
        self,
        job: jobs.JobRecord,
        config: RunConfig,
        table: tables.StoredTable,
        run_tables: list[tables.StoredTable],
        run_name: str,
    ) -> tuple[dict[str, Any], list[TaskInput]]:
        table_config = config.find(table.name)
        params: dict[str, Any] = {
            "table_name": table.name,
            "seed": config.seed,
            "column_types": table_config.column_types if table_config else {},
            "compute_figures": config.compute_figures,
            "max_distribution_plots": config.max_distribution_plots,
            "language": config.report_language,
        }
        inputs = [self._input("original", table)]
        if job.kind == "advice":
            advice = (table_config.advice if table_config else None) or {}
            params.update(
                advice_task_params(
                    config, table.name, advice.get("privacy_targets"), advice.get("target")
                )
            )
        pseudonymized = table_config.pseudonymized_columns if table_config else {}
        params["pseudonymized_columns"] = pseudonymized
        if job.kind == "standard" and table_config is not None:
            params["avatarization"] = table_config.avatarization or {}
            if pseudonymized:
                with self.app.db.begin() as conn:
                    secret = store.run_secret(conn, job.run_id)
                params[avatar_features.PSEUDONYM_SECRET_PARAM] = secret.hex()
        if job.kind in ("privacy_metrics", "signal_metrics", "report"):
            avatars, from_standard = self._avatars_input(job.run_id, table.name, run_tables)
            inputs.append(avatars)
            # Metrics-only runs have no standard job to draw their figures: the signal job does.
            params["metrics_only_figures"] = job.kind == "signal_metrics" and not from_standard
            # The standard job released identifier-like columns as pseudonyms: metrics leave
            # them out. Uploaded avatars keep them (a kept identifier must show in the metrics).
            params["avatars_from_standard"] = from_standard
            inputs += self._lineage_input(job.run_id, table.name)
            if table_config is not None:
                params["privacy_metrics"] = table_config.privacy_metrics
                params["signal_metrics"] = table_config.signal_metrics
                params["avatarization"] = table_config.avatarization or {}
        if job.kind == "report":
            params.update(language=config.report_language, pia=vars(config.pia), run_name=run_name)
            loss = self._privacy_loss(job.run_id, table.name)
            if loss is not None:
                params["privacy_loss"] = vars(loss)
            for kind in ("privacy_metrics", "signal_metrics"):
                inputs.append(self._result_input(job.run_id, kind, table.name, kind))
            inputs += self._advice_input(job.run_id, table.name)
            with self.app.db.connect() as conn:
                rows = partition_path.report_rows(conn, self.app.settings, job.run_id, table.name)
            if rows is not None:  # figures from the first partition only
                params[partitioned.ROWS_PARAM] = rows
            elif from_standard:  # the report draws the run's own projection, as its pages do
                inputs += self._projection_inputs(job.run_id, table.name)
        return params, inputs

    def _projection_inputs(self, run_id: str, table_name: str) -> list[TaskInput]:
        """The FAMD coordinates the run's standard job wrote for the table (both, or none)."""
        with self.app.db.connect() as conn:
            standard = jobs.latest_finished(conn, run_id, "standard")
            written = (
                {}
                if standard is None
                else {
                    r.kind: r
                    for r in results.list_results(conn, run_id=run_id, job_id=standard.id)
                    if r.table_name == table_name
                }
            )
        kinds = ("original_projections", "avatar_projections")
        if not all(kind in written for kind in kinds):
            return []
        return [
            TaskInput(
                kind,
                self.app.blobs.path(written[kind].relative_path),
                written[kind].sha256,
                written[kind].size_bytes,
            )
            for kind in kinds
        ]

    def _advice_input(self, run_id: str, table_name: str) -> list[TaskInput]:
        """The latest advice job's result for the table, if the run has one: the report shows
        its privacy-targeted search (what was tried, the binding target, the curve)."""
        with self.app.db.connect() as conn:
            advice = jobs.latest_finished(conn, run_id, "advice")
            if advice is None:
                return []
            found = [
                r
                for r in results.list_results(conn, run_id=run_id, job_id=advice.id)
                if r.kind == "advice" and r.table_name == table_name
            ]
        if not found:
            return []
        return [
            TaskInput(
                "advice",
                self.app.blobs.path(found[-1].relative_path),
                found[-1].sha256,
                found[-1].size_bytes,
            )
        ]

    def _lineage_input(self, run_id: str, table_name: str) -> list[TaskInput]:
        """The latest standard job's lineage of an augmented table, if it has one."""
        with self.app.db.connect() as conn:
            standard = jobs.latest_finished(conn, run_id, "standard")
            if standard is None:
                return []
            found = [
                r
                for r in results.list_results(conn, run_id=run_id, job_id=standard.id)
                if r.kind == avatar_features.LINEAGE_RESULT and r.table_name == table_name
            ]
        if not found:
            return []
        return [
            TaskInput(
                avatar_features.LINEAGE_RESULT,
                self.app.blobs.path(found[-1].relative_path),
                found[-1].sha256,
                found[-1].size_bytes,
            )
        ]

    def _privacy_loss(self, run_id: str, table_name: str) -> privacy_loss.PrivacyLoss | None:
        """What the latest standard job's DP release of the table spent, if it was DP."""
        with self.app.db.connect() as conn:
            standard = jobs.latest_finished(conn, run_id, "standard")
        if standard is None:
            return None
        return next((p for p in standard.privacy_losses if p.table_name == table_name), None)

    def _input(self, name: str, table: tables.StoredTable) -> TaskInput:
        return TaskInput(
            name, self.app.blobs.path(table.relative_path), table.sha256, table.size_bytes
        )

    def _avatars_input(
        self, run_id: str, table_name: str, run_tables: list[tables.StoredTable]
    ) -> tuple[TaskInput, bool]:
        """The avatars metrics compare with, and whether a standard job made them (rather than
        the caller uploading them: metrics-only mode)."""
        with self.app.db.connect() as conn:
            standard = jobs.latest_finished(conn, run_id, "standard")
        if standard is not None:
            made = self._result_input(
                run_id, "unshuffled", table_name, "avatars", job_id=standard.id
            )
            return made, True
        uploaded = next(
            (t for t in run_tables if t.name == table_name and t.role == "avatar"), None
        )
        if uploaded is None:
            raise FailedPreconditionError(
                f"no avatars for table {table_name!r}: run the standard job or upload avatar data.",
                reason=Reason.NO_AVATARS,
            )
        return self._input("avatars", uploaded), False

    def _result_input(
        self, run_id: str, kind: str, table_name: str, name: str, job_id: str = ""
    ) -> TaskInput:
        with self.app.db.connect() as conn:
            found = [
                r
                for r in results.list_results(conn, run_id=run_id, job_id=job_id)
                if r.kind == kind and r.table_name == table_name
            ]
        if not found:
            raise FailedPreconditionError(
                f"no {kind} result for table {table_name!r}: the {kind} job must finish first.",
                reason=Reason.MISSING_DEPENDENCY,
            )
        latest = found[-1]
        return TaskInput(
            name, self.app.blobs.path(latest.relative_path), latest.sha256, latest.size_bytes
        )

    def _store_results(
        self, job: jobs.JobRecord, table_name: str, output: TaskOutput
    ) -> list[dict[str, str]]:
        """Store a task's result files; returns the figures among them (Octopize's
        figures_metadata entries: kind, filename, table_name)."""
        committed = []
        figures: list[dict[str, str]] = []
        try:
            with self.app.db.begin() as conn:
                if not self._hold(conn, job.id):
                    raise _LeaseLostError(job.id)
                for index, received in enumerate(output.files):
                    named = parse_result_name(received.name)
                    table = table_name if named.table is None else named.table
                    stored = received.writer.commit()
                    committed.append(stored)
                    filename = _filename(table or "run", named, received.media_type, index)
                    results.add_result(
                        conn,
                        job_id=job.id,
                        run_id=job.run_id,
                        kind=named.kind,
                        subkind=named.subkind,
                        table_name=table,
                        filename=filename,
                        media_type=received.media_type,
                        stored=stored,
                    )
                    if named.kind == "figures":
                        figures.append(
                            {
                                "kind": named.subkind.partition(":")[0],
                                "filename": filename,
                                "table_name": table,
                            }
                        )
        except BaseException:
            output.discard()
            for stored in committed:
                self.app.blobs.delete(stored.relative_path)
            raise
        return figures


def _drop_partial_results(conn: sa.Connection, job_id: str, released: list[str]) -> None:
    """Delete what an interrupted attempt recorded, so that the next one starts clean (the
    files go once the caller's transaction commits: ``BlobStore.releasing``)."""
    rows = conn.execute(
        sa.select(schema.results.c.id, schema.results.c.blob_id).where(
            schema.results.c.job_id == job_id
        )
    ).all()
    for result_id, blob_id in rows:
        conn.execute(sa.delete(schema.results).where(schema.results.c.id == result_id))
        tables.release_blob(conn, released, blob_id)


def _filename(table: str, named: _Named, media_type: str, index: int) -> str:
    suffix = SUFFIX.get(media_type, ".bin")
    if named.kind in ("figures", "report_images"):
        kind, _, number = named.subkind.partition(":")
        prefix = "" if named.kind == "figures" else "report_"
        return f"{table}_{prefix}{kind}_{number or 0}{suffix}"
    if named.kind == "report":
        return f"{table}.report{'_' + named.subkind if named.subkind else ''}{suffix}"
    return f"{table}.{named.kind}{suffix}"
