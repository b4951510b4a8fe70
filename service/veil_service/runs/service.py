"""The runs domain's operations, one per RunsService RPC, for a caller known by user id.

The servicer decodes a request, names the caller and calls one method here, then encodes what it
returns; every rule of runs, tables, jobs and results lives here or below (``store``, ``tables``,
``jobs``, ``results``, ``dispatcher``). Another user's run, job or result answers NOT_FOUND, so
existence is not revealed.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.ipc as ipc
import sqlalchemy as sa

from veil_service.arrow_tables import TableShape
from veil_service.context import AppContext
from veil_service.engine_client.protocol import TaskInput, TaskOutput
from veil_service.engine_contract.linked_tables import schema_to_dict, table_ref
from veil_service.engine_contract.privacy_targets import check_privacy_targets
from veil_service.errors import FailedPreconditionError, InvalidArgumentError, Reason
from veil_service.runs import jobs, results, store, tables, yaml_parsing
from veil_service.runs.config import RunConfig, advice_task_params, validate
from veil_service.runs.dispatcher import Dispatcher
from veil_service.runs.jobs import JobRecord
from veil_service.runs.linked_jobs import task_params as linked_task_params
from veil_service.runs.results import ResultRecord
from veil_service.runs.store import RunRecord
from veil_service.runs.tables import StoredTable
from veil_service.storage.blobs import StoredBlob
from veil_service.storage.db_calls import db_call, db_read, db_write

WATCH_LIMIT = 500
MAX_WATCHED_JOBS = 1_000
"""Job ids one WatchJobs call may name (repeats count; they are read once)."""
"""Most jobs of a run that WatchJobs follows (and DeleteRun cancels)."""


@dataclass(frozen=True)
class RunView:
    """A run with its tables, as callers see it."""

    record: RunRecord
    tables: list[StoredTable]

    @property
    def config(self) -> RunConfig:
        """The run's configuration."""
        return RunConfig.from_dict(self.record.config)


@dataclass(frozen=True)
class StartedJobs:
    """What StartJobs created, in which run (a new version when the run already had jobs)."""

    run: RunRecord
    jobs: list[JobRecord]
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TableDescription:
    """Per-column statistics of a table, as the engine's ``describe`` task computed them.

    Attributes:
        num_rows: Rows of the table.
        columns: One dict per column (name, type, counts, bounds); absent statistics omitted.
    """

    num_rows: int
    columns: list[dict[str, Any]]


@dataclass(frozen=True)
class Advice:
    """Suggested avatarization parameters of a table (the engine's ``advice`` task).

    Attributes:
        parameters: Domain parameter names (``k``, ``ncp``, ``imputation_method``, ...) to values.
        notes: Why, in English words, for the user (what the API sends).
        flagged_columns: Columns the advice warns about (identifiers, free text, ...).
        structured_notes: The same notes as codes with parameters
            (``engine_contract.advice_notes``), one list of parts per note, so that a page
            says them in its own language; empty when the notes came without them.
    """

    parameters: dict[str, Any]
    notes: list[str]
    flagged_columns: list[str]
    privacy_search: dict[str, Any] | None = None
    curve_svg: str = ""
    linked_k_search: dict[str, Any] | None = None
    structured_notes: list[list[dict[str, Any]]] = field(default_factory=list)


@dataclass(frozen=True)
class AdvisedLink:
    """A link the engine proposes (Octopize's ``AdvisedLink``).

    Attributes:
        confidence: ``high``, ``medium`` or ``low`` (engine/multitable/link_advice.py).
        overlap: Share of the foreign key's distinct values found in the parent's key.
        rows_without_parent: Child rows the link cannot attach (empty key, or a value the
            parent does not hold): ``run()`` refuses them.
        child_rows: Rows of the child table.
    """

    parent_table: str
    parent_field: str
    child_table: str
    child_field: str
    method: str
    confidence: str
    overlap: float
    rows_without_parent: int = 0
    child_rows: int = 0


@dataclass(frozen=True)
class UnlinkedForeignKey:
    """A foreign key the advice could not link, and the tables it may point to."""

    table: str
    field: str
    candidate_tables: list[str]


@dataclass(frozen=True)
class LinksAdvice:
    """Octopize's ``TablesLinksAdvice``."""

    links: list[AdvisedLink]
    unlinked_foreign_keys: list[UnlinkedForeignKey]


class RunsService:
    """Runs, their tables and configuration, jobs and results.

    Args:
        app: The server's shared parts (database, blobs, engines).
        dispatcher: Runs the jobs; also publishes their changes and cancels them.
    """

    def __init__(self, app: AppContext, dispatcher: Dispatcher) -> None:
        self.app = app
        self.dispatcher = dispatcher

    # --- Runs ----------------------------------------------------------------------------------

    def _view(self, conn: sa.Connection, record: RunRecord) -> RunView:
        return RunView(record, tables.list_tables(conn, record.id))

    def create_run(self, owner_id: str, display_name: str, config: RunConfig) -> RunView:
        """Create an empty run (version 1, or one more than the owner's last of that name)."""
        validate(config)
        with self.app.db.begin() as conn:
            record = store.create_run(
                conn, owner_id=owner_id, display_name=display_name, config=config.to_dict()
            )
            return self._view(conn, record)

    def get_run(self, owner_id: str, run_id: str) -> RunView:
        """One of the owner's runs."""
        with self.app.db.connect() as conn:
            return self._view(conn, store.get_owned_run(conn, run_id, owner_id))

    def copy_run(self, owner_id: str, run_id: str, display_name: str = "") -> RunView:
        """A new version of one of the owner's runs, without jobs, to change instead of it
        (its jobs read its configuration and tables when they start).

        Raises:
            NotFoundError: the run is not the owner's.
            InvalidArgumentError: ``display_name`` is over 256 characters (or blank).
        """
        if display_name:
            display_name = store.validate_display_name(display_name)
        with self.app.db.begin() as conn:
            run = store.get_owned_run(conn, run_id, owner_id)
            copy = store.copy_as_new_version(conn, run, display_name=display_name)
            return self._view(conn, copy)

    def list_runs(
        self,
        owner_id: str,
        *,
        display_name: str,
        limit: int,
        offset: int,
        name_contains: str = "",
    ) -> list[RunView]:
        """The owner's runs, newest first, of one display name or whose name contains a text."""
        with self.app.db.connect() as conn:
            records = store.list_runs(
                conn,
                owner_id=owner_id,
                display_name=display_name,
                limit=limit,
                offset=offset,
                name_contains=name_contains,
            )
            return [self._view(conn, r) for r in records]

    def delete_run(self, owner_id: str, run_id: str) -> None:
        """Cancel the run's unfinished jobs, then delete it with its tables, jobs and results."""
        with self.app.db.connect() as conn:
            store.get_owned_run(conn, run_id, owner_id)
            unfinished = jobs.list_jobs(
                conn,
                owner_id=owner_id,
                run_id=run_id,
                statuses=["queued", "pending"],
                limit=WATCH_LIMIT,
            )
        for job in unfinished:
            self.dispatcher.cancel(job.id)
        with self.app.blobs.releasing() as released, self.app.db.begin() as conn:
            for blob_id in store.delete_run(conn, run_id):
                tables.release_blob(conn, released, blob_id)
        self.dispatcher.events.publish(run_id)

    # --- Configuration -------------------------------------------------------------------------

    def get_config(self, owner_id: str, run_id: str) -> RunConfig:
        """The run's configuration."""
        return self.get_run(owner_id, run_id).config

    def set_config(self, owner_id: str, run_id: str, config: RunConfig) -> RunConfig:
        """Replace the run's configuration (validated first; a named target column also
        against its table's columns when the table is already uploaded)."""
        validate(config)
        with self.app.db.begin() as conn:
            store.get_owned_run(conn, run_id, owner_id)
            jobs.check_target_columns(config, tables.list_tables(conn, run_id))
            store.set_config(conn, run_id, config.to_dict())
        return config

    async def import_yaml(
        self, owner_id: str, run_id: str, text: str
    ) -> tuple[RunConfig, list[str]]:
        """Set the configuration from avatar_yaml text; returns it and what was not supported.

        The text is parsed in a child process (``runs.yaml_parsing``), within
        ``yaml_limits.CONFIG_LIMITS``: PyYAML is pure Python work that would otherwise hold the
        event loop (issue 19, defect 3).
        """
        await db_read(self.app.db, store.get_owned_run, run_id, owner_id)
        config, _display_name, warnings = await yaml_parsing.parse_config(text)
        await db_write(self.app.db, _set_owned_config, run_id, owner_id, config.to_dict())
        return config, warnings

    def export_yaml(self, owner_id: str, run_id: str) -> str:
        """The run's configuration as avatar_yaml text."""
        from veil_service.runs.yaml_io import config_to_yaml

        run = self.get_run(owner_id, run_id)
        return config_to_yaml(run.config, run.record.display_name)

    # --- Tables --------------------------------------------------------------------------------

    async def upload_table(
        self,
        owner_id: str,
        *,
        run_id: str,
        table_name: str,
        role: str,
        replace: bool,
        expected_sha256: str,
        chunks: AsyncIterator[object],
    ) -> StoredTable:
        """Store an Arrow IPC stream as a table of the run (see ``tables.receive_stream``).

        Nothing is registered unless the whole stream arrived and parsed; a failed upload leaves
        no file and no row.
        """
        tables.validate_table_name(table_name)
        superseded = await db_read(
            self.app.db, _owned_table, run_id, owner_id, table_name, role, replace
        )
        if superseded is not None:
            self.app.blobs.uncache_in_background(superseded.relative_path)
        # A run's tables are avatarized: an inf is refused now, with its column, rather than
        # failing the job later (jobs carry no error code).
        stored, shape = await tables.receive_stream(
            self.app.blobs, chunks, expected_sha256=expected_sha256, finite=True
        )
        try:
            return await db_call(
                self._register_table, run_id, table_name, role, stored, shape, replace=replace
            )
        except BaseException:
            self.app.blobs.delete(stored.relative_path)
            raise

    def _register_table(
        self,
        run_id: str,
        table_name: str,
        role: str,
        stored: StoredBlob,
        shape: TableShape,
        *,
        replace: bool,
    ) -> StoredTable:
        with self.app.blobs.releasing() as released, self.app.db.begin() as conn:
            return tables.register_table(
                conn,
                released,
                run_id=run_id,
                name=table_name,
                role=role,
                stored=stored,
                shape=shape,
                replace=replace,
            )

    def get_table(self, owner_id: str, run_id: str, table_name: str, role: str) -> StoredTable:
        """One table of one of the owner's runs."""
        with self.app.db.connect() as conn:
            store.get_owned_run(conn, run_id, owner_id)
            return tables.get_table(conn, run_id, table_name, role)

    def table_chunks(self, table: StoredTable, chunk_bytes: int) -> Iterator[bytes]:
        """A stored table's Arrow IPC stream, cut between IPC messages."""
        return self.app.blobs.iter_ipc_chunks(table.relative_path, chunk_bytes)

    def list_tables(self, owner_id: str, run_id: str) -> list[StoredTable]:
        """The run's tables."""
        return self.get_run(owner_id, run_id).tables

    def delete_table(self, owner_id: str, run_id: str, table_name: str, role: str | None) -> None:
        """Delete a table (of one role, or of any role when ``role`` is None).

        Raises:
            FailedPreconditionError: a job of the run is queued or running (it would read the
                table, or report success without it); reason ``TABLE_IN_USE``.
        """
        with self.app.blobs.releasing() as released, self.app.db.begin() as conn:
            store.get_owned_run(conn, run_id, owner_id)
            active = [
                job
                for job in jobs.list_jobs(conn, owner_id=owner_id, run_id=run_id, limit=WATCH_LIMIT)
                if not job.done
            ]
            if active:
                raise FailedPreconditionError(
                    f"table {table_name!r} is used by {len(active)} queued or running job(s) of "
                    f"this run ({', '.join(sorted({j.kind for j in active}))}); wait for them or "
                    "cancel them, then delete it.",
                    reason=Reason.TABLE_IN_USE,
                )
            tables.delete_table(conn, released, run_id, table_name, role)

    async def describe_table(
        self, owner_id: str, run_id: str, table_name: str, role: str
    ) -> TableDescription:
        """Per-column statistics of a table, computed by the engine."""
        table = await db_call(self.get_table, owner_id, run_id, table_name, role)
        output = await self.app.engines.run(
            "describe", {}, [self._input("table", table)], owner=owner_id
        )
        try:
            path = output.files[0].writer.temp_path
            with pa.OSFile(str(path), "rb") as source:
                stats = ipc.open_stream(source).read_all().to_pylist()
        finally:
            output.discard()
        return TableDescription(
            num_rows=int(output.summary.get("num_rows", 0)),
            columns=[{k: v for k, v in s.items() if v is not None} for s in stats],
        )

    async def advise_parameters(
        self,
        owner_id: str,
        run_id: str,
        table_name: str,
        privacy_targets: dict[str, float] | None = None,
        target: str | None = None,
    ) -> Advice:
        """Avatarization parameters the engine suggests for an original table.

        The table's keys and time column are left out: they are never avatarized as data. With
        ``privacy_targets`` (possibly empty: the defaults) the engine also searches k, ncp and
        the privacy knobs on a sample for the most useful avatars meeting them
        (engine/privacy_advice.py); ``target`` is the column whose prediction measures utility.
        On a linked run the table's ``k`` and ``coupled_noise`` are searched over whole linked
        avatarizations instead (``linked_advice``), aimed at the stated ``hidden_rate`` (on
        the matched pairing) or, without one, at the table's fresh-sample reference.

        Raises:
            InvalidArgumentError: an unknown target name or a value out of its range, or a
                ``target`` that is not a column of the table; on a linked run, a target other
                than ``hidden_rate`` or a ``target`` column.
        """
        table = await db_call(self.get_table, owner_id, run_id, table_name, "original")
        config = await db_call(self.get_config, owner_id, run_id)
        if config.linked:
            return await self._advise_linked(
                owner_id, run_id, table_name, linked_hidden_rate_target(privacy_targets, target)
            )
        if privacy_targets is not None:
            check_privacy_targets(privacy_targets)
        params = advice_task_params(config, table.name, privacy_targets, target)
        output = await self.app.engines.run(
            "advice", params, [self._input("original", table)], owner=owner_id
        )
        return _advice_of(output)

    async def _advise_linked(
        self, owner_id: str, run_id: str, table_name: str, hidden_rate: float | None = None
    ) -> Advice:
        """Advice for a table of a linked run: the engine's ``linked_advice`` task, which
        searches the table's ``k`` and ``coupled_noise`` over whole linked avatarizations
        (every table is an input), aimed at ``hidden_rate`` (matched pairing, %) when stated.

        Raises:
            FailedPreconditionError: the links are not ready (``LINKS_INCOMPLETE``) or a table
                has no data (``NO_TABLE``).
        """
        _, params, inputs = await self._linked_task(owner_id, run_id)
        params["table_name"] = table_name
        if hidden_rate is not None:
            params["hidden_rate_target"] = hidden_rate
        output = await self.app.engines.run("linked_advice", params, inputs, owner=owner_id)
        return _advice_of(output)

    async def advise_links(self, owner_id: str, run_id: str) -> LinksAdvice:
        """Links the engine proposes between the run's tables, from their keys and values.

        Raises:
            FailedPreconditionError: fewer than two tables (reason ``NO_TABLE``).
            InvalidArgumentError: the declared keys break avatar_yaml's rules.
        """
        run = await db_call(self.get_run, owner_id, run_id)
        config = run.config
        originals = [t for t in run.tables if t.role == "original"]
        if len(originals) < 2:
            raise FailedPreconditionError(
                f"advise_links needs at least two tables; the run has {len(originals)}: "
                "add_table(...) the others first.",
                reason=Reason.NO_TABLE,
            )
        schema = config.schema()
        schema.check(require_links=False)
        params = {"schema": schema_to_dict(schema)}
        inputs = [self._input(table_ref("original", t.name), t) for t in originals]
        output = await self.app.engines.run("advise_links", params, inputs, owner=owner_id)
        try:
            advice = json.loads(output.files[0].writer.temp_path.read_text())
        finally:
            output.discard()
        return LinksAdvice(
            links=[AdvisedLink(**link) for link in advice.get("links", [])],
            unlinked_foreign_keys=[
                UnlinkedForeignKey(**fk) for fk in advice.get("unlinked_foreign_keys", [])
            ],
        )

    def _input(self, name: str, table: StoredTable) -> TaskInput:
        return TaskInput(
            name, self.app.blobs.path(table.relative_path), table.sha256, table.size_bytes
        )

    # --- Jobs ----------------------------------------------------------------------------------

    async def start_jobs(
        self,
        owner_id: str,
        run_id: str,
        kinds: list[str],
        *,
        reuse_run: bool,
        display_name: str = "",
    ) -> StartedJobs:
        """Plan and queue jobs of the given kinds (with their dependencies).

        Running a run that already has jobs makes a new version of it (same display name, new
        id, same table blobs) unless ``reuse_run``, which adds the jobs to the run and lets them
        depend on its finished jobs. A ``display_name`` other than the run's always makes a new
        version, under that name: a reloaded Octopize runner is named ``<name>-v1`` and its
        rerun must be listed under it, with the run it was loaded from left as it was. A
        linked run's tables are checked first (keys, links, time columns, ``k`` per table:
        :meth:`_check_linked_tables`), so bad data is refused here and no job is queued.

        Raises:
            InvalidArgumentError: ``display_name`` is not 1-256 characters, or differs from the
                run's with ``reuse_run`` (which adds the jobs to the run, keeping its name).
        """
        if display_name:
            display_name = store.validate_display_name(display_name)
        if "standard" in kinds:
            await self._check_linked_tables(owner_id, run_id, kinds)
        started = await db_call(
            self._queue_jobs,
            owner_id,
            run_id,
            kinds,
            reuse_run=reuse_run,
            display_name=display_name,
        )
        self.dispatcher.jobs_queued(started.run.id)
        return started

    async def _check_linked_tables(self, owner_id: str, run_id: str, kinds: list[str]) -> None:
        """The engine's ``check_tables`` task on a linked run, in its short-task lane; it also
        checks the parameters of the metrics jobs among ``kinds``.

        Raises:
            InvalidArgumentError: a bad table, naming the table, the column and how many rows;
                a metrics parameter naming no variable of its table, naming the table.
            FailedPreconditionError: the links are not ready (``LINKS_INCOMPLETE``).
        """
        run = await db_call(self.get_run, owner_id, run_id)
        if not run.config.linked:
            return
        _, params, inputs = await self._linked_task(owner_id, run_id, run)
        metrics_jobs = [k for k in kinds if k in ("privacy_metrics", "signal_metrics")]
        output = await self.app.engines.run(
            "check_tables",
            {**params, "inline": True, "metrics_jobs": metrics_jobs},
            inputs,
            owner=owner_id,
        )
        output.discard()

    async def _linked_task(
        self, owner_id: str, run_id: str, run: RunView | None = None
    ) -> tuple[RunView, dict[str, Any], list[TaskInput]]:
        """A linked run, the parameters of its engine tasks and every original table as input.

        Raises:
            FailedPreconditionError: the links are not ready (``LINKS_INCOMPLETE``) or a table
                has no data (``NO_TABLE``).
        """
        if run is None:
            run = await db_call(self.get_run, owner_id, run_id)
        config = run.config
        try:
            config.schema().check(require_links=True)
        except InvalidArgumentError as exc:
            raise FailedPreconditionError(
                exc.message, reason=Reason.LINKS_INCOMPLETE, field=exc.field
            ) from None
        originals = {t.name: t for t in run.tables if t.role == "original"}
        missing = [t.name for t in config.tables if t.name not in originals]
        if missing:
            raise FailedPreconditionError(
                f"table(s) {missing} have no data: add_table(...) or upload_file(...) them.",
                reason=Reason.NO_TABLE,
            )
        params = linked_task_params(config, run_name=run.record.display_name)
        inputs = [
            self._input(table_ref("original", t.name), originals[t.name]) for t in config.tables
        ]
        return run, params, inputs

    def _queue_jobs(
        self,
        owner_id: str,
        run_id: str,
        kinds: list[str],
        *,
        reuse_run: bool,
        display_name: str = "",
    ) -> StartedJobs:
        warnings: list[str] = []
        with self.app.db.begin() as conn:
            run = store.get_owned_run(conn, run_id, owner_id)
            renamed = bool(display_name) and display_name != run.display_name
            if renamed and reuse_run:
                raise InvalidArgumentError(
                    f"display_name {display_name!r} differs from the run's "
                    f"({run.display_name!r}) but reuse_run adds the jobs to that run: leave "
                    "display_name empty, or unset reuse_run to start a new version under it.",
                    field="display_name",
                )
            has_jobs = bool(jobs.list_jobs(conn, owner_id=owner_id, run_id=run.id, limit=1))
            steps = jobs.plan(
                kinds,
                RunConfig.from_dict(run.config),
                tables.list_tables(conn, run.id),
                jobs.finished_kinds(conn, run.id) if reuse_run else set(),
            )
            if renamed:
                source = run
                run = store.copy_as_new_version(conn, run, display_name=display_name)
                warnings.append(
                    f"the jobs run on a new version ({run.version}) of {run.display_name!r} "
                    f"with id {run.id}, copied from {source.display_name!r} ({source.id}), "
                    "which is unchanged."
                )
            elif has_jobs and not reuse_run:
                run = store.copy_as_new_version(conn, run)
                warnings.append(
                    f"this run already had jobs: a new version ({run.version}) of "
                    f"{run.display_name!r} was created with id {run.id}."
                )
            created = jobs.create_jobs(
                conn, run_id=run.id, owner_id=owner_id, steps=steps, params={}
            )
        return StartedJobs(run, created, warnings)

    def get_job(self, owner_id: str, job_id: str) -> JobRecord:
        """One of the owner's jobs."""
        with self.app.db.connect() as conn:
            return jobs.get_job(conn, job_id, owner_id)

    def list_jobs(
        self,
        owner_id: str,
        *,
        run_id: str,
        display_name: str,
        kinds: list[str],
        statuses: list[str],
        limit: int,
        offset: int,
    ) -> list[JobRecord]:
        """The owner's jobs, newest first, filtered."""
        with self.app.db.connect() as conn:
            if run_id:
                store.get_owned_run(conn, run_id, owner_id)
            return jobs.list_jobs(
                conn,
                owner_id=owner_id,
                run_id=run_id,
                display_name=display_name,
                kinds=kinds,
                statuses=statuses,
                limit=limit,
                offset=offset,
            )

    async def watch_jobs(
        self, owner_id: str, *, run_id: str, job_ids: list[str]
    ) -> AsyncGenerator[JobRecord, None]:
        """Each job of a run (or the given jobs) now, then each time it changes, until all end.

        Changes are pushed by the dispatcher (``job_events``): the stream reads the jobs again
        only when one of their runs changed.

        Raises:
            InvalidArgumentError: neither a run nor jobs given.
            NotFoundError: the run or a job is not the caller's.
        """
        if not run_id and not job_ids:
            raise InvalidArgumentError("give run_id or job_ids to watch.", field="run_id")
        if len(job_ids) > MAX_WATCHED_JOBS:
            raise InvalidArgumentError(
                f"job_ids lists {len(job_ids):,} ids; watch at most {MAX_WATCHED_JOBS:,} jobs "
                "at once (or watch their run with run_id).",
                field="job_ids",
            )
        job_ids = list(dict.fromkeys(job_ids))
        run_ids = (
            {run_id}
            if run_id
            else {j.run_id for j in await db_call(self._read_jobs, owner_id, job_ids)}
        )
        seen: dict[str, tuple[str, float, str]] = {}
        with self.dispatcher.events.subscribe(run_ids) as changes:
            while True:
                watched = await db_call(self._read_watched, owner_id, run_id, job_ids)
                for job in sorted(watched, key=lambda j: j.created_at):
                    state = (job.status, round(job.progress, 3), job.phase)
                    if seen.get(job.id) != state:
                        seen[job.id] = state
                        yield job
                if all(job.done for job in watched):
                    return
                await changes.wait()

    def _read_watched(self, owner_id: str, run_id: str, job_ids: list[str]) -> list[JobRecord]:
        if not run_id:
            return self._read_jobs(owner_id, job_ids)
        with self.app.db.connect() as conn:
            store.get_owned_run(conn, run_id, owner_id)
            return jobs.list_jobs(conn, owner_id=owner_id, run_id=run_id, limit=WATCH_LIMIT)

    def _read_jobs(self, owner_id: str, job_ids: list[str]) -> list[JobRecord]:
        with self.app.db.connect() as conn:
            return [jobs.get_job(conn, job_id, owner_id) for job_id in job_ids]

    async def cancel_job(self, owner_id: str, job_id: str) -> JobRecord:
        """Cancel a queued or running job and return its state after (usually ``cancelled``).

        Raises:
            FailedPreconditionError: the job already ended.
        """
        await self.dispatcher.cancel_job(await db_call(self.get_job, owner_id, job_id))
        return await db_call(self.get_job, owner_id, job_id)

    def delete_jobs(self, owner_id: str, job_ids: list[str]) -> int:
        """Delete the owner's jobs and their results; running jobs must be cancelled first."""
        run_ids = {j.run_id for j in self._read_jobs(owner_id, job_ids)}
        with self.app.blobs.releasing() as released, self.app.db.begin() as conn:
            count = jobs.delete_jobs(conn, released, job_ids, owner_id)
        for run_id in run_ids:
            self.dispatcher.events.publish(run_id)
        return count

    # --- Results -------------------------------------------------------------------------------

    def list_results(self, owner_id: str, *, run_id: str, job_id: str) -> list[ResultRecord]:
        """Results of one job, or of a whole run."""
        with self.app.db.connect() as conn:
            if job_id:
                job = jobs.get_job(conn, job_id, owner_id)
                return results.list_results(conn, job_id=job.id)
            store.get_owned_run(conn, run_id, owner_id)
            return results.list_results(conn, run_id=run_id)

    def get_result(self, owner_id: str, result_id: str) -> ResultRecord:
        """One of the owner's results."""
        with self.app.db.connect() as conn:
            return results.get_owned_result(conn, result_id, owner_id)

    def result_chunks(self, result: ResultRecord, chunk_bytes: int) -> Iterator[bytes]:
        """A result file's bytes in chunks."""
        return self.app.blobs.iter_chunks(result.relative_path, chunk_bytes)


def _set_owned_config(
    conn: sa.Connection, run_id: str, owner_id: str, config: dict[str, Any]
) -> None:
    store.get_owned_run(conn, run_id, owner_id)
    store.set_config(conn, run_id, config)


def _owned_table(
    conn: sa.Connection, run_id: str, owner_id: str, table_name: str, role: str, replace: bool
) -> StoredTable | None:
    """Check the run is the owner's; the table an upload with ``replace`` supersedes."""
    store.get_owned_run(conn, run_id, owner_id)
    return tables.find_table(conn, run_id, table_name, role) if replace else None


def linked_hidden_rate_target(
    privacy_targets: dict[str, float] | None, target: str | None
) -> float | None:
    """The stated hidden rate of a linked table's advice, None when not stated.

    The linked search measures one thing per trial over whole linked avatarizations: the
    table's hidden rate with each original paired to an avatar by minimum total distance (the
    pairing an attacker would choose; never above Veil's own-pairing hidden rate). The attack
    targets need a held-out control part, which a linked run (every row avatarized with its
    family) has not: they are refused, naming the field, rather than measured on something
    else. ``{}`` means the linked default (the fresh-sample reference).

    Raises:
        InvalidArgumentError: a target other than ``hidden_rate``, a bad value, or a
            ``target`` column (the linked search ranks settings by column shapes and pair
            trends).
    """
    if target:
        raise InvalidArgumentError(
            "target: on a linked run the advice ranks settings by column shapes and pair "
            "trends of each table; leave target unset (or advise the table on a run of its "
            "own).",
            field="target",
        )
    if privacy_targets is None:
        return None
    check_privacy_targets(privacy_targets)
    others = sorted(name for name in privacy_targets if name != "hidden_rate")
    if others:
        raise InvalidArgumentError(
            f"privacy_targets.{others[0]}: on a linked run the advice searches k and "
            "coupled_noise against the hidden rate only (each original paired with an avatar by "
            "minimum distance, over whole linked avatarizations); the attack risks need a "
            "held-out part a linked run has not. State hidden_rate alone, and check the "
            "attacks with the privacy metrics job or on a run of the table alone.",
            field=f"privacy_targets.{others[0]}",
        )
    value = privacy_targets.get("hidden_rate")
    return None if value is None else float(value)


def _advice_of(output: TaskOutput) -> Advice:
    """The ``advice`` result an engine task wrote (``advice`` or ``linked_advice``)."""
    try:
        advice = json.loads(output.files[0].writer.temp_path.read_text())
    finally:
        output.discard()
    return Advice(
        parameters=dict(advice.get("parameters", {})),
        notes=list(advice.get("notes", [])),
        flagged_columns=list(advice.get("flagged_columns", [])),
        privacy_search=advice.get("privacy_search"),
        curve_svg=str(advice.get("curve_svg", "")),
        linked_k_search=advice.get("linked_k_search"),
        structured_notes=list(advice.get("structured_notes", [])),
    )
