"""DPQueryService, one typed method per RPC (``DPClient`` builds on it).

A query is one of four library-specific dataclasses (:class:`SmartnoiseSqlQuery`,
:class:`OpenDpQuery`, :class:`DiffprivlibQuery`, :class:`SmartnoiseSynthQuery`), run privately
(charged to the caller's budget) or on a seeded dummy dataset (free) when given a :class:`Dummy`.
Each query class names its library once (``LIBRARY``): the ``QuerySpec`` oneof member it fills,
the name the server records and returns (a test pins it to the proto and the server's names).
Privacy units: ε (epsilon) is a privacy loss in natural-log units, δ (delta) a probability.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pyarrow as pa
from veil.v1 import dpquery_pb2

from veil_client.api.common import Page, timestamp
from veil_client.errors import Unimplemented
from veil_client.tables import read_arrow, split_download
from veil_client.transport import (
    LONG_TIMEOUT_S,
    Rpc,
    RpcKind,
    Transport,
    table_download,
    unary,
)

_S = "veil.v1.DPQueryService"

QUERY_TIMEOUT_S = 3600.0
"""Deadline of Query and EstimateCost: model fitting and synthesizers may take minutes."""

LIST_DATASETS = unary(
    _S,
    "ListDatasets",
    dpquery_pb2.ListDatasetsRequest,
    dpquery_pb2.ListDatasetsResponse,
    idempotent=True,
)
GET_DATASET_METADATA = unary(
    _S,
    "GetDatasetMetadata",
    dpquery_pb2.GetDatasetMetadataRequest,
    dpquery_pb2.GetDatasetMetadataResponse,
    idempotent=True,
)
GET_DUMMY_DATASET = table_download(
    _S, "GetDummyDataset", dpquery_pb2.GetDummyDatasetRequest, dpquery_pb2.GetDummyDatasetResponse
)
GET_BUDGET = unary(
    _S, "GetBudget", dpquery_pb2.GetBudgetRequest, dpquery_pb2.GetBudgetResponse, idempotent=True
)
LIST_PREVIOUS_QUERIES = unary(
    _S,
    "ListPreviousQueries",
    dpquery_pb2.ListPreviousQueriesRequest,
    dpquery_pb2.ListPreviousQueriesResponse,
    idempotent=True,
)
# Never retried: a private query that reached the server may have spent budget.
QUERY = unary(
    _S, "Query", dpquery_pb2.QueryRequest, dpquery_pb2.QueryResponse, timeout=QUERY_TIMEOUT_S
)
# A server stream that is never retried: like Query, it may charge the budget.
QUERY_WITH_PROGRESS: Rpc[Any, Any] = Rpc(
    f"/{_S}/QueryWithProgress",
    RpcKind.SERVER_STREAM,
    lambda message: message.SerializeToString(),
    dpquery_pb2.QueryWithProgressResponse.FromString,
    idempotent=False,
    timeout=QUERY_TIMEOUT_S,
)
ESTIMATE_COST = unary(
    _S,
    "EstimateCost",
    dpquery_pb2.EstimateCostRequest,
    dpquery_pb2.EstimateCostResponse,
    idempotent=True,
    timeout=QUERY_TIMEOUT_S,
)


@dataclass(frozen=True)
class PrivacyCost:
    """An (ε, δ) pair: a cost, a budget or what is left of one."""

    epsilon: float
    delta: float

    @staticmethod
    def from_proto(message: dpquery_pb2.PrivacyCost) -> PrivacyCost:
        """From the PrivacyCost message."""
        return PrivacyCost(message.epsilon, message.delta)


@dataclass(frozen=True)
class Dummy:
    """Run on a dummy dataset of ``nb_rows`` rows drawn with ``seed`` (free) instead of the data."""

    nb_rows: int = 100
    seed: int = 42


@dataclass(frozen=True)
class SmartnoiseSqlQuery:
    """SQL on table ``df``; ε and δ per mechanism, ``mechanisms`` overrides per statistic."""

    LIBRARY: ClassVar[str] = "smartnoise_sql"
    query_str: str
    epsilon: float
    delta: float
    mechanisms: Mapping[str, str] = field(default_factory=dict)
    postprocess: bool = True

    def to_proto(self) -> dpquery_pb2.SmartnoiseSqlQuery:
        """The SmartnoiseSqlQuery message."""
        return dpquery_pb2.SmartnoiseSqlQuery(
            query_str=self.query_str,
            epsilon=self.epsilon,
            delta=self.delta,
            mechanisms=dict(self.mechanisms),
            postprocess=self.postprocess,
        )


@dataclass(frozen=True)
class OpenDpQuery:
    """A serialized OpenDP measurement (``legacy``) or polars plan (``polars``)."""

    LIBRARY: ClassVar[str] = "opendp"
    opendp_json: str
    pipeline_type: str = "legacy"
    fixed_delta: float | None = None

    def to_proto(self) -> dpquery_pb2.OpenDpQuery:
        """The OpenDpQuery message."""
        message = dpquery_pb2.OpenDpQuery(
            opendp_json=self.opendp_json, pipeline_type=self.pipeline_type
        )
        if self.fixed_delta is not None:
            message.fixed_delta = self.fixed_delta
        return message


@dataclass(frozen=True)
class DiffprivlibQuery:
    """A diffprivlib pipeline in Veil's safe JSON form, fitted on the named columns."""

    LIBRARY: ClassVar[str] = "diffprivlib"
    pipeline_json: str
    feature_columns: Sequence[str]
    target_columns: Sequence[str] = ()
    test_size: float = 0.2
    test_train_split_seed: int = 1
    imputer_strategy: str = "drop"
    allow_pickle: bool = False
    score_epsilon: float | None = None

    def to_proto(self) -> dpquery_pb2.DiffprivlibQuery:
        """The DiffprivlibQuery message."""
        message = dpquery_pb2.DiffprivlibQuery(
            pipeline_json=self.pipeline_json,
            feature_columns=list(self.feature_columns),
            target_columns=[c for c in self.target_columns if c],
            test_size=self.test_size,
            test_train_split_seed=self.test_train_split_seed,
            imputer_strategy=self.imputer_strategy,
            allow_pickle=self.allow_pickle,
        )
        if self.score_epsilon is not None:
            message.score_epsilon = self.score_epsilon
        return message


@dataclass(frozen=True)
class SmartnoiseSynthQuery:
    """A smartnoise-synth synthesizer fit (``delta`` None: the synthesizer's default)."""

    LIBRARY: ClassVar[str] = "smartnoise_synth"
    synth_name: str
    epsilon: float
    delta: float | None = None
    select_cols: Sequence[str] = ()
    synth_params: Mapping[str, Any] = field(default_factory=dict)
    nullable: bool = True
    constraints: Any = None
    return_model: bool = False
    condition: str = ""
    nb_samples: int = 200

    def to_proto(self) -> dpquery_pb2.SmartnoiseSynthQuery:
        """The SmartnoiseSynthQuery message."""
        constraints_json = (
            self.constraints
            if isinstance(self.constraints, str)
            else (json.dumps(self.constraints) if self.constraints else "")
        )
        message = dpquery_pb2.SmartnoiseSynthQuery(
            synth_name=self.synth_name,
            epsilon=self.epsilon,
            delta=self.delta or 0.0,
            select_cols=list(self.select_cols),
            synth_params_json=json.dumps(dict(self.synth_params)),
            nullable=self.nullable,
            constraints_json=constraints_json,
            return_model=self.return_model,
            condition=self.condition,
            nb_samples=self.nb_samples,
        )
        if self.delta is not None:
            message.explicit_delta = self.delta
        return message


LibraryQuery = SmartnoiseSqlQuery | OpenDpQuery | DiffprivlibQuery | SmartnoiseSynthQuery


def _spec(dataset: str, query: LibraryQuery, dummy: Dummy | None) -> dpquery_pb2.QuerySpec:
    spec = dpquery_pb2.QuerySpec(
        dataset=dataset,
        mode=dpquery_pb2.QUERY_MODE_DUMMY if dummy else dpquery_pb2.QUERY_MODE_PRIVATE,
    )
    if dummy is not None:
        spec.dummy_nb_rows = dummy.nb_rows
        spec.dummy_seed = dummy.seed
    getattr(spec, query.LIBRARY).CopyFrom(query.to_proto())
    return spec


@dataclass(frozen=True)
class ModelBlob:
    """A fitted model as the server sent it (``format``: ``skops`` or ``pickle``)."""

    format: str
    data: bytes
    class_name: str


@dataclass(frozen=True)
class QueryResult:
    """What a library released: a table (Arrow IPC bytes), numbers, a model and/or a score."""

    arrow_ipc: bytes
    values: tuple[float | int | str | None, ...]
    model: ModelBlob | None
    score: float | None


@dataclass(frozen=True)
class QueryAnswer:
    """A query's result, its cost, the budget left and the id of its archive record.

    ``cost`` is charged in private mode; in dummy mode it is what a private run would be charged
    (``charged`` False).
    """

    result: QueryResult
    cost: PrivacyCost
    remaining: PrivacyCost
    query_id: str
    charged: bool = True
    requested_by: str = ""


@dataclass(frozen=True)
class QueryProgress:
    """A progress message of a running query (``DPQueryApi.query(on_progress=...)``).

    A dummy query reports the engine's progress (``phase`` e.g. ``mwem iteration 3 of 30``). A
    private query reports only the time since the charge (``elapsed_s``, on a fixed grid)
    against the server's time limit (``time_limit_s``; ``fraction`` is their ratio): its real
    progress would reveal how long the computation took on the private rows.
    """

    fraction: float
    phase: str
    elapsed_s: float
    time_limit_s: float
    private: bool


@dataclass(frozen=True)
class DatasetSummary:
    """A dataset the caller may query, with the budget left on it."""

    name: str
    num_rows: int
    remaining: PrivacyCost


@dataclass(frozen=True)
class Budget:
    """The (ε, δ) granted on a dataset, spent so far, and left."""

    initial: PrivacyCost
    spent: PrivacyCost
    remaining: PrivacyCost


@dataclass(frozen=True)
class QueryRecord:
    """One archived private query of the caller."""

    id: str
    dataset: str
    library: str
    request_json: str
    cost: PrivacyCost
    created_at: dt.datetime | None
    result_summary: str
    user_name: str = ""
    result: QueryResult | None = None
    """The DP answer as released, when the archive kept it."""


def _result(message: dpquery_pb2.QueryResult) -> QueryResult:
    model = None
    if message.HasField("model") and message.model.data:
        model = ModelBlob(message.model.format, message.model.data, message.model.class_name)
    return QueryResult(
        arrow_ipc=message.arrow_ipc,
        values=tuple(_value(v) for v in message.values),
        model=model,
        score=message.score if message.HasField("score") else None,
    )


def _value(message: dpquery_pb2.Value) -> float | int | str | None:
    kind = message.WhichOneof("kind")
    if kind is None:
        return None
    value: float | int | str = getattr(message, kind)
    return value


class DPQueryApi:
    """DPQueryService: every RPC, with typed arguments and dataclass results."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def list_datasets(self) -> list[DatasetSummary]:
        """The datasets the caller may query."""
        response = self.transport.call(LIST_DATASETS, dpquery_pb2.ListDatasetsRequest())
        return [
            DatasetSummary(d.name, d.num_rows, PrivacyCost.from_proto(d.remaining))
            for d in response.datasets
        ]

    def get_dataset_metadata(self, dataset: str) -> dict[str, Any]:
        """A dataset's metadata (Lomas format)."""
        response = self.transport.call(
            GET_DATASET_METADATA, dpquery_pb2.GetDatasetMetadataRequest(dataset=dataset)
        )
        value: dict[str, Any] = json.loads(response.metadata_json)
        return value

    def get_dummy_dataset(self, dataset: str, nb_rows: int, seed: int) -> pa.Table:
        """A seeded dummy dataset built from the metadata only, as an Arrow table."""
        responses = self.transport.stream(
            GET_DUMMY_DATASET,
            dpquery_pb2.GetDummyDatasetRequest(dataset=dataset, nb_rows=nb_rows, seed=seed),
            timeout=LONG_TIMEOUT_S,
        )
        header, chunks = split_download(responses)
        return read_arrow(chunks, header.header.sha256)

    def get_budget(self, dataset: str) -> Budget:
        """The caller's budget on a dataset."""
        response = self.transport.call(GET_BUDGET, dpquery_pb2.GetBudgetRequest(dataset=dataset))
        return Budget(
            PrivacyCost.from_proto(response.initial),
            PrivacyCost.from_proto(response.spent),
            PrivacyCost.from_proto(response.remaining),
        )

    def list_previous_queries(
        self,
        dataset: str,
        *,
        page_size: int = 0,
        page_token: str = "",
        oldest_first: bool = False,
    ) -> Page[QueryRecord]:
        """The caller's private queries on a dataset with their answers, newest first (or
        oldest first, Lomas's order)."""
        response = self.transport.call(
            LIST_PREVIOUS_QUERIES,
            dpquery_pb2.ListPreviousQueriesRequest(
                dataset=dataset,
                page_size=page_size,
                page_token=page_token,
                oldest_first=oldest_first,
            ),
        )
        records = [
            QueryRecord(
                id=r.id,
                dataset=r.dataset,
                library=r.library,
                request_json=r.request_json,
                cost=PrivacyCost.from_proto(r.cost),
                created_at=timestamp(r.created_at, r.HasField("created_at")),
                result_summary=r.result_summary,
                user_name=r.user_name,
                result=_result(r.result) if r.result_archived else None,
            )
            for r in response.queries
        ]
        return Page(records, response.next_page_token)

    def query(
        self,
        dataset: str,
        query: LibraryQuery,
        dummy: Dummy | None = None,
        *,
        timeout: float | None = None,
        on_progress: Callable[[QueryProgress], None] | None = None,
    ) -> QueryAnswer:
        """Run a query: privately (charged to the budget) or on a dummy dataset (free).

        Args:
            timeout: Deadline in seconds (default one hour). A private query cut short by it
                is refunded only if it was still waiting for an engine; once an engine has the
                private rows it is charged, like any failure after that point (docs/security.md).
            on_progress: Called with each progress message while the query runs (the
                ``QueryWithProgress`` stream); a server without that RPC runs the query
                without progress.
        """
        spec = _spec(dataset, query, dummy)
        if on_progress is not None:
            try:
                return self._stream_query(spec, timeout, on_progress)
            except Unimplemented:
                pass  # an older server: nothing ran (the RPC is unknown to it)
        response = self.transport.call(QUERY, dpquery_pb2.QueryRequest(spec=spec), timeout=timeout)
        return _answer(response)

    def query_with_progress(
        self,
        dataset: str,
        query: LibraryQuery,
        on_progress: Callable[[QueryProgress], None],
        dummy: Dummy | None = None,
        *,
        timeout: float | None = None,
    ) -> QueryAnswer:
        """Run a query through the ``QueryWithProgress`` stream, reporting each progress message.

        Unlike :meth:`query` with ``on_progress``, this does not fall back to a plain ``Query``
        on a server without the RPC: it raises :class:`Unimplemented`, so a caller that needs
        the progress knows it will not get any.

        Args:
            on_progress: Called with each progress message; a private fit reports only a clock
                on a fixed grid (docs/dp.md), never the engine's real progress.
            timeout: Deadline in seconds (default one hour), charged as :meth:`query` says.
        """
        return self._stream_query(_spec(dataset, query, dummy), timeout, on_progress)

    def _stream_query(
        self,
        spec: dpquery_pb2.QuerySpec,
        timeout: float | None,
        on_progress: Callable[[QueryProgress], None],
    ) -> QueryAnswer:
        stream = self.transport.stream(
            QUERY_WITH_PROGRESS, dpquery_pb2.QueryWithProgressRequest(spec=spec), timeout=timeout
        )
        for message in stream:
            if message.HasField("response"):
                return _answer(message.response)
            progress = message.progress
            on_progress(
                QueryProgress(
                    progress.fraction,
                    progress.phase,
                    progress.elapsed_seconds,
                    progress.time_limit_seconds,
                    progress.private,
                )
            )
        raise Unimplemented("QueryWithProgress ended without an answer")  # pragma: no cover

    def estimate_cost(self, dataset: str, query: LibraryQuery) -> PrivacyCost:
        """What a private run of the query would be charged (spends nothing)."""
        response = self.transport.call(
            ESTIMATE_COST, dpquery_pb2.EstimateCostRequest(spec=_spec(dataset, query, None))
        )
        return PrivacyCost.from_proto(response.cost)


def _answer(response: dpquery_pb2.QueryResponse) -> QueryAnswer:
    return QueryAnswer(
        _result(response.result),
        PrivacyCost.from_proto(response.cost),
        PrivacyCost.from_proto(response.remaining),
        response.query_id,
        charged=response.charged,
        requested_by=response.requested_by,
    )
