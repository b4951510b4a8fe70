"""Alembic environment: runs migrations on the connection Veil hands over."""

from __future__ import annotations

from alembic import context

from veil_service.storage.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only for `alembic revision --autogenerate` by hand
    import sqlalchemy as sa

    url = context.config.get_main_option("sqlalchemy.url") or "sqlite:///veil-autogen.db"
    connection = sa.create_engine(url).connect()

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
