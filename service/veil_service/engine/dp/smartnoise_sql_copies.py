"""SQLite copies of datasets kept between smartnoise-sql queries (``smartnoise_sql.execute``).

``snsql.from_connection(df, ...)`` copies the DataFrame into a fresh in-memory SQLite database
for every reader: 5 ms on penguins, 8 s on a million rows, before the query even starts. The
engine answers many queries on the same registered dataset, so it keeps that SQLite copy per
dataset digest (LRU) and wraps a new ``PrivateReader`` (the privacy parameters of the request)
around it for each query. The noise, the rewriting and the cost accounting are smartnoise-sql's
own, unchanged; only the data access is shared.

The shared SQLite connection is serialized by a lock (SQLAlchemy's default pool for in-memory
SQLite is per thread, so the cache uses one static connection instead).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import pandas as pd
import sqlalchemy as sa
from snsql.sql.reader.pandas import PandasReader
from sqlalchemy.pool import StaticPool

from veil_service.engine_contract.dp_metadata import Metadata
from veil_service.engine_contract.dp_requests import SmartnoiseSqlRequest

MAX_DATABASES = 4
"""SQLite copies kept (each holds one dataset, about its Arrow size)."""


class SharedDatabase:
    """One dataset in SQLite, with the snsql reader over it and a lock around its connection."""

    def __init__(self, frame: pd.DataFrame, metadata: Metadata) -> None:
        self.metadata = metadata.to_smartnoise_dict(SmartnoiseSqlRequest.TABLE)
        # Built on no rows (fast), then pointed at a single shared connection holding the data.
        self.reader = PandasReader(frame.iloc[:0], metadata=self.metadata)
        engine = sa.create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
        frame.to_sql(SmartnoiseSqlRequest.TABLE, con=engine, index=False)
        self.reader.db_engine = engine
        self.lock = threading.Lock()
        unlocked = self.reader.execute

        def execute(query: Any, *args: Any, **kwargs: Any) -> Any:
            with self.lock:
                return unlocked(query, *args, **kwargs)

        self.reader.execute = execute


class SqlDatabases:
    """SQLite copies of datasets by (table digest, metadata), least recently used out."""

    def __init__(self, max_entries: int = MAX_DATABASES) -> None:
        self.max_entries = max_entries
        self._databases: OrderedDict[str, SharedDatabase] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, frame: pd.DataFrame, metadata: Metadata) -> SharedDatabase:
        """The database of a dataset, built from ``frame`` on first use."""
        with self._lock:
            found = self._databases.get(key)
            if found is not None:
                self._databases.move_to_end(key)
                return found
        database = SharedDatabase(frame, metadata)
        with self._lock:
            self._databases[key] = database
            while len(self._databases) > self.max_entries:
                self._databases.popitem(last=False)
        return database


DATABASES = SqlDatabases()
"""The engine's copies (one per process: the inline path keeps them between queries)."""
