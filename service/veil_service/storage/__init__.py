"""Persistence: the metadata database (SQLAlchemy Core) and the blob store (files)."""
