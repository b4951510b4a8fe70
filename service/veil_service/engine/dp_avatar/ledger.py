"""OpenDP accounting of the Open DP generator: every release goes through one OpenDP compositor.

The private input is the whole table (an OpenDP user domain of pandas DataFrames) under the
symmetric distance: neighbouring tables differ by adding or removing one row (``d_in = 1``).
Each release is an OpenDP measurement ``T >> M``:

* ``T`` is a row-wise counting transformation (a histogram of one or two columns, the L1 errors
  of candidate pairs, the counts of each category): one row more or less changes each count by
  at most 1, so ``T`` is 1-stable (``d_out = d_in`` in the stated metric). This stability is the
  one statement Veil makes to OpenDP (``make_user_transformation``); it is checked by
  ``tests/unit/engine/dp_avatar/test_dp_avatar.py`` on neighbouring tables.
* ``M`` is one of OpenDP's own mechanisms: ``make_laplace`` (discrete Laplace on integer counts),
  ``make_laplace_threshold`` (counts of the categories above a threshold, the only source of δ),
  ``make_noisy_max`` (report noisy max with Gumbel noise, for selecting pairs).

All measurements are queried through ``make_adaptive_composition`` with the budget of each step
fixed before any data is read; the release's total loss is OpenDP's own map of that composition,
``composition.map(1)``, an (ε, δ) pair. Scales are found with OpenDP's ``binary_search_param`` so
that each step's loss is at most its share.
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
MEASURE = dp.approximate(dp.max_divergence())
COUNTS_DOMAIN = dp.vector_domain(dp.atom_domain(T=int))
COUNTS_METRIC = dp.l1_distance(T=int)
SCORES_DOMAIN = dp.vector_domain(dp.atom_domain(T=float, nan=False))
SCORES_METRIC = dp.linf_distance(T=float)
CATEGORY_COUNTS_DOMAIN = dp.map_domain(dp.atom_domain(T=str), dp.atom_domain(T=int))
CATEGORY_COUNTS_METRIC = dp.l01inf_distance(dp.absolute_distance(T=int))


def counting(function: Callable[[pd.DataFrame], list[int]]) -> Any:
    """A 1-stable transformation from the table to a vector of counts (L1 metric)."""
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


def laplace_counts(function: Callable[[pd.DataFrame], list[int]], epsilon: float) -> Any:
    """Counts with discrete Laplace noise; ε-DP (δ = 0) for one row more or less."""
    transformation = counting(function)
    scale = dp.binary_search_param(
        lambda s: transformation >> dp.m.then_laplace(scale=s), d_in=1, d_out=epsilon, T=float
    )
    return dp.c.make_approximate(transformation >> dp.m.then_laplace(scale=scale))


def noisy_max(
    function: Callable[[pd.DataFrame], list[float]], epsilon: float, sensitivity: float = 1.0
) -> Any:
    """Index of the highest score after Gumbel noise (the exponential mechanism); ε-DP, for
    scores that move by at most ``sensitivity`` per row."""
    transformation = scoring(function, sensitivity)

    def make(scale: float) -> Any:
        return transformation >> dp.m.then_noisy_max(
            output_measure=dp.max_divergence(), scale=scale
        )

    scale = dp.binary_search_param(make, d_in=1, d_out=epsilon, T=float)
    return dp.c.make_approximate(make(scale))


VALUES_DOMAIN = dp.vector_domain(dp.atom_domain(T=float, nan=False))


def private_quantile(
    function: Callable[[pd.DataFrame], list[float]],
    candidates: list[float],
    alpha: float,
    epsilon: float,
) -> Any:
    """The candidate closest to the ``alpha`` quantile of a column (exponential mechanism); ε-DP.

    ``function`` gives the column's non-missing values: one row more or less adds or removes at
    most one value (1-stable under the symmetric distance).
    """
    transformation = dp.t.make_user_transformation(
        TABLE_DOMAIN,
        TABLE_METRIC,
        VALUES_DOMAIN,
        dp.symmetric_distance(),
        function=function,
        stability_map=lambda d_in: d_in,
    )

    def make(scale: float) -> Any:
        return transformation >> dp.m.then_private_quantile(
            output_measure=dp.max_divergence(), candidates=candidates, alpha=alpha, scale=scale
        )

    scale = dp.binary_search_param(make, d_in=1, d_out=epsilon, T=float)
    return dp.c.make_approximate(make(scale))


def thresholded_counts(
    function: Callable[[pd.DataFrame], dict[str, int]], epsilon: float, delta: float
) -> Any:
    """Counts of the categories whose noisy count passes a threshold; (ε, δ)-DP.

    The threshold is the smallest one for which OpenDP's map gives at most ``delta``.
    """
    transformation = category_counting(function)
    # A hair under the share, so that float rounding never takes the map above the plan.
    scale = 1.0 / (epsilon * (1 - 1e-9))

    def make(threshold: int) -> Any:
        return transformation >> dp.m.then_laplace_threshold(scale=scale, threshold=threshold)

    low, high = 1, 1
    while make(high).map(1)[1] > delta:
        low, high = high, high * 2
    while low < high:
        middle = (low + high) // 2
        if make(middle).map(1)[1] > delta:
            low = middle + 1
        else:
            high = middle
    return make(high)


@dataclass
class Ledger:
    """The OpenDP compositor of one release, and what each step spent.

    Args:
        table: The private table.
        steps: (name, planned (ε, δ)) of every release, in order, fixed before any data is read.

    Attributes:
        spent: (name, (ε, δ)) of each release made so far, as OpenDP maps it.
    """

    table: pd.DataFrame
    steps: list[tuple[str, tuple[float, float]]]
    spent: list[tuple[str, tuple[float, float]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.composition = dp.c.make_adaptive_composition(
            TABLE_DOMAIN, TABLE_METRIC, MEASURE, d_in=1, d_mids=[b for _, b in self.steps]
        )
        self._queryable = self.composition(self.table)

    @property
    def total(self) -> tuple[float, float]:
        """OpenDP's map of the whole composition: the (ε, δ) of the release."""
        epsilon, delta = self.composition.map(1)  # type: ignore[no-untyped-call]
        return float(epsilon), float(delta)

    def release(self, name: str, measurement: Any) -> Any:
        """Run one planned measurement through the compositor and record its loss."""
        expected = self.steps[len(self.spent)][0]
        if name != expected:
            raise RuntimeError(f"release {name!r} out of plan order; expected {expected!r}")
        loss = measurement.map(1)
        self.spent.append((name, (float(loss[0]), float(loss[1]))))
        return self._queryable(measurement)


def as_int_counts(values: np.ndarray[Any, Any]) -> list[int]:
    """A count vector as the list of Python ints OpenDP's integer domain takes."""
    return [int(v) for v in values]
