"""Avatarization parameters: one frozen, validated object.

The names match the Octopize client's ``Runner.set_parameters`` (``k``, ``ncp``, ``column_weights``,
``use_categorical_reduction``, ``exclude_variable_names``, ``exclude_variables_method``,
``imputation_method``, ``imputation_k``, ``imputation_training_fraction``), so the YAML and client
layers can pass them straight through. Checks that need only the parameters run in
``__post_init__``; checks that need the table (``k`` against the row count, unknown column names)
run in :func:`veil_service.engine.avatarize.validation.validate_against_table`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Final

from veil_service.errors import InvalidArgumentError

IMPUTATION_METHODS: Final = ("knn", "fast_knn", "mode", "median", "mean")
EXCLUDE_VARIABLES_METHODS: Final = ("row_order", "coordinate_similarity")

#: Row limit of one batch when the caller gives none. It bounds the cost of the neighbour search
#: (quasi-linear within a batch, so linear overall) and the memory of one worker.
DEFAULT_MAX_ROWS_PER_BATCH: Final = 50_000
#: A batch must hold enough rows for ``k`` neighbours to be local; below this the batch is refused.
MIN_ROWS_PER_BATCH: Final = 100


#: Default bound on an avatar's largest weight, in shares of an even split: 2/k (0.1 at k=20).
DEFAULT_MAX_WEIGHT_SHARES = 2.0
#: Default share of the spread lost by mixing that local noise gives back.
DEFAULT_LOCAL_NOISE = 1.0


@dataclass(frozen=True)
class AvatarizationParameters:
    """What an avatarization run may be told, with the Octopize names.

    Attributes:
        k: Number of nearest neighbours each avatar is drawn from (2 <= k < rows). Larger k gives
            more privacy and less utility.
        ncp: Number of projection dimensions the neighbour search uses (1 <= ncp <= dimensions).
        column_weights: Importance of each variable in the projection (default 1 each, > 0).
        use_categorical_reduction: Embed categorical variables with many modalities in a small
            latent space before the projection (see ``categorical_reduction``).
        exclude_variable_names: Variables kept out of the projection and re-attached afterwards.
        exclude_variables_method: ``row_order`` (SENSITIVE: excluded values keep their original
            row) or ``coordinate_similarity`` (each avatar takes the excluded values of the
            original nearest to it in the projection).
        imputation_method: One of ``knn``, ``fast_knn``, ``mode``, ``median``, ``mean``. Imputed
            values only serve the projection: missing values are put back in the avatars.
        imputation_k: Neighbours used by ``knn``/``fast_knn`` (default 5).
        imputation_training_fraction: Share of rows (0, 1] used as imputation donors (default 1).
        categorical_columns: Numeric columns the caller declares categorical.
        max_rows_per_batch: Row limit of a batch (default :data:`DEFAULT_MAX_ROWS_PER_BATCH`).
        n_jobs: Worker processes for the batches (-1: one per core).
        seed: Seed of every random draw; ``None`` draws fresh entropy (use that in production).
        max_weight: Largest share of an avatar one neighbour may carry, in [1/k, 1]; ``None``
            (the default) bounds it to 2/k (0.1 at k=20); 1 keeps Octopize's unbounded weights
            (one neighbour often carries most of it).
        local_noise: Share in [0, 1] of the spread lost by mixing neighbours that is given back
            as noise shaped like the neighbourhood (default 1; 0: none, Octopize's method).
        redraw_unique_copies: Draw again (fresh weights and noise) every avatar that equals an
            original row occurring once in the table (default on; off: Octopize's method).
        coupled_noise: Draw the local noise of all variables from one random combination of
            the neighbours' deviations (the neighbourhood's covariance, and categorical draws
            leaning with the same neighbours) instead of variable by variable (default off;
            engine only for now, measured in docs/benchmarks.md, "Coupled local noise").
        imputation_return_data_imputed: Give the avatars the imputed values instead of putting
            the original's missing values back (Octopize's ``return_data_imputed``).
        target_column: The column analysts will model (a label, an outcome), or ``None``. Its
            values are decoded without the local noise: a categorical takes its neighbours'
            weighted majority (Octopize's decoding), a numeric column (its missingness too) its
            neighbours' weighted mean; every other column keeps the noise. A model trained on
            the avatars then learns each neighbourhood's typical label instead of a random draw
            of it (docs/avatarization.md, "A named target column"); the cost is on that
            column's inference risk, which the report states.

    The defaults of the last three privacy parameters are Veil's, not Octopize's: measured with
    anonymeter against GaussianCopula (docs/benchmarks.md, "Privacy under attack"), Octopize's
    weights leave linkability up to 0.39 and inference up to 0.60 where these defaults leave
    0.003 and 0.14, for a utility loss of 0 to 0.07 AUC. ``max_weight=1, local_noise=0,
    redraw_unique_copies=False`` is the paper's method (the fidelity tests use it).
    """

    k: int = 20
    ncp: int = 5
    column_weights: dict[str, float] = field(default_factory=dict)
    use_categorical_reduction: bool = False
    exclude_variable_names: tuple[str, ...] = ()
    exclude_variables_method: str = "row_order"
    imputation_method: str = "fast_knn"
    imputation_k: int | None = None
    imputation_training_fraction: float | None = None
    categorical_columns: tuple[str, ...] = ()
    max_rows_per_batch: int | None = None
    n_jobs: int = -1
    seed: int | None = None
    max_weight: float | None = None
    local_noise: float = DEFAULT_LOCAL_NOISE
    redraw_unique_copies: bool = True
    imputation_return_data_imputed: bool = False
    coupled_noise: bool = False
    target_column: str | None = None

    def __post_init__(self) -> None:
        _check_int("k", self.k)
        if self.k < 2:
            raise InvalidArgumentError(
                f"k must be at least 2 (an avatar mixes k neighbours); got k={self.k}. Set k to 2 "
                "or more (20 is the usual value).",
                field="k",
            )
        _check_int("ncp", self.ncp)
        if self.ncp < 1:
            raise InvalidArgumentError(
                f"ncp must be at least 1; got ncp={self.ncp}. Use a value between 1 and the "
                "number of projection dimensions (5 is the usual value).",
                field="ncp",
            )
        for name, weight in self.column_weights.items():
            if not isinstance(weight, int | float) or not math.isfinite(weight) or weight <= 0:
                raise InvalidArgumentError(
                    f"column_weights[{name!r}] must be a finite number > 0; got {weight!r}. "
                    "Use 1 for the default importance, more to separate individuals on it.",
                    field="column_weights",
                )
        if self.exclude_variables_method not in EXCLUDE_VARIABLES_METHODS:
            raise InvalidArgumentError(
                f"exclude_variables_method must be one of {', '.join(EXCLUDE_VARIABLES_METHODS)}; "
                f"got {self.exclude_variables_method!r}.",
                field="exclude_variables_method",
            )
        if self.imputation_method not in IMPUTATION_METHODS:
            raise InvalidArgumentError(
                f"imputation_method must be one of {', '.join(IMPUTATION_METHODS)}; "
                f"got {self.imputation_method!r}.",
                field="imputation_method",
            )
        if self.imputation_k is not None:
            _check_int("imputation_k", self.imputation_k)
            if self.imputation_k < 1:
                raise InvalidArgumentError(
                    f"imputation_k must be at least 1; got {self.imputation_k}. Use 5 or leave "
                    "it unset.",
                    field="imputation_k",
                )
        fraction = self.imputation_training_fraction
        if fraction is not None and not (isinstance(fraction, int | float) and 0 < fraction <= 1):
            raise InvalidArgumentError(
                f"imputation_training_fraction must be in (0, 1]; got {fraction!r}. Use 1 to "
                "learn from every row, less to go faster on large tables.",
                field="imputation_training_fraction",
            )
        if self.max_rows_per_batch is not None:
            _check_int("max_rows_per_batch", self.max_rows_per_batch)
            smallest = max(MIN_ROWS_PER_BATCH, 2 * (self.k + 1))
            if self.max_rows_per_batch < smallest:
                raise InvalidArgumentError(
                    f"max_rows_per_batch must be at least {smallest} (100 rows, and twice k + 1 "
                    "so that every batch has k neighbours for each row); got "
                    f"{self.max_rows_per_batch}. Raise it or leave it unset.",
                    field="max_rows_per_batch",
                )
        self._check_privacy_knobs()
        _check_int("n_jobs", self.n_jobs)
        if self.n_jobs == 0 or self.n_jobs < -1:
            raise InvalidArgumentError(
                f"n_jobs must be -1 (one per core) or a positive count; got {self.n_jobs}.",
                field="n_jobs",
            )
        if self.seed is not None:
            _check_int("seed", self.seed)
            if self.seed < 0:
                raise InvalidArgumentError(
                    f"seed must be a non-negative integer or unset; got {self.seed}.",
                    field="seed",
                )

    def _check_privacy_knobs(self) -> None:
        weight = self.max_weight
        if weight is not None:
            if isinstance(weight, bool) or not isinstance(weight, int | float):
                raise InvalidArgumentError(
                    f"max_weight must be a number in [1/k, 1] or unset; got {weight!r}.",
                    field="max_weight",
                )
            if not (1.0 / self.k - 1e-12 <= weight <= 1.0):
                raise InvalidArgumentError(
                    f"max_weight must be between 1/k = {1.0 / self.k:.4f} (every neighbour "
                    f"weighs the same) and 1 (no bound); got {weight!r}. Raise it, lower k, or "
                    "leave it unset.",
                    field="max_weight",
                )
        noise = self.local_noise
        if (
            isinstance(noise, bool)
            or not isinstance(noise, int | float)
            or not (0.0 <= noise <= 1.0)
        ):
            raise InvalidArgumentError(
                f"local_noise must be a number in [0, 1]; got {noise!r}. Use 0 for Octopize's "
                "method, 1 to give back all the spread that mixing neighbours removes.",
                field="local_noise",
            )
        if not isinstance(self.redraw_unique_copies, bool):
            raise InvalidArgumentError(
                f"redraw_unique_copies must be true or false; got {self.redraw_unique_copies!r}.",
                field="redraw_unique_copies",
            )
        if not isinstance(self.coupled_noise, bool):
            raise InvalidArgumentError(
                f"coupled_noise must be true or false; got {self.coupled_noise!r}.",
                field="coupled_noise",
            )
        target = self.target_column
        if target is not None and (not isinstance(target, str) or not target):
            raise InvalidArgumentError(
                f"target_column must be the name of one of the table's columns or unset; got "
                f"{target!r}.",
                field="target_column",
            )

    @property
    def effective_imputation_k(self) -> int:
        """Neighbours for knn imputation: the caller's value or 5."""
        return 5 if self.imputation_k is None else self.imputation_k

    @property
    def effective_training_fraction(self) -> float:
        """Share of rows used as imputation donors: the caller's value or all of them."""
        return (
            1.0 if self.imputation_training_fraction is None else self.imputation_training_fraction
        )

    @property
    def effective_max_weight(self) -> float:
        """The bound on the largest weight: the caller's, or ``DEFAULT_MAX_WEIGHT_SHARES / k``."""
        if self.max_weight is None:
            return min(1.0, DEFAULT_MAX_WEIGHT_SHARES / self.k)
        return float(self.max_weight)

    @property
    def effective_max_rows_per_batch(self) -> int:
        """Row limit of a batch: the caller's value or :data:`DEFAULT_MAX_ROWS_PER_BATCH`."""
        if self.max_rows_per_batch is None:
            return DEFAULT_MAX_ROWS_PER_BATCH
        return self.max_rows_per_batch

    @property
    def effective_n_jobs(self) -> int:
        """Worker processes: the caller's count, or one per available core for -1."""
        if self.n_jobs == -1:
            return max(1, len(os.sched_getaffinity(0)))
        return self.n_jobs


def _check_int(name: str, value: object) -> None:
    # bool is an int subclass; True as k is a caller mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError(
            f"{name} must be an integer; got {value!r}.",
            field=name,
        )
