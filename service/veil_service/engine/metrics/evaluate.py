"""The two entry points: ``privacy_metrics`` and ``signal_metrics`` for one table.

Both take the original table and the *unshuffled* avatar table (same row order) and return one
result dict in the Octopize client's shape (see :mod:`veil_service.engine.metrics.output`). They
are pure functions: same inputs and ``seed``, same result. Metrics-only mode is simply calling
them with an avatar table the user supplied.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree
from threadpoolctl import threadpool_limits

from veil_service.engine.metrics import attacks
from veil_service.engine.metrics.attack_risk import AttackResult
from veil_service.engine.metrics.distances import own_avatar_hidden
from veil_service.engine.metrics.inference import inference_metrics, nearest_avatar_on
from veil_service.engine.metrics.matching import (
    categorical_hidden_rate,
    column_direct_match_protection,
    correlation_protection_rate,
    row_direct_match_protection,
)
from veil_service.engine.metrics.octopize_rates import (
    inference_accuracy_ratio,
    linkability_protection_rate,
)
from veil_service.engine.metrics.output import PRIVACY_TARGETS, SIGNAL_TARGETS, build_result
from veil_service.engine.metrics.parameters import (
    MetricsParameters,
    holdout_of,
    parse_parameters,
)
from veil_service.engine.metrics.privacy import DistancePrivacy, distance_privacy
from veil_service.engine.metrics.projection import FamdModel, fit_famd, ncp_warning, resolve_ncp
from veil_service.engine.metrics.projection_tables import projection_tables
from veil_service.engine.metrics.search_threads import SearchPool, resolve_threads
from veil_service.engine.metrics.signal import (
    column_shapes,
    correlation_difference_ratio,
    hellinger_distances,
    pair_trends,
)
from veil_service.engine.metrics.tables import AlignedTables, align_tables
from veil_service.engine.metrics.utility import utility_scores
from veil_service.errors import InvalidArgumentError

REFERENCE = "original"
"""What the avatars are compared to (Octopize's ``metadata.reference``)."""


def _string_labels(
    frames: list[pd.DataFrame | None], params: dict[str, Any]
) -> tuple[list[pd.DataFrame | None], dict[str, Any]]:
    """Give non-string column labels (0, 1, ...) their ``str`` form, in tables and parameters.

    Metrics name columns in result keys (``"a|b"`` pairs, per-column details), so labels are
    strings throughout; parameters naming a column by its original label follow the rename.
    """
    first = frames[0]
    columns = list(first.columns) if first is not None else []
    if all(isinstance(c, str) for c in columns) or len({str(c) for c in columns}) != len(columns):
        return frames, params
    rename = {c: str(c) for c in columns}
    renamed = [None if f is None else f.rename(columns=lambda c: rename.get(c, c)) for f in frames]
    params = dict(params)
    for key in ("known_variables", "categorical_hidden_rate_variables"):
        if isinstance(params.get(key), list | tuple):
            params[key] = [rename.get(v, v) for v in params[key]]
    if params.get("target") is not None and params["target"] in rename:
        params["target"] = rename[params["target"]]
    weights = params.get("column_weights")
    if isinstance(weights, dict):
        params["column_weights"] = {rename.get(k, k): v for k, v in weights.items()}
    return renamed, params


def _prepare(
    original: pd.DataFrame, avatars: pd.DataFrame, params: dict[str, Any]
) -> tuple[AlignedTables, MetricsParameters]:
    for name, frame in (("original", original), ("avatars", avatars)):
        if not isinstance(frame, pd.DataFrame):
            raise InvalidArgumentError(
                f"{name} must be a pandas DataFrame, got {type(frame).__name__}", field=name
            )
    frames, params = _string_labels([original, avatars, holdout_of(params)], params)
    renamed_original, renamed_avatars, holdout = frames
    assert renamed_original is not None and renamed_avatars is not None
    tables = align_tables(renamed_original, renamed_avatars, holdout)
    return tables, parse_parameters(params, tables.columns, tables.categorical)


def _metadata(
    tables: AlignedTables, parameters: MetricsParameters, extra: dict[str, Any]
) -> dict[str, Any]:
    return {
        "table_name": parameters.table_name,
        "computation_type": "standalone",
        "reference": REFERENCE,
        "n_original_rows": len(tables.original),
        "n_avatar_rows": len(tables.avatars),
        "n_holdout_rows": None if tables.holdout is None else len(tables.holdout),
        "continuous_columns": tables.continuous,
        "categorical_columns": tables.categorical,
        "parameters": parameters.as_metadata(),
        **extra,
    }


def privacy_metrics(
    original: pd.DataFrame,
    avatars_unshuffled: pd.DataFrame,
    *,
    threads: int | None = None,
    **params: Any,
) -> dict[str, Any]:
    """Every privacy metric of one table, in the Octopize client's result shape.

    Args:
        original: The original table.
        avatars_unshuffled: Its avatars, row ``i`` being the avatar of original row ``i``.
        threads: Threads the run may keep busy (not a metric parameter: no value depends on
            it). None: ``VEIL_METRICS_THREADS``, else the cores this process may run on
            (:mod:`~veil_service.engine.metrics.search_threads`). With 2 or more, the neighbour
            searches run on that many threads and the attacks beside them; with 1, everything
            runs in the calling thread (a Dask task, whose worker gives it one thread).
        **params: ``table_name``, ``ncp`` (components for distance metrics, default
            min(5, one-hot columns)), ``known_variables`` (columns the attacker knows; enables
            correlation protection, inference and the inference attack), ``target`` (the
            sensitive column), ``quantile_threshold`` (percentile, default 5), ``seed`` (default
            0), ``column_weights``, ``categorical_hidden_rate_variables``, ``holdout`` (records
            not used for the avatars: reference of ``closest_rate`` and control set of the
            attacks), ``n_attacks`` (default 500), ``confidence_level`` (default 0.95),
            ``compute_attacks`` (default True).

    Returns:
        The metric keys (rates in %), ``targets``, ``passed`` and ``metadata``. Metrics whose
        parameters are missing (e.g. inference without ``target``) are None.

    Raises:
        InvalidArgumentError: Mismatched tables or a bad parameter (``threads`` included); the
            message names the fix.

    BLAS and OpenMP run on one thread: the machine's cores are shared, and oversubscribed
    threads spin-wait (a 15x slowdown measured on the utility model).
    """
    count = resolve_threads(threads)
    with threadpool_limits(limits=1), SearchPool(count) as pool:
        return _privacy_metrics(original, avatars_unshuffled, params, pool)


def _privacy_metrics(
    original: pd.DataFrame,
    avatars_unshuffled: pd.DataFrame,
    params: dict[str, Any],
    pool: SearchPool,
) -> dict[str, Any]:
    tables, parameters = _prepare(original, avatars_unshuffled, params)
    if not parameters.compute_attacks:
        return _privacy_result(tables, parameters, None, pool)
    if pool.threads == 1:
        return _privacy_result(
            tables, parameters, _done(attacks.attack_risks, tables, parameters), pool
        )
    # The attacks share nothing with the other metrics but the aligned tables: they run on a
    # thread of their own (their numpy work releases the GIL) while this one does the projection
    # and the neighbour searches. Each has its own random generator: the result does not depend
    # on the interleaving.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="veil-attacks") as side:
        risks = side.submit(attacks.attack_risks, tables, parameters)
        return _privacy_result(tables, parameters, risks, pool)


def _done(
    work: Callable[[AlignedTables, MetricsParameters], dict[str, AttackResult]],
    tables: AlignedTables,
    parameters: MetricsParameters,
) -> Future[dict[str, AttackResult]]:
    """``work`` run now, in this thread, as a finished future."""
    future: Future[dict[str, AttackResult]] = Future()
    future.set_result(work(tables, parameters))
    return future


def hidden_rate(tables: AlignedTables) -> float:
    """The hidden rate (%) of aligned tables, as ``privacy_metrics`` gives it with its default
    parameters, and nothing else.

    For a search that measures hundreds of small releases (engine/multitable/
    hidden_rate_advice.py: 50-300 rows), where the other metrics, a second alignment and the
    thread limits (1.5 ms a call) cost more than the hidden rate itself. It runs on the calling
    thread; limiting BLAS threads is the caller's (``privacy_metrics`` runs on one).
    """
    return ReleasesHiddenRate()(tables)


@dataclass
class ReleasesHiddenRate:
    """:func:`hidden_rate` of many releases of one original, its projection fitted once.

    With the default parameters (no excluded variable, no categorical reduction) the
    projection is fitted on the original alone and the original's coordinates depend on
    nothing else (its category codes come first), so both are kept from the first release:
    the same values as :func:`hidden_rate` of each (unit test), without a FAMD fit per release
    (6.5 % of a linked search's CPU on Tutorial 3's tables). Every release must come from
    aligning the same original.
    """

    _fitted: tuple[FamdModel, int, np.ndarray] | None = None
    _original_tree: cKDTree | None = None

    def __call__(self, tables: AlignedTables) -> float:
        """The hidden rate (%) of ``tables``' avatars against its original."""
        _, projected = self._projected(tables)
        model, ncp, points = self.fit(tables)
        avatars = {c: projected.codes(c)[1] for c in projected.categorical}
        # Only the hidden flags: the other distance metrics (each avatar's two closest
        # originals, the originals' leave-one-out reference) were a tenth of a search's CPU.
        hidden = own_avatar_hidden(
            points, model.project(projected.avatars, ncp, avatars), self._original_tree
        )
        return float(np.mean(hidden)) * 100.0

    def fit(self, tables: AlignedTables) -> tuple[FamdModel, int, np.ndarray]:
        """The projection and its components fitted on ``tables``' original, and the
        original's coordinates: fitted at the first call, kept after (only the original is
        read, so a search may call this before its first release)."""
        if self._fitted is None:
            parameters, projected = self._projected(tables)
            originals = {c: projected.codes(c)[0] for c in projected.categorical}
            model, ncp = _fit_projection(projected, parameters, originals)
            points = model.project(projected.original, ncp, originals)
            self._fitted = (model, ncp, points)
            self._original_tree = cKDTree(points)
        return self._fitted

    @staticmethod
    def _projected(tables: AlignedTables) -> tuple[MetricsParameters, AlignedTables]:
        parameters = parse_parameters({}, tables.columns, tables.categorical)
        return parameters, projection_tables(
            tables, parameters.exclude_variable_names, parameters.use_categorical_reduction
        )


@dataclass(frozen=True)
class _Distances:
    """The projection the distance metrics ran in, and their results."""

    model: FamdModel
    ncp: int
    warnings: list[str]
    distance: DistancePrivacy


def _distances(
    tables: AlignedTables, parameters: MetricsParameters, pool: SearchPool
) -> _Distances:
    projected = projection_tables(
        tables, parameters.exclude_variable_names, parameters.use_categorical_reduction
    )
    # Category codes shared with the value-matching metrics and the attacks (the same tables
    # unless variables are excluded or reduced): the projection hashes no value again.
    codes = [
        {c: projected.codes(c)[i] for c in projected.categorical}
        for i in range(2 if projected.holdout is None else 3)
    ]
    model, ncp = _fit_projection(projected, parameters, codes[0])
    warnings = [w for w in (ncp_warning(parameters.ncp, model),) if w]
    # Distance metrics settle ties with a tolerance: the cheaper projection (equal up to
    # rounding) is safe for them.
    holdout = None if projected.holdout is None else model.project(projected.holdout, ncp, codes[2])
    distance = distance_privacy(
        model.project(projected.original, ncp, codes[0]),
        model.project(projected.avatars, ncp, codes[1]),
        holdout,
        parameters.quantile_threshold,
        pool,
    )
    return _Distances(model, ncp, warnings, distance)


def _fit_projection(
    projected: AlignedTables, parameters: MetricsParameters, codes: dict[str, np.ndarray]
) -> tuple[FamdModel, int]:
    """The distance metrics' projection, fitted on the projected original (its category
    ``codes`` given), and the components they measure in."""
    model = fit_famd(
        projected.original,
        projected.continuous,
        projected.categorical,
        {c: w for c, w in parameters.column_weights.items() if c in projected.columns},
        gram_from_counts=True,
        codes=codes,
    )
    return model, resolve_ncp(parameters.ncp, model)


def _privacy_result(
    tables: AlignedTables,
    parameters: MetricsParameters,
    attack_risks: Future[dict[str, AttackResult]] | None,
    pool: SearchPool,
) -> dict[str, Any]:
    distances = _distances(tables, parameters, pool)
    model, ncp, warnings, distance = (
        distances.model,
        distances.ncp,
        distances.warnings,
        distances.distance,
    )
    column_protection, per_column = column_direct_match_protection(tables)
    chr_variables = list(parameters.categorical_hidden_rate_variables or tables.categorical)
    metrics: dict[str, Any] = {
        "hidden_rate": distance.hidden_rate,
        "local_cloaking": distance.local_cloaking,
        "distance_to_closest": distance.distance_to_closest,
        "closest_distances_ratio": distance.closest_distances_ratio,
        "closest_rate": distance.closest_rate,
        "column_direct_match_protection": column_protection,
        "categorical_hidden_rate": categorical_hidden_rate(tables, chr_variables),
        "row_direct_match_protection": row_direct_match_protection(tables),
        "correlation_protection_rate": None,
        "inference_continuous": None,
        "inference_categorical": None,
    }
    details: dict[str, Any] = dict(distance.details)
    details["column_direct_match_protection_per_column"] = per_column
    known = list(parameters.known_variables)
    if known:
        metrics["correlation_protection_rate"], details["correlation_protection"] = (
            correlation_protection_rate(tables, known, distance.hidden_rate, pool)
        )
    guesses = None
    if known and parameters.target is not None:
        guesses = nearest_avatar_on(tables, known, pool)
        inferred = inference_metrics(tables, known, parameters.target, guesses)
        metrics["inference_continuous"] = inferred.pop("inference_continuous")
        metrics["inference_categorical"] = inferred.pop("inference_categorical")
        details.update(inferred)
    for name in ("singling_out_risk", "linkability_risk", "inference_risk"):
        metrics[name] = None
    if attack_risks is not None:
        risks = attack_risks.result()
        for name, result in risks.items():
            metrics[f"{name}_risk"] = result.risk
        details["attacks"] = {name: result.as_dict() for name, result in risks.items()}
        note = attacks.small_control_note(tables)
        if note is not None and "singling_out" in details["attacks"]:
            details["attacks"]["singling_out"]["note"] = note
    metrics["knowledge_protection_rate"] = metrics["correlation_protection_rate"]
    metrics["linkability_protection_rate"] = linkability_protection_rate(
        metrics["linkability_risk"]
    )
    metrics["inference_accuracy_ratio"] = (
        inference_accuracy_ratio(tables, known, parameters.target, parameters.seed, guesses, pool)
        if known and parameters.target is not None
        else None
    )
    metrics["details"] = details
    metadata = _metadata(
        tables,
        parameters,
        {
            "ncp_used": ncp,
            "projection_components": model.n_components,
            "projection_explained_variance": float(model.explained_variance_ratio[:ncp].sum()),
            "warnings": warnings,
            "threads": pool.threads,
        },
    )
    return build_result(metrics, PRIVACY_TARGETS, metadata)


def signal_metrics(
    original: pd.DataFrame, avatars_unshuffled: pd.DataFrame, **params: Any
) -> dict[str, Any]:
    """Every signal (utility) metric of one table, in the Octopize client's result shape.

    Args:
        original: The original table.
        avatars_unshuffled: Its avatars in the original's row order (the order matters only for
            the train-on-avatars model, which pairs training rows with their avatars).
        **params: As :func:`privacy_metrics`; ``target`` enables the ML utility scores,
            ``compute_utility`` (default True) can turn them off; ``holdout`` becomes their
            test set.

    Returns:
        ``hellinger_mean``, ``hellinger_std``, ``correlation_difference_ratio`` (%),
        ``column_shapes_score``, ``pair_trends_score``, ``ml_utility_*``, per-column and per-pair
        ``details``, then ``targets``, ``passed`` and ``metadata``.

    Raises:
        InvalidArgumentError: Mismatched tables or a bad parameter; the message names the fix.
    """
    with threadpool_limits(limits=1):
        return _signal_metrics(original, avatars_unshuffled, params)


def _signal_metrics(
    original: pd.DataFrame, avatars_unshuffled: pd.DataFrame, params: dict[str, Any]
) -> dict[str, Any]:
    tables, parameters = _prepare(original, avatars_unshuffled, params)
    hellinger = hellinger_distances(tables)
    shapes = column_shapes(tables)
    pairs = pair_trends(tables)
    values = np.array(list(hellinger.values()))
    metrics: dict[str, Any] = {
        "hellinger_mean": float(values.mean()),
        "hellinger_std": float(values.std()),
        "correlation_difference_ratio": correlation_difference_ratio(tables),
        "column_shapes_score": float(np.mean(list(shapes.values()))),
        "pair_trends_score": float(np.mean(list(pairs.values()))) if pairs else None,
        "ml_utility_metric": None,
        "ml_utility_real": None,
        "ml_utility_avatar": None,
        "ml_utility_chance": None,
        "ml_utility_ratio": None,
    }
    if parameters.target is not None and parameters.compute_utility:
        metrics.update(utility_scores(tables, parameters.target, parameters.seed))
    metrics["details"] = {"hellinger": hellinger, "column_shapes": shapes, "pair_trends": pairs}
    return build_result(metrics, SIGNAL_TARGETS, _metadata(tables, parameters, {}))
