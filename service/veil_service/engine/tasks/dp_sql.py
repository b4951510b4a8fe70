"""Private smartnoise-sql queries on the engine's inline path, with the dataset kept in SQLite.

``snsql.from_connection(df, ...)`` copies the DataFrame into a fresh in-memory SQLite database
for every reader: 5 ms on penguins, 8 s on a million rows, before the query even starts. The
engine answers many queries on the same registered dataset, so it keeps that SQLite copy per
dataset digest (LRU) and wraps a new ``PrivateReader`` (the privacy parameters of the request)
around it for each query. The noise, the rewriting and the cost accounting are smartnoise-sql's
own, unchanged; only the data access is shared.

The shared SQLite connection is serialized by a lock (SQLAlchemy's default pool for in-memory
SQLite is per thread, so the cache uses one static connection instead).

This module also skips the library layer's leading ``get_privacy_cost`` check: in private mode
the server has always run ``dp_cost`` on the same request and metadata first (see
``engine.dp.smartnoise_sql.execute``, whose output format this keeps).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import pandas as pd
import sqlalchemy as sa
from snsql import Mechanism, Privacy, Stat
from snsql.sql.private_reader import PrivateReader
from snsql.sql.reader.pandas import PandasReader
from sqlalchemy.pool import StaticPool

from veil_service.engine_contract.dp_metadata import Metadata
from veil_service.engine_contract.dp_requests import QueryResult, SmartnoiseSqlRequest
from veil_service.errors import InvalidArgumentError

TABLE_NAME = "df"
MAX_DATABASES = 4
"""SQLite copies kept (each holds one dataset, about its Arrow size)."""


class _SharedDatabase:
    """One dataset in SQLite, with the snsql reader over it and a lock around its connection."""

    def __init__(self, frame: pd.DataFrame, metadata: Metadata) -> None:
        self.metadata = metadata.to_smartnoise_dict(TABLE_NAME)
        # Built on no rows (fast), then pointed at a single shared connection holding the data.
        self.reader = PandasReader(frame.iloc[:0], metadata=self.metadata)
        engine = sa.create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
        frame.to_sql(TABLE_NAME, con=engine, index=False)
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
        self._databases: OrderedDict[str, _SharedDatabase] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, frame: pd.DataFrame, metadata: Metadata) -> _SharedDatabase:
        """The database of a dataset, built from ``frame`` on first use."""
        with self._lock:
            found = self._databases.get(key)
            if found is not None:
                self._databases.move_to_end(key)
                return found
        database = _SharedDatabase(frame, metadata)
        with self._lock:
            self._databases[key] = database
            while len(self._databases) > self.max_entries:
                self._databases.popitem(last=False)
        return database


DATABASES = SqlDatabases()


def execute_private(
    request: SmartnoiseSqlRequest, frame: pd.DataFrame, metadata: Metadata, key: str
) -> QueryResult:
    """Run a query whose cost the server already computed, on the cached copy of a dataset.

    Args:
        request: The query and its per-mechanism (ε, δ) and mechanism overrides.
        frame: The dataset (used only to build the copy the first time).
        metadata: Its metadata.
        key: Identity of the dataset's content (table digest and metadata).

    Raises:
        InvalidArgumentError: Execution failed; the library's message is withheld because it
            may quote private values (dummy mode shows it).
    """
    database = DATABASES.get(key, frame, metadata)
    privacy = Privacy(epsilon=request.epsilon, delta=request.delta)
    for stat, mechanism in request.mechanisms.items():
        privacy.mechanisms.map[Stat[stat]] = Mechanism[mechanism]
    try:
        reader = PrivateReader(database.reader, database.metadata, privacy=privacy)
        rows = list(reader.execute(request.query, postprocess=request.postprocess))
    except Exception as exc:  # any library error; its message may quote private values
        raise InvalidArgumentError(
            f"smartnoise-sql could not execute the query on this dataset ({type(exc).__name__}); "
            "run it in dummy mode to see the library's message",
            field="query",
        ) from exc
    if request.postprocess:
        header, body = [str(c) for c in rows[0]], rows[1:]
    else:
        body = [list(r) for r in rows]
        header = [f"res_{i}" for i in range(len(body[0]) if body else 0)]
    table = pd.DataFrame([list(r) for r in body], columns=header)
    return QueryResult(table=table.convert_dtypes(convert_string=False))
