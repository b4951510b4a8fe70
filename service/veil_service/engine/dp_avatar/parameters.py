"""Parameters of the two DP generators, validated once (names are Octopize's).

``open_dp_epsilon`` / ``preprocess_budget_ratio`` select the end-to-end DP generator
(:mod:`.open_dp`); ``fast_dp_epsilon`` / ``mechanism`` / ``gmm_n_components`` /
``histogram_n_bins`` / ``bounds_percentile`` select Fast DP (:mod:`.fast_dp`), which is not
end-to-end DP.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Final

from veil_service.errors import InvalidArgumentError

FAST_DP_MECHANISMS: Final = ("gaussian", "gmm", "histogram")
#: Default δ of Open DP: the probability that a category or value seen by fewer rows than the
#: release threshold is released anyway. Fixed in advance, never derived from the data.
DEFAULT_DELTA: Final = 1e-7


def check_epsilon(name: str, value: Any) -> float:
    """A finite, positive privacy budget ε (unitless, natural log base).

    Raises:
        InvalidArgumentError: ``value`` is not a number, not finite, or not above 0.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgumentError(f"{name} must be a number; got {value!r}.", field=name)
    if not math.isfinite(value) or value <= 0:
        raise InvalidArgumentError(
            f"{name} must be a finite number above 0 (the privacy budget ε; smaller is more "
            f"private, 1 is a common choice); got {value!r}.",
            field=name,
        )
    return float(value)


@dataclass(frozen=True)
class OpenDPParameters:
    """End-to-end DP avatarization.

    Attributes:
        epsilon: Total privacy budget ε of the release (> 0).
        preprocess_budget_ratio: Share of ε spent learning the public-free description of the
            data (column ranges, bins, categories, one-way counts), in (0, 1); the rest selects
            and measures the two-way relations the generator keeps. Default 0.3.
        delta: δ of the release: chance that a category (or value range) held by fewer rows
            than the release threshold comes out anyway. In (0, 1e-3]; default 1e-7.
        public_domains: Column -> public description the owner declares (a ``[low, high]``
            range for a numeric column, the list of categories for a categorical one). Declared
            domains are not learnt from the data and cost no budget.
        categorical_columns: Numeric columns to model as categorical.
        n_bins: Bins each numeric column is cut into for the model (2 to 64).
        n_rows: Rows to generate; default: the DP estimate of the table's size.
        row_multiplier: Without ``n_rows``, generate this many times the estimated size (data
            augmentation by a multiplier: sampling more rows from the model is post-processing
            and costs no budget).
        seed: Seed of every random draw (``None``: fresh randomness).
        model_iterations: Mirror-descent iterations fitting the graphical model (post-processing
            only: more is closer to the noisy counts, and slower).
        target_column: A column the owner names as the one the synthetic table will be used to
            predict (Octopize's ``data_augmentation_target_column``). Its pairs with every other
            column are then always measured: the model's spanning tree is the star around it,
            a public choice that costs no selection budget. ``None``: the tree is selected
            under DP.
    """

    epsilon: float
    preprocess_budget_ratio: float = 0.3
    delta: float = DEFAULT_DELTA
    public_domains: dict[str, list[Any]] = field(default_factory=dict)
    categorical_columns: tuple[str, ...] = ()
    n_bins: int = 16
    n_rows: int | None = None
    row_multiplier: float = 1.0
    seed: int | None = None
    model_iterations: int = 1000
    target_column: str | None = None

    def __post_init__(self) -> None:
        check_epsilon("open_dp_epsilon", self.epsilon)
        iterations = self.model_iterations
        if (
            isinstance(iterations, bool)
            or not isinstance(iterations, int)
            or not (10 <= iterations <= 10_000)
        ):
            raise InvalidArgumentError(
                f"model_iterations must be an integer from 10 to 10000; got {iterations!r}.",
                field="model_iterations",
            )
        ratio = self.preprocess_budget_ratio
        if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not 0 < ratio < 1:
            raise InvalidArgumentError(
                "preprocess_budget_ratio must be a number strictly between 0 and 1 (the share "
                f"of ε spent on preprocessing; 0.3 is the default); got {ratio!r}.",
                field="preprocess_budget_ratio",
            )
        delta = self.delta
        if isinstance(delta, bool) or not isinstance(delta, int | float) or not 0 < delta <= 1e-3:
            raise InvalidArgumentError(
                f"open_dp delta must be in (0, 1e-3]; got {delta!r}.", field="delta"
            )
        if (
            isinstance(self.n_bins, bool)
            or not isinstance(self.n_bins, int)
            or not (2 <= self.n_bins <= 64)
        ):
            raise InvalidArgumentError(
                f"n_bins must be an integer from 2 to 64; got {self.n_bins!r}.", field="n_bins"
            )
        if self.n_rows is not None and (
            isinstance(self.n_rows, bool) or not isinstance(self.n_rows, int) or self.n_rows < 1
        ):
            raise InvalidArgumentError(
                f"n_rows must be a positive integer; got {self.n_rows!r}.", field="n_rows"
            )


@dataclass(frozen=True)
class FastDPParameters:
    """Fast DP: a parametric model with noisy parameters (NOT end-to-end DP).

    Attributes:
        epsilon: Budget ε of the noisy parameters (> 0).
        mechanism: ``gaussian`` (noisy means and covariance of the normal scores),
            ``gmm`` (a Gaussian mixture with noisy weights, means and covariances) or
            ``histogram`` (noisy per-column histograms and a noisy rank correlation).
        gmm_n_components: Mixture components of ``gmm`` (1 to 50; default 5).
        histogram_n_bins: Bins per numeric column of ``histogram`` (2 to 256; default 10).
        bounds_percentile: Numeric values are clipped to the [p, 100 - p] percentiles of the
            data (default 5.0, in [0, 50)). These bounds are read from the data without noise:
            this is why Fast DP is not end-to-end differentially private.
        categorical_columns: Numeric columns to model as categorical.
        n_rows: Rows to generate; default: as many as the original.
        row_multiplier: Without ``n_rows``, generate this many times the original's rows.
        seed: Seed of every random draw.
    """

    epsilon: float
    mechanism: str = "gaussian"
    gmm_n_components: int = 5
    histogram_n_bins: int = 10
    bounds_percentile: float = 5.0
    categorical_columns: tuple[str, ...] = ()
    n_rows: int | None = None
    row_multiplier: float = 1.0
    seed: int | None = None

    def __post_init__(self) -> None:
        check_epsilon("fast_dp_epsilon", self.epsilon)
        if self.mechanism not in FAST_DP_MECHANISMS:
            raise InvalidArgumentError(
                f"mechanism must be one of {list(FAST_DP_MECHANISMS)}; got {self.mechanism!r}.",
                field="mechanism",
            )
        for name, value, low, high in (
            ("gmm_n_components", self.gmm_n_components, 1, 50),
            ("histogram_n_bins", self.histogram_n_bins, 2, 256),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise InvalidArgumentError(
                    f"{name} must be an integer from {low} to {high}; got {value!r}.", field=name
                )
        p = self.bounds_percentile
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0 <= p < 50:
            raise InvalidArgumentError(
                f"bounds_percentile must be a number in [0, 50); got {p!r}.",
                field="bounds_percentile",
            )
