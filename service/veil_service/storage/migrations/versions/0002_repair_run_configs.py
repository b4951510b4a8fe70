"""repair run configurations holding integers the contract cannot carry

Before issue 19 (defect 7), ImportYaml committed configurations without bounding integers:
``k: 1000000000000`` was stored, and every later GetRun, GetConfig and ListRuns of that user
answered INTERNAL (the contract's parameters are int32). This migration drops every such value
(the parameter falls back to its default, which the user can set again) and keeps the rest.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import json
import logging
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
log = logging.getLogger("veil.storage")


def _repair(value: Any, key: str = "") -> tuple[Any, int]:
    """The value without out-of-range integers, and how many were dropped."""
    if isinstance(value, dict):
        kept: dict[str, Any] = {}
        dropped = 0
        for name, item in value.items():
            low, high = INT64 if name == "seed" and not key else INT32
            if isinstance(item, int) and not isinstance(item, bool) and not low <= item <= high:
                dropped += 1
                continue
            kept[name], count = _repair(item, f"{key}.{name}")
            dropped += count
        return kept, dropped
    if isinstance(value, list):
        items, dropped = [], 0
        for item in value:
            repaired, count = _repair(item, key)
            items.append(repaired)
            dropped += count
        return items, dropped
    return value, 0


def upgrade() -> None:
    runs = sa.table("runs", sa.column("id", sa.String), sa.column("config_json", sa.Text))
    connection = op.get_bind()
    repaired = 0
    for run_id, text in connection.execute(sa.select(runs.c.id, runs.c.config_json)).all():
        try:
            config = json.loads(text or "{}")
        except ValueError:
            continue
        fixed, dropped = _repair(config)
        if dropped:
            connection.execute(
                sa.update(runs).where(runs.c.id == run_id).values(config_json=json.dumps(fixed))
            )
            repaired += 1
    if repaired:
        log.warning("repaired %d run configuration(s) holding out-of-range integers", repaired)


def downgrade() -> None:
    """Nothing to undo: the dropped values could never be used."""
