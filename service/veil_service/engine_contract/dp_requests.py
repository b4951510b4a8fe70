"""Requests and results of the four DP libraries, as plain frozen dataclasses.

These are the vocabulary the server and the engine share: the servicer decodes protobuf into them,
the engine functions take and return them, and nothing here knows about gRPC. Each request class
names its library (``LIBRARY``): the one place the library names are spelled. Privacy parameters
are in the usual units: ``epsilon`` (ε, natural-log privacy loss, > 0) and ``delta`` (δ, a
probability in [0, 1)). Field checks that need no library live here (``validate``), so every
library module can trust them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from veil_service.errors import InvalidArgumentError

if TYPE_CHECKING:
    import pandas as pd

LibraryName = Literal["smartnoise_sql", "opendp", "diffprivlib", "smartnoise_synth"]
PipelineType = Literal["legacy", "polars"]
ModelFormat = Literal["skops", "pickle"]
IMPUTER_STRATEGIES = ("drop", "mean", "median", "most_frequent")
MAX_PIPELINE_JSON_CHARS = 16 * 1024 * 1024


@dataclass(frozen=True)
class SmartnoiseSqlRequest:
    """A smartnoise-sql query on the table ``df``.

    Attributes:
        query: SQL text; the table is called ``df``.
        epsilon: ε given to each mechanism of the query (the total cost is computed by
            smartnoise-sql and is usually a multiple of it).
        delta: δ given to each mechanism.
        mechanisms: Overrides per statistic, e.g. ``{"count": "gaussian"}``; keys among
            ``count, sum_int, sum_large_int, sum_float, threshold``.
        postprocess: Apply smartnoise-sql's postprocessing (rounding, clamping, column names).
    """

    LIBRARY: ClassVar[LibraryName] = "smartnoise_sql"
    TABLE: ClassVar[str] = "df"
    """The name the query gives the dataset."""

    query: str
    epsilon: float
    delta: float
    mechanisms: Mapping[str, str] = field(default_factory=dict)
    postprocess: bool = True

    def validate(self) -> None:
        """Refuse empty queries and out-of-range privacy parameters."""
        if not self.query.strip():
            raise InvalidArgumentError("query must not be empty", field="query")
        check_epsilon(self.epsilon)
        check_delta(self.delta, "delta")


@dataclass(frozen=True)
class OpenDPRequest:
    """An OpenDP measurement: the JSON of its constructor calls, or OpenDP's own JSON.

    Attributes:
        pipeline_json: The serialized measurement (see ``veil_client.dp_serialization``).
        fixed_delta: δ at which to read the ε of zCDP and smoothed-max-divergence measurements;
            must be None for pure-DP (max divergence) measurements' ε-only costs to stay δ = 0.
        pipeline_type: ``legacy`` (a measurement on a header-less CSV string) or ``polars``.
    """

    LIBRARY: ClassVar[LibraryName] = "opendp"

    pipeline_json: str
    fixed_delta: float | None = None
    pipeline_type: PipelineType = "legacy"

    def validate(self) -> None:
        """Refuse empty or oversized pipelines, bad ``fixed_delta`` and unknown types."""
        check_pipeline_json(self.pipeline_json)
        if self.fixed_delta is not None:
            # Lomas accepts δ = 1 (its polars notebook tries a dummy query with it); OpenDP
            # reads ε = 0 there, and the budget refuses a private query that would spend it.
            check_delta(self.fixed_delta, "fixed_delta", one_allowed=True)
        if self.pipeline_type not in ("legacy", "polars"):
            raise InvalidArgumentError(
                f"pipeline_type must be 'legacy' or 'polars', got {self.pipeline_type!r}",
                field="pipeline_type",
            )


@dataclass(frozen=True)
class DiffPrivLibRequest:
    """A diffprivlib (scikit-learn) pipeline to fit and score.

    Attributes:
        pipeline_json: The pipeline in Veil's safe JSON form (``veil_client.dp_serialization``).
        feature_columns: Columns given to the pipeline as X.
        target_columns: Columns given as y; None or empty for unsupervised models (KMeans, PCA).
        test_size: Share of rows held out for the score, in (0, 1).
        test_train_split_seed: Seed of the (non-private) train/test split.
        imputer_strategy: Missing values: ``drop``, ``mean``, ``median``, ``most_frequent``.
        allow_pickle: The caller also accepts the model as a pickle (the server must allow it too).
        score_epsilon: ε for a DP estimate of the held-out score (charged on top); None: no
            score on private data (the raw score on dummy data).
    """

    LIBRARY: ClassVar[LibraryName] = "diffprivlib"

    pipeline_json: str
    feature_columns: tuple[str, ...]
    target_columns: tuple[str, ...] | None = None
    test_size: float = 0.2
    test_train_split_seed: int = 1
    imputer_strategy: str = "drop"
    allow_pickle: bool = False
    score_epsilon: float | None = None

    def validate(self) -> None:
        """Refuse empty columns, a test size out of (0, 1), unknown imputers and a score ε that
        is not a positive finite number."""
        if self.score_epsilon is not None and not (
            isinstance(self.score_epsilon, float | int)
            and math.isfinite(self.score_epsilon)
            and self.score_epsilon > 0
        ):
            raise InvalidArgumentError(
                "score_epsilon must be a positive finite number (or unset for no score)",
                field="score_epsilon",
            )
        check_pipeline_json(self.pipeline_json)
        if not self.feature_columns:
            raise InvalidArgumentError("feature_columns must not be empty", field="feature_columns")
        if not (isinstance(self.test_size, float | int) and 0.0 < self.test_size < 1.0):
            raise InvalidArgumentError("test_size must be in (0, 1)", field="test_size")
        check_seed(self.test_train_split_seed, "test_train_split_seed")
        if self.imputer_strategy not in IMPUTER_STRATEGIES:
            raise InvalidArgumentError(
                f"Imputation strategy {self.imputer_strategy} not supported; use one of "
                f"{', '.join(IMPUTER_STRATEGIES)}",
                field="imputer_strategy",
            )


@dataclass(frozen=True)
class SmartnoiseSynthRequest:
    """A smartnoise-synth synthesizer to fit, then sample from (or return).

    Attributes:
        synth_name: ``mst``, ``aim``, ``mwem``, ``dpctgan``, ``dpgan``, ``patectgan``, ...
        epsilon: ε given to the synthesizer (charged in full).
        delta: δ given to the synthesizer (None: the synthesizer's default; MWEM takes none).
        select_cols: Columns to synthesize; empty means all.
        synth_params: Keyword arguments of the synthesizer (plain JSON values).
        nullable: Columns may be null (transformers keep a null flag).
        constraints: Per-column transformer overrides (smartnoise-synth-logger JSON form).
        return_model: Return the fitted model instead of samples (pickle; needs opt-in).
        condition: Condition on the samples (SQL WHERE text), empty for none.
        nb_samples: Number of sample rows to return.
        allow_pickle: The caller accepts the model as a pickle (the server must allow it too).
    """

    LIBRARY: ClassVar[LibraryName] = "smartnoise_synth"

    synth_name: str
    epsilon: float
    delta: float | None = None
    select_cols: tuple[str, ...] = ()
    synth_params: Mapping[str, Any] = field(default_factory=dict)
    nullable: bool = True
    constraints: Mapping[str, Any] | None = None
    return_model: bool = False
    condition: str = ""
    nb_samples: int = 200
    allow_pickle: bool = False

    def validate(self) -> None:
        """Refuse bad privacy parameters, sample counts and a column selected twice (the fit
        cannot take it, and it failed only after the private data was read and charged)."""
        check_epsilon(self.epsilon)
        if self.delta is not None:
            check_delta(self.delta, "delta")
        twice = sorted({c for c in self.select_cols if self.select_cols.count(c) > 1})
        if twice:
            raise InvalidArgumentError(
                f"select_cols names {', '.join(map(repr, twice))} more than once; list each "
                "column once",
                field="select_cols",
            )
        if not isinstance(self.nb_samples, int) or not 0 < self.nb_samples <= 1_000_000:
            raise InvalidArgumentError(
                "nb_samples must be between 1 and 1,000,000", field="nb_samples"
            )


DPRequest = SmartnoiseSqlRequest | OpenDPRequest | DiffPrivLibRequest | SmartnoiseSynthRequest

REQUEST_TYPES: dict[str, type[DPRequest]] = {
    cls.LIBRARY: cls
    for cls in (SmartnoiseSqlRequest, OpenDPRequest, DiffPrivLibRequest, SmartnoiseSynthRequest)
}
"""Library name (as in the archive, the task parameters and the client) -> request dataclass."""


def library_of(request: DPRequest) -> LibraryName:
    """The library name of a request dataclass.

    Raises:
        InvalidArgumentError: not one of the request dataclasses.
    """
    if type(request) not in REQUEST_TYPES.values():
        raise InvalidArgumentError(
            f"unknown DP request type {type(request).__name__}", field="library"
        )
    return request.LIBRARY


@dataclass(frozen=True)
class CostEstimate:
    """The privacy cost of a request: (ε, δ) as the library accounts it."""

    epsilon: float
    delta: float


@dataclass(frozen=True)
class ModelArtifact:
    """A fitted model in a transport form.

    Attributes:
        format: ``skops`` (safe to load with an allow-list) or ``pickle`` (explicit opt-in only).
        data: The serialized bytes.
        class_name: Fully qualified class, e.g. ``sklearn.pipeline.Pipeline``.
    """

    format: ModelFormat
    data: bytes
    class_name: str


Scalar = int | float | str | bool | None


@dataclass(frozen=True)
class QueryResult:
    """What a query returns: a table and/or values and/or a model.

    Attributes:
        table: A result table (smartnoise-sql rows, synthetic samples).
        values: A flat release (OpenDP scalars or vectors, flattened in order).
        model: A fitted model (diffprivlib; a synthesizer only with pickle opt-in).
        score: Score of a diffprivlib model on the held-out rows.
        spent: The cost the library accounted while running (diffprivlib accountants); None when
            it is, by construction, the estimated cost.
    """

    table: pd.DataFrame | None = None
    values: tuple[Scalar, ...] = ()
    model: ModelArtifact | None = None
    score: float | None = None
    spent: CostEstimate | None = None

    @property
    def kind(self) -> str:
        """Short description of the result's shape (for archives; never contains values)."""
        parts = []
        if self.table is not None:
            parts.append(f"table {self.table.shape[0]}x{self.table.shape[1]}")
        if self.values:
            parts.append(f"{len(self.values)} value(s)")
        if self.model is not None:
            parts.append(f"model {self.model.class_name} ({self.model.format})")
        if self.score is not None:
            parts.append("score")
        return ", ".join(parts) or "empty"


def check_epsilon(epsilon: float) -> None:
    """Refuse an ε that is not a finite number > 0."""
    if (
        isinstance(epsilon, bool)
        or not isinstance(epsilon, float | int)
        or not (math.isfinite(epsilon) and epsilon > 0)
    ):
        raise InvalidArgumentError("epsilon must be a finite number > 0", field="epsilon")


MAX_SEED = 2**32 - 1
"""The largest seed every consumer takes: numpy's legacy ``RandomState``, which scikit-learn and
diffprivlib build from an integer ``random_state``, accepts 0 to 2**32 - 1."""


def check_seed(seed: int, name: str) -> None:
    """Refuse a seed outside [0, :data:`MAX_SEED`] by name.

    The proto fields are int64, so a client can send -1 or 2**40; numpy would refuse either
    deep in the engine (an internal error) instead of here.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise InvalidArgumentError(
            f"{name} must be an integer from 0 to {MAX_SEED}; got {seed}.", field=name
        )


def check_delta(delta: float, name: str, *, one_allowed: bool = False) -> None:
    """Refuse a δ outside [0, 1) (or [0, 1] where the library reads δ = 1 as ε = 0)."""
    too_big = delta > 1 if one_allowed else delta >= 1
    if isinstance(delta, bool) or not isinstance(delta, float | int) or delta < 0 or too_big:
        interval = "[0, 1]" if one_allowed else "[0, 1)"
        raise InvalidArgumentError(f"{name} must be a number in {interval}", field=name)


def check_pipeline_json(text: str) -> None:
    """Refuse empty or oversized serialized pipelines before parsing them."""
    if not text.strip():
        raise InvalidArgumentError("pipeline_json must not be empty", field="pipeline_json")
    if len(text) > MAX_PIPELINE_JSON_CHARS:
        raise InvalidArgumentError(
            f"pipeline_json is larger than {MAX_PIPELINE_JSON_CHARS:,} characters",
            field="pipeline_json",
        )
