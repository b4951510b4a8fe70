"""``DPClient``: one dataset, with the names of Lomas's client (``lomas_client.Client``).

Porting a Lomas script means replacing ``Client(url, user_name, dataset_name)`` with
``Manager(base_url=..., api_key=...).dp(dataset_name)``; the methods keep their names, arguments
and defaults::

    client = manager.dp("PENGUIN")
    client.get_remaining_budget()
    client.smartnoise_sql.cost("SELECT COUNT(*) AS n FROM df", epsilon=0.1, delta=1e-5)
    client.smartnoise_sql.query("SELECT COUNT(*) AS n FROM df", 0.1, 1e-5).result.df
    client.opendp.query(measurement)                  # a real opendp Measurement
    client.diffprivlib.query(pipeline, feature_columns=[...], target_columns=["species"])
    client.smartnoise_synth.query("mst", epsilon=1.0, nb_samples=100).result.df_samples

Privacy units: ε (epsilon) is a privacy loss in natural-log units, δ (delta) a probability. A
private query is charged to your budget on the dataset; ``dummy=True`` runs it on a dummy dataset
built from the metadata (``nb_rows`` rows drawn with ``seed``) for free.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc

from veil_client import dp_serialization
from veil_client.api.common import PAGE_SIZE, collect
from veil_client.api.dpquery import (
    DiffprivlibQuery,
    DPQueryApi,
    Dummy,
    LibraryQuery,
    OpenDpQuery,
    QueryAnswer,
    SmartnoiseSqlQuery,
    SmartnoiseSynthQuery,
)
from veil_client.transport import Transport


def table_from_ipc(data: bytes) -> pa.Table:
    """An Arrow table from a complete IPC stream."""
    return ipc.open_stream(pa.BufferReader(data)).read_all()


def frame_from_arrow(table: pa.Table) -> pd.DataFrame:
    """A DataFrame with pandas' nullable dtypes for strings, booleans and integers with nulls,
    the dtypes the server's dummy generator uses."""
    columns: dict[str, Any] = {}
    for field, column in zip(table.schema, table.columns, strict=True):
        kind = field.type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            columns[field.name] = column.to_pandas().astype("string")
        elif pa.types.is_boolean(kind):
            columns[field.name] = column.to_pandas().astype("boolean")
        elif pa.types.is_integer(kind) and column.null_count:
            bits = kind.bit_width
            columns[field.name] = column.to_pandas().astype(f"Int{bits}")
        else:
            columns[field.name] = column.to_pandas()
    return pd.DataFrame(columns)


@dataclass(frozen=True)
class CostResponse:
    """What a query costs (or cost): ε and δ."""

    epsilon: float
    delta: float


@dataclass(frozen=True)
class InitialBudgetResponse:
    """The budget granted on the dataset."""

    initial_epsilon: float
    initial_delta: float


@dataclass(frozen=True)
class SpentBudgetResponse:
    """The budget spent so far."""

    total_spent_epsilon: float
    total_spent_delta: float


@dataclass(frozen=True)
class RemainingBudgetResponse:
    """The budget left."""

    remaining_epsilon: float
    remaining_delta: float


@dataclass(frozen=True)
class SmartnoiseSQLQueryResult:
    """A smartnoise-sql answer: ``df`` holds the query's columns."""

    df: pd.DataFrame
    res_type: str = "smartnoise_sql"


@dataclass(frozen=True)
class OpenDPQueryResult:
    """An OpenDP release: a number, a list of numbers, a dict for mapping releases, or a
    pandas DataFrame for polars queries (``res_type`` ``opendp_polars``)."""

    value: Any
    res_type: str = "opendp"


@dataclass(frozen=True)
class DiffPrivLibQueryResult:
    """A fitted diffprivlib pipeline and its score on the held-out rows."""

    score: float | None
    model: Any
    res_type: str = "diffprivlib"


@dataclass(frozen=True)
class SmartnoiseSynthModel:
    """A fitted synthesizer (returned only as a pickle, on opt-in by server and caller)."""

    model: Any
    res_type: str = "smartnoise_synth"


@dataclass(frozen=True)
class SmartnoiseSynthSamples:
    """Synthetic rows sampled by the server."""

    df_samples: pd.DataFrame
    res_type: str = "sn_synth_samples"


QueryResult = (
    SmartnoiseSQLQueryResult
    | OpenDPQueryResult
    | DiffPrivLibQueryResult
    | SmartnoiseSynthModel
    | SmartnoiseSynthSamples
)


@dataclass(frozen=True)
class QueryResponse:
    """A query's answer and what it cost.

    Attributes:
        epsilon: ε charged (0 in dummy mode).
        delta: δ charged (0 in dummy mode).
        result: The library's result (see the result classes).
        remaining_epsilon: ε left on the dataset after this query.
        remaining_delta: δ left.
        query_id: Id of the archived query (private mode).
    """

    epsilon: float
    delta: float
    result: QueryResult
    remaining_epsilon: float
    remaining_delta: float
    query_id: str


def _dummy(dummy: bool, nb_rows: int, seed: int) -> Dummy | None:
    return Dummy(nb_rows, seed) if dummy else None


def _frame(arrow_ipc: bytes) -> pd.DataFrame:
    return frame_from_arrow(table_from_ipc(arrow_ipc)) if arrow_ipc else pd.DataFrame()


class _Library:
    def __init__(self, api: DPQueryApi, dataset: str) -> None:
        self._api = api
        self._dataset = dataset

    def _cost(self, query: LibraryQuery) -> CostResponse:
        cost = self._api.estimate_cost(self._dataset, query)
        return CostResponse(cost.epsilon, cost.delta)

    def _query(self, query: LibraryQuery, dummy: Dummy | None) -> QueryAnswer:
        return self._api.query(self._dataset, query, dummy)

    @staticmethod
    def _response(answer: QueryAnswer, result: QueryResult) -> QueryResponse:
        return QueryResponse(
            answer.cost.epsilon,
            answer.cost.delta,
            result,
            answer.remaining.epsilon,
            answer.remaining.delta,
            answer.query_id,
        )


class SmartnoiseSQLClient(_Library):
    """smartnoise-sql queries on table ``df``."""

    @staticmethod
    def _message(
        query: str,
        epsilon: float,
        delta: float,
        mechanisms: dict[str, str] | None,
        postprocess: bool = True,
    ) -> SmartnoiseSqlQuery:
        return SmartnoiseSqlQuery(query, epsilon, delta, dict(mechanisms or {}), postprocess)

    def cost(
        self, query: str, epsilon: float, delta: float, mechanisms: dict[str, str] | None = None
    ) -> CostResponse:
        """What the query would be charged, as smartnoise-sql accounts it.

        Args:
            query: SQL on table ``df``.
            epsilon: ε per mechanism.
            delta: δ per mechanism.
            mechanisms: Overrides per statistic, e.g. ``{"count": "gaussian"}``.
        """
        return self._cost(self._message(query, epsilon, delta, mechanisms))

    def query(
        self,
        query: str,
        epsilon: float,
        delta: float,
        mechanisms: dict[str, str] | None = None,
        postprocess: bool = True,
        dummy: bool = False,
        nb_rows: int = 100,
        seed: int = 42,
    ) -> QueryResponse:
        """Run the query; ``result.df`` holds the answer (columns ``res_0...`` without
        postprocessing)."""
        answer = self._query(
            self._message(query, epsilon, delta, mechanisms, postprocess),
            _dummy(dummy, nb_rows, seed),
        )
        return self._response(answer, SmartnoiseSQLQueryResult(_frame(answer.result.arrow_ipc)))


class OpenDPClient(_Library):
    """OpenDP measurements: legacy pipelines on the dataset as a header-less CSV string, or
    polars queries (a ``polars.LazyFrame`` with ``.dp`` expressions, or a query of an OpenDP
    ``dp.Context`` built on a LazyFrame) run on the dataset as a LazyFrame."""

    @staticmethod
    def _message(
        opendp_pipeline: Any,
        fixed_delta: float | None,
        mechanism: str | None = None,
        pipeline_type: str | None = None,
    ) -> OpenDpQuery:
        if isinstance(opendp_pipeline, str):
            text, kind = opendp_pipeline, pipeline_type or "legacy"
        elif dp_serialization.is_opendp_polars(opendp_pipeline):
            text = dp_serialization.serialize_opendp_polars(opendp_pipeline, mechanism)
            kind = "polars"
        else:
            text = dp_serialization.serialize_opendp_measurement(opendp_pipeline)
            kind = "legacy"
        return OpenDpQuery(text, kind, fixed_delta)

    def cost(
        self,
        opendp_pipeline: Any,
        fixed_delta: float | None = None,
        mechanism: str | None = None,
        pipeline_type: str | None = None,
    ) -> CostResponse:
        """What the measurement would be charged: its privacy map at the dataset's ``max_ids``.

        Args:
            opendp_pipeline: An ``opendp`` Measurement (or its JSON from ``dp.serialize``), a
                ``polars.LazyFrame`` query or an OpenDP context query (``pipeline_type``
                polars), or already serialized text.
            fixed_delta: δ at which ε is read for zCDP and smoothed-max-divergence measurements.
            mechanism: For a bare LazyFrame: ``laplace`` (default) or ``gaussian``.
            pipeline_type: For text only: ``legacy`` (default) or ``polars``.
        """
        return self._cost(self._message(opendp_pipeline, fixed_delta, mechanism, pipeline_type))

    def query(
        self,
        opendp_pipeline: Any,
        fixed_delta: float | None = None,
        dummy: bool = False,
        nb_rows: int = 100,
        seed: int = 42,
        mechanism: str | None = None,
        pipeline_type: str | None = None,
    ) -> QueryResponse:
        """Invoke the measurement; ``result.value`` is the release (a pandas DataFrame for
        polars queries)."""
        message = self._message(opendp_pipeline, fixed_delta, mechanism, pipeline_type)
        answer = self._query(message, _dummy(dummy, nb_rows, seed))
        result = answer.result
        value: Any
        if message.pipeline_type == "polars":
            value = _frame(result.arrow_ipc)
        elif result.arrow_ipc:
            table = table_from_ipc(result.arrow_ipc).to_pydict()
            value = dict(zip(table.get("key", []), table.get("value", []), strict=False))
        else:
            values = list(result.values)
            value = values[0] if len(values) == 1 else values
        res_type = "opendp_polars" if message.pipeline_type == "polars" else "opendp"
        return self._response(answer, OpenDPQueryResult(value, res_type))


class DiffPrivLibClient(_Library):
    """diffprivlib pipelines fitted on the dataset."""

    @staticmethod
    def _message(
        pipeline: Any,
        feature_columns: list[str],
        target_columns: list[str] | None,
        test_size: float,
        test_train_split_seed: int,
        imputer_strategy: str,
        allow_pickle: bool = False,
    ) -> DiffprivlibQuery:
        text = (
            pipeline
            if isinstance(pipeline, str)
            else dp_serialization.serialize_diffprivlib_pipeline(pipeline)
        )
        return DiffprivlibQuery(
            pipeline_json=text,
            feature_columns=list(feature_columns),
            target_columns=[c for c in (target_columns or []) if c],
            test_size=test_size,
            test_train_split_seed=test_train_split_seed,
            imputer_strategy=imputer_strategy,
            allow_pickle=allow_pickle,
        )

    def cost(
        self,
        pipeline: Any,
        feature_columns: list[str] | None = None,
        target_columns: list[str] | None = None,
        test_size: float = 0.2,
        test_train_split_seed: int = 1,
        imputer_strategy: str = "drop",
    ) -> CostResponse:
        """What fitting the pipeline would be charged (Σ of the steps' ε, δ = 0).

        Args:
            pipeline: An sklearn Pipeline of ``diffprivlib.models`` with bounds set.
            feature_columns: Columns used as X.
            target_columns: Columns used as y (None for unsupervised models).
            test_size: Share of rows held out for the score, in (0, 1).
            test_train_split_seed: Seed of the train/test split.
            imputer_strategy: ``drop``, ``mean``, ``median`` or ``most_frequent``.
        """
        return self._cost(
            self._message(
                pipeline,
                feature_columns or [],
                target_columns,
                test_size,
                test_train_split_seed,
                imputer_strategy,
            ),
        )

    def query(
        self,
        pipeline: Any,
        feature_columns: list[str],
        target_columns: list[str] | None = None,
        test_size: float = 0.2,
        test_train_split_seed: int = 1,
        imputer_strategy: str = "drop",
        dummy: bool = False,
        nb_rows: int = 100,
        seed: int = 42,
        allow_pickle: bool = False,
    ) -> QueryResponse:
        """Fit the pipeline; ``result.model`` is the fitted pipeline, ``result.score`` its score.

        The model travels as skops (loaded trusting only diffprivlib/sklearn types); pass
        ``allow_pickle=True`` to accept a pickle from a server that allows it.
        """
        answer = self._query(
            self._message(
                pipeline,
                feature_columns,
                target_columns,
                test_size,
                test_train_split_seed,
                imputer_strategy,
                allow_pickle,
            ),
            _dummy(dummy, nb_rows, seed),
        )
        blob = answer.result.model
        model = None
        if blob is not None:
            model = dp_serialization.load_model(blob.data, blob.format, allow_pickle=allow_pickle)
        return self._response(answer, DiffPrivLibQueryResult(answer.result.score, model))


class SmartnoiseSynthClient(_Library):
    """smartnoise-synth synthesizers fitted on the dataset."""

    @staticmethod
    def _message(
        synth_name: str,
        epsilon: float,
        delta: float | None,
        select_cols: list[str],
        synth_params: dict[str, Any],
        nullable: bool,
        constraints: Any,
        return_model: bool = False,
        condition: str = "",
        nb_samples: int = 200,
    ) -> SmartnoiseSynthQuery:
        return SmartnoiseSynthQuery(
            synth_name=synth_name,
            epsilon=epsilon,
            delta=delta,
            select_cols=list(select_cols),
            synth_params=dict(synth_params or {}),
            nullable=nullable,
            constraints=constraints,
            return_model=return_model,
            condition=condition,
            nb_samples=nb_samples,
        )

    def cost(
        self,
        synth_name: str,
        epsilon: float,
        delta: float | None = None,
        select_cols: list[str] | None = None,
        synth_params: dict[str, Any] | None = None,
        nullable: bool = True,
        constraints: Any = None,
    ) -> CostResponse:
        """What fitting the synthesizer would be charged (the ε and δ it is given).

        Args:
            synth_name: ``mst``, ``aim``, ``mwem``, ``pacsynth``, ``dpctgan``, ``dpgan``.
            epsilon: ε given to the synthesizer.
            delta: δ given to it (None: its default, where that does not depend on the data).
            select_cols: Columns to synthesize (empty: all).
            synth_params: The synthesizer's keyword arguments.
            nullable: Columns may be null.
            constraints: Per-column transformers, as a JSON-ready dict.
        """
        return self._cost(
            self._message(
                synth_name,
                epsilon,
                delta,
                select_cols or [],
                synth_params or {},
                nullable,
                constraints,
            ),
        )

    def query(
        self,
        synth_name: str,
        epsilon: float,
        delta: float | None = None,
        select_cols: list[str] | None = None,
        synth_params: dict[str, Any] | None = None,
        nullable: bool = True,
        constraints: Any = None,
        dummy: bool = False,
        return_model: bool = False,
        condition: str = "",
        nb_samples: int = 200,
        nb_rows: int = 100,
        seed: int = 42,
    ) -> QueryResponse:
        """Fit the synthesizer; ``result.df_samples`` holds ``nb_samples`` rows (optionally
        meeting ``condition``), or ``result.model`` the model when ``return_model=True`` (a
        pickle: the server must allow it, and asking for it is your opt-in)."""
        answer = self._query(
            self._message(
                synth_name,
                epsilon,
                delta,
                select_cols or [],
                synth_params or {},
                nullable,
                constraints,
                return_model,
                condition,
                nb_samples,
            ),
            _dummy(dummy, nb_rows, seed),
        )
        if return_model:
            blob = answer.result.model
            model = (
                dp_serialization.load_model(blob.data, blob.format, allow_pickle=True)
                if blob is not None
                else None
            )
            return self._response(answer, SmartnoiseSynthModel(model))
        return self._response(answer, SmartnoiseSynthSamples(_frame(answer.result.arrow_ipc)))


class DPClient:
    """One DP dataset, with Lomas client's methods (see the module docstring).

    Args:
        transport: The Manager's connection.
        dataset: Dataset name, e.g. ``PENGUIN``.
    """

    def __init__(self, transport: Transport, dataset: str) -> None:
        self.dataset_name = dataset
        self._api = DPQueryApi(transport)
        self.smartnoise_sql = SmartnoiseSQLClient(self._api, dataset)
        self.opendp = OpenDPClient(self._api, dataset)
        self.diffprivlib = DiffPrivLibClient(self._api, dataset)
        self.smartnoise_synth = SmartnoiseSynthClient(self._api, dataset)

    def get_dataset_metadata(self) -> dict[str, Any]:
        """The dataset's metadata (Lomas format: max_ids, rows, row_privacy, columns)."""
        return self._api.get_dataset_metadata(self.dataset_name)

    def get_dummy_dataset(self, nb_rows: int = 100, seed: int = 42) -> pd.DataFrame:
        """A dummy dataset built from the metadata only: same columns, types, bounds and
        categories, random values; same seed, same table."""
        return frame_from_arrow(self._api.get_dummy_dataset(self.dataset_name, nb_rows, seed))

    def get_initial_budget(self) -> InitialBudgetResponse:
        """The (ε, δ) granted on the dataset."""
        budget = self._api.get_budget(self.dataset_name)
        return InitialBudgetResponse(budget.initial.epsilon, budget.initial.delta)

    def get_total_spent_budget(self) -> SpentBudgetResponse:
        """The (ε, δ) spent so far."""
        budget = self._api.get_budget(self.dataset_name)
        return SpentBudgetResponse(budget.spent.epsilon, budget.spent.delta)

    def get_remaining_budget(self) -> RemainingBudgetResponse:
        """The (ε, δ) left."""
        budget = self._api.get_budget(self.dataset_name)
        return RemainingBudgetResponse(budget.remaining.epsilon, budget.remaining.delta)

    def get_previous_queries(self) -> list[dict[str, Any]]:
        """Your private queries on the dataset, newest first: library, request, cost, time,
        and the result's shape."""
        out = []
        records = collect(
            lambda token: self._api.list_previous_queries(
                self.dataset_name, page_size=PAGE_SIZE, page_token=token
            )
        )
        for record in records:
            request = json.loads(record.request_json)
            out.append(
                {
                    "id": record.id,
                    "dataset_name": record.dataset,
                    "dp_library": record.library,
                    "client_input": request.get("request", request),
                    "epsilon": record.cost.epsilon,
                    "delta": record.cost.delta,
                    "timestamp": record.created_at.timestamp() if record.created_at else 0.0,
                    "result_summary": record.result_summary,
                }
            )
        return out
