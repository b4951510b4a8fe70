"""Where ``veil admin`` commands find the data: ``--data-dir`` and ``--database-url``."""

from __future__ import annotations

import argparse
from pathlib import Path

import sqlalchemy as sa

from veil_service.settings import Settings, load_settings


def add_storage_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the data dir, database URL and blob dir options."""
    parser.add_argument("--data-dir", default=None, help="data dir (default ./veil-data)")
    parser.add_argument("--database-url", default=None, help="SQLAlchemy URL of the database")
    parser.add_argument(
        "--blob-dir", default=None, help="folder of stored tables (default: the data dir)"
    )


def open_storage(args: argparse.Namespace) -> tuple[sa.Engine, Settings]:
    """The database of the data dir (created and migrated when new) and the settings."""
    from veil_service.storage.db import open_database
    from veil_service.storage.permissions import secure_data_dir

    settings = load_settings(
        {
            "data_dir": args.data_dir,
            "database_url": args.database_url,
            "blob_dir": getattr(args, "blob_dir", None),
        }
    )
    secure_data_dir(Path(settings.data_dir))
    return open_database(settings.effective_database_url), settings
