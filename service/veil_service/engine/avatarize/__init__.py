"""The avatar method: each original row yields one synthetic avatar, drawn among its neighbours.

Usage::

    from veil_service.engine.avatarize import avatarize

    result = avatarize(df, k=20, ncp=5, seed=42)
    result.avatars          # shuffled avatars, to release
    result.unshuffled       # SENSITIVE: row i is original row i's avatar (metrics only)

Plain pandas, numpy, scipy and scikit-learn: no gRPC, protobuf or database here.
docs/avatarization.md describes the method as implemented.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from veil_service.engine.avatarize.parameters import (
    DEFAULT_MAX_ROWS_PER_BATCH,
    AvatarizationParameters,
)
from veil_service.engine.avatarize.pipeline import AvatarizationResult, run_avatarization

__all__ = [
    "DEFAULT_MAX_ROWS_PER_BATCH",
    "AvatarizationParameters",
    "AvatarizationResult",
    "avatarize",
    "run_avatarization",
]


def avatarize(
    df: pd.DataFrame,
    *,
    k: int = 20,
    ncp: int = 5,
    column_weights: dict[str, float] | None = None,
    use_categorical_reduction: bool = False,
    exclude_variable_names: list[str] | None = None,
    exclude_variables_method: str = "row_order",
    imputation_method: str = "fast_knn",
    imputation_k: int | None = None,
    imputation_training_fraction: float | None = None,
    imputation_return_data_imputed: bool = False,
    categorical_columns: list[str] | None = None,
    max_rows_per_batch: int | None = None,
    n_jobs: int = -1,
    seed: int | None = None,
    max_weight: float | None = None,
    local_noise: float = 1.0,
    redraw_unique_copies: bool = True,
    coupled_noise: bool = False,
    target_column: str | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> AvatarizationResult:
    """Avatarize a table: one avatar per row, same columns and dtypes, rows shuffled.

    Parameter names are those of the Octopize client's ``Runner.set_parameters``.

    Args:
        df: The original table (one row per individual; drop identifiers first or exclude them).
        k: Neighbours each avatar is drawn from, 2 <= k < rows. More privacy, less utility.
        ncp: Projection components the neighbour search uses (1 to the projection width).
        column_weights: Importance of variables in the projection (default 1; > 0).
        use_categorical_reduction: Embed categoricals of many modalities in 4 dimensions each.
        exclude_variable_names: Columns kept out of the avatarization and re-attached.
        exclude_variables_method: ``row_order`` (SENSITIVE: values stay on their original row) or
            ``coordinate_similarity`` (the value of the original nearest to the avatar).
        imputation_method: ``knn``, ``fast_knn``, ``mode``, ``median`` or ``mean``; imputed values
            serve only the projection, missing values are reproduced in the avatars.
        imputation_k: Neighbours of the knn imputations (default 5).
        imputation_training_fraction: Share of rows used as imputation donors (default 1).
        imputation_return_data_imputed: Keep the imputed values in the avatars instead of
            reproducing the original's missing values.
        categorical_columns: Numeric columns to treat as categorical (few distinct codes).
        max_rows_per_batch: Row limit of a batch (default ``DEFAULT_MAX_ROWS_PER_BATCH``): rows
            are avatarized by batches, neighbours searched within a batch.
        n_jobs: Worker processes for the batches (-1: one per core).
        seed: Seed for every random draw: same table, parameters and seed give byte-identical
            avatars. ``None`` (the production setting) draws fresh randomness.
        max_weight: Largest share of an avatar one neighbour may carry, in [1/k, 1] (default
            2/k; 1 is Octopize's unbounded weights).
        local_noise: Share in [0, 1] of the spread lost by mixing that comes back as noise
            shaped like the neighbourhood (default 1; 0 is Octopize's method).
        redraw_unique_copies: Redraw avatars equal to an original row that occurs once (default
            on). ``max_weight=1, local_noise=0, redraw_unique_copies=False`` is the paper's
            method; the defaults are Veil's safer ones (docs/avatarization.md).
        coupled_noise: Draw the local noise of all variables from one random combination of the
            neighbours' deviations, keeping the neighbourhood's correlations (default off;
            docs/benchmarks.md, "Coupled local noise").
        target_column: The column analysts will model. Its values are decoded without the local
            noise (a categorical: the neighbours' weighted majority; a number: their weighted
            mean), so a model trained on the avatars keeps more of its relation to the other
            columns; every other column keeps the noise. The cost is that column's inference
            risk (docs/avatarization.md, "A named target column").
        progress: Called with (fraction done in [0, 1], phase name) at each phase and batch.

    Returns:
        The shuffled avatars, the unshuffled avatars and both projections.

    Raises:
        veil_service.errors.InvalidArgumentError: a parameter or the table is invalid; the message
            names the parameter and the fix.
    """
    params = AvatarizationParameters(
        k=k,
        ncp=ncp,
        column_weights=dict(column_weights or {}),
        use_categorical_reduction=use_categorical_reduction,
        exclude_variable_names=tuple(exclude_variable_names or ()),
        exclude_variables_method=exclude_variables_method,
        imputation_method=imputation_method,
        imputation_k=imputation_k,
        imputation_training_fraction=imputation_training_fraction,
        imputation_return_data_imputed=imputation_return_data_imputed,
        categorical_columns=tuple(categorical_columns or ()),
        max_rows_per_batch=max_rows_per_batch,
        n_jobs=n_jobs,
        seed=seed,
        max_weight=max_weight,
        local_noise=local_noise,
        redraw_unique_copies=redraw_unique_copies,
        coupled_noise=coupled_noise,
        target_column=target_column,
    )
    return run_avatarization(df, params, progress)
