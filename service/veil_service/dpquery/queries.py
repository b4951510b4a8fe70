"""Private and dummy queries: cost, charge, run, record, refund.

The order of a private query, and why:

1. Find the caller's grant (NOT_FOUND otherwise: other datasets stay invisible).
2. Compute the exact cost with the library itself (engine task ``dp_cost``; it reads the request
   and the metadata, never the rows). A bad query fails here and spends nothing.
3. Charge the budget and open the archive record in one transaction: one conditional UPDATE,
   so concurrent queries cannot overspend (RESOURCE_EXHAUSTED states what remains).
4. Run the query on the engine (``dp_query``; the engine already holds the table by digest).
5. Record the result's shape in the archive, then answer.

When a failure is refunded (issue 19, defect 2; docs/security.md): only when nothing could have
read a private row, i.e. the query failed before step 4 handed it to an engine (a malformed
request, a cost the library refuses, a budget too small, no engine, the caller cancelling while
the query waited for an engine slot). Whether a query fails on the data depends on the data, so a
free failure is a noise-free answer: once the engine has the query, a failure (the library, the
engine lost, a cancellation, a time limit) is charged like the answer it replaces and stays in the
archive as a failed query. Everything the metadata can decide is therefore checked in step 2,
before the charge. If the server dies after the charge, the charge stands (fail closed).

Timing (issue 16 item 11): how long a private query takes depends on the private rows (a fit
that converges sooner, a group that is empty), so its answer time is a side channel Lomas closes
with a minimum response time ("stall") or random jitter. Veil rounds the time from the charge to
the answer (or to a charged failure) up to the next multiple of ``dp_answer_quantum_s``
(default 0.5 s): fast queries all answer at one quantum, slower ones reveal only which quantum
they fell in. Dummy queries and cost estimates read no private row and are not padded.

Progress (issue 16 item 12): a caller may pass a progress sink. Dummy queries forward the
engine's progress; private queries send only a clock on a fixed grid, cut at the padded answer
time (``dpquery.progress``), so their messages reveal nothing the answer time does not.

Costs are deterministic functions of (library, request, metadata), so they are memoized: a query
repeated on the same dataset skips step 2's engine round trip. Memoized per analyst, not per
dataset: a cache shared by the analysts of a dataset is a timing channel (a fast estimate tells
that someone else already priced the very same request there). For the same reason the engine's
own caches of a request's parse (OpenDP measurements, smartnoise-sql result types) are scoped to
the analyst (``cache_scope`` in the task's parameters, ``engine.dp.cache_scope``), and two
analysts' concurrent identical requests do not share one computation.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.ipc as ipc
import sqlalchemy as sa

from veil_service.context import AppContext
from veil_service.dpquery import archive, budget, grants, query_switch
from veil_service.dpquery.archive import ArchivedAnswer
from veil_service.dpquery.budget import PrivacyCost
from veil_service.dpquery.datasets import DatasetRecord
from veil_service.dpquery.progress import PrivateClock, ProgressSink, QueryProgress, grid_interval
from veil_service.dpquery.specs import ModelBlob, QueryAnswer, QuerySpec
from veil_service.engine_client.protocol import TaskInput, TaskOutput
from veil_service.engine_contract.dp_requests import SmartnoiseSynthRequest, check_seed
from veil_service.engine_contract.dp_tasks import (
    DEFAULT_NB_ROWS,
    INLINE_LIBRARIES,
    MAX_NB_ROWS,
    canonical_json,
    request_to_dict,
)
from veil_service.errors import (
    FailedPreconditionError,
    InvalidArgumentError,
    Reason,
    ResourceExhaustedError,
    VeilServiceError,
)
from veil_service.storage.db_calls import db_read, db_write

log = logging.getLogger("veil.dpquery")

T = TypeVar("T")

COST_CACHE_ENTRIES = 4096
SPEND_TOLERANCE = 1e-12


class CostCache:
    """Costs by (analyst, request, metadata) digest, least recently used out."""

    def __init__(self, max_entries: int = COST_CACHE_ENTRIES) -> None:
        self.max_entries = max_entries
        self._costs: OrderedDict[str, PrivacyCost] = OrderedDict()

    def get(self, key: str) -> PrivacyCost | None:
        """A cached cost, or None."""
        cost = self._costs.get(key)
        if cost is not None:
            self._costs.move_to_end(key)
        return cost

    def put(self, key: str, cost: PrivacyCost) -> None:
        """Remember a cost."""
        self._costs[key] = cost
        self._costs.move_to_end(key)
        while len(self._costs) > self.max_entries:
            self._costs.popitem(last=False)


class DPQueries:
    """Queries and cost estimates on DP datasets, for one authenticated analyst per call."""

    def __init__(self, app: AppContext) -> None:
        self.app = app
        self.costs = CostCache()
        self._computing: dict[str, asyncio.Future[PrivacyCost]] = {}

    def _params(self, spec: QuerySpec, dataset: DatasetRecord, user_id: str) -> dict[str, Any]:
        return {
            "library": spec.library,
            "request": request_to_dict(spec.request),
            "metadata": dataset.metadata_dict,
            "inline": spec.library in INLINE_LIBRARIES,
            "synth_max_epochs": self.app.settings.dp_synth_max_epochs,
            "cache_scope": cache_scope(user_id),
        }

    async def _cost(self, spec: QuerySpec, dataset: DatasetRecord, user_id: str) -> PrivacyCost:
        request_json = canonical_json(spec.library, spec.request)
        key = hashlib.sha256(
            f"{user_id}\0{dataset.metadata_json}\0{request_json}".encode()
        ).hexdigest()
        cached = self.costs.get(key)
        if cached is not None:
            return cached
        # Concurrent identical requests of one analyst share one engine computation.
        pending = self._computing.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._compute_cost(spec, dataset, user_id))
            self._computing[key] = pending
            pending.add_done_callback(lambda done: self._forget(key, done))
        cost = await asyncio.shield(pending)
        self.costs.put(key, cost)
        return cost

    def _forget(self, key: str, done: asyncio.Future[PrivacyCost]) -> None:
        self._computing.pop(key, None)
        if not done.cancelled():
            done.exception()  # retrieved here, so a failure nobody awaits any more is not logged

    async def _compute_cost(
        self, spec: QuerySpec, dataset: DatasetRecord, user_id: str
    ) -> PrivacyCost:
        params = self._params(spec, dataset, user_id)
        params["inline"] = True
        output = await self.app.engines.run("dp_cost", params, [])
        output.discard()
        cost = PrivacyCost(float(output.summary["epsilon"]), float(output.summary["delta"]))
        if not (math.isfinite(cost.epsilon) and math.isfinite(cost.delta)):
            raise InvalidArgumentError(
                f"{spec.library} computes an infinite or undefined cost for this request "
                f"(epsilon={cost.epsilon!r}, delta={cost.delta!r}); use a smaller epsilon.",
                field="epsilon",
            )
        return cost

    def _check_model_opt_in(self, spec: QuerySpec) -> None:
        request = spec.request
        if (
            isinstance(request, SmartnoiseSynthRequest)
            and request.return_model
            and not request.allow_pickle
        ):
            # Checked here, before the charge, rather than by the engine after the fit.
            raise InvalidArgumentError(
                "return_model returns the synthesizer as a pickle, which needs allow_pickle on "
                "the request (and the server); ask for samples instead (return_model=False).",
                field="return_model",
            )
        if (
            isinstance(request, SmartnoiseSynthRequest)
            and request.return_model
            and not self.app.settings.allow_pickle
        ):
            raise FailedPreconditionError(
                "return_model needs pickled models, which this server does not allow; ask for "
                "samples instead (return_model=False), or ask the operator to start the server "
                "with --allow-pickle.",
                field="return_model",
                reason=Reason.PICKLE_NOT_ALLOWED,
            )

    async def estimate_cost(self, user_id: str, spec: QuerySpec) -> PrivacyCost:
        """What ``spec`` would be charged, without running it or reading any row.

        Raises:
            NotFoundError: no such dataset for this caller.
            InvalidArgumentError: the library refuses the request (message names the field).
        """
        spec.validate()
        _, dataset = await db_read(self.app.db, grants.find_access, user_id, spec.dataset)
        _check_declared_rows(spec, dataset)
        return await self._cost(spec, dataset, user_id)

    async def query(
        self, user_id: str, spec: QuerySpec, progress: ProgressSink | None = None
    ) -> QueryAnswer:
        """Run a query: on a dummy for free, or on the private rows, charged (see module doc).

        Args:
            progress: Called with progress messages: the engine's for a dummy query, the
                public clock for a private one (``dpquery.progress``).

        Raises:
            NotFoundError: no such dataset for this caller.
            InvalidArgumentError: the library refuses the request.
            FailedPreconditionError: a pickled model was asked for and the server forbids it.
            PermissionDeniedError: an admin turned the caller's may_query switch off.
            ResourceExhaustedError: the cost exceeds the remaining budget (message states it).
            UnavailableError: the engine is down.
        """
        spec.validate()
        self._check_model_opt_in(spec)
        grant, dataset = await db_read(self.app.db, grants.find_access, user_id, spec.dataset)
        if spec.dummy:
            return await self._dummy_query(spec, dataset, grant, user_id, progress)
        # Checked again when charging; here so that a switched-off user waits for no cost.
        await db_read(self.app.db, query_switch.ensure_may_query, user_id, grant.username)
        _check_declared_rows(spec, dataset)
        cost = await self._cost(spec, dataset, user_id)
        request_json = canonical_json(spec.library, spec.request)
        started = time.monotonic()
        charging = asyncio.ensure_future(
            db_write(self.app.db, _charge, grant, dataset, user_id, spec, request_json, cost)
        )
        try:
            query_id = await _to_the_end(charging)
        except asyncio.CancelledError:
            if charging.exception() is None:  # charged, but nothing ran: give it back
                await _to_the_end(
                    db_write(self.app.db, _give_back, grant.id, charging.result(), cost)
                )
            raise
        clock = None
        if progress is not None:
            clock = PrivateClock(
                progress,
                started,
                grid_interval(self.app.settings.dp_answer_quantum_s),
                float(self.app.engines.time_limits.get("dp_query", 0.0)),
            )
        try:
            return await self._private_query(
                spec, dataset, grant, user_id, cost, query_id, started, clock
            )
        finally:
            if clock is not None:
                clock.stop()

    async def _private_query(
        self,
        spec: QuerySpec,
        dataset: DatasetRecord,
        grant: grants.Grant,
        user_id: str,
        cost: PrivacyCost,
        query_id: str,
        started: float,
        clock: PrivateClock | None,
    ) -> QueryAnswer:
        """Run a charged query and settle it (refund, charged failure or answer), padded."""
        dispatched = False

        def mark_dispatched() -> None:
            nonlocal dispatched
            dispatched = True

        try:
            answer, charged = await self._run_private(spec, dataset, cost, mark_dispatched, user_id)
        except BaseException as exc:
            # Each settlement runs to its end, so that a cancelled call still settles its charge.
            if not dispatched:
                # No engine had the query: nothing read a row. Give the budget back.
                await _to_the_end(db_write(self.app.db, _give_back, grant.id, query_id, cost))
                raise
            await _to_the_end(
                db_write(
                    self.app.db,
                    archive.close_record,
                    query_id,
                    summary=_failure_summary(exc),
                    cost=cost,
                )
            )
            if isinstance(exc, VeilServiceError):
                await self._pad(started, clock)
                raise _charged(exc, cost) from exc
            raise
        left = await _to_the_end(
            db_write(self.app.db, _settle, grant.id, query_id, cost, charged, answer)
        )
        await self._pad(started, clock)
        return QueryAnswer(
            answer.table_ipc,
            answer.values,
            answer.model,
            answer.score,
            charged,
            left,
            query_id,
            charged=True,
            requested_by=grant.username,
        )

    async def _pad(self, started: float, clock: PrivateClock | None = None) -> None:
        """Wait until the time since ``started`` is a whole number (>= 1) of quanta; the clock
        sends exactly the messages due before that time."""
        quantum = self.app.settings.dp_answer_quantum_s
        elapsed = time.monotonic() - started
        if not 0 < quantum <= 3600:  # 0 (or nonsense) disables it
            if clock is not None:
                clock.answer_at(elapsed)
                clock.finish()
            return
        target = max(1, math.ceil(elapsed / quantum)) * quantum
        if clock is not None:
            clock.answer_at(target)
        await asyncio.sleep(max(0.0, target - elapsed))
        if clock is not None:
            clock.finish()

    async def _run_private(
        self,
        spec: QuerySpec,
        dataset: DatasetRecord,
        cost: PrivacyCost,
        on_dispatch: Callable[[], None],
        owner: str,
    ) -> tuple[_Answer, PrivacyCost]:
        params = self._params(spec, dataset, owner)
        params["allow_pickle"] = self.app.settings.allow_pickle
        output = await self.app.engines.run(
            "dp_query",
            params,
            [
                TaskInput(
                    "dataset",
                    self.app.blobs.path(dataset.relative_path),
                    dataset.sha256,
                    dataset.size_bytes,
                )
            ],
            on_dispatch=on_dispatch,
            owner=owner,
        )
        answer = _read_answer(output)
        charged = cost
        spent = output.summary.get("spent")
        if spent is not None:
            library = PrivacyCost(float(spent["epsilon"]), float(spent["delta"]))
            if (
                library.epsilon > cost.epsilon + SPEND_TOLERANCE
                or library.delta > cost.delta + SPEND_TOLERANCE
            ):
                raise InvalidArgumentError(
                    f"{spec.library} accounted more budget than estimated (epsilon="
                    f"{library.epsilon!r}, delta={library.delta!r}); the result is withheld.",
                    field="request",
                    reason=Reason.DP_COST_MISMATCH,
                )
            charged = PrivacyCost(
                min(cost.epsilon, library.epsilon), min(cost.delta, library.delta)
            )
        return answer, charged

    async def _dummy_query(
        self,
        spec: QuerySpec,
        dataset: DatasetRecord,
        grant: grants.Grant,
        owner: str,
        progress: ProgressSink | None,
    ) -> QueryAnswer:
        # What a private run would be charged, shown and not charged (Lomas shows it too); a
        # request the library cannot price fails here, as it would in private mode.
        would_cost = await self._cost(spec, dataset, owner)
        params = self._params(spec, dataset, owner)
        params["dummy"] = {"nb_rows": spec.dummy_nb_rows, "seed": spec.dummy_seed}
        params["allow_pickle"] = self.app.settings.allow_pickle

        async def forward(fraction: float, phase: str) -> None:
            if progress is not None:
                progress(QueryProgress(fraction, phase))

        output = await self.app.engines.run("dp_query", params, [], forward, owner=owner)
        answer = _read_answer(output)
        return QueryAnswer(
            answer.table_ipc,
            answer.values,
            answer.model,
            answer.score,
            would_cost,
            PrivacyCost(grant.remaining_epsilon, grant.remaining_delta),
            "",
            charged=False,
            requested_by=grant.username,
        )


def cache_scope(user_id: str) -> str:
    """The engine's cache scope of an analyst: a digest of the user id (the engine keys its
    caches of parsed requests by it, so one analyst's request never warms another's)."""
    return hashlib.sha256(f"veil-dp-cache:{user_id}".encode()).hexdigest()[:32]


def _check_declared_rows(spec: QuerySpec, dataset: DatasetRecord) -> None:
    """Refuse, before any charge, a private pacsynth query on a table smaller than its metadata.

    pacsynth spends a share of ε on a noisy count of the rows it fits and fails, after reading
    them (so charged), when that count is not positive; the share is sized so that this happens
    at most 1 fit in 10^6 at the metadata's ``rows`` (``smartnoise_synth._pacsynth_records_
    share``). A table holding fewer rows than declared fails more often (5 rows declared as 344:
    about 1 fit in 2.4 at ε 0.0765), and sizing from the true count would put the private count
    in the noise scales. The refusal depends on the admin's declaration, not on the request, so
    it tells the caller one fixed fact (the table is smaller than its metadata says), never the
    count; the admin sees the count when correcting the metadata.

    Raises:
        FailedPreconditionError: on ``metadata.rows``.
    """
    request = spec.request
    if not (isinstance(request, SmartnoiseSynthRequest) and request.synth_name == "pacsynth"):
        return
    declared = int(dataset.metadata_dict["rows"])
    if dataset.num_rows < declared:
        raise FailedPreconditionError(
            f"pacsynth cannot run on {spec.dataset}: its table holds fewer rows than the "
            f"{declared:,} its metadata declares (metadata.rows), and pacsynth's noisy row "
            "count, sized from the declared rows, would then fail too often after reading the "
            "rows (charged). An admin must set the metadata's rows to the table's row count; "
            "meanwhile use another synthesizer (mst, aim or mwem)",
            field="metadata.rows",
        )


def _failure_summary(exc: BaseException) -> str:
    # The archive shows the analyst what happened, never a library message (it may quote data).
    if isinstance(exc, VeilServiceError):
        return f"failed after reading the data: {exc.code_name} {exc.reason}"
    if isinstance(exc, asyncio.CancelledError):
        return "failed after reading the data: CANCELLED"
    return f"failed after reading the data: {type(exc).__name__}"


def _charged(exc: VeilServiceError, cost: PrivacyCost) -> VeilServiceError:
    """The same error, saying that its cost was charged and why."""
    charged = type(exc)(
        f"{exc.message.rstrip('.')}. The query failed after the engine was given the private "
        f"rows, so it is charged like an answer (epsilon={cost.epsilon!r}, delta="
        f"{cost.delta!r}): whether a query fails can depend on the data (docs/security.md).",
        reason=exc.reason,
        field=exc.field,
    )
    if isinstance(exc, ResourceExhaustedError) and isinstance(charged, ResourceExhaustedError):
        charged.retry_after_seconds = exc.retry_after_seconds
    return charged


class _Answer:
    """What the engine returned, read out of its result files."""

    def __init__(
        self,
        table_ipc: bytes,
        values: tuple[Any, ...],
        model: ModelBlob | None,
        score: float | None,
        summary: str,
    ) -> None:
        self.table_ipc = table_ipc
        self.values = values
        self.model = model
        self.score = score
        self.summary = summary


def _read_answer(output: TaskOutput) -> _Answer:
    try:
        files = {f.name: f.writer.temp_path.read_bytes() for f in output.files}
    finally:
        output.discard()
    summary = output.summary
    model = None
    if summary.get("model") and "model" in files:
        model = ModelBlob(
            str(summary["model"]["format"]), files["model"], str(summary["model"]["class_name"])
        )
    score = summary.get("score")
    return _Answer(
        files.get("table", b""),
        tuple(summary.get("values") or ()),
        model,
        None if score is None else float(score),
        _shape(summary, files),
    )


def _shape(summary: dict[str, Any], files: dict[str, bytes]) -> str:
    kind = str(summary.get("kind") or "")
    if kind:
        return kind
    if "table" in files:
        table = ipc.open_stream(pa.BufferReader(files["table"])).read_all()
        return f"table {table.num_rows}x{table.num_columns}"
    return json.dumps({k: v for k, v in summary.items() if k != "values"}, default=str)[:200]


class DummyTable:
    """A dummy dataset produced by the engine, held in a blob temp file until streamed."""

    def __init__(self, output: TaskOutput, dataset: str) -> None:
        self._output = output
        self.dataset = dataset
        self.path = output.files[0].writer.temp_path
        self.num_rows = int(output.summary.get("num_rows", 0))
        with pa.OSFile(str(self.path), "rb") as source:
            self.schema = ipc.open_stream(source).schema
        self.size_bytes = self.path.stat().st_size
        self.sha256 = output.files[0].writer.sha256

    def close(self) -> None:
        """Delete the temp file."""
        self._output.discard()


async def make_dummy_table(
    app: AppContext, user_id: str, dataset: str, nb_rows: int, seed: int
) -> DummyTable:
    """Build a seeded dummy of a dataset the caller may query (from its metadata only).

    Raises:
        NotFoundError: no such dataset for this caller.
        InvalidArgumentError: ``nb_rows`` or ``seed`` out of range.
    """
    spec_rows = nb_rows or DEFAULT_NB_ROWS
    _, record = await db_read(app.db, grants.find_access, user_id, dataset)
    if not 0 < spec_rows <= MAX_NB_ROWS:
        raise InvalidArgumentError(
            f"nb_rows must be between 1 and {MAX_NB_ROWS:,}; got {nb_rows}.", field="nb_rows"
        )
    check_seed(seed, "seed")
    output = await app.engines.run(
        "dp_dummy",
        {"metadata": record.metadata_dict, "nb_rows": spec_rows, "seed": seed, "inline": True},
        [],
    )
    return DummyTable(output, dataset)


def _charge(
    conn: sa.Connection,
    grant: grants.Grant,
    dataset: DatasetRecord,
    user_id: str,
    spec: QuerySpec,
    request_json: str,
    cost: PrivacyCost,
) -> str:
    """Charge the grant and open the query's record, in one transaction; returns its id.

    Raises:
        PermissionDeniedError: an admin turned the user's may_query switch off.
        ResourceExhaustedError: the cost exceeds what the grant has left.
    """
    query_switch.ensure_may_query(conn, user_id, grant.username)
    if not budget.charge(conn, grant.id, cost):
        raise budget.exhausted(spec.dataset, cost, budget.remaining(conn, grant.id))
    return archive.open_record(
        conn,
        user_id=user_id,
        dataset_id=dataset.id,
        library=spec.library,
        request_json=request_json,
        cost=cost,
    )


def _settle(
    conn: sa.Connection,
    grant_id: str,
    query_id: str,
    cost: PrivacyCost,
    charged: PrivacyCost,
    answer: _Answer,
) -> PrivacyCost:
    """Refund what the library did not spend, archive the answer; returns the budget left."""
    if charged != cost:
        budget.refund(
            conn, grant_id, PrivacyCost(cost.epsilon - charged.epsilon, cost.delta - charged.delta)
        )
    archive.close_record(
        conn,
        query_id,
        summary=answer.summary,
        cost=charged,
        answer=ArchivedAnswer(answer.table_ipc, answer.values, answer.model, answer.score),
    )
    return budget.remaining(conn, grant_id)


def _give_back(conn: sa.Connection, grant_id: str, query_id: str, cost: PrivacyCost) -> None:
    budget.refund(conn, grant_id, cost)
    archive.drop_record(conn, query_id)


async def _to_the_end(work: Awaitable[T]) -> T:
    """Await a database transaction; cancelled meanwhile, let it finish first, then re-raise.

    The transaction runs on a database thread (``storage.db_calls``) that a cancellation cannot
    stop: its outcome (a charge, a refund) must be known before the call gives up.
    """
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait({task})
        raise
