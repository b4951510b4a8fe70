"""notify job changes to every server sharing a PostgreSQL database

Several servers on one PostgreSQL database (issue 17): WatchJobs on one server must see the
progress of a job another server runs. A trigger sends ``NOTIFY veil_job_changes, '<run id>'``
when a job is created, deleted, or changes status, progress, phase or error; PostgreSQL delivers
it at commit, and each server's listener (``storage/notifications.py``) wakes its watchers of
that run. Lease renewals do not notify. SQLite has one server per file: nothing to do there.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

CHANNEL = "veil_job_changes"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION veil_notify_job_change() RETURNS trigger AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', COALESCE(NEW.run_id, OLD.run_id));
            RETURN NULL;
        END
        $$ LANGUAGE plpgsql
        """
    )
    op.execute("DROP TRIGGER IF EXISTS jobs_notify_change ON jobs")
    op.execute(
        """
        CREATE TRIGGER jobs_notify_change
        AFTER INSERT OR DELETE
        OR UPDATE OF status, progress, phase, exception, warnings_json, phase_done, phase_total
        ON jobs
        FOR EACH ROW EXECUTE FUNCTION veil_notify_job_change()
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS jobs_notify_change ON jobs")
    op.execute("DROP FUNCTION IF EXISTS veil_notify_job_change()")
