"""DP: a per-user may_query switch and grants waiting for their dataset

``dp_user_switches`` holds the users an admin stopped from running private queries (Lomas's
``may_query``); a user without a row may query. ``dp_pending_grants`` holds grants given on a
dataset name that is not registered yet (with any budget already spent elsewhere, as Lomas's YAML
import carries it); registering that name turns them into grants in the same transaction.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Idempotent: a database stamped back to an older revision (a repair) may hold them already.
    tables = sa.inspect(op.get_bind()).get_table_names()
    if "dp_user_switches" not in tables:
        op.create_table(
            "dp_user_switches",
            sa.Column("user_id", sa.String(length=36), nullable=False),
            sa.Column("may_query", sa.Boolean(), nullable=False),
            sa.Column("changed_by", sa.String(length=36), nullable=True),
            sa.Column("changed_at", sa.Float(), nullable=False),
            sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
            sa.PrimaryKeyConstraint("user_id"),
        )
    if "dp_pending_grants" not in tables:
        op.create_table(
            "dp_pending_grants",
            sa.Column("id", sa.String(length=36), nullable=False),
            sa.Column("user_id", sa.String(length=36), nullable=False),
            sa.Column("dataset_name", sa.String(length=128), nullable=False),
            sa.Column("initial_epsilon", sa.Float(), nullable=False),
            sa.Column("initial_delta", sa.Float(), nullable=False),
            sa.Column("spent_epsilon", sa.Float(), nullable=False),
            sa.Column("spent_delta", sa.Float(), nullable=False),
            sa.Column("created_at", sa.Float(), nullable=False),
            sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("user_id", "dataset_name", name="uq_pending_grants_user_dataset"),
        )


def downgrade() -> None:
    op.drop_table("dp_pending_grants")
    op.drop_table("dp_user_switches")
