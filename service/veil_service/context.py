"""What every servicer and domain service shares: settings, database, blobs, engines."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from veil_service.engine_client.pool import EnginePool
from veil_service.settings import Settings
from veil_service.storage.blobs import BlobStore


@dataclass
class AppContext:
    """The running server's shared parts.

    Attributes:
        settings: Effective settings.
        db: SQLAlchemy engine of the metadata database.
        blobs: The blob store.
        engines: The engine pool.
        services: Domain services registered by feature modules (by name).
    """

    settings: Settings
    db: sa.Engine
    blobs: BlobStore
    engines: EnginePool
    services: dict[str, Any] = field(default_factory=dict)
