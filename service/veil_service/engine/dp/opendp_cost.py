"""Reading (ε, δ) from an OpenDP measurement's privacy map, for legacy and polars pipelines.

The cost of a measurement is what OpenDP's own privacy map says for the dataset's privacy unit:
``measurement.map(d_in)`` with ``d_in = metadata.max_ids`` (rows one individual may change).
Reading (ε, δ) from the map follows Lomas:

* ``MaxDivergence`` (pure DP): ε = map(d_in), δ = 0;
* ``Approximate(MaxDivergence)`` (fixed (ε, δ), e.g. after ``make_fix_delta``): the pair itself;
* ``ZeroConcentratedDivergence`` (zCDP, rho): converted with ``make_zCDP_to_approxDP`` then read
  as below;
* ``SmoothedMaxDivergence`` (a privacy profile): ε = profile.epsilon(fixed_delta), δ =
  ``fixed_delta``, which the request must give.
"""

from __future__ import annotations

import math
from typing import Any

import opendp.prelude as dp
from opendp.mod import OpenDPException

from veil_service.engine_contract.dp_requests import CostEstimate
from veil_service.errors import InvalidArgumentError, Reason

# Pipelines built from the allow-listed constructors need "contrib" (not "honest-but-curious",
# which would let users assert properties OpenDP cannot check).
dp.enable_features("contrib")

INPUT_METRICS = (
    "SymmetricDistance()",
    "InsertDeleteDistance()",
    "ChangeOneDistance()",
    "HammingDistance()",
)


def cost_of_measurement(
    measurement: dp.Measurement, d_in: int, fixed_delta: float | None
) -> CostEstimate:
    """Read (ε, δ) from a measurement's privacy map at input distance ``d_in``.

    Args:
        measurement: A measurement on a dataset metric (symmetric, insert-delete, change-one,
            Hamming) with ``u32`` distances.
        d_in: Input distance: rows one individual may contribute (``max_ids``).
        fixed_delta: δ for zCDP and smoothed-max-divergence measurements; None otherwise.
    """
    metric = str(measurement.input_metric)
    if metric not in INPUT_METRICS or str(measurement.input_metric.distance_type) != "u32":
        raise InvalidArgumentError(
            f"pipeline_json input metric is {metric}; it must be one of "
            f"{', '.join(INPUT_METRICS)} with u32 distances (a dataset-level metric)",
            field="pipeline_json",
        )
    measure = str(measurement.output_measure)
    if measure == "ZeroConcentratedDivergence":
        measurement = _call(dp.c.make_zCDP_to_approxDP, measurement)
        measure = str(measurement.output_measure)
    if measure in ("SmoothedMaxDivergence",) and fixed_delta is None:
        raise InvalidArgumentError(
            "fixed_delta must be set for smooth max divergence and zero concentrated divergence "
            "measurements (the delta at which epsilon is read)",
            field="fixed_delta",
        )
    if measure == "SmoothedMaxDivergence" and fixed_delta is not None and fixed_delta <= 0:
        raise InvalidArgumentError(
            f"fixed_delta={fixed_delta!r}: a zCDP or smoothed max divergence measurement "
            "(Gaussian noise) has an infinite epsilon at delta=0; set fixed_delta to the delta "
            "at which to read epsilon, a number in (0, 1) such as 1e-6",
            field="fixed_delta",
        )
    cost = _call(measurement.map, d_in)
    if measure == "MaxDivergence":
        return _finite(float(cost), 0.0)
    if measure == "Approximate(MaxDivergence)":
        epsilon, delta = cost
        return _finite(float(epsilon), float(delta))
    if measure == "SmoothedMaxDivergence":
        assert fixed_delta is not None
        return _finite(float(_call(cost.epsilon, fixed_delta)), float(fixed_delta))
    raise InvalidArgumentError(
        f"pipeline_json output measure {measure} is not supported; use pure DP (max "
        "divergence), zCDP, smoothed max divergence or approximate DP",
        field="pipeline_json",
    )


def _call(function: Any, *args: Any) -> Any:
    try:
        return function(*args)
    except OpenDPException as exc:
        message = opendp_message(exc)
        # OpenDP's "(x).inf_exp() is not finite" means no finite ε exists at this δ for this
        # noise: say what to change (issue 16 item 3).
        hint = (
            "; the noise is too small for a finite epsilon at this fixed_delta: raise the "
            "pipeline's scale (or fixed_delta)"
            if "not finite" in message
            else ""
        )
        raise InvalidArgumentError(
            f"OpenDP could not compute the privacy cost: {message}{hint}",
            reason=Reason.DP_LIBRARY_ERROR,
            field="pipeline_json",
        ) from exc


def opendp_message(exc: OpenDPException) -> str:
    """OpenDP's message of an error, on one line, at most 500 characters."""
    return " ".join(str(getattr(exc, "message", "") or exc).split())[:500]


def _finite(epsilon: float, delta: float) -> CostEstimate:
    if not (math.isfinite(epsilon) and math.isfinite(delta)):
        raise InvalidArgumentError(
            "the pipeline's privacy cost is infinite; add noise or bound the data",
            field="pipeline_json",
        )
    return CostEstimate(epsilon=epsilon, delta=delta)
