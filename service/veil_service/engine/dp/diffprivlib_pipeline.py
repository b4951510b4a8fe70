"""diffprivlib pipelines: cost, fit on the training split, score on the held-out rows.

The cost of a diffprivlib pipeline is the sum of what each step's ``BudgetAccountant`` records when
it is fitted (Lomas's rule). For the allow-listed models that is each step's ``epsilon`` and δ = 0,
known before fitting, so :func:`estimate_cost` reads the parameters and never touches data.
:func:`execute` fits with one fresh accountant per step and checks the recorded spend against the
estimate; a pipeline that spent more than it was charged is withheld (fail closed).

The score on the held-out rows: Lomas returns the model's exact score computed on private rows, a
release without noise outside the DP guarantee. Veil returns no score from private data unless the
request gives ``score_epsilon``; then the score is a DP estimate of the held-out accuracy
(classifiers only): a noisy count of correct predictions over a noisy count of held-out rows,
each with diffprivlib's Laplace mechanism at ``score_epsilon / 2`` and sensitivity 1 (one row
changes each count by at most one; neither count is treated as public), clipped to [0, 1], and
``score_epsilon`` is charged on top of the pipeline's cost. On dummy data the raw score is
returned (the data is public).

A ``PrivacyLeakWarning`` (diffprivlib falling back to bounds read from the data) blocks the query:
the release would not be differentially private. Missing values are imputed from the metadata
only (see :func:`impute`), unlike Lomas, which computed exact means on the private data.
"""

from __future__ import annotations

import math
import pickle
import warnings
from typing import Any

import numpy as np
import pandas as pd
from diffprivlib.accountant import BudgetAccountant
from diffprivlib.mechanisms import Laplace
from diffprivlib.utils import DiffprivlibCompatibilityWarning, PrivacyLeakWarning
from sklearn.base import is_classifier
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from veil_service.engine.dp.diffprivlib_json import PipelineStep, build_pipeline, parse_pipeline
from veil_service.engine.dp.diffprivlib_shape import check_pipeline_shape
from veil_service.engine.dp.skops_import import skops_dumps
from veil_service.engine_contract.dp_metadata import ColumnMetadata, Metadata
from veil_service.engine_contract.dp_requests import (
    CostEstimate,
    DiffPrivLibRequest,
    ModelArtifact,
    QueryResult,
)
from veil_service.errors import InvalidArgumentError, Reason, VeilServiceError

SPEND_TOLERANCE = 1e-9


def estimate_cost(request: DiffPrivLibRequest, metadata: Metadata) -> CostEstimate:
    """The (ε, δ) the pipeline's accountants will record: Σ step ε, δ = 0.

    Args:
        request: The serialized pipeline and its columns.
        metadata: Metadata of the dataset (columns are checked against it).

    Raises:
        InvalidArgumentError: Bad pipeline JSON, classes or parameters, unknown columns.
    """
    request.validate()
    steps = parse_pipeline(request.pipeline_json)
    _check_columns(request, metadata)
    _check_split(request, metadata)
    _check_no_leak(steps)
    # Instantiating checks parameter values (cheap, no data) before anything is spent.
    pipeline = build_pipeline(steps, [BudgetAccountant() for _ in steps])
    check_pipeline_shape(pipeline, request.feature_columns, request.target_columns or ())
    if request.score_epsilon is not None and not is_classifier(pipeline):
        raise InvalidArgumentError(
            "score_epsilon gives a DP estimate of a classifier's held-out accuracy; this "
            f"pipeline ends with {type(pipeline.steps[-1][1]).__name__}, not a classifier. Leave "
            "score_epsilon unset (no score), or use dummy mode to see the raw score on dummy rows",
            field="score_epsilon",
        )
    return CostEstimate(
        epsilon=sum(step.epsilon for step in steps) + (request.score_epsilon or 0.0), delta=0.0
    )


def execute(
    request: DiffPrivLibRequest,
    df: pd.DataFrame,
    metadata: Metadata,
    *,
    seed: int | None = None,
    allow_pickle: bool = False,
    show_library_errors: bool = False,
) -> QueryResult:
    """Fit the pipeline on the training rows and score it on the test rows.

    Args:
        request: The pipeline, columns, split and imputation.
        df: The dataset (private or dummy).
        metadata: Metadata of the dataset.
        seed: ``random_state`` for steps that leave it unset. Dummy mode only: a known seed
            makes the noise predictable. None means private data: every step's
            ``random_state`` is then reset to None, whatever the request says.
        allow_pickle: The server allows pickled models; a pickle is returned only if the
            request's ``allow_pickle`` is set too. Otherwise the model is skops bytes.
        show_library_errors: Put the library's message in errors (dummy data only: on private
            data a message may quote values).

    Returns:
        ``score`` (the pipeline's ``score`` on the test rows, None if it has none), ``model``
        and ``spent`` (the accountants' total).

    Raises:
        InvalidArgumentError: The pipeline is refused, a PrivacyLeakWarning was raised, or the
            fit failed.
        VeilServiceError: The accountants recorded more than the estimate (result withheld).
    """
    estimate = estimate_cost(request, metadata)
    steps = parse_pipeline(request.pipeline_json)
    features, targets = list(request.feature_columns), list(request.target_columns or ())
    data = impute(df[features + targets], metadata, request.imputer_strategy)
    x, y = data[features], _target(data, targets)
    x_train, x_test, y_train, y_test = _split(x, y, request)
    accountants = [BudgetAccountant() for _ in steps]
    pipeline = build_pipeline(steps, accountants)
    if seed is None:
        _unseed(pipeline)
    else:
        _seed(pipeline, seed)
    _fit(pipeline, x_train, y_train, show_library_errors)
    score_accountant = BudgetAccountant()
    if request.score_epsilon is not None:
        score = _dp_accuracy(pipeline, x_test, y_test, request.score_epsilon, score_accountant)
    elif seed is None:
        score = None  # private data: the raw score would be a release without noise
    else:
        score = _score(pipeline, x_test, y_test)
    spent = CostEstimate(
        epsilon=float(sum(a.total()[0] for a in [*accountants, score_accountant])),
        delta=float(sum(a.total()[1] for a in [*accountants, score_accountant])),
    )
    if (
        spent.epsilon > estimate.epsilon + SPEND_TOLERANCE
        or spent.delta > estimate.delta + SPEND_TOLERANCE
    ):
        raise VeilServiceError(
            "the diffprivlib pipeline spent more privacy budget than estimated; the result is "
            "withheld",
            reason=Reason.DP_COST_MISMATCH,
        )
    return QueryResult(score=score, model=_export(pipeline, request, allow_pickle), spent=spent)


def impute(data: pd.DataFrame, metadata: Metadata, strategy: str) -> pd.DataFrame:
    """Handle missing values without reading statistics of the data.

    ``drop`` removes incomplete rows. ``mean`` and ``median`` fill numbers with the midpoint of
    the metadata bounds (the mean and median of the public range) and other columns like
    ``most_frequent``, which fills with the first declared category (the midpoint for numbers,
    False for booleans, "" for free text).
    """
    if strategy == "drop":
        return data.dropna()
    filled = data.copy()
    for name in data.columns:
        if filled[name].isna().any():
            filled[name] = filled[name].fillna(_fill_value(metadata.column(name), strategy))
    return filled


def _fill_value(col: ColumnMetadata, strategy: str) -> Any:
    if col.categories is not None:
        return col.categories[0]
    if col.type in ("int", "float"):
        middle = (float(col.lower) + float(col.upper)) / 2  # type: ignore[arg-type]
        return round(middle) if col.type == "int" else middle
    if col.type == "boolean":
        return False
    if col.type == "datetime":
        return col.lower + (col.upper - col.lower) / 2  # type: ignore[operator]
    return ""


def _check_columns(request: DiffPrivLibRequest, metadata: Metadata) -> None:
    known = set(metadata.column_names)
    for field, columns in (
        ("feature_columns", request.feature_columns),
        ("target_columns", request.target_columns or ()),
    ):
        unknown = [c for c in columns if c not in known]
        if unknown:
            raise InvalidArgumentError(
                f"{field}: unknown column(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}",
                field=field,
            )


NUMERIC_TYPES = frozenset({"int", "float", "boolean"})
LEAK_GUARDS: dict[str, tuple[str, ...]] = {
    "DecisionTreeClassifier": ("bounds", "classes"),
    "GaussianNB": ("bounds",),
    "KMeans": ("bounds",),
    "LinearRegression": ("bounds_X", "bounds_y"),
    "LogisticRegression": ("data_norm",),
    "PCA": ("data_norm", "bounds"),
    "RandomForestClassifier": ("bounds", "classes"),
    "StandardScaler": ("bounds",),
}
"""Per allow-listed class, the parameters without which diffprivlib reads them from the data
(and emits a PrivacyLeakWarning at fit time); ``PCA`` needs ``bounds`` unless ``centered``."""


def _check_no_leak(steps: list[PipelineStep]) -> None:
    """Refuse, before any spend, a pipeline diffprivlib would fit with a PrivacyLeakWarning.

    The warning depends only on parameters left unset, so it is decided here rather than on the
    private rows (where a failure is charged).
    """
    for step in steps:
        defaults = step.cls().get_params(deep=False)
        missing = [
            name
            for name in LEAK_GUARDS.get(step.cls.__name__, ())
            if step.params.get(name, defaults.get(name)) is None
            and not (name == "bounds" and step.params.get("centered"))
        ]
        if missing:
            raise InvalidArgumentError(
                f"PrivacyLeakWarning: step {step.name!r} ({step.cls.__name__}) leaves "
                f"{', '.join(missing)} unset, so diffprivlib would read them from the private "
                "data. Veil cannot fit a pipeline that leaks privacy: give bounds (and data_norm, "
                "classes) for every step",
                reason=Reason.DP_LIBRARY_ERROR,  # diffprivlib's warning (Lomas's 422)
                field="pipeline_json",
            )


def _check_split(request: DiffPrivLibRequest, metadata: Metadata) -> None:
    """Refuse, from the metadata alone, what would otherwise fail on the private rows.

    A failure on the data is charged (issue 19, defect 2), so whatever the metadata can decide is
    decided here, before anything is spent: features diffprivlib cannot read as numbers, and a
    ``test_size`` that leaves no training or test row at the published row count (scikit-learn's
    rule: ``n_test = ceil(test_size * n)``, ``n_train = n - n_test``).
    """
    text = [c for c in request.feature_columns if metadata.column(c).type not in NUMERIC_TYPES]
    if text:
        raise InvalidArgumentError(
            f"feature_columns: {', '.join(text)} are not numbers (int, float or boolean in the "
            "metadata); diffprivlib models take numeric features only",
            field="feature_columns",
        )
    n_test = math.ceil(request.test_size * metadata.rows)
    if n_test < 1 or metadata.rows - n_test < 1:
        raise InvalidArgumentError(
            f"test_size {request.test_size!r} leaves no training or no test row out of the "
            f"{metadata.rows} rows the metadata declares; use a test_size between "
            f"{1 / metadata.rows:.6g} and {1 - 1 / metadata.rows:.6g}",
            field="test_size",
        )


def _target(data: pd.DataFrame, targets: list[str]) -> Any:
    if not targets:
        return None
    if len(targets) == 1:
        return data[targets[0]].to_numpy()
    return data[targets].to_numpy()


def _split(x: pd.DataFrame, y: Any, request: DiffPrivLibRequest) -> tuple[Any, Any, Any, Any]:
    try:
        if y is None:
            x_train, x_test = train_test_split(
                x, test_size=request.test_size, random_state=request.test_train_split_seed
            )
            return x_train, x_test, None, None
        parts = train_test_split(
            x, y, test_size=request.test_size, random_state=request.test_train_split_seed
        )
    except ValueError as exc:
        raise InvalidArgumentError(
            "test_size leaves no rows to train or test on after imputation; change test_size or "
            "imputer_strategy",
            field="test_size",
        ) from exc
    return parts[0], parts[1], parts[2], parts[3]


def _unseed(pipeline: Pipeline) -> None:
    """Private mode: drop every caller-chosen ``random_state`` (issue 19, defect 1).

    A fixed ``random_state`` makes diffprivlib draw its noise from a seeded generator, so the same
    query twice returns the same noise and two queries at different ε solve for the exact private
    value. With None, diffprivlib's mechanisms draw from ``secrets.SystemRandom`` and the other
    draws from the worker's freshly seeded global generator. Lomas clients set ``random_state``
    routinely, so it is overridden rather than refused; it is honoured on dummy data only.
    """
    for _, estimator in pipeline.steps:
        if "random_state" in estimator.get_params(deep=False):
            estimator.set_params(random_state=None)


def _seed(pipeline: Pipeline, seed: int) -> None:
    for _, estimator in pipeline.steps:
        params = estimator.get_params(deep=False)
        if "random_state" in params and params["random_state"] is None:
            estimator.set_params(random_state=seed)


def _fit(pipeline: Pipeline, x: pd.DataFrame, y: Any, show_library_errors: bool) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PrivacyLeakWarning)
            warnings.simplefilter("error", DiffprivlibCompatibilityWarning)
            # diffprivlib's LogisticRegression passes options SciPy 1.17 deprecates (harmless).
            warnings.filterwarnings(
                "ignore",
                message=r"scipy\.optimize: The `disp` and `iprint`",
                category=DeprecationWarning,
            )
            pipeline.fit(x, y)
    except PrivacyLeakWarning as exc:
        raise InvalidArgumentError(
            f"PrivacyLeakWarning: {' '.join(str(exc).split())} Veil cannot fit a pipeline that "
            "leaks privacy: give bounds (and data_norm) for every step",
            reason=Reason.DP_LIBRARY_ERROR,
            field="pipeline_json",
        ) from exc
    except DiffprivlibCompatibilityWarning as exc:
        raise InvalidArgumentError(
            f"diffprivlib ignores a parameter of this pipeline: {exc}",
            reason=Reason.DP_LIBRARY_ERROR,
            field="pipeline_json",
        ) from exc
    except (ValueError, TypeError, IndexError) as exc:
        detail = (
            f": {exc}"
            if show_library_errors
            else (f" ({type(exc).__name__}); run it in dummy mode to see the library's message")
        )
        raise InvalidArgumentError(
            f"diffprivlib could not fit the pipeline{detail}",
            reason=Reason.DP_LIBRARY_ERROR,
            field="pipeline_json",
        ) from exc


def _dp_accuracy(
    pipeline: Pipeline,
    x_test: pd.DataFrame,
    y_test: Any,
    epsilon: float,
    accountant: BudgetAccountant,
) -> float:
    """A DP estimate of the held-out accuracy (see the module docstring), spent on
    ``accountant``."""
    correct = 0
    if len(x_test):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"sklearn\..*")
            predicted = pipeline.predict(x_test)
        correct = int(np.sum(np.asarray(predicted) == np.asarray(y_test).reshape(-1)))
    half = epsilon / 2.0
    noisy_correct = Laplace(epsilon=half, sensitivity=1.0).randomise(correct)
    noisy_rows = Laplace(epsilon=half, sensitivity=1.0).randomise(len(x_test))
    accountant.spend(half, 0.0)
    accountant.spend(half, 0.0)
    return float(min(1.0, max(0.0, noisy_correct / max(noisy_rows, 1.0))))


def _score(pipeline: Pipeline, x_test: pd.DataFrame, y_test: Any) -> float | None:
    if not hasattr(pipeline, "score") or len(x_test) == 0:
        return None
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"sklearn\..*")
            value = pipeline.score(x_test) if y_test is None else pipeline.score(x_test, y_test)
    except (AttributeError, ValueError):
        return None
    return float(value) if np.isfinite(value) else None


def _export(pipeline: Pipeline, request: DiffPrivLibRequest, allow_pickle: bool) -> ModelArtifact:
    class_name = f"{type(pipeline).__module__}.{type(pipeline).__qualname__}"
    if request.allow_pickle and allow_pickle:
        return ModelArtifact(format="pickle", data=pickle.dumps(pipeline), class_name=class_name)
    return ModelArtifact(format="skops", data=skops_dumps(pipeline), class_name=class_name)
