"""Archived DP answers: ``dp_queries.response_ipc`` / ``response_json``

The DP answer as released (already private output) is kept with its query record, up to the
archive's size limit, so that ``get_previous_queries`` returns it as Lomas does (issue 16 item 6).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dp_queries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("response_ipc", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("response_json", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dp_queries", schema=None) as batch_op:
        batch_op.drop_column("response_json")
        batch_op.drop_column("response_ipc")
