"""smartnoise-sql queries: cost and execution on the table ``df``.

smartnoise-sql rewrites an aggregate SQL query into noisy sub-queries, one mechanism per statistic,
and accounts the total (ε, δ) itself with ``get_privacy_cost``. We charge exactly that number. The
cost depends on the query, the requested (ε, δ), the mechanisms and the metadata only, never on the
rows, so :func:`estimate_cost` runs the library on a dummy table built from the metadata alone.
It also runs the query there: a query that fails on any table of the metadata's schema (a WHERE
on a column the metadata does not have, ``HAVING COUNT(*)`` with ``ORDER BY``) is refused before
the charge, instead of failing, charged, on the private rows. The result's column types come from
the query (smartnoise-sql's own output types), so an empty answer has the same types as a full one.

Differences from Lomas, on purpose: no silent re-execution when the answer holds NaN (each run
would spend budget again while Lomas charges once), and an empty answer is returned as an empty
table instead of an error (the budget is spent either way).
"""

from __future__ import annotations

import json
import threading
from typing import Any

import numpy as np
import pandas as pd
import snsql
from snsql import Mechanism, Privacy, Stat
from snsql.sql.private_reader import PrivateReader

from veil_service.engine.dp import cache_scope, opendp_default_types
from veil_service.engine.dp.dummy import make_dummy_dataset
from veil_service.engine_contract.dp_metadata import Metadata
from veil_service.engine_contract.dp_requests import CostEstimate, QueryResult, SmartnoiseSqlRequest
from veil_service.errors import InvalidArgumentError, Reason

TABLE_NAME = SmartnoiseSqlRequest.TABLE
MECHANISM_STATS = ("count", "sum_int", "sum_large_int", "sum_float", "threshold")
MECHANISMS = tuple(m.name for m in Mechanism)
CHECK_ROWS = 1_000
"""Rows of the dummy table :func:`estimate_cost` runs the query on (fewer if the metadata says
the dataset has fewer): enough for groups to pass smartnoise-sql's thresholds, about 0.2 s."""
OUTPUT_DTYPES: dict[str, Any] = {
    "string": "string",
    "int": "Int64",
    "float": "float64",
    "boolean": "boolean",
    "datetime": "datetime64[ns]",
}
"""smartnoise-sql's output type of a column -> the result's pandas dtype."""

# The engine runs queries in threads: see opendp_default_types for the race this closes.
opendp_default_types.install()


def estimate_cost(request: SmartnoiseSqlRequest, metadata: Metadata) -> CostEstimate:
    """The (ε, δ) smartnoise-sql accounts for the query, computed without the private rows.

    Args:
        request: The query, per-mechanism (ε, δ) and mechanism overrides.
        metadata: Metadata of the dataset (bounds, ``max_ids``, ``row_privacy``).

    Returns:
        The total cost, e.g. (2ε, δ') for ``SELECT AVG(x)`` (a sum and a count).

    Raises:
        InvalidArgumentError: Bad SQL, unknown column or table, unsupported construct, or privacy
            parameters smartnoise-sql cannot use (the message is the library's).
    """
    request.validate()
    dummy = make_dummy_dataset(metadata, nb_rows=min(metadata.rows, CHECK_ROWS), seed=0)
    reader = _reader(request, metadata, dummy)
    try:
        epsilon, delta = reader.get_privacy_cost(request.query)
    except Exception as exc:  # snsql reports query errors as bare ValueError or Exception
        raise _query_error(exc) from exc
    _check_output_names(request.query)
    _check_on_dummy(reader, request)
    return CostEstimate(epsilon=float(epsilon), delta=float(delta))


def _check_on_dummy(reader: Any, request: SmartnoiseSqlRequest) -> None:
    """Run the query on the reader's dummy table; a failure there is the request's mistake.

    The dummy is built from the metadata alone, so neither running the query on it nor its
    message reveals anything about the private rows. A query that fails on it (an unknown
    column in WHERE reaches SQLite only when the query runs; smartnoise-sql cannot evaluate
    ``COUNT(*)`` in HAVING once it sorts) would fail on the private rows too, and was charged.
    A query that fails only on some data still runs, and is charged, in step 4.
    """
    try:
        list(reader.execute(request.query, postprocess=request.postprocess))
    except Exception as exc:  # the library raises bare Exception; on dummy data its text is safe
        text = str(exc).strip().split("\n")[0] or type(exc).__name__
        raise InvalidArgumentError(
            f"smartnoise-sql cannot run the query on a dummy dataset built from the metadata "
            f"alone: {text}. Fix the query (dummy mode shows the same error); nothing was spent",
            reason=Reason.DP_LIBRARY_ERROR,
            field="query",
        ) from exc


def _check_output_names(query: str) -> None:
    """Refuse a query whose result would have two columns of the same name.

    smartnoise-sql names an aggregate without ``AS`` ``???``; two of them (``SELECT COUNT(*),
    SUM(x)``) made a result the engine could not encode, after the private query had run and
    been charged. The names are known from the query alone, so this is refused first.
    """
    from snsql.sql.parse import QueryParser

    expressions = QueryParser().query(query).select.namedExpressions
    unnamed = [str(e.expression) for e in expressions if e.name is None]
    if len(unnamed) > 1:
        raise InvalidArgumentError(
            f"the query's result would have {len(unnamed)} columns without a name "
            f"({', '.join(unnamed)}); name each with AS, e.g. "
            f"SELECT {unnamed[0]} AS a, {unnamed[1]} AS b",
            field="query",
        )


def execute(
    request: SmartnoiseSqlRequest,
    df: pd.DataFrame,
    metadata: Metadata,
    *,
    seed: int | None = None,
    allow_pickle: bool = False,
    show_library_errors: bool = False,
    check_query: bool = True,
    dataset_key: str | None = None,
) -> QueryResult:
    """Run the query on ``df`` with smartnoise-sql's noise.

    Args:
        request: The query (validated again here).
        df: The dataset (private or dummy) with the metadata's columns.
        metadata: Metadata of the dataset.
        seed: Ignored: smartnoise-sql draws its noise from OpenDP's secure generator, which
            cannot be seeded.
        allow_pickle: Ignored (no model); accepted so every library has the same signature.
        show_library_errors: Put the library's execution message in errors (dummy data only:
            on private data a message may quote values).
        check_query: First check the query against the metadata (``get_privacy_cost``), so a
            bad query gets the library's full message. It costs about as much as the query; skip
            it when :func:`estimate_cost` already ran on the same request and metadata.
        dataset_key: Identity of ``df``'s content (table digest and metadata). When given, the
            query runs on the engine's SQLite copy of that dataset (``smartnoise_sql_copies``),
            built from ``df`` the first time, instead of copying ``df`` into SQLite again.

    Returns:
        ``QueryResult.table``: with postprocessing, the query's columns; without, the raw
        noisy sub-query outputs as ``res_0, res_1, ...``.

    Raises:
        InvalidArgumentError: The query is invalid, or it failed on the data (the library's
            message only with ``show_library_errors``).
    """
    del seed, allow_pickle
    request.validate()
    reader = _reader(request, metadata, df, dataset_key)
    if check_query:
        try:
            # Checks the query against the metadata only, so its errors are safe to show in full.
            reader.get_privacy_cost(request.query)
        except Exception as exc:  # snsql reports query errors as bare ValueError or Exception
            raise _query_error(exc) from exc
        _check_output_names(request.query)
    try:
        rows = list(reader.execute(request.query, postprocess=request.postprocess))
    except Exception as exc:  # the library raises bare Exception; its text may quote values
        detail = (
            f": {exc}"
            if show_library_errors
            else f" ({type(exc).__name__}); run it in dummy mode to see the library's message"
        )
        raise InvalidArgumentError(
            f"smartnoise-sql could not execute the query on this dataset{detail}",
            reason=Reason.DP_LIBRARY_ERROR,
            field="query",
        ) from exc
    types = _output_types(reader, request, metadata)
    if request.postprocess:
        header, body = [str(c) for c in rows[0]], rows[1:]
    else:
        body = [list(r) for r in rows]
        width = len(body[0]) if body else len(types)
        header = [f"res_{i}" for i in range(width)]
    table = pd.DataFrame([list(r) for r in body], columns=header)
    if len(types) != len(table.columns):
        types = [None for _ in table.columns]
    # Integers with nulls become nullable ints; float columns stay float64, so a noisy NaN stays
    # NaN (as Lomas returns it; pandas' NA breaks numpy calls such as np.round).
    for index, column in enumerate(table.columns):
        if (dtype := types[index]) is not None:
            table[column] = table[column].astype(dtype)
            continue
        values = [row[index] for row in body]
        if pd.api.types.is_float_dtype(table[column]) and not all(
            v is None or isinstance(v, int | np.integer) for v in values
        ):
            continue
        table[column] = table[column].convert_dtypes(convert_string=False)
    return QueryResult(table=table)


def _output_types(reader: Any, request: SmartnoiseSqlRequest, metadata: Metadata) -> list[Any]:
    """The pandas dtype of each result column, from the query alone (None: not known).

    Without them an empty answer had ``object`` columns where a full one had ``string`` and
    ``Int64``, and dummy and private answers to the same query differed in type. They come
    from smartnoise-sql's rewrite of the query, which costs as much as the query itself on a
    small table (30-60 ms: the DP benchmark's overhead went from +12 to +41 ms), so they are
    kept per analyst (``cache_scope``), query, postprocessing and metadata: an analyst's
    repeated query pays it once, and no analyst's query speeds up another's.
    """
    key = (
        cache_scope.current(),
        request.query,
        request.postprocess,
        json.dumps(metadata.to_smartnoise_dict(TABLE_NAME), sort_keys=True, default=str),
    )
    known = _OUTPUT_TYPES.get(key)
    if known is None:
        subquery, query = reader._rewrite(request.query)
        if request.postprocess:
            known = [OUTPUT_DTYPES.get(s.expression.type()) for s in query._select_symbols]
        else:
            # Without postprocessing, each noisy statistic is a float; keys keep their type.
            known = [
                "float64" if _is_aggregate(s.expression) else OUTPUT_DTYPES.get(s.expression.type())
                for s in subquery._select_symbols
            ]
        with _OUTPUT_TYPES_LOCK:  # the engine runs queries in threads
            if len(_OUTPUT_TYPES) >= _OUTPUT_TYPES_KEPT:
                _OUTPUT_TYPES.pop(next(iter(_OUTPUT_TYPES)))
            _OUTPUT_TYPES[key] = known
    return list(known)


#: Result column types by (cache scope, query, postprocess, metadata), oldest first
#: (:func:`_output_types`).
_OUTPUT_TYPES: dict[tuple[str, str, bool, str], list[Any]] = {}
#: Queries whose result types are kept.
_OUTPUT_TYPES_KEPT = 512
_OUTPUT_TYPES_LOCK = threading.Lock()


def _is_aggregate(expression: Any) -> bool:
    is_aggregate = getattr(expression, "is_aggregate", None)
    return bool(is_aggregate()) if callable(is_aggregate) else False


def _reader(
    request: SmartnoiseSqlRequest,
    metadata: Metadata,
    df: pd.DataFrame,
    dataset_key: str | None = None,
) -> Any:
    privacy = Privacy(epsilon=request.epsilon, delta=request.delta)
    for stat, mechanism in request.mechanisms.items():
        if stat not in MECHANISM_STATS:
            raise InvalidArgumentError(
                f"mechanisms: unknown statistic {stat!r}; use one of {', '.join(MECHANISM_STATS)}",
                field="mechanisms",
            )
        if mechanism not in MECHANISMS:
            raise InvalidArgumentError(
                f"mechanisms: unknown mechanism {mechanism!r} for {stat}; use one of "
                f"{', '.join(MECHANISMS)}",
                field="mechanisms",
            )
        privacy.mechanisms.map[Stat[stat]] = Mechanism[mechanism]
    if dataset_key is not None:
        from veil_service.engine.dp.smartnoise_sql_copies import DATABASES

        database = DATABASES.get(dataset_key, df, metadata)
        return PrivateReader(database.reader, database.metadata, privacy=privacy)
    try:
        return snsql.from_connection(
            df, privacy=privacy, metadata=metadata.to_smartnoise_dict(TABLE_NAME)
        )
    except ValueError as exc:
        raise InvalidArgumentError(
            f"smartnoise-sql refused the dataset metadata: {exc}", field="metadata"
        ) from exc


def _query_error(exc: Exception) -> InvalidArgumentError:
    text = str(exc).strip() or type(exc).__name__
    field = "epsilon" if "Noise scale is too large" in text else "query"
    return InvalidArgumentError(
        f"smartnoise-sql refused the query: {text}", reason=Reason.DP_LIBRARY_ERROR, field=field
    )
