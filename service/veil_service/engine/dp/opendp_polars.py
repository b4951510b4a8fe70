"""OpenDP polars pipelines: a polars query plan made private by ``make_private_lazyframe``.

The client builds a query with polars and OpenDP's ``.dp`` expressions on a LazyFrame whose
schema matches the dataset, and sends the plan as polars' JSON (``LazyFrame.serialize(
format="json")``), either bare (Lomas's form: pure DP, every ``.dp`` expression given its
``scale``) or in an envelope::

    {"format": "veil-opendp-polars", "version": 1, "plan": {...polars JSON plan...},
     "output_measure": "max_divergence" | "zero_concentrated_divergence"
                       | "approximate_max_divergence",
     "global_scale": float | null, "threshold": int | null}

The server rebuilds the measurement itself: ``make_private_lazyframe(domain, symmetric_distance(),
measure, plan, global_scale, threshold)`` with the domain built from the metadata (column types
and nullability; margins with ``max_length`` = ``rows``, and for each ``group_by`` of the plan
``max_groups`` = product of the key columns' cardinalities, ``max_length`` = the smallest
``max_partition_length``, and the key set declared invariant when every key column lists its
categories in the metadata). Every column is declared nullable, whatever the metadata says, so
plans must ``fill_null`` (and ``fill_nan``) before aggregating. The cost is OpenDP's privacy map
at ``d_in = max_ids``, read as for legacy pipelines (see ``opendp_cost.cost_of_measurement``);
it never reads the data.

Deserializing a polars plan is not safe in general: a plan may carry pickled Python functions
(``map_batches``), file scans and sinks, or plugins that load any shared library. Before polars
sees the text we walk its JSON and accept only a chain of single-input query nodes (select,
with_columns, filter, group_by/agg, sort, slice) over exactly one in-memory ``DataFrameScan``
whose columns exist in the dataset (its rows, ignored by OpenDP, are replaced by an empty frame of
the checked schema); plugin calls must be OpenDP's own ``dp`` expressions and are pointed at this
server's OpenDP library. OpenDP then refuses anything it cannot prove private.
"""

from __future__ import annotations

import io
import json
import math
import warnings
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import opendp.prelude as dp
import pandas as pd
import polars as pl
from opendp.extras.polars import Margin
from opendp.mod import OpenDPException

from veil_service.engine.dp import cache_scope
from veil_service.engine.dp.opendp_cost import cost_of_measurement
from veil_service.engine_contract.dp_metadata import ColumnMetadata, Metadata
from veil_service.engine_contract.dp_requests import CostEstimate, OpenDPRequest, QueryResult
from veil_service.errors import InvalidArgumentError, Reason

dp.enable_features("contrib")

ENVELOPE_FORMAT = "veil-opendp-polars"
OUTPUT_MEASURES = ("max_divergence", "zero_concentrated_divergence", "approximate_max_divergence")
PLAN_NODES = frozenset({"Select", "HStack", "Filter", "GroupBy", "Sort", "Slice"})
PLUGIN_SYMBOLS = frozenset(
    {
        "noise",
        "dp_len",
        "dp_count",
        "dp_null_count",
        "dp_n_unique",
        "dp_sum",
        "dp_mean",
        "dp_quantile",
        "dp_median",
        "dp_frame_len",
    }
)
_REFUSED = {
    "AnonymousFunction": "a Python function (map_batches/map_elements)",
    "PythonScan": "a Python data source",
    "Scan": "a file scan",
    "Sink": "a sink (writes files)",
    "SinkMultiple": "a sink (writes files)",
    "MapFunction": "a map function",
    "Join": "a join",
    "Union": "a union",
    "HConcat": "a horizontal concatenation",
    "ExtContext": "an external context",
    "Cache": "a cached sub-plan",
    "IR": "a pre-compiled plan",
    "PipeWithSchema": "a schema pipe",
    "Object": "a Python object",
}
MAX_DEPTH = 2_000
_FIELD = "pipeline_json"


def estimate_cost(request: OpenDPRequest, metadata: Metadata) -> CostEstimate:
    """The (ε, δ) of the plan's measurement at ``d_in = max_ids``; no data is read.

    Raises:
        InvalidArgumentError: The plan is refused (see the module docstring), OpenDP cannot make
            it private, or its cost needs a ``fixed_delta``.
    """
    measurement, _ = _measurement(request, metadata)
    return cost_of_measurement(measurement, metadata.max_ids, request.fixed_delta)


def execute(
    request: OpenDPRequest,
    df: pd.DataFrame,
    metadata: Metadata,
    *,
    seed: int | None = None,
    allow_pickle: bool = False,
    show_library_errors: bool = False,
) -> QueryResult:
    """Run the private plan on the dataset; the released DataFrame is ``QueryResult.table``.

    Raises:
        InvalidArgumentError: The plan is refused, the data does not match the domain built
            from the metadata, or OpenDP fails while releasing.
    """
    del seed, allow_pickle
    measurement, columns = _measurement(request, metadata)
    frame = _private_frame(df, metadata, columns)
    try:
        released = measurement(frame.lazy()).collect()
    except (OpenDPException, pl.exceptions.PolarsError) as exc:
        what = _text(exc) if show_library_errors else type(exc).__name__
        raise InvalidArgumentError(
            f"OpenDP could not run the polars plan on this dataset ({what}); run it in dummy "
            "mode to debug",
            reason=Reason.DP_LIBRARY_ERROR,
            field=_FIELD,
        ) from exc
    return QueryResult(table=released.to_pandas())


def _measurement(request: OpenDPRequest, metadata: Metadata) -> tuple[dp.Measurement, list[str]]:
    request.validate()
    return _build(request.pipeline_json, metadata, cache_scope.current())


@lru_cache(maxsize=32)
def _build(text: str, metadata: Metadata, scope: str) -> tuple[dp.Measurement, list[str]]:
    # Estimate then execute rebuild the same measurement; measurements are immutable. ``scope``
    # (the analyst, ``cache_scope``) only keys the cache: analysts do not warm each other's.
    del scope
    envelope = _parse(text)
    plan_tree = envelope["plan"]
    columns, group_keys = check_plan(plan_tree, metadata)
    plan = _deserialize(plan_tree)
    domain = _domain(metadata, columns, group_keys)
    measure = _output_measure(envelope["output_measure"])
    try:
        measurement = dp.m.make_private_lazyframe(
            domain,
            dp.symmetric_distance(),
            measure,
            plan,
            global_scale=envelope["global_scale"],
            threshold=envelope["threshold"],
        )
    except OpenDPException as exc:
        raise InvalidArgumentError(
            f"OpenDP cannot make this polars plan private: {_text(exc)}",
            reason=Reason.DP_LIBRARY_ERROR,
            field=_FIELD,
        ) from exc
    return measurement, columns


def _output_measure(name: str) -> dp.Measure:
    if name == "zero_concentrated_divergence":
        return dp.zero_concentrated_divergence()
    if name == "approximate_max_divergence":
        return dp.approximate(dp.max_divergence())
    return dp.max_divergence()


def _parse(text: str) -> dict[str, Any]:
    try:
        tree = json.loads(text, parse_constant=_refuse_constant)
    except (json.JSONDecodeError, RecursionError, ValueError) as exc:
        raise _bad(
            f"is not valid JSON ({type(exc).__name__}); send the polars plan from "
            "LazyFrame.serialize(format='json')"
        ) from None
    if not isinstance(tree, dict):
        raise _bad("must be a JSON object (a polars plan or a veil-opendp-polars envelope)")
    if "format" not in tree:
        return {
            "plan": tree,
            "output_measure": "max_divergence",
            "global_scale": None,
            "threshold": None,
        }
    if tree.get("format") != ENVELOPE_FORMAT or tree.get("version") != 1:
        raise _bad(f"envelope must have format {ENVELOPE_FORMAT!r} and version 1")
    extra = set(tree) - {"format", "version", "plan", "output_measure", "global_scale", "threshold"}
    if extra:
        raise _bad(f"envelope has unknown keys {sorted(extra)}")
    plan = tree.get("plan")
    if not isinstance(plan, dict):
        raise _bad("envelope 'plan' must be the polars plan as a JSON object")
    measure = tree.get("output_measure", "max_divergence")
    if measure not in OUTPUT_MEASURES:
        raise _bad(f"output_measure must be one of {', '.join(OUTPUT_MEASURES)}")
    scale = tree.get("global_scale")
    if scale is not None and (
        isinstance(scale, bool)
        or not isinstance(scale, int | float)
        or not math.isfinite(scale)
        or scale < 0
    ):
        raise _bad("global_scale must be a finite number >= 0 or null")
    threshold = tree.get("threshold")
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, int) or not 0 <= threshold < 2**32
    ):
        raise _bad("threshold must be an integer in [0, 2**32) or null")
    return {
        "plan": plan,
        "output_measure": measure,
        "global_scale": None if scale is None else float(scale),
        "threshold": threshold,
    }


def check_plan(tree: dict[str, Any], metadata: Metadata) -> tuple[list[str], list[tuple[str, ...]]]:
    """Refuse anything but a chain of query nodes over one in-memory frame of dataset columns.

    Plugin calls are checked (OpenDP symbols only) and their library path is rewritten, in
    place, to this server's OpenDP library.

    Returns:
        The input frame's columns and the key columns of each ``group_by``.

    Raises:
        InvalidArgumentError: A refused node or plugin, or an input frame that does not match
            the dataset.
    """
    for parent_key, node in _dicts(tree):
        if parent_key == "fields":  # a schema: keys are column names, values data types
            for dtype in node.values():
                if isinstance(dtype, str) and (
                    dtype in _REFUSED or "object" in dtype.lower() or "python" in dtype.lower()
                ):
                    raise _bad(f"has a column of type {dtype}")
            continue
        for key in node:
            if key in _REFUSED:
                raise _bad(
                    f"contains {_REFUSED[key]} ({key}); only a query over the dataset is accepted"
                )
            if "python" in key.lower() or "pickle" in key.lower():
                raise _bad(f"contains Python code or objects ({key})")
        plugin = node.get("FfiPlugin")
        if isinstance(plugin, dict):
            symbol = plugin.get("symbol")
            if symbol not in PLUGIN_SYMBOLS:
                raise _bad(f"calls plugin {symbol!r}; only OpenDP's dp expressions are accepted")
            plugin["lib"] = _server_plugin_lib()
    current: Any = tree
    group_keys: list[tuple[str, ...]] = []
    while True:
        if not isinstance(current, dict) or len(current) != 1:
            raise _bad("is not a polars plan (expected one node such as Select or GroupBy)")
        ((kind, body),) = current.items()
        if kind == "DataFrameScan":
            columns = _scan_columns(body, metadata)
            # OpenDP ignores the frame's rows; replace the client's bytes with an empty frame
            # of the checked schema so polars never parses client-made Arrow IPC.
            current[kind] = _empty_scan(
                tuple((c, str(_polars_dtype(metadata.column(c)))) for c in columns)
            )
            return columns, group_keys
        if kind not in PLAN_NODES or not isinstance(body, dict):
            raise _bad(
                f"contains plan node {kind!r}; accepted nodes: "
                f"{', '.join(sorted(PLAN_NODES))} over the input frame"
            )
        if kind == "GroupBy":
            keys = body.get("keys", [])
            if isinstance(keys, list) and all(
                isinstance(k, dict) and isinstance(k.get("Column"), str) for k in keys
            ):
                group_keys.append(tuple(k["Column"] for k in keys))
        current = body.get("input")


def _scan_columns(body: Any, metadata: Metadata) -> list[str]:
    fields = body.get("schema", {}).get("fields") if isinstance(body, dict) else None
    if not isinstance(fields, dict) or not fields:
        raise _bad("input frame has no schema")
    known = set(metadata.column_names)
    unknown = [name for name in fields if name not in known]
    if unknown:
        raise _bad(
            f"input frame has columns {unknown} that are not in the dataset "
            f"({', '.join(metadata.column_names)})"
        )
    for name, dtype in fields.items():
        expected = str(_polars_dtype(metadata.column(name)))
        if str(dtype) != expected:
            raise _bad(
                f"input column {name!r} has type {dtype}; the dataset's is {expected} "
                "(build the plan on client.get_dummy_dataset() or a matching schema)"
            )
    return list(fields)


@lru_cache(maxsize=64)
def _empty_scan_json(columns: tuple[tuple[str, str], ...]) -> str:
    schema = {name: getattr(pl, dtype) for name, dtype in columns}
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"'json' serialization format", category=UserWarning
        )
        text = pl.LazyFrame(schema=schema).serialize(format="json")
    return json.dumps(json.loads(text)["DataFrameScan"])


def _empty_scan(columns: tuple[tuple[str, str], ...]) -> Any:
    return json.loads(_empty_scan_json(columns))


def _deserialize(plan_tree: dict[str, Any]) -> pl.LazyFrame:
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message=r"'json' serialization format", category=UserWarning
            )
            return pl.LazyFrame.deserialize(io.StringIO(json.dumps(plan_tree)), format="json")
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        raise _bad(
            f"could not be read by polars {pl.__version__}: {' '.join(str(exc).split())[:300]}"
        ) from exc


def _polars_dtype(column: ColumnMetadata) -> Any:
    if column.type == "int":
        return pl.Int32 if column.precision == 32 else pl.Int64
    if column.type == "float":
        return pl.Float32 if column.precision == 32 else pl.Float64
    if column.type == "boolean":
        return pl.Boolean
    return pl.String  # string and datetime (as Lomas: datetimes are strings)


def _opendp_type(column: ColumnMetadata) -> Any:
    return {
        "Int32": dp.i32,
        "Int64": dp.i64,
        "Float32": dp.f32,
        "Float64": dp.f64,
        "Boolean": bool,
        "String": dp.String,
    }[str(_polars_dtype(column))]


def _domain(metadata: Metadata, columns: list[str], group_keys: list[tuple[str, ...]]) -> Any:
    series = []
    for name in columns:
        # Every column may hold nulls: metadata ``nullable: false`` is not a guarantee the data
        # keeps (Lomas's penguins declare it for columns with missing values), and a false
        # domain claim would void OpenDP's proof. Plans fill nulls before aggregating.
        atom = dp.atom_domain(T=_opendp_type(metadata.column(name)))
        series.append(dp.series_domain(name, dp.option_domain(atom)))
    domain = dp.lazyframe_domain(series)
    domain = dp.with_margin(domain, Margin(by=[], max_length=metadata.rows, max_groups=1))
    for keys in dict.fromkeys(group_keys):
        if not keys or any(k not in columns for k in keys):
            continue
        meta = [metadata.column(k) for k in keys]
        cardinalities = [
            c.cardinality or (len(c.categories) if c.categories else None) for c in meta
        ]
        max_groups = math.prod(cardinalities) if all(cardinalities) else None  # type: ignore[arg-type]
        lengths = [c.max_partition_length for c in meta if c.max_partition_length]
        domain = dp.with_margin(
            domain,
            Margin(
                by=[pl.col(k) for k in keys],
                max_length=min(lengths, default=metadata.rows),
                max_groups=max_groups,
                invariant="keys" if all(c.categories for c in meta) else None,
            ),
        )
    return domain


def _private_frame(df: pd.DataFrame, metadata: Metadata, columns: list[str]) -> pl.DataFrame:
    try:
        frame = pl.from_pandas(df[columns])
        frame = frame.with_columns(
            [pl.col(name).cast(_polars_dtype(metadata.column(name))) for name in columns]
        )
    except (pl.exceptions.PolarsError, KeyError, TypeError, ValueError) as exc:
        raise InvalidArgumentError(
            "the dataset does not match its metadata's column types", field=_FIELD
        ) from exc
    return frame


@lru_cache(maxsize=1)
def _server_plugin_lib() -> str:
    # The library path exactly as this server's polars writes it for OpenDP's plugin.
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"'json' serialization format", category=UserWarning
        )
        noise = pl.len().dp.noise()  # type: ignore[attr-defined]
        text = pl.LazyFrame(schema={"x": pl.Int64}).select(noise).serialize(format="json")
    for _, node in _dicts(json.loads(text)):
        plugin = node.get("FfiPlugin")
        if isinstance(plugin, dict):
            return str(plugin["lib"])
    raise RuntimeError("OpenDP's polars plugin path could not be determined")


def _dicts(root: Any) -> Iterator[tuple[str | None, dict[str, Any]]]:
    stack: list[tuple[Any, str | None, int]] = [(root, None, 0)]
    while stack:
        node, key, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _bad("is nested too deeply")
        if isinstance(node, dict):
            yield key, node
            stack.extend(
                (value, k, depth + 1) for k, value in node.items() if isinstance(value, dict | list)
            )
        elif isinstance(node, list):  # byte arrays (lists of ints) are skipped cheaply
            stack.extend(
                (value, key, depth + 1) for value in node if isinstance(value, dict | list)
            )


def _refuse_constant(name: str) -> None:
    raise ValueError(f"non-finite number {name}")


def _text(exc: BaseException) -> str:
    return " ".join(str(getattr(exc, "message", "") or exc).split())[:500]


def _bad(reason: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"polars pipeline {reason}", field=_FIELD)
