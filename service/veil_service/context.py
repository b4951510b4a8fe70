"""What every servicer and domain service shares: settings, database, blobs, engines, mail.

The domain services built on these (``runs.service.RunsService``, ``runs.dispatcher.Dispatcher``,
``dpquery.queries.DPQueries``) are created once by ``server.app`` and handed to the servicers
that use them, so nothing is looked up by name at run time.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from veil_service.email import Mailer
from veil_service.engine_client.pool import EnginePool
from veil_service.settings import Settings
from veil_service.storage.blobs import BlobStore


@dataclass(frozen=True)
class AppContext:
    """The running server's shared parts.

    Attributes:
        settings: Effective settings.
        db: SQLAlchemy engine of the metadata database.
        blobs: The blob store.
        engines: The engine pool.
        mailer: Sends email in the background (SMTP, or the outbox under the data dir).
    """

    settings: Settings
    db: sa.Engine
    blobs: BlobStore
    engines: EnginePool
    mailer: Mailer
