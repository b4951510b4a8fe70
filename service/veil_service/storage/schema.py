"""The metadata database schema, in SQLAlchemy Core.

Alembic migrations (``storage/migrations``) create and evolve these tables; this module is the
single description the code queries against. Timestamps are UTC epoch seconds (float) so that
SQLite and PostgreSQL compare them the same way.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("email", sa.String(254), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.Text, nullable=True),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", sa.Float, nullable=False),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("revoked_at", sa.Float, nullable=True),
    sa.Column("last_used_at", sa.Float, nullable=True),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("revoked_at", sa.Float, nullable=True),
)

reset_tokens = sa.Table(
    "reset_tokens",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("used_at", sa.Float, nullable=True),
)

login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("subject", sa.String(300), nullable=False, index=True),
    sa.Column("created_at", sa.Float, nullable=False, index=True),
)

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(36), nullable=False, unique=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("event", sa.String(64), nullable=False),
    sa.Column("user_id", sa.String(36), nullable=True, index=True),
    sa.Column("actor_id", sa.String(36), nullable=True),
    sa.Column("peer", sa.String(128), nullable=True),
    sa.Column("details_json", sa.Text, nullable=False, default="{}"),
)

blobs = sa.Table(
    "blobs",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("relative_path", sa.String(300), nullable=False, unique=True),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False, index=True),
    sa.Column("created_at", sa.Float, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("owner_id", sa.String(36), sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("display_name", sa.String(256), nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("config_json", sa.Text, nullable=False, default="{}"),
    sa.Column("created_at", sa.Float, nullable=False),
)

run_tables = sa.Table(
    "run_tables",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("run_id", sa.String(36), sa.ForeignKey("runs.id"), nullable=False, index=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("blob_id", sa.String(36), sa.ForeignKey("blobs.id"), nullable=False),
    sa.Column("num_rows", sa.BigInteger, nullable=False),
    sa.Column("num_columns", sa.Integer, nullable=False),
    sa.Column("schema_json", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("run_id", "name", "role", name="uq_run_tables_run_name_role"),
)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(36), nullable=False, unique=True),
    sa.Column("run_id", sa.String(36), sa.ForeignKey("runs.id"), nullable=False, index=True),
    sa.Column("owner_id", sa.String(36), sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("depends_on_json", sa.Text, nullable=False, default="[]"),
    sa.Column("params_json", sa.Text, nullable=False, default="{}"),
    sa.Column("progress", sa.Float, nullable=False, default=0.0),
    sa.Column("phase", sa.String(64), nullable=False, default=""),
    sa.Column("exception", sa.Text, nullable=False, default=""),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("lease_expires_at", sa.Float, nullable=True),
    sa.Column("cancel_requested", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("started_at", sa.Float, nullable=True),
    sa.Column("finished_at", sa.Float, nullable=True),
    sa.Column("warnings_json", sa.Text, nullable=False, default="[]", server_default="[]"),
    sa.Column("phase_done", sa.Integer, nullable=False, default=0, server_default="0"),
    sa.Column("phase_total", sa.Integer, nullable=False, default=0, server_default="0"),
    # The privacy loss of each table a DP generator released (runs/privacy_loss.py).
    sa.Column("privacy_loss_json", sa.Text, nullable=False, default="[]", server_default="[]"),
)

run_secrets = sa.Table(
    "run_secrets",
    metadata,
    # A run's pseudonymization key: never in the run's row, never sent to a client, deleted with
    # the run (runs/store.py).
    sa.Column("run_id", sa.String(36), sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("secret", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

results = sa.Table(
    "results",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("job_id", sa.String(36), nullable=False, index=True),
    sa.Column("run_id", sa.String(36), sa.ForeignKey("runs.id"), nullable=False, index=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("subkind", sa.String(64), nullable=False, default=""),
    sa.Column("table_name", sa.String(128), nullable=False, default=""),
    sa.Column("filename", sa.String(300), nullable=False),
    sa.Column("media_type", sa.String(128), nullable=False),
    sa.Column("blob_id", sa.String(36), sa.ForeignKey("blobs.id"), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

datasets = sa.Table(
    "datasets",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("blob_id", sa.String(36), sa.ForeignKey("blobs.id"), nullable=False),
    sa.Column("num_rows", sa.BigInteger, nullable=False),
    sa.Column("num_columns", sa.Integer, nullable=False),
    sa.Column("schema_json", sa.Text, nullable=False),
    sa.Column("metadata_json", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

grants = sa.Table(
    "grants",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("dataset_id", sa.String(36), sa.ForeignKey("datasets.id"), nullable=False),
    sa.Column("initial_epsilon", sa.Float, nullable=False),
    sa.Column("initial_delta", sa.Float, nullable=False),
    sa.Column("spent_epsilon", sa.Float, nullable=False, default=0.0),
    sa.Column("spent_delta", sa.Float, nullable=False, default=0.0),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("user_id", "dataset_id", name="uq_grants_user_dataset"),
)

# Users an admin stopped from running private DP queries (Lomas's may_query); no row: may query.
dp_user_switches = sa.Table(
    "dp_user_switches",
    metadata,
    sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id"), primary_key=True),
    sa.Column("may_query", sa.Boolean, nullable=False),
    sa.Column("changed_by", sa.String(36), nullable=True),
    sa.Column("changed_at", sa.Float, nullable=False),
)

# Grants on a dataset name not registered yet; registering the name turns them into grants.
dp_pending_grants = sa.Table(
    "dp_pending_grants",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("dataset_name", sa.String(128), nullable=False),
    sa.Column("initial_epsilon", sa.Float, nullable=False),
    sa.Column("initial_delta", sa.Float, nullable=False),
    sa.Column("spent_epsilon", sa.Float, nullable=False),
    sa.Column("spent_delta", sa.Float, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("user_id", "dataset_name", name="uq_pending_grants_user_dataset"),
)

dp_queries = sa.Table(
    "dp_queries",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(36), nullable=False, unique=True),
    sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("dataset_id", sa.String(36), sa.ForeignKey("datasets.id"), nullable=False),
    sa.Column("library", sa.String(32), nullable=False),
    sa.Column("request_json", sa.Text, nullable=False),
    sa.Column("epsilon", sa.Float, nullable=False),
    sa.Column("delta", sa.Float, nullable=False),
    sa.Column("result_summary", sa.Text, nullable=False, default=""),
    sa.Column("created_at", sa.Float, nullable=False),
    # The DP answer as released, up to archive.RESPONSE_LIMIT_BYTES (None: not kept).
    sa.Column("response_ipc", sa.LargeBinary, nullable=True),
    sa.Column("response_json", sa.Text, nullable=True),
)
