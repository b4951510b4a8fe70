"""The DP engine tasks: cost, query (private or dummy) and dummy dataset.

Thin adapters between the engine's task protocol (``TaskContext``: JSON parameters in, a summary
and result files out) and the pure DP library layer in ``veil_service.engine.dp``. Parameters are
described in ``engine_contract.dp_tasks``. Private rows only ever enter ``dp_query`` in private
mode; costs are computed from the request and the metadata alone.

Results leave as files: the table as Arrow (``table``), the model as bytes (``model``, media type
naming its format). Values, score and the library-accounted spend go in the summary.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc

from veil_service.engine.dp import cache_scope, dispatch
from veil_service.engine.dp.dummy import make_dummy_dataset
from veil_service.engine.dp.frames import conform_to_metadata
from veil_service.engine.tasks.context import TaskContext
from veil_service.engine_contract.dp_metadata import Metadata, parse_metadata
from veil_service.engine_contract.dp_requests import (
    REQUEST_TYPES,
    CostEstimate,
    DPRequest,
    QueryResult,
    SmartnoiseSqlRequest,
)
from veil_service.engine_contract.dp_tasks import request_from_dict
from veil_service.errors import InvalidArgumentError

MODEL_MEDIA_TYPES = {"skops": "application/x-skops", "pickle": "application/x-python-pickle"}
FRAME_CACHE_BYTES = 1 << 30
"""In-memory DataFrames kept by the inline engine path, in bytes (LRU by table digest)."""


def run_dp_cost(ctx: TaskContext) -> dict[str, Any]:
    """The (ε, δ) the library accounts for a request; reads no rows."""
    _, request, metadata = _decode(ctx.params)
    with cache_scope.scoped(_scope(ctx.params)):
        cost: CostEstimate = dispatch.estimate_cost(
            request, metadata, synth_max_epochs=_synth_max_epochs(ctx.params)
        )
    return {"epsilon": float(cost.epsilon), "delta": float(cost.delta)}


def run_dp_query(ctx: TaskContext) -> dict[str, Any]:
    """See :func:`_run_dp_query`; the library's cached parses are the analyst's own."""
    with cache_scope.scoped(_scope(ctx.params)):
        return _run_dp_query(ctx)


def _run_dp_query(ctx: TaskContext) -> dict[str, Any]:
    """Run a request on the private dataset (input ``dataset``) or on a seeded dummy.

    In dummy mode the dummy has ``dummy.nb_rows`` rows drawn with ``dummy.seed``, the library's
    own messages are shown, and the seed also seeds the library where it can be seeded. In
    private mode nothing is seeded and library messages that could quote data are withheld.
    """
    _, request, metadata = _decode(ctx.params)
    dummy = ctx.params.get("dummy")
    allow_pickle = bool(ctx.params.get("allow_pickle", False))
    if dummy:
        frame = make_dummy_dataset(metadata, nb_rows=int(dummy["nb_rows"]), seed=int(dummy["seed"]))
    else:
        frame = FRAMES.get(ctx.input_path("dataset"), metadata)
    started = time.perf_counter()
    if isinstance(request, SmartnoiseSqlRequest) and not dummy:
        # The dataset stays in SQLite between queries, and the server ran dp_cost on this very
        # request and metadata first, so the query check is not repeated.
        from veil_service.engine.dp import smartnoise_sql

        result = smartnoise_sql.execute(
            request,
            frame,
            metadata,
            check_query=False,
            dataset_key=f"{ctx.input_path('dataset').stem}:{hash(metadata)}",
        )
    elif dummy:
        # Dummy data is public: seed the library where it can be, and show its messages.
        result = dispatch.execute(
            request,
            frame,
            metadata,
            seed=int(dummy["seed"]),
            allow_pickle=allow_pickle,
            show_library_errors=True,
            synth_max_epochs=_synth_max_epochs(ctx.params),
            # Dummy data only: a private fit reports nothing (its progress would reveal how
            # long it takes on the private rows; the server sends a public clock instead).
            progress=ctx.progress,
        )
    else:
        result = dispatch.execute(
            request,
            frame,
            metadata,
            allow_pickle=allow_pickle,
            synth_max_epochs=_synth_max_epochs(ctx.params),
        )
    summary = _write_result(ctx, result)
    summary["compute_ms"] = (time.perf_counter() - started) * 1000
    return summary


def run_dp_dummy(ctx: TaskContext) -> dict[str, Any]:
    """Write a seeded dummy dataset built from the metadata as result ``dummy``."""
    metadata = parse_metadata(ctx.params.get("metadata"))
    frame = make_dummy_dataset(
        metadata, nb_rows=int(ctx.params.get("nb_rows", 100)), seed=int(ctx.params.get("seed", 42))
    )
    ctx.write_table("dummy", frame)
    return {"num_rows": len(frame)}


def _scope(params: dict[str, Any]) -> str:
    """The analyst's cache scope the server sent (``engine.dp.cache_scope``)."""
    return str(params.get("cache_scope", ""))


def _synth_max_epochs(params: dict[str, Any]) -> int | None:
    """The operator's bound on synthesizer epochs, when the server sends one."""
    value = params.get("synth_max_epochs")
    return None if value is None else int(value)


def _decode(params: dict[str, Any]) -> tuple[str, DPRequest, Metadata]:
    library = str(params.get("library", ""))
    if library not in REQUEST_TYPES:
        raise InvalidArgumentError(
            f"library must be one of {', '.join(REQUEST_TYPES)}; got {library!r}.",
            field="library",
        )
    request = request_from_dict(library, params.get("request") or {})
    return library, request, parse_metadata(params.get("metadata"))


def _write_result(ctx: TaskContext, result: QueryResult) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "values": list(result.values),
        "score": result.score,
        "spent": None
        if result.spent is None
        else {"epsilon": float(result.spent.epsilon), "delta": float(result.spent.delta)},
        "model": None,
        "has_table": result.table is not None,
        "kind": result.kind,
    }
    if result.table is not None:
        ctx.write_table("table", _arrow_safe(result.table))
    if result.model is not None:
        ctx.write_bytes(
            "model",
            result.model.data,
            MODEL_MEDIA_TYPES.get(result.model.format, "application/octet-stream"),
        )
        summary["model"] = {"format": result.model.format, "class_name": result.model.class_name}
    return summary


def _arrow_safe(frame: pd.DataFrame) -> pd.DataFrame:
    # Result columns may mix Python objects (smartnoise-sql rows); give Arrow one type each.
    out = frame.copy()
    out.columns = [str(c) for c in out.columns]
    for name in out.columns:
        if out[name].dtype == object:
            try:
                pa.array(out[name])
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                out[name] = out[name].astype("string")
    return out


class FrameCache:
    """Datasets as DataFrames, by table digest, bounded in bytes (least recently used out).

    Engine cache files are named ``<sha256>.arrows``, so the digest is the file's stem. In a
    forked worker the cache lives one task; on the engine's inline path it lives as long as the
    engine, so repeated queries on a dataset skip reading and converting it. Callers must not
    modify the frame they get (the libraries here only read it).
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._frames: OrderedDict[str, tuple[pd.DataFrame, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: Path, metadata: Metadata) -> pd.DataFrame:
        """The frame of the Arrow IPC stream at ``path``, typed per ``metadata``."""
        key = f"{path.stem}:{hash(metadata)}"
        with self._lock:
            hit = self._frames.get(key)
            if hit is not None:
                self._frames.move_to_end(key)
                return hit[0]
        with pa.OSFile(str(path), "rb") as source:
            frame = conform_to_metadata(ipc.open_stream(source).read_all().to_pandas(), metadata)
        size = int(frame.memory_usage(deep=False).sum())
        with self._lock:
            self._frames[key] = (frame, size)
            total = sum(s for _, s in self._frames.values())
            while total > self.max_bytes and len(self._frames) > 1:
                _, (_, evicted) = self._frames.popitem(last=False)
                total -= evicted
        return frame


FRAMES = FrameCache(FRAME_CACHE_BYTES)
