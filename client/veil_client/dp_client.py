"""``DPClient``: one dataset, with the names of Lomas's client (``lomas_client.Client``).

Porting a Lomas script means replacing ``Client(url, user_name, dataset_name)`` with
``Manager(base_url=..., api_key=...).dp(dataset_name)`` (or ``veil_client.lomas.Client``, which
keeps Lomas's constructor); the methods keep their names, positional order and defaults, and
raise Lomas's exception classes (``veil_client.lomas_errors``). ``dummy`` is keyword-only: a
dummy run must never be mistaken for a private one by position. Importing this module enables
OpenDP's ``contrib`` features, as importing ``lomas_client`` does::

    client = manager.dp("PENGUIN")
    client.get_remaining_budget()
    client.smartnoise_sql.cost("SELECT COUNT(*) AS n FROM df", epsilon=0.1, delta=1e-5)
    client.smartnoise_sql.query("SELECT COUNT(*) AS n FROM df", 0.1, 1e-5).result.df
    client.opendp.query(measurement)                  # a real opendp Measurement
    client.diffprivlib.query(pipeline, feature_columns=[...], target_columns=["species"])
    client.smartnoise_synth.query("mst", epsilon=1.0, nb_samples=100).result.df_samples

Privacy units: ε (epsilon) is a privacy loss in natural-log units, δ (delta) a probability. A
private query is charged to your budget on the dataset; ``dummy=True`` runs it on a dummy dataset
built from the metadata (``nb_rows`` rows drawn with ``seed``) for free, and its answer shows what
the private run would be charged (``charged`` is False).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import util as importlib_util
from typing import Any, ParamSpec, TypeVar

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
    QueryProgress,
    SmartnoiseSqlQuery,
    SmartnoiseSynthQuery,
)
from veil_client.errors import VeilError
from veil_client.lomas_errors import as_lomas
from veil_client.progress import synth_progress
from veil_client.transport import Transport

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _enable_opendp_contrib() -> None:
    """Enable OpenDP's ``contrib`` features, as ``import lomas_client`` does (when installed)."""
    if importlib_util.find_spec("opendp") is None:
        return
    import opendp.prelude as dp

    dp.enable_features("contrib")


_enable_opendp_contrib()


def _lomas_errors(
    library: str | None,
) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """Raise Lomas's exception classes (``veil_client.lomas_errors``) from the wrapped call."""

    def decorate(method: Callable[_P, _R]) -> Callable[_P, _R]:
        @functools.wraps(method)
        def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            try:
                return method(*args, **kwargs)
            except VeilError as error:
                converted = as_lomas(error, library)
                if converted is error:
                    raise
                raise converted from error.__cause__

        return wrapper

    return decorate


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


class _ByKey:
    """Read a result's fields by key too (``result["model"]``): lomas_client's archive returns
    results as dicts, and its integration tests index them so."""

    def __getitem__(self, key: str) -> Any:
        if key not in getattr(self, "__dataclass_fields__", {}):
            raise KeyError(key)
        return getattr(self, key)


@dataclass(frozen=True)
class SmartnoiseSQLQueryResult(_ByKey):
    """A smartnoise-sql answer: ``df`` holds the query's columns."""

    df: pd.DataFrame
    res_type: str = "smartnoise_sql"


@dataclass(frozen=True)
class OpenDPQueryResult(_ByKey):
    """An OpenDP release: a number, a list of numbers, a dict for mapping releases, or a
    pandas DataFrame for polars queries (``res_type`` ``opendp_polars``)."""

    value: Any
    res_type: str = "opendp"


@dataclass(frozen=True)
class DiffPrivLibQueryResult(_ByKey):
    """A fitted diffprivlib pipeline and its score on the held-out rows."""

    score: float | None
    model: Any
    res_type: str = "diffprivlib"


@dataclass(frozen=True)
class SmartnoiseSynthModel(_ByKey):
    """A fitted synthesizer (returned only as a pickle, on opt-in by server and caller)."""

    model: Any
    res_type: str = "smartnoise_synth"


@dataclass(frozen=True)
class SmartnoiseSynthSamples(_ByKey):
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
    """A query's answer and what it costs (Lomas's ``QueryResponse`` and more).

    Attributes:
        epsilon: The query's ε: charged in private mode; in dummy mode what a private run would
            be charged (not charged: see ``charged``), as Lomas shows it.
        delta: The query's δ, likewise.
        requested_by: Your username.
        result: The library's result (see the result classes).
        remaining_epsilon: ε left on the dataset after this query.
        remaining_delta: δ left.
        query_id: Id of the archived query (private mode).
        charged: True when ``epsilon``/``delta`` were charged to your budget (private mode).
    """

    epsilon: float
    delta: float
    requested_by: str
    result: QueryResult
    remaining_epsilon: float
    remaining_delta: float
    query_id: str
    charged: bool


class NaNAnswerWarning(UserWarning):
    """A smartnoise-sql answer holds NaN; the warning says what the query was charged."""


def _dummy(dummy: bool, nb_rows: int, seed: int) -> Dummy | None:
    return Dummy(nb_rows, seed) if dummy else None


def _frame(arrow_ipc: bytes) -> pd.DataFrame:
    return frame_from_arrow(table_from_ipc(arrow_ipc)) if arrow_ipc else pd.DataFrame()


def _polars_frame(arrow_ipc: bytes) -> Any:
    """A polars DataFrame (what Lomas returns for OpenDP polars queries)."""
    import polars as pl

    return pl.from_arrow(table_from_ipc(arrow_ipc)) if arrow_ipc else pl.DataFrame()


def _constraints(constraints: Any) -> Any:
    """Constraints as the wire takes them: transformer objects are serialized here."""
    if isinstance(constraints, Mapping) and any(
        type(value).__module__.startswith("snsynth") for value in constraints.values()
    ):
        return dp_serialization.serialize_synth_constraints(constraints)
    return constraints


class _Library:
    LIBRARY = ""

    def __init__(self, api: DPQueryApi, dataset: str) -> None:
        self._api = api
        self._dataset = dataset

    def _cost(self, query: LibraryQuery) -> CostResponse:
        try:
            cost = self._api.estimate_cost(self._dataset, query)
        except VeilError as error:
            raise as_lomas(error, self.LIBRARY) from error.__cause__
        return CostResponse(cost.epsilon, cost.delta)

    def _query(
        self,
        query: LibraryQuery,
        dummy: Dummy | None,
        on_progress: Callable[[QueryProgress], None] | None = None,
    ) -> QueryAnswer:
        try:
            return self._api.query(self._dataset, query, dummy, on_progress=on_progress)
        except VeilError as error:
            raise as_lomas(error, self.LIBRARY) from error.__cause__

    @staticmethod
    def _response(answer: QueryAnswer, result: QueryResult) -> QueryResponse:
        return QueryResponse(
            answer.cost.epsilon,
            answer.cost.delta,
            answer.requested_by,
            result,
            answer.remaining.epsilon,
            answer.remaining.delta,
            answer.query_id,
            answer.charged,
        )


class SmartnoiseSQLClient(_Library):
    """smartnoise-sql queries on table ``df``."""

    LIBRARY = SmartnoiseSqlQuery.LIBRARY

    @staticmethod
    @_lomas_errors(SmartnoiseSqlQuery.LIBRARY)  # client-side refusals too: Lomas's classes
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
        *,
        dummy: bool = False,
        nb_rows: int = 100,
        seed: int = 42,
        nan_retries: int = 0,
    ) -> QueryResponse:
        """Run the query; ``result.df`` holds the answer (columns ``res_0...`` without
        postprocessing). Lomas's positional order; ``dummy`` and what follows are keywords.

        A noisy answer can be NaN (e.g. an average whose noisy count is not positive when ε is
        small). Lomas then runs the query again, up to 5 more times, and charges one run: each
        run is a release of the private rows, so it spends budget Lomas does not count. Veil
        charges every run: with ``nan_retries=n`` the query is run again (and charged again) up
        to ``n`` times while the answer holds NaN; ``epsilon``/``delta`` of the response are the
        total charged. An answer still holding NaN is returned with a
        :class:`NaNAnswerWarning` that says what was charged: never silently. A dummy query
        costs nothing, so it is rerun up to 5 times at least, as Lomas does.
        """
        if isinstance(nan_retries, bool) or not isinstance(nan_retries, int) or nan_retries < 0:
            raise ValueError("nan_retries must be a non-negative integer")
        message = self._message(query, epsilon, delta, mechanisms, postprocess)
        charged_epsilon = charged_delta = 0.0
        runs = 0
        while True:
            answer = self._query(message, _dummy(dummy, nb_rows, seed))
            runs += 1
            charged_epsilon += answer.cost.epsilon
            charged_delta += answer.cost.delta
            frame = _frame(answer.result.arrow_ipc)
            nan_columns = [str(c) for c in frame.columns if frame[c].isna().any()]
            if not nan_columns or runs > (max(nan_retries, 5) if dummy else nan_retries):
                break
        response = self._response(answer, SmartnoiseSQLQueryResult(frame))
        response = dataclasses.replace(response, epsilon=charged_epsilon, delta=charged_delta)
        if nan_columns:
            what = "would be charged" if dummy else "was charged"
            warnings.warn(
                NaNAnswerWarning(
                    f"smartnoise-sql answered NaN in column(s) {', '.join(nan_columns)}: epsilon "
                    f"and delta are too small to generate output for this query. The query {what} "
                    f"epsilon={charged_epsilon!r}, delta={charged_delta!r} for {runs} "
                    "run(s). Raise epsilon, or pass nan_retries=n to run it again (each run is "
                    "charged; Lomas retries up to 5 times and charges one)."
                ),
                stacklevel=2,
            )
        return response


class OpenDPClient(_Library):
    """OpenDP measurements: legacy pipelines on the dataset as a header-less CSV string, or
    polars queries (a ``polars.LazyFrame`` with ``.dp`` expressions, or a query of an OpenDP
    ``dp.Context`` built on a LazyFrame) run on the dataset as a LazyFrame."""

    LIBRARY = OpenDpQuery.LIBRARY

    @staticmethod
    @_lomas_errors(OpenDpQuery.LIBRARY)  # client-side refusals too: Lomas's classes
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
        mechanism: str | None = None,
        *,
        dummy: bool = False,
        nb_rows: int = 100,
        seed: int = 42,
        pipeline_type: str | None = None,
    ) -> QueryResponse:
        """Invoke the measurement; ``result.value`` is the release (a polars DataFrame for
        polars queries, as in Lomas). Lomas's positional order (pipeline, fixed_delta,
        mechanism); ``dummy`` and what follows are keywords."""
        message = self._message(opendp_pipeline, fixed_delta, mechanism, pipeline_type)
        answer = self._query(message, _dummy(dummy, nb_rows, seed))
        result = answer.result
        value: Any
        if message.pipeline_type == "polars":
            value = _polars_frame(result.arrow_ipc)
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

    LIBRARY = DiffprivlibQuery.LIBRARY

    @staticmethod
    @_lomas_errors(DiffprivlibQuery.LIBRARY)  # client-side refusals too: Lomas's classes
    def _message(
        pipeline: Any,
        feature_columns: list[str],
        target_columns: list[str] | None,
        test_size: float,
        test_train_split_seed: int,
        imputer_strategy: str,
        allow_pickle: bool = False,
        score_epsilon: float | None = None,
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
            score_epsilon=score_epsilon,
        )

    def cost(
        self,
        pipeline: Any,
        feature_columns: list[str] | None = None,
        target_columns: list[str] | None = None,
        test_size: float = 0.2,
        test_train_split_seed: int = 1,
        imputer_strategy: str = "drop",
        *,
        score_epsilon: float | None = None,
    ) -> CostResponse:
        """What fitting the pipeline would be charged (Σ of the steps' ε, plus
        ``score_epsilon``; δ = 0).

        Args:
            pipeline: An sklearn Pipeline of ``diffprivlib.models`` with bounds set.
            feature_columns: Columns used as X.
            target_columns: Columns used as y (None for unsupervised models).
            test_size: Share of rows held out for the score, in (0, 1).
            test_train_split_seed: Seed of the train/test split.
            imputer_strategy: ``drop``, ``mean``, ``median`` or ``most_frequent``.
            score_epsilon: ε for a DP estimate of the held-out score (see :meth:`query`).
        """
        return self._cost(
            self._message(
                pipeline,
                feature_columns or [],
                target_columns,
                test_size,
                test_train_split_seed,
                imputer_strategy,
                score_epsilon=score_epsilon,
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
        *,
        dummy: bool = False,
        nb_rows: int = 100,
        seed: int = 42,
        allow_pickle: bool = False,
        score_epsilon: float | None = None,
    ) -> QueryResponse:
        """Fit the pipeline; ``result.model`` is the fitted pipeline, ``result.score`` its score.

        The score differs from Lomas's on private data: Lomas returns the model's exact score on
        the held-out private rows, a release without noise. Veil returns no score unless
        ``score_epsilon`` is given; then ``result.score`` is a differentially private estimate
        of the held-out accuracy (classifiers only), and ``score_epsilon`` is charged on top of
        the pipeline's cost. In dummy mode the raw score on the dummy rows is returned (free).

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
                score_epsilon,
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

    LIBRARY = SmartnoiseSynthQuery.LIBRARY

    @staticmethod
    @_lomas_errors(SmartnoiseSynthQuery.LIBRARY)  # client-side refusals too: Lomas's classes
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
            constraints=_constraints(constraints),
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
            synth_name: ``mst``, ``aim``, ``mwem``, ``pacsynth``, ``dpctgan``, ``dpgan``,
                ``pategan`` (``patectgan`` is refused: not DP in smartnoise-synth 1.0.8).
            epsilon: ε given to the synthesizer.
            delta: δ given to it (None: its default, computed from the metadata's ``rows`` for
                the GANs as Lomas does; 0 means zero).
            select_cols: Columns to synthesize (empty: all).
            synth_params: The synthesizer's keyword arguments.
            nullable: Columns may be null.
            constraints: Per-column transformers: ``snsynth.transform`` objects
                (``{"sex": ChainTransformer([LabelTransformer(), OneHotEncoder()])}``), a
                JSON-ready dict, or Lomas's serialized string.
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
        *,
        dummy: bool = False,
        return_model: bool = False,
        condition: str = "",
        nb_samples: int = 200,
        nb_rows: int = 100,
        seed: int = 42,
        progress: bool | Callable[[QueryProgress], None] | None = None,
    ) -> QueryResponse:
        """Fit the synthesizer; ``result.df_samples`` holds ``nb_samples`` rows (optionally
        meeting ``condition``), or ``result.model`` the model when ``return_model=True`` (a
        pickle: the server must allow it, and asking for it is your opt-in).

        ``progress``: None shows a progress bar when someone watches (a terminal or Jupyter),
        True always, False never; a callable receives each ``QueryProgress`` instead. A dummy
        fit shows its real progress (MWEM's iterations, a GAN's epochs); a private fit shows
        only the time since the charge against the server's time limit, since its real
        progress would reveal how long it took on the private rows (docs/dp.md).
        """
        with synth_progress(synth_name, progress) as on_progress:
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
                on_progress,
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

    @_lomas_errors(None)
    def get_dataset_metadata(self) -> dict[str, Any]:
        """The dataset's metadata (Lomas format: max_ids, rows, row_privacy, columns)."""
        return self._api.get_dataset_metadata(self.dataset_name)

    @_lomas_errors(None)
    def get_dummy_dataset(self, nb_rows: int = 100, seed: int = 42, lazy: bool = False) -> Any:
        """A dummy dataset built from the metadata only: same columns, types, bounds and
        categories, random values (nulls where the metadata says nullable); same seed, same
        table.

        Args:
            nb_rows: Rows, 1 to 1,000,000.
            seed: 0 to 2**32 - 1 (the range numpy's and scikit-learn's seeded generators take).
            lazy: Return a polars LazyFrame instead of a pandas DataFrame.

        Raises:
            InvalidArgument: ``nb_rows`` or ``seed`` out of range (``field`` names it).

        Returns:
            A pandas DataFrame, or a polars LazyFrame with ``lazy=True`` (for OpenDP polars
            plans).
        """
        table = self._api.get_dummy_dataset(self.dataset_name, nb_rows, seed)
        if lazy:
            import polars as pl

            frame = pl.from_arrow(table)
            assert isinstance(frame, pl.DataFrame)
            return frame.lazy()
        return frame_from_arrow(table)

    def get_dummy_lf(self, nb_rows: int = 100, seed: int = 42) -> Any:
        """The dummy dataset as a polars LazyFrame, to build OpenDP polars plans on (Lomas's
        ``get_dummy_lf``)."""
        return self.get_dummy_dataset(nb_rows, seed, lazy=True)

    @_lomas_errors(None)
    def get_initial_budget(self) -> InitialBudgetResponse:
        """The (ε, δ) granted on the dataset."""
        budget = self._api.get_budget(self.dataset_name)
        return InitialBudgetResponse(budget.initial.epsilon, budget.initial.delta)

    @_lomas_errors(None)
    def get_total_spent_budget(self) -> SpentBudgetResponse:
        """The (ε, δ) spent so far."""
        budget = self._api.get_budget(self.dataset_name)
        return SpentBudgetResponse(budget.spent.epsilon, budget.spent.delta)

    @_lomas_errors(None)
    def get_remaining_budget(self) -> RemainingBudgetResponse:
        """The (ε, δ) left."""
        budget = self._api.get_budget(self.dataset_name)
        return RemainingBudgetResponse(budget.remaining.epsilon, budget.remaining.delta)

    @_lomas_errors(None)
    def get_previous_queries(self, allow_pickle: bool = False) -> list[dict[str, Any]]:
        """Your private queries on the dataset, oldest first, as Lomas returns them.

        Each is a dict with ``user_name``, ``dataset_name``, ``dp_library`` (and Lomas 0.4's
        spelling ``dp_librairy``), ``client_input`` (the request under Lomas's keys),
        ``response`` (``epsilon``, ``delta``, ``requested_by`` and ``result``, the DP answer as
        released, rebuilt like a query's; None when the archive did not keep it: a failed query,
        or an answer over the archive's size limit) and ``timestamp``; plus Veil's ``id``,
        ``epsilon``, ``delta`` (what was charged) and ``result_summary``.

        Args:
            allow_pickle: Rebuild archived pickled models (only from a server you trust);
                otherwise they stay as a ``ModelBlob``.
        """
        out = []
        records = collect(
            lambda token: self._api.list_previous_queries(
                self.dataset_name, page_size=PAGE_SIZE, page_token=token, oldest_first=True
            )
        )
        for record in records:
            request = json.loads(record.request_json)
            library = record.library
            response = None
            if record.result is not None:
                response = {
                    "epsilon": record.cost.epsilon,
                    "delta": record.cost.delta,
                    "requested_by": record.user_name,
                    "result": _archived_result(library, request, record.result, allow_pickle),
                }
            out.append(
                {
                    "user_name": record.user_name,
                    "dataset_name": record.dataset,
                    "dp_library": library,
                    "dp_librairy": library,
                    "client_input": _lomas_client_input(
                        library, record.dataset, request.get("request", request)
                    ),
                    "response": response,
                    "timestamp": record.created_at.timestamp() if record.created_at else 0.0,
                    "id": record.id,
                    "epsilon": record.cost.epsilon,
                    "delta": record.cost.delta,
                    "result_summary": record.result_summary,
                }
            )
        return out


_LOMAS_KEYS = {
    SmartnoiseSqlQuery.LIBRARY: {"query": "query_str"},
    OpenDpQuery.LIBRARY: {"pipeline_json": "opendp_json"},
    DiffprivlibQuery.LIBRARY: {"pipeline_json": "diffprivlib_json"},
    SmartnoiseSynthQuery.LIBRARY: {},
}
"""Veil request field -> Lomas request key, per library (the other keys are the same)."""


def _lomas_client_input(library: str, dataset: str, request: dict[str, Any]) -> dict[str, Any]:
    """An archived request under Lomas's keys (``dataset_name``, ``query_str``, ...)."""
    renames = _LOMAS_KEYS.get(library, {})
    out: dict[str, Any] = {"dataset_name": dataset}
    for key, value in request.items():
        out[renames.get(key, key)] = value
    return out


def _archived_result(
    library: str, request: dict[str, Any], result: Any, allow_pickle: bool
) -> QueryResult | None:
    """An archived answer rebuilt as the result class its query returned."""
    inner = request.get("request", request)
    if library == SmartnoiseSqlQuery.LIBRARY:
        return SmartnoiseSQLQueryResult(_frame(result.arrow_ipc))
    if library == OpenDpQuery.LIBRARY:
        if inner.get("pipeline_type") == "polars":
            return OpenDPQueryResult(_polars_frame(result.arrow_ipc), "opendp_polars")
        if result.arrow_ipc:
            table = table_from_ipc(result.arrow_ipc).to_pydict()
            pairs = zip(table.get("key", []), table.get("value", []), strict=False)
            return OpenDPQueryResult(dict(pairs))
        values = list(result.values)
        return OpenDPQueryResult(values[0] if len(values) == 1 else values)
    model: Any = result.model
    if model is not None and (model.format != "pickle" or allow_pickle):
        model = dp_serialization.load_model(model.data, model.format, allow_pickle=allow_pickle)
    if library == DiffprivlibQuery.LIBRARY:
        return DiffPrivLibQueryResult(result.score, model)
    if inner.get("return_model"):
        return SmartnoiseSynthModel(model)
    return SmartnoiseSynthSamples(_frame(result.arrow_ipc))
