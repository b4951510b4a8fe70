"""Missing values: indicators that travel through the avatarization, and temporary imputation.

Missing values are reproduced, not imputed away (avatar_method.md section 1.2): each column with
missing values gets a binary indicator column, treated as categorical so that it takes part in the
projection and in the neighbours' mix; the column itself is imputed only so that the projection can
be computed. After decoding, the avatar's value is set missing wherever its decoded indicator says
so, which reproduces both the share of missing values and their relation to the other variables.

Methods (Octopize names): ``mean``, ``median`` and ``mode`` fill continuous columns with that
statistic (categorical columns always with their mode); ``knn`` averages the ``imputation_k``
nearest donors found by scikit-learn's exact ``KNNImputer``; ``fast_knn`` searches donors per
missing-value pattern with a tree on a bounded donor sample, which keeps large tables fast.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.impute import KNNImputer
from sklearn.neighbors import NearestNeighbors

from veil_service.engine.avatarize.column_types import CodeArray, FloatArray

#: fast_knn keeps at most this many donors: the search cost then stays linear in the table size.
FAST_KNN_MAX_DONORS = 5_000
#: fast_knn searches donors in this many principal components of the observed features.
FAST_KNN_DIMENSIONS = 8


@dataclass(frozen=True)
class MissingIndicators:
    """Which model columns had missing values (their indicators follow the categorical codes).

    Attributes:
        continuous: Indexes of continuous columns with missing values, in indicator order.
        categorical: Indexes of categorical columns with missing values, after the continuous ones.
    """

    continuous: tuple[int, ...]
    categorical: tuple[int, ...]

    @property
    def count(self) -> int:
        """Number of indicator columns."""
        return len(self.continuous) + len(self.categorical)


def missing_indicators(continuous: FloatArray, codes: CodeArray) -> MissingIndicators:
    """Find the columns that need an indicator."""
    return MissingIndicators(
        continuous=tuple(int(j) for j in np.flatnonzero(np.isnan(continuous).any(axis=0))),
        categorical=tuple(int(j) for j in np.flatnonzero((codes < 0).any(axis=0))),
    )


def indicator_codes(
    continuous: FloatArray, codes: CodeArray, indicators: MissingIndicators
) -> CodeArray:
    """The indicator columns as categorical codes (1 = missing)."""
    parts = [np.isnan(continuous[:, j]) for j in indicators.continuous]
    parts += [codes[:, j] < 0 for j in indicators.categorical]
    if not parts:
        return np.empty((continuous.shape[0], 0), dtype=np.int32)
    return np.column_stack(parts).astype(np.int32)


def impute(
    continuous: FloatArray,
    codes: CodeArray,
    n_categories: list[int],
    *,
    method: str,
    k: int,
    training_fraction: float,
    rng: np.random.Generator,
) -> tuple[FloatArray, CodeArray]:
    """Return copies of the arrays with every missing value filled.

    Args:
        continuous: Continuous values, NaN where missing.
        codes: Categorical codes, -1 where missing.
        n_categories: Number of modalities of each categorical column.
        method: One of ``knn``, ``fast_knn``, ``mode``, ``median``, ``mean``.
        k: Donors per imputed row for the knn methods.
        training_fraction: Share of rows that may serve as donors (0, 1].
        rng: Source of the donor sample.
    """
    cont = continuous.copy()
    cats = codes.copy()
    if not (np.isnan(cont).any() or (cats < 0).any()):
        return cont, cats
    if method in ("knn", "fast_knn"):
        _impute_knn(cont, cats, n_categories, k, training_fraction, rng, fast=method == "fast_knn")
    _impute_simple(cont, cats, n_categories, method)
    return cont, cats


def _impute_simple(cont: FloatArray, cats: CodeArray, n_categories: list[int], method: str) -> None:
    # Also the fallback of the knn methods for values whose donors were all missing.
    for j in range(cont.shape[1]):
        missing = np.isnan(cont[:, j])
        if missing.any():
            observed = cont[~missing, j]
            if method == "median":
                fill = float(np.median(observed))
            elif method == "mode":
                values, counts = np.unique(observed, return_counts=True)
                fill = float(values[np.argmax(counts)])
            else:
                fill = float(observed.mean())
            cont[missing, j] = fill
    for j in range(cats.shape[1]):
        missing = cats[:, j] < 0
        if missing.any():
            counts = np.bincount(cats[~missing, j], minlength=n_categories[j])
            cats[missing, j] = int(np.argmax(counts))


def _feature_matrix(
    cont: FloatArray,
    cats: CodeArray,
    n_categories: list[int],
    rows: npt.NDArray[np.intp],
    mean: FloatArray,
    std: FloatArray,
) -> FloatArray:
    """Standardised continuous values plus one-hot categoricals of ``rows``, NaN where missing."""
    blocks = [(cont[rows] - mean) / std]
    for j, m in enumerate(n_categories):
        onehot = np.zeros((len(rows), m), dtype=np.float64)
        codes = cats[rows, j]
        present = codes >= 0
        onehot[np.flatnonzero(present), codes[present]] = 1.0
        onehot[~present] = np.nan
        blocks.append(onehot)
    return np.hstack(blocks)


def _impute_knn(
    cont: FloatArray,
    cats: CodeArray,
    n_categories: list[int],
    k: int,
    training_fraction: float,
    rng: np.random.Generator,
    *,
    fast: bool,
) -> None:
    # Features are built only for donors and for rows to fill: a one-hot of the whole table would
    # not fit in memory for large tables with many modalities.
    n = cont.shape[0]
    mean = np.nanmean(cont, axis=0) if cont.shape[1] else np.empty(0)
    std = np.nanstd(cont, axis=0) if cont.shape[1] else np.empty(0)
    std[~(std > 0)] = 1.0
    n_donors = max(1, round(n * training_fraction))
    if fast:
        n_donors = min(n_donors, FAST_KNN_MAX_DONORS)
    donor_rows = (
        np.sort(rng.choice(n, size=n_donors, replace=False)) if n_donors < n else np.arange(n)
    )
    donors = _feature_matrix(cont, cats, n_categories, donor_rows, mean, std)
    target_rows = np.flatnonzero(np.isnan(cont).any(axis=1) | (cats < 0).any(axis=1))
    features = _feature_matrix(cont, cats, n_categories, target_rows, mean, std)
    if fast:
        filled = _fast_knn(features, donors, k)
    else:
        imputer = KNNImputer(n_neighbors=k, keep_empty_features=True).fit(donors)
        filled = imputer.transform(features)
    n_cont = cont.shape[1]
    sub = cont[target_rows]
    # The donors were searched and averaged on standardised values: back to the column's scale
    # (an age imputed as 0.3 standard deviations is 43, not 0.3).
    cont[target_rows] = np.where(np.isnan(sub), filled[:, :n_cont] * std + mean, sub)
    offset = n_cont
    for j, m in enumerate(n_categories):
        missing = cats[target_rows, j] < 0
        block = filled[missing, offset : offset + m]
        usable = ~np.isnan(block).all(axis=1)
        rows = target_rows[np.flatnonzero(missing)[usable]]
        cats[rows, j] = np.argmax(np.nan_to_num(block[usable], nan=-1.0), axis=1)
        offset += m


def _fast_knn(features: FloatArray, donors: FloatArray, k: int) -> FloatArray:
    """Average of the k nearest complete donors, searched on each row's observed features.

    The observed features are first reduced to their ``FAST_KNN_DIMENSIONS`` principal components
    (fitted on the donors), so the search runs on a kd-tree in few dimensions instead of a brute
    force over every one-hot column: an approximation that only feeds the projection.
    """
    out = features.copy()
    missing = np.isnan(features)
    complete_donors = donors[~np.isnan(donors).any(axis=1)]
    if len(complete_donors) == 0:
        return out
    k_eff = min(k, len(complete_donors))
    # Group rows by missing-value pattern; packing each row's pattern into bytes makes the
    # grouping a sort of short keys instead of a row-wise sort of wide boolean rows.
    packed = np.ascontiguousarray(np.packbits(missing, axis=1))
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    for p, row in enumerate(first):
        pattern = missing[row]
        if not pattern.any():
            continue
        rows = np.flatnonzero(inverse.ravel() == p)
        observed = ~pattern
        if not observed.any():
            out[np.ix_(rows, pattern)] = complete_donors[:, pattern].mean(axis=0)
            continue
        space = complete_donors[:, observed]
        queries = features[np.ix_(rows, observed)]
        # One complete donor has no covariance (NaN, and eigh fails): it is every row's
        # nearest anyway, so it is searched as it is.
        if space.shape[1] > FAST_KNN_DIMENSIONS and len(space) > 1:
            centre = space.mean(axis=0)
            eigenvalues, vectors = np.linalg.eigh(np.cov(space, rowvar=False))
            basis = vectors[:, np.argsort(eigenvalues)[::-1][:FAST_KNN_DIMENSIONS]]
            space = (space - centre) @ basis
            queries = (queries - centre) @ basis
        search = NearestNeighbors(n_neighbors=k_eff, algorithm="kd_tree").fit(space)
        _, neighbours = search.kneighbors(queries)
        out[np.ix_(rows, pattern)] = complete_donors[:, pattern][neighbours].mean(axis=1)
    return out
