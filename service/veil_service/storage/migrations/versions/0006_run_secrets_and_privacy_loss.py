"""run secrets (pseudonymization keys) and the privacy loss of DP jobs

A run's secret keys its HASH_SHA256 pseudonyms (HMAC) and seeds its other pseudonyms; it lives in
its own table so that reading a run never carries it, and is deleted with the run. A standard job
that generated with a DP method records the privacy loss of each table it released.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Idempotent: a database stamped back to an older revision (a repair) may hold them already.
    inspector = sa.inspect(op.get_bind())
    if "run_secrets" in inspector.get_table_names():
        return
    op.create_table(
        "run_secrets",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("secret", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"]),
        sa.PrimaryKeyConstraint("run_id"),
    )
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(
            sa.Column("privacy_loss_json", sa.Text(), nullable=False, server_default="[]")
        )


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("privacy_loss_json")
    op.drop_table("run_secrets")
