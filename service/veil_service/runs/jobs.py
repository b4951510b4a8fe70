"""Jobs of runs: planning with dependencies, statuses, queries, cancellation, deletion.

Statuses carry the Octopize names: queued (waiting for dependencies or an engine), pending
(running), finished, error, parent_error (a job it depends on did not finish), cancelled.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from veil_service.engine_contract import avatar_features
from veil_service.errors import FailedPreconditionError, InvalidArgumentError, NotFoundError, Reason
from veil_service.runs.config import RunConfig
from veil_service.runs.privacy_loss import PrivacyLoss, from_json
from veil_service.runs.tables import StoredTable, release_blob
from veil_service.storage import schema

KINDS = ("standard", "privacy_metrics", "signal_metrics", "report", "advice")
EXECUTION_ORDER = ("advice", "standard", "signal_metrics", "privacy_metrics", "report")
DONE_STATUSES = ("finished", "error", "parent_error", "cancelled")
FAILED_STATUSES = ("error", "parent_error", "cancelled")


@dataclass(frozen=True)
class JobRecord:
    """A job row."""

    id: str
    run_id: str
    owner_id: str
    kind: str
    status: str
    depends_on: list[str]
    params: dict[str, Any]
    progress: float
    phase: str
    exception: str
    attempts: int
    created_at: float
    started_at: float | None
    finished_at: float | None
    display_name: str = ""
    warnings: tuple[str, ...] = ()
    phase_done: int = 0
    phase_total: int = 0
    privacy_losses: tuple[PrivacyLoss, ...] = ()

    @property
    def done(self) -> bool:
        """Whether the job reached a final status."""
        return self.status in DONE_STATUSES


def to_record(row: sa.RowMapping) -> JobRecord:
    """A JobRecord from a jobs row (joined with runs for the display name when present)."""
    return JobRecord(
        row["id"],
        row["run_id"],
        row["owner_id"],
        row["kind"],
        row["status"],
        json.loads(row["depends_on_json"] or "[]"),
        json.loads(row["params_json"] or "{}"),
        row["progress"],
        row["phase"],
        row["exception"],
        row["attempts"],
        row["created_at"],
        row["started_at"],
        row["finished_at"],
        row.get("display_name", "") or "",
        tuple(json.loads(row.get("warnings_json") or "[]")),
        row.get("phase_done") or 0,
        row.get("phase_total") or 0,
        tuple(from_json(row.get("privacy_loss_json"))),
    )


def plan(
    kinds: list[str], config: RunConfig, tables: list[StoredTable], finished_kinds: set[str]
) -> list[tuple[str, list[str]]]:
    """Order the requested kinds and name each one's dependencies (by kind).

    Raises:
        InvalidArgumentError: unknown or no kinds.
        FailedPreconditionError: what is missing for a kind (tables, parameters, avatar data).
    """
    if not kinds:
        raise InvalidArgumentError(
            "no job kinds given; e.g. jobs_to_run=[JobKind.standard].", field="kinds"
        )
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise InvalidArgumentError(
            f"unknown job kinds {unknown}; known: {list(KINDS)}.", field="kinds"
        )
    originals = {t.name for t in tables if t.role == "original"}
    avatars = {t.name for t in tables if t.role == "avatar"}
    # A configured table without data (a configuration loaded with from_yaml holds none) is
    # named here: the jobs would otherwise run on the other tables and leave it out silently.
    without_data = [t.name for t in config.tables if t.name not in originals]
    if without_data:
        calls = ", ".join(f"upload_file({name!r}, data)" for name in without_data)
        raise FailedPreconditionError(
            f"table(s) {without_data} have no data: call {calls} (a configuration loaded "
            "from YAML holds no data), or delete_table them.",
            reason=Reason.NO_TABLE,
            field="table_name",
        )
    if not originals:
        raise FailedPreconditionError(
            "the run has no table: add_table(...) first.", reason=Reason.NO_TABLE
        )
    if config.linked:
        try:
            config.schema().check(require_links=True)
        except InvalidArgumentError as exc:
            raise FailedPreconditionError(
                exc.message, reason=Reason.LINKS_INCOMPLETE, field=exc.field
            ) from None
    series = config.time_series_tables()
    requested = set(kinds)
    steps: list[tuple[str, list[str]]] = []
    for kind in EXECUTION_ORDER:
        if kind not in requested:
            continue
        depends: list[str] = []
        if kind == "standard":
            missing = sorted(
                n
                for n in originals - series
                if (c := config.find(n)) is None or c.avatarization is None
            )
            if missing:
                raise FailedPreconditionError(
                    f"table(s) {missing} have no avatarization parameters: call "
                    "set_parameters(table, k=...) first.",
                    reason=Reason.NO_PARAMETERS,
                )
            _check_named_columns(config, tables)
        elif kind in ("privacy_metrics", "signal_metrics"):
            _check_metrics_columns(config, tables)
            if "standard" in requested:
                depends = ["standard"]
            elif "standard" not in finished_kinds and not originals <= avatars:
                raise FailedPreconditionError(
                    f"{kind} needs avatars: run the standard job too, or upload avatar tables "
                    "for every table (add_table(..., avatar_data=...)).",
                    reason=Reason.NO_AVATARS,
                )
        elif kind == "report":
            for needed in ("privacy_metrics", "signal_metrics"):
                if needed in requested:
                    depends.append(needed)
                elif needed not in finished_kinds:
                    raise FailedPreconditionError(
                        f"report needs a finished {needed} job: run {needed} first (or with it).",
                        reason=Reason.MISSING_DEPENDENCY,
                    )
            if "advice" in requested:  # the report shows the advice's privacy-targeted search
                depends.append("advice")
        steps.append((kind, depends))
    return steps


def _check_named_columns(config: RunConfig, tables: list[StoredTable]) -> None:
    """Refuse parameters naming a column the stored table lacks (processors, augmentation
    targets, pseudonymized columns, column weights, excluded variables, declared column types)
    before any job exists: nothing half-run, and the user hears it from ``run()`` as
    INVALID_ARGUMENT instead of from a failed job. A k of at least the table's rows stays a
    failed standard job: Octopize's Tutorial 1 runs k=500 on iris and reads the job's
    exception."""
    for table in tables:
        table_config = config.find(table.name)
        if table.role != "original" or table_config is None:
            continue
        columns = [column.name for column in table.columns]
        avatar_features.check_columns(
            f"tables[{table.name}]",
            table_config.avatarization or {},
            columns,
            table_name=table.name,
            pseudonymized=table_config.pseudonymized_columns,
        )
        _check_listed(
            f"tables[{table.name}].column_types", table_config.column_types, table, columns
        )
        _check_declared_dates(table, table_config.column_types)


#: Arrow types of number columns (``pd.to_datetime`` reads their values as nanoseconds).
_NUMBER_TYPES = frozenset(
    {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"}
    | {"halffloat", "float", "double"}
)


def _check_declared_dates(table: StoredTable, types: dict[str, str]) -> None:
    """Refuse a number column declared ``datetime``: read as nanoseconds after 1970 its
    values became dates a few seconds apart, and the avatars came back truncated to whole
    numbers (5.1 -> 5.0) without a word."""
    for column in table.columns:
        declared = types.get(column.name)
        if declared in ("datetime", "datetime_tz") and column.arrow_type in _NUMBER_TYPES:
            path = f"tables[{table.name}].column_types[{column.name}]"
            raise InvalidArgumentError(
                f"{path}: declared {declared}, but the uploaded column holds numbers "
                f"({column.arrow_type}), which would be read as nanoseconds after 1970-01-01. "
                f"Declare it float or int, or upload it as dates (e.g. "
                f"pd.to_datetime(df[{column.name!r}], unit='s')).",
                field=path,
            )


def _check_metrics_columns(config: RunConfig, tables: list[StoredTable]) -> None:
    """Refuse metrics parameters (``known_variables``, ``target``, column weights, the
    categorical hidden rate's variables) naming a column the stored table lacks, before the
    metrics jobs exist (they failed after the avatarization, naming no table)."""
    for table in tables:
        table_config = config.find(table.name)
        if table.role != "original" or table_config is None:
            continue
        columns = [column.name for column in table.columns]
        for family in ("privacy_metrics", "signal_metrics"):
            params = getattr(table_config, family) or {}
            for key in ("known_variables", "categorical_hidden_rate_variables"):
                listed = params.get(key)
                if isinstance(listed, list | tuple):
                    _check_listed(f"tables[{table.name}].{family}.{key}", listed, table, columns)
            weights = params.get("column_weights")
            if isinstance(weights, dict):
                path = f"tables[{table.name}].{family}.column_weights"
                _check_listed(path, weights, table, columns)
            if isinstance(params.get("target"), str):
                _check_listed(
                    f"tables[{table.name}].{family}.target", [params["target"]], table, columns
                )


def _check_listed(path: str, named: Iterable[str], table: StoredTable, columns: list[str]) -> None:
    missing = [str(name) for name in named if name not in columns]
    if missing:
        raise InvalidArgumentError(
            f"{path} names column(s) {missing}, which table {table.name!r} does not have; its "
            f"columns are: {', '.join(columns[:30])}.",
            field=path,
        )


def check_target_columns(config: RunConfig, stored: list[StoredTable]) -> None:
    """Refuse a named target column (``avatarization.target_column``) that an uploaded
    original table lacks, when the parameters are set (the job-start check covers a table
    uploaded later).

    Raises:
        InvalidArgumentError: naming the parameter, the column and the table's columns.
    """
    for table in stored:
        table_config = config.find(table.name)
        if table.role != "original" or table_config is None:
            continue
        named = (table_config.avatarization or {}).get("target_column")
        if named:
            avatar_features.check_columns(
                f"tables[{table.name}]",
                {"target_column": named},
                [column.name for column in table.columns],
                table_name=table.name,
            )


def create_jobs(
    conn: sa.Connection,
    *,
    run_id: str,
    owner_id: str,
    steps: list[tuple[str, list[str]]],
    params: dict[str, Any],
) -> list[JobRecord]:
    """Insert queued jobs for a plan; dependencies are resolved to the new jobs' ids."""
    ids: dict[str, str] = {}
    now = time.time()
    for offset, (kind, depends) in enumerate(steps):
        job_id = str(uuid.uuid4())
        ids[kind] = job_id
        conn.execute(
            sa.insert(schema.jobs).values(
                id=job_id,
                run_id=run_id,
                owner_id=owner_id,
                kind=kind,
                status="queued",
                depends_on_json=json.dumps([ids[d] for d in depends]),
                params_json=json.dumps(params),
                progress=0.0,
                phase="",
                exception="",
                attempts=0,
                cancel_requested=False,
                created_at=now + offset * 1e-6,
            )
        )
    return [get_job(conn, ids[kind], owner_id) for kind, _ in steps]


def _select() -> sa.Select[Any]:
    return sa.select(schema.jobs, schema.runs.c.display_name).join(
        schema.runs, schema.runs.c.id == schema.jobs.c.run_id
    )


def get_job(conn: sa.Connection, job_id: str, owner_id: str | None) -> JobRecord:
    """A job of the owner (None: any owner, for the dispatcher).

    Raises:
        NotFoundError: no such job or not the caller's.
    """
    query = _select().where(schema.jobs.c.id == job_id)
    if owner_id is not None:
        query = query.where(schema.jobs.c.owner_id == owner_id)
    row = conn.execute(query).mappings().first()
    if row is None:
        raise NotFoundError(f"no job {job_id!r}.", field="job_id")
    return to_record(row)


def list_jobs(
    conn: sa.Connection,
    *,
    owner_id: str,
    run_id: str = "",
    display_name: str = "",
    kinds: list[str] | None = None,
    statuses: list[str] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[JobRecord]:
    """The owner's jobs, newest first, filtered."""
    jobs = schema.jobs
    query = _select().where(jobs.c.owner_id == owner_id)
    if run_id:
        query = query.where(jobs.c.run_id == run_id)
    if display_name:
        query = query.where(schema.runs.c.display_name == display_name)
    if kinds:
        query = query.where(jobs.c.kind.in_(kinds))
    if statuses:
        query = query.where(jobs.c.status.in_(statuses))
    rows = conn.execute(query.order_by(jobs.c.seq.desc()).limit(limit).offset(offset))
    return [to_record(r) for r in rows.mappings()]


def finished_kinds(conn: sa.Connection, run_id: str) -> set[str]:
    """Kinds that have a finished job in the run."""
    rows = conn.execute(
        sa.select(schema.jobs.c.kind).where(
            schema.jobs.c.run_id == run_id, schema.jobs.c.status == "finished"
        )
    )
    return {r[0] for r in rows}


def latest_finished(conn: sa.Connection, run_id: str, kind: str) -> JobRecord | None:
    """The newest finished job of a kind in a run."""
    row = (
        conn.execute(
            _select()
            .where(
                schema.jobs.c.run_id == run_id,
                schema.jobs.c.kind == kind,
                schema.jobs.c.status == "finished",
            )
            .order_by(schema.jobs.c.seq.desc())
        )
        .mappings()
        .first()
    )
    return to_record(row) if row else None


def update(conn: sa.Connection, job_id: str, **values: Any) -> None:
    """Update a job's columns."""
    conn.execute(sa.update(schema.jobs).where(schema.jobs.c.id == job_id).values(**values))


def finish(conn: sa.Connection, job_id: str, status: str, exception: str = "") -> None:
    """Move a job to a final status and propagate parent_error to queued dependants."""
    values: dict[str, Any] = {"status": status, "finished_at": time.time(), "exception": exception}
    if status == "finished":
        values.update(progress=1.0, phase="done")
    conn.execute(
        sa.update(schema.jobs)
        .where(schema.jobs.c.id == job_id, schema.jobs.c.status.notin_(DONE_STATUSES))
        .values(**values)
    )
    if status in FAILED_STATUSES:
        _propagate_parent_error(conn, job_id)


def _propagate_parent_error(conn: sa.Connection, failed_id: str) -> None:
    failed = conn.execute(
        sa.select(
            schema.jobs.c.run_id, schema.jobs.c.kind, schema.jobs.c.status, schema.jobs.c.exception
        ).where(schema.jobs.c.id == failed_id)
    ).first()
    if failed is None:
        return
    run_id, kind, status, exception = failed
    reason = f": {exception}" if exception and status == "error" else ""
    queued = conn.execute(
        sa.select(schema.jobs.c.id, schema.jobs.c.depends_on_json).where(
            schema.jobs.c.run_id == run_id, schema.jobs.c.status == "queued"
        )
    ).all()
    for job_id, depends in queued:
        if failed_id in json.loads(depends):
            finish(
                conn,
                job_id,
                "parent_error",
                f"the {kind} job ({failed_id}) must succeed first; it ended with status "
                f"{status}{reason}",
            )


def delete_jobs(conn: sa.Connection, released: list[str], job_ids: list[str], owner_id: str) -> int:
    """Delete the owner's jobs and their results (running ones must be cancelled first).

    Result files to delete after the commit are added to ``released``.
    """
    for job_id in job_ids:
        job = get_job(conn, job_id, owner_id)
        if job.status == "pending":
            raise FailedPreconditionError(
                f"job {job_id} is running; cancel it first.", reason=Reason.JOB_RUNNING
            )
    for job_id in job_ids:
        rows = conn.execute(
            sa.select(schema.results.c.id, schema.results.c.blob_id).where(
                schema.results.c.job_id == job_id
            )
        ).all()
        for result_id, blob_id in rows:
            conn.execute(sa.delete(schema.results).where(schema.results.c.id == result_id))
            release_blob(conn, released, blob_id)
        conn.execute(sa.delete(schema.jobs).where(schema.jobs.c.id == job_id))
    return len(job_ids)
