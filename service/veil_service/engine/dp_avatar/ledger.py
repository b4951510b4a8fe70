"""OpenDP accounting of the Open DP generator: every release goes through one OpenDP compositor.

The private input is the whole table (an OpenDP user domain of pandas DataFrames) under the
symmetric distance: neighbouring tables differ by adding or removing one row (``d_in = 1``).
Each release is an OpenDP measurement ``T >> M``:

* ``T`` is a row-wise counting transformation (a histogram of one or two columns, the scores of
  candidate pairs, the counts of each category): one row more or less changes one count by at
  most 1 (L1 = L2 = 1) and each score by at most its declared sensitivity, so ``T`` is stable
  with ``d_out = d_in`` (scores: ``sensitivity x d_in``). This stability is the one statement Veil
  makes to OpenDP (``make_user_transformation``); it is checked by
  ``tests/unit/engine/dp_avatar/test_dp_avatar.py`` on neighbouring tables.
* ``M`` is one of OpenDP's own mechanisms, all under zero-concentrated DP (rho-zCDP):
  ``make_gaussian`` (discrete Gaussian on integer counts), ``make_gaussian_threshold`` (counts of
  the categories above a threshold, the only source of δ inside the composition),
  ``make_noisy_max`` (report noisy max with Gumbel noise, the exponential mechanism, for
  selecting pairs).

All measurements are queried through one ``make_adaptive_composition`` over approximate zCDP with
the budget of each step fixed before any data is read: rho composes by addition (so the noise of
``k`` measurements grows with ``sqrt(k)``, not ``k`` as with ε under basic composition). The
release's (ε, δ) is OpenDP's own conversion of that composition, ``make_fix_delta(
make_zCDP_to_approxDP(composition), δ).map(1)``, with δ the job's δ. :func:`calibrate` finds, by
bisection on that same OpenDP map, the largest rho whose ε is at most the request. Scales are
found with OpenDP's ``binary_search_param`` so that each step's loss is at most its share.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import opendp.prelude as dp
import pandas as pd

dp.enable_features("contrib", "honest-but-curious")

TABLE_DOMAIN = dp.user_domain("VeilTable", lambda value: isinstance(value, pd.DataFrame))
TABLE_METRIC = dp.symmetric_distance()
MEASURE = dp.approximate(dp.zero_concentrated_divergence())
COUNTS_DOMAIN = dp.vector_domain(dp.atom_domain(T=int))
COUNTS_METRIC = dp.l2_distance(T=int)
SCORES_DOMAIN = dp.vector_domain(dp.atom_domain(T=float, nan=False))
SCORES_METRIC = dp.linf_distance(T=float)
CATEGORY_COUNTS_DOMAIN = dp.map_domain(dp.atom_domain(T=str), dp.atom_domain(T=int))
CATEGORY_COUNTS_METRIC = dp.l02inf_distance(dp.absolute_distance(T=int))
#: A step's planned or spent loss: (rho, δ) under approximate zCDP.
Loss = tuple[float, float]


def counting(function: Callable[[pd.DataFrame], list[int]]) -> Any:
    """A 1-stable transformation from the table to a vector of counts (L2 metric: one row more
    or less moves one count by one)."""
    return dp.t.make_user_transformation(
        TABLE_DOMAIN,
        TABLE_METRIC,
        COUNTS_DOMAIN,
        COUNTS_METRIC,
        function=function,
        stability_map=lambda d_in: d_in,
    )


def scoring(function: Callable[[pd.DataFrame], list[float]], sensitivity: float = 1.0) -> Any:
    """A transformation from the table to scores, each moving by at most ``sensitivity`` per row
    added or removed (``sensitivity``-stable)."""
    return dp.t.make_user_transformation(
        TABLE_DOMAIN,
        TABLE_METRIC,
        SCORES_DOMAIN,
        SCORES_METRIC,
        function=function,
        stability_map=lambda d_in: sensitivity * float(d_in),
    )


def category_counting(function: Callable[[pd.DataFrame], dict[str, int]]) -> Any:
    """A transformation to per-category counts: one row changes one count by one."""
    return dp.t.make_user_transformation(
        TABLE_DOMAIN,
        TABLE_METRIC,
        CATEGORY_COUNTS_DOMAIN,
        CATEGORY_COUNTS_METRIC,
        function=function,
        stability_map=lambda d_in: (d_in, d_in, d_in),
    )


@dataclass(frozen=True)
class Noisy:
    """A measurement to release, and the scale of its noise (the standard deviation the model
    gives its counts; public: it depends on the planned rho only)."""

    measurement: Any
    scale: float


def gaussian_counts(function: Callable[[pd.DataFrame], list[int]], rho: float) -> Noisy:
    """Counts with discrete Gaussian noise; rho-zCDP (δ = 0) for one row more or less."""
    transformation = counting(function)
    scale = dp.binary_search_param(
        lambda s: transformation >> dp.m.then_gaussian(scale=s), d_in=1, d_out=rho, T=float
    )
    measurement = dp.c.make_approximate(transformation >> dp.m.then_gaussian(scale=scale))
    return Noisy(measurement, float(scale))


def noisy_max(
    function: Callable[[pd.DataFrame], list[float]], rho: float, sensitivity: float = 1.0
) -> Any:
    """Index of the highest score after Gumbel noise (the exponential mechanism); rho-zCDP (as
    OpenDP maps it), for scores that move by at most ``sensitivity`` per row."""
    transformation = scoring(function, sensitivity)

    def make(scale: float) -> Any:
        return transformation >> dp.m.then_noisy_max(
            output_measure=dp.zero_concentrated_divergence(), scale=scale
        )

    scale = dp.binary_search_param(make, d_in=1, d_out=rho, T=float)
    return dp.c.make_approximate(make(scale))


def thresholded_counts(
    function: Callable[[pd.DataFrame], dict[str, int]], rho: float, delta: float
) -> Noisy:
    """Counts of the categories whose noisy count passes a threshold; (rho, δ)-approximate zCDP.

    The threshold is the smallest one for which OpenDP's map gives at most ``delta``.
    """
    transformation = category_counting(function)
    # A hair over the scale rho asks for, so that float rounding never takes the map above plan.
    scale = float(np.sqrt(1.0 / (2.0 * rho))) * (1 + 1e-9)

    def make(threshold: int) -> Any:
        return transformation >> dp.m.then_gaussian_threshold(scale=scale, threshold=threshold)

    low, high = 1, 1
    while make(high).map(1)[1] > delta:
        low, high = high, high * 2
    while low < high:
        middle = (low + high) // 2
        if make(middle).map(1)[1] > delta:
            low = middle + 1
        else:
            high = middle
    return Noisy(make(high), scale)


def composition(steps: list[Loss]) -> Any:
    """OpenDP's adaptive compositor of planned (rho, δ) steps."""
    return dp.c.make_adaptive_composition(
        TABLE_DOMAIN, TABLE_METRIC, MEASURE, d_in=1, d_mids=list(steps)
    )


def as_approximate_dp(measurement: Any, delta: float) -> tuple[float, float]:
    """OpenDP's (ε, δ) of an approximate-zCDP measurement at the total ``delta`` (the δ of
    thresholds inside it included)."""
    fixed = dp.c.make_fix_delta(dp.c.make_zCDP_to_approxDP(measurement), delta)
    epsilon, spent = fixed.map(1)  # type: ignore[no-untyped-call]
    return float(epsilon), float(spent)


def calibrate(
    weights: list[tuple[str, float, float]], epsilon: float, delta: float
) -> list[tuple[str, Loss]]:
    """Planned (rho, δ) of each step: ``weight x rho`` with the largest rho whose composition OpenDP
    converts to at most ``epsilon`` at ``delta`` (bisection on OpenDP's own map).

    Args:
        weights: (step name, share of rho, δ of the step) of every release, in order.
        epsilon: Requested ε.
        delta: Requested δ (the steps' δ included).
    """

    def plan(rho: float) -> list[tuple[str, Loss]]:
        return [(name, (rho * share, step_delta)) for name, share, step_delta in weights]

    def epsilon_of(rho: float) -> float:
        return as_approximate_dp(composition([loss for _, loss in plan(rho)]), delta)[0]

    low, high = 0.0, max(epsilon, 1.0)
    while epsilon_of(high) <= epsilon:
        low, high = high, 2.0 * high
    for _ in range(60):
        middle = (low + high) / 2
        if epsilon_of(middle) <= epsilon:
            low = middle
        else:
            high = middle
    return plan(low)


@dataclass
class Ledger:
    """The OpenDP compositor of one release, and what each step spent.

    Args:
        table: The private table.
        steps: (name, planned (rho, δ)) of every release, in order, fixed before any data is read.
        delta: δ of the release as a whole (the steps' δ included).

    Attributes:
        spent: (name, (rho, δ)) of each release made so far, as OpenDP maps it.
    """

    table: pd.DataFrame
    steps: list[tuple[str, Loss]]
    delta: float
    spent: list[tuple[str, Loss]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.composition = composition([b for _, b in self.steps])
        self._queryable = self.composition(self.table)

    @property
    def total(self) -> tuple[float, float]:
        """OpenDP's (ε, δ) of the whole composition: the release's loss."""
        return as_approximate_dp(self.composition, self.delta)

    @property
    def rho(self) -> tuple[float, float]:
        """OpenDP's (rho, δ) map of the whole composition, before conversion."""
        rho, delta = self.composition.map(1)
        return float(rho), float(delta)

    def release(self, name: str, measurement: Any) -> Any:
        """Run one planned measurement through the compositor and record its loss."""
        if isinstance(measurement, Noisy):
            measurement = measurement.measurement
        expected = self.steps[len(self.spent)][0]
        if name != expected:
            raise RuntimeError(f"release {name!r} out of plan order; expected {expected!r}")
        loss = measurement.map(1)
        self.spent.append((name, (float(loss[0]), float(loss[1]))))
        return self._queryable(measurement)


def as_int_counts(values: np.ndarray[Any, Any]) -> list[int]:
    """A count vector as the list of Python ints OpenDP's integer domain takes."""
    return [int(v) for v in values]
