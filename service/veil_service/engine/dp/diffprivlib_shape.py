"""diffprivlib pipelines: what the request alone decides, checked before the charge.

A pipeline whose parameters scikit-learn rejects (``n_clusters=0``, ``C=-1``), whose bounds do
not have one entry per feature, or whose classifier is given no target (or two) fails whatever
the rows hold. Before these checks such a pipeline was priced, failed on the private rows and
was charged (a failure on the data is charged: docs/dp_service.md). Each check reads the request
only; :func:`check_pipeline_shape` runs in ``diffprivlib_pipeline.estimate_cost``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import is_classifier, is_regressor
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import InvalidParameterError

from veil_service.errors import InvalidArgumentError, Reason

FEATURE_BOUNDS = ("bounds", "bounds_X")
"""Parameters holding (lower, upper) bounds with one entry per feature the step receives."""


def check_pipeline_shape(
    pipeline: Pipeline, feature_columns: Sequence[str], target_columns: Sequence[str]
) -> None:
    """Refuse a pipeline that cannot be fitted on any data of the requested columns.

    Args:
        pipeline: The built pipeline (not fitted).
        feature_columns: The request's feature columns.
        target_columns: The request's target columns (may be empty).

    Raises:
        InvalidArgumentError: naming ``pipeline_json`` or ``target_columns``, with the fix.
    """
    for name, estimator in pipeline.steps:
        try:
            estimator._validate_params()
        except InvalidParameterError as exc:
            raise _bad(f"step {name!r}: {exc}") from exc
    _check_targets(pipeline, target_columns)
    _check_bounds(pipeline, len(feature_columns))


def _check_targets(pipeline: Pipeline, target_columns: Sequence[str]) -> None:
    final = pipeline.steps[-1][1]
    kind = type(final).__name__
    if is_classifier(final) and len(target_columns) != 1:
        raise InvalidArgumentError(
            f"target_columns: the pipeline ends with the classifier {kind}, which needs exactly "
            f"one target column; got {len(target_columns)} ({', '.join(target_columns) or 'none'})",
            field="target_columns",
        )
    if is_regressor(final) and not target_columns:
        raise InvalidArgumentError(
            f"target_columns: the pipeline ends with the regressor {kind}, which needs a target "
            "column; none was given",
            field="target_columns",
        )


def _check_bounds(pipeline: Pipeline, nb_features: int) -> None:
    """Each step's feature bounds must have one entry per feature it receives.

    The width is followed through the steps (a scaler keeps it, PCA makes it ``n_components``);
    when a step's output width is not known from its parameters, later steps are not checked.
    """
    width: int | None = nb_features
    for name, estimator in pipeline.steps:
        if width is None:
            return
        params = estimator.get_params(deep=False)
        for key in FEATURE_BOUNDS:
            lengths = _bound_lengths(params.get(key))
            wrong = [n for n in lengths if n != width]
            if wrong:
                raise _bad(
                    f"step {name!r} ({type(estimator).__name__}): {key} has {wrong[0]} "
                    f"entries, but the step receives {width} feature(s)"
                    + (" (the feature_columns)" if width == nb_features else "")
                    + f"; give lower and upper bounds of {width} entries each, in the order "
                    "of the features"
                )
        if type(estimator).__name__ == "PCA":
            components = params.get("n_components")
            width = components if isinstance(components, int) else None


def _bound_lengths(bounds: Any) -> list[int]:
    """The lengths of a (lower, upper) pair's array entries; scalars broadcast, so none."""
    if not isinstance(bounds, list | tuple) or len(bounds) != 2:
        return []
    return [int(np.size(b)) for b in bounds if np.ndim(b) > 0]


def _bad(message: str) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"diffprivlib refuses the pipeline: {message}",
        reason=Reason.DP_LIBRARY_ERROR,
        field="pipeline_json",
    )
