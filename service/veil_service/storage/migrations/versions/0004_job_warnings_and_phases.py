"""jobs: warnings, phase_done, phase_total

What a job tells its caller besides its status (columns passed through, a capped ncp...) and how
many of its tables are done (Octopize's JobResponse phase_done / phase_total).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("warnings_json", sa.Text(), nullable=False, server_default="[]")
        )
        batch_op.add_column(
            sa.Column("phase_done", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("phase_total", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("phase_total")
        batch_op.drop_column("phase_done")
        batch_op.drop_column("warnings_json")
