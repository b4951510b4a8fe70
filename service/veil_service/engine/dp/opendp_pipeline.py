"""OpenDP measurements: cost from the privacy map, release on the dataset as CSV text.

A legacy OpenDP pipeline is a Measurement whose input is the dataset as a header-less CSV string
(it starts with ``make_split_dataframe`` naming the columns in metadata order). Its cost is what
OpenDP's own privacy map says for the dataset's privacy unit, read by ``opendp_cost`` (as for
polars pipelines); the map needs no data, so :func:`estimate_cost` never reads the rows.

Polars pipelines (``pipeline_type="polars"``) are handled by ``opendp_polars``, imported on first
use so legacy-only engines never import polars.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import opendp.prelude as dp
import pandas as pd
from opendp.mod import OpenDPException

from veil_service.engine.dp import cache_scope, opendp_calls, opendp_safety
from veil_service.engine.dp.opendp_cost import cost_of_measurement, opendp_message
from veil_service.engine_contract.dp_metadata import Metadata
from veil_service.engine_contract.dp_requests import (
    CostEstimate,
    OpenDPRequest,
    QueryResult,
    Scalar,
)
from veil_service.errors import InvalidArgumentError, Reason

_CSV_DOMAIN = str(dp.atom_domain(T=str))
_CACHE_MAX_CHARS = 2_000_000


def estimate_cost(request: OpenDPRequest, metadata: Metadata) -> CostEstimate:
    """The (ε, δ) OpenDP's privacy map gives for one individual's ``max_ids`` rows.

    Args:
        request: The serialized measurement and, for zCDP or smoothed max divergence, the
            ``fixed_delta`` (δ) at which to read ε.
        metadata: Metadata of the dataset; ``max_ids`` is the input distance.

    Returns:
        The cost (ε, δ).

    Raises:
        InvalidArgumentError: A refused pipeline (see ``opendp_safety`` and ``opendp_polars``), a
            non-measurement, an input that is not the CSV string, a missing ``fixed_delta``, an
            unsupported measure.
    """
    if request.pipeline_type == "polars":
        from veil_service.engine.dp import opendp_polars

        return opendp_polars.estimate_cost(request, metadata)
    measurement = _load(request)
    check_column_names(request.pipeline_json, metadata)
    return cost_of_measurement(measurement, metadata.max_ids, request.fixed_delta)


def check_column_names(pipeline_json: str, metadata: Metadata) -> None:
    """Refuse a ``make_split_dataframe`` whose ``col_names`` are not the metadata's, in order.

    The CSV the pipeline reads holds the metadata's columns in the metadata's order, and
    ``col_names`` name them by position: any other list silently reads one column's values under
    another's name (Lomas's s3_example notebook lists ``PassengerId`` first, a column its file
    had and the metadata does not, so its "Age" would be Veil's ``SibSp``). Checked with the
    cost, before any charge. Only the constructor-call form is read; OpenDP's own JSON does not
    keep the arguments in a readable form.

    Raises:
        InvalidArgumentError: the names differ (the metadata's list is given).
    """
    if not opendp_calls.is_call_list(pipeline_json):
        return
    try:
        tree = json.loads(pipeline_json).get(opendp_calls.FORMAT_KEY)
    except (ValueError, AttributeError, RecursionError):
        return
    for node in opendp_safety.json_objects(tree):
        if node.get("func") not in ("make_split_dataframe", "then_split_dataframe"):
            continue
        kwargs = node.get("kwargs") or {}
        args = node.get("args") or []
        names = kwargs.get("col_names", args[1] if len(args) > 1 else None)
        if isinstance(names, dict):
            names = names.get("_items")
        if isinstance(names, list | tuple) and list(names) != list(metadata.column_names):
            raise InvalidArgumentError(
                f"make_split_dataframe col_names are {list(names)}, but the dataset is read as "
                f"a CSV of the metadata's columns in its order: {metadata.column_names}. Pass "
                "exactly that list (names are matched by position, so another list would read "
                "one column's values under another's name).",
                field="pipeline_json",
            )
        return


def execute(
    request: OpenDPRequest,
    df: pd.DataFrame,
    metadata: Metadata,
    *,
    seed: int | None = None,
    allow_pickle: bool = False,
    show_library_errors: bool = False,
) -> QueryResult:
    """Invoke the measurement on the dataset written as a header-less CSV string.

    Args:
        request: The serialized measurement.
        df: The dataset (private or dummy), columns in metadata order.
        metadata: Metadata of the dataset (its column order defines the CSV).
        seed: Ignored: OpenDP samples noise from a secure generator that cannot be seeded.
        allow_pickle: Ignored (no model); accepted so every library has the same signature.
        show_library_errors: Put OpenDP's message in errors (dummy data only).

    Returns:
        ``QueryResult.values`` for scalar and vector releases (nested tuples flattened in
        order); ``QueryResult.table`` with ``key``/``value`` columns for mapping releases
        (``make_count_by``).

    Raises:
        InvalidArgumentError: The pipeline is refused, or OpenDP fails on the data (the library's
            message is not echoed because it may quote values; run in dummy mode to debug).
    """
    if request.pipeline_type == "polars":
        from veil_service.engine.dp import opendp_polars

        return opendp_polars.execute(
            request,
            df,
            metadata,
            seed=seed,
            allow_pickle=allow_pickle,
            show_library_errors=show_library_errors,
        )
    del seed, allow_pickle
    measurement = _load(request)
    check_column_names(request.pipeline_json, metadata)
    csv_text = df[metadata.column_names].to_csv(header=False, index=False)
    try:
        release = measurement(csv_text)
    except OpenDPException as exc:
        what = opendp_message(exc) if show_library_errors else exc.variant
        raise InvalidArgumentError(
            f"OpenDP could not run the pipeline on this dataset ({what}); check that "
            "make_split_dataframe lists the columns in metadata order "
            f"({', '.join(metadata.column_names)}) and run it in dummy mode to debug",
            reason=Reason.DP_LIBRARY_ERROR,
            field="pipeline_json",
        ) from exc
    if isinstance(release, Mapping):
        table = pd.DataFrame({"key": list(release.keys()), "value": list(release.values())})
        return QueryResult(table=table)
    return QueryResult(values=tuple(_flatten(release)))


def _load(request: OpenDPRequest) -> dp.Measurement:
    request.validate()
    text = request.pipeline_json
    measurement = (
        _load_cached(text, cache_scope.current()) if len(text) <= _CACHE_MAX_CHARS else _parse(text)
    )
    if str(measurement.input_domain) != _CSV_DOMAIN:
        raise InvalidArgumentError(
            f"pipeline_json input domain is {measurement.input_domain}; legacy pipelines take "
            "the dataset as a CSV string, so start with make_split_dataframe",
            field="pipeline_json",
        )
    return measurement


@lru_cache(maxsize=32)
def _load_cached(pipeline_json: str, scope: str) -> dp.Measurement:
    # Deserializing takes ~1 s for an 8-step pipeline (OpenDP's JSON repeats each prefix); the
    # engine estimates then executes the same text, and measurements are immutable. ``scope``
    # (the analyst, ``cache_scope``) is only part of the key: no analyst's request warms
    # another's, or the time to an estimate would tell who else sent it.
    del scope
    return _parse(pipeline_json)


def _parse(pipeline_json: str) -> dp.Measurement:
    # Two forms: the list of constructor calls Lomas's opendp_logger and the Veil client write,
    # and OpenDP's own serialization; both are checked against the same allow-list.
    if opendp_calls.is_call_list(pipeline_json):
        return opendp_calls.load_measurement(pipeline_json)
    return opendp_safety.load_measurement(pipeline_json)


def _flatten(release: Any) -> list[Scalar]:
    if isinstance(release, list | tuple):
        return [item for part in release for item in _flatten(part)]
    if isinstance(release, bool | int | float | str) or release is None:
        return [release]
    if hasattr(release, "item"):  # numpy scalar
        return [release.item()]
    return [str(release)]
