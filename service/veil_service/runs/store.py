"""Runs in the database: creation, versions under one display name, ownership checks."""

from __future__ import annotations

import json
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from veil_service.errors import InvalidArgumentError, NotFoundError
from veil_service.storage import schema


@dataclass(frozen=True)
class RunRecord:
    """A run row."""

    id: str
    owner_id: str
    display_name: str
    version: int
    config: dict[str, Any]
    created_at: float


def _to_record(row: sa.RowMapping) -> RunRecord:
    return RunRecord(
        row["id"],
        row["owner_id"],
        row["display_name"],
        row["version"],
        json.loads(row["config_json"] or "{}"),
        row["created_at"],
    )


def validate_display_name(name: str) -> str:
    """Check and normalise a display name."""
    name = (name or "").strip()
    if not name or len(name) > 256:
        raise InvalidArgumentError("display_name must be 1-256 characters.", field="display_name")
    return name


def create_run(
    conn: sa.Connection, *, owner_id: str, display_name: str, config: dict[str, Any] | None = None
) -> RunRecord:
    """Create a run; its version is one more than the owner's last run of that name."""
    display_name = validate_display_name(display_name)
    runs = schema.runs
    last = conn.execute(
        sa.select(sa.func.max(runs.c.version)).where(
            runs.c.owner_id == owner_id, runs.c.display_name == display_name
        )
    ).scalar()
    record = RunRecord(
        str(uuid.uuid4()), owner_id, display_name, int(last or 0) + 1, config or {}, time.time()
    )
    conn.execute(
        sa.insert(runs).values(
            id=record.id,
            owner_id=owner_id,
            display_name=display_name,
            version=record.version,
            config_json=json.dumps(record.config),
            created_at=record.created_at,
        )
    )
    return record


def get_owned_run(conn: sa.Connection, run_id: str, owner_id: str) -> RunRecord:
    """A run of the caller.

    Raises:
        NotFoundError: no such run, or not the caller's (the same answer, on purpose).
    """
    try:
        uuid.UUID(run_id)
    except (ValueError, TypeError):
        raise NotFoundError(
            f"no run {run_id!r}; run ids are UUIDs (see ListRuns).", field="run_id"
        ) from None
    row = (
        conn.execute(
            sa.select(schema.runs).where(
                schema.runs.c.id == run_id, schema.runs.c.owner_id == owner_id
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFoundError(f"no run {run_id!r}.", field="run_id")
    return _to_record(row)


def list_runs(
    conn: sa.Connection,
    *,
    owner_id: str,
    display_name: str,
    limit: int,
    offset: int,
    name_contains: str = "",
) -> list[RunRecord]:
    """The caller's runs, newest first, of one display name or whose name contains a text.

    ``name_contains`` matches case-insensitively (ASCII letters) and literally: ``%`` and ``_``
    are not wildcards.
    """
    runs = schema.runs
    query = sa.select(runs).where(runs.c.owner_id == owner_id)
    if display_name:
        query = query.where(runs.c.display_name == display_name)
    if name_contains:
        literal = re.sub(r"([\\%_])", r"\\\1", name_contains)
        query = query.where(runs.c.display_name.ilike(f"%{literal}%", escape="\\"))
    rows = conn.execute(
        query.order_by(runs.c.created_at.desc(), runs.c.id).limit(limit).offset(offset)
    ).mappings()
    return [_to_record(r) for r in rows]


def set_config(conn: sa.Connection, run_id: str, config: dict[str, Any]) -> None:
    """Replace a run's configuration."""
    conn.execute(
        sa.update(schema.runs)
        .where(schema.runs.c.id == run_id)
        .values(config_json=json.dumps(config))
    )


def copy_as_new_version(
    conn: sa.Connection, run: RunRecord, *, display_name: str = ""
) -> RunRecord:
    """A new version of a run: same config, the same table blobs (no copy), under the run's
    display name or ``display_name``."""
    new = create_run(
        conn,
        owner_id=run.owner_id,
        display_name=display_name or run.display_name,
        config=run.config,
    )
    rt = schema.run_tables
    for row in conn.execute(sa.select(rt).where(rt.c.run_id == run.id)).mappings():
        values = dict(row)
        values.update(id=str(uuid.uuid4()), run_id=new.id, created_at=time.time())
        conn.execute(sa.insert(rt).values(**values))
    return new


def delete_run(conn: sa.Connection, run_id: str) -> list[str]:
    """Delete a run's rows; returns the blob ids it referenced (for the caller to release)."""
    blob_ids = [
        r[0]
        for r in conn.execute(
            sa.select(schema.run_tables.c.blob_id).where(schema.run_tables.c.run_id == run_id)
        )
    ]
    blob_ids += [
        r[0]
        for r in conn.execute(
            sa.select(schema.results.c.blob_id).where(schema.results.c.run_id == run_id)
        )
    ]
    conn.execute(sa.delete(schema.results).where(schema.results.c.run_id == run_id))
    conn.execute(sa.delete(schema.jobs).where(schema.jobs.c.run_id == run_id))
    conn.execute(sa.delete(schema.run_secrets).where(schema.run_secrets.c.run_id == run_id))
    conn.execute(sa.delete(schema.run_tables).where(schema.run_tables.c.run_id == run_id))
    conn.execute(sa.delete(schema.runs).where(schema.runs.c.id == run_id))
    return blob_ids


RUN_SECRET_BYTES = 32
"""Length of a run's pseudonymization key (HMAC-SHA256 keys this long cannot be guessed)."""


def run_secret(conn: sa.Connection, run_id: str) -> bytes:
    """The run's pseudonymization key, drawn (``secrets``) the first time a job needs it.

    Every version of a run has its own: the same value gets other pseudonyms in another version.
    The key never leaves the server except to the engine task that pseudonymizes.
    """
    table = schema.run_secrets
    found = conn.execute(sa.select(table.c.secret).where(table.c.run_id == run_id)).scalar()
    if found is not None:
        return bytes(found)
    secret = secrets.token_bytes(RUN_SECRET_BYTES)
    try:
        with conn.begin_nested():
            conn.execute(
                sa.insert(table).values(run_id=run_id, secret=secret, created_at=time.time())
            )
    except sa.exc.IntegrityError:  # another job of the run drew it first: use theirs
        return bytes(
            conn.execute(sa.select(table.c.secret).where(table.c.run_id == run_id)).scalar_one()
        )
    return secret
