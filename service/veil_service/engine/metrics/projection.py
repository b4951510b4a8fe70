"""The FAMD projection that distance-based privacy metrics are measured in.

Octopize computes its distance metrics "in a projection fitted on the original data, with ncp
components", and the paper's code used saiph's FAMD. This module reproduces saiph's FAMD
(avatar_method.md section 1.3) closely enough that distances match the paper's: continuous columns
standardised with the population standard deviation, each categorical modality one-hot encoded
and scaled by ``(delta - p) / sqrt(p)``, column weights repeated per modality, then an SVD. Both
tables are projected with the model fitted on the original, so a far-away avatar stays far away.

It is fitted on the original only: fitting on the avatars would let a bad avatar table shape the
space it is judged in. Missing continuous values are replaced by the original's mean (as the
paper's notebooks did); missing categorical values are a modality of their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from veil_service.engine.metrics.tables import category_codes

_MIN_STD = np.finfo(np.float64).tiny

MAX_MODALITIES = 200
"""Modalities one categorical column may span in the projection; rarer ones share one "other".

An identifier-like column (100,000 distinct strings) would otherwise need 100,000 one-hot
columns. Grouping the tail changes distances only for records holding a value that fewer than
1 in 200 records share, and a kept identifier is caught by column_direct_match_protection.
"""


class _Other:
    """The shared modality of a column's rarest values (and of values unseen at fit time)."""

    def __repr__(self) -> str:
        return "<other modalities>"


OTHER = _Other()


@dataclass(frozen=True)
class FamdModel:
    """A FAMD fitted on an original table.

    Attributes:
        continuous: Continuous columns, in the order of the scaled matrix.
        categorical: Categorical columns, in the order of the scaled matrix.
        mean: Fitted mean of each continuous column (also its imputation value).
        std: Fitted population standard deviation of each continuous column (0 replaced by 1).
        modalities: For each categorical column, its fitted modalities (NaN included if present).
        proportions: Frequency of every modality, in one-hot column order.
        components: ``V`` as saiph stores it (components x one-hot columns), already divided by
            the square root of the column weights.
        explained_variance_ratio: Share of the total inertia carried by each component.
    """

    continuous: list[str]
    categorical: list[str]
    mean: np.ndarray
    std: np.ndarray
    modalities: dict[str, pd.Index]
    proportions: np.ndarray
    components: np.ndarray
    explained_variance_ratio: np.ndarray

    @property
    def n_components(self) -> int:
        """How many components the model holds (all of them)."""
        return int(self.components.shape[0])

    def scale(self, frame: pd.DataFrame) -> np.ndarray:
        """Standardise and one-hot encode a table with the fitted statistics.

        Args:
            frame: A table with at least the model's columns, values normalised by
                :func:`veil_service.engine.metrics.tables.align_tables`.

        Returns:
            The scaled matrix (rows x one-hot columns). Modalities unseen at fit time get no
            column, so their rows sit at the centre of that variable, as in saiph.
        """
        n = len(frame)
        # One output matrix filled in place: building a block per column and stacking them
        # copied the whole matrix once more (the largest cost of the projection at 200,000 rows).
        width = len(self.continuous) + len(self.proportions)
        scaled = np.empty((n, width), dtype=np.float64)
        start = 0
        if self.continuous:
            start = len(self.continuous)
            values = frame[self.continuous].to_numpy(dtype=np.float64, na_value=np.nan)
            values = np.where(np.isnan(values), self.mean, values)
            np.divide(values - self.mean, self.std, out=scaled[:, :start])
        offset = 0
        for column in self.categorical:
            modalities = self.modalities[column]
            prop = self.proportions[offset : offset + len(modalities)]
            root = np.sqrt(prop)
            block = scaled[:, start : start + len(modalities)]
            block[:] = -prop / root
            codes = modalities.get_indexer(pd.Index(frame[column].to_numpy(dtype=object)))
            if modalities[-1] is OTHER:
                codes = np.where(codes < 0, len(modalities) - 1, codes)
            known = codes >= 0
            block[np.flatnonzero(known), codes[known]] += 1.0 / root[codes[known]]
            start += len(modalities)
            offset += len(modalities)
        return scaled

    def transform(self, frame: pd.DataFrame, n_components: int | None = None) -> np.ndarray:
        """Coordinates of a table's rows on the first ``n_components`` components.

        Args:
            frame: The table to project (original, avatars or holdout).
            n_components: How many leading components to return (None: all).

        Returns:
            A float64 array of shape (rows, n_components).
        """
        k = self.n_components if n_components is None else min(n_components, self.n_components)
        return np.asarray(self.scale(frame) @ self.components[:k].T)


def fit_famd(
    original: pd.DataFrame,
    continuous: list[str],
    categorical: list[str],
    column_weights: Mapping[str, float] | None = None,
) -> FamdModel:
    """Fit a FAMD (PCA if no categorical column, one-hot MCA scaling otherwise) on the original.

    The SVD is taken through the eigen-decomposition of the small (one-hot columns squared) Gram
    matrix, which costs one pass over the rows: 200,000 rows and 100 one-hot columns fit in well
    under a second. Row weights are uniform, so they change no direction and are left out.

    Args:
        original: The original table (normalised values).
        continuous: Its continuous columns.
        categorical: Its categorical columns.
        column_weights: Optional weight per column (default 1); a categorical column's weight
            applies to each of its modalities, as in saiph.

    Returns:
        The fitted model with all components (as many as one-hot columns, at most rows).
    """
    weights = column_weights or {}
    values = original[continuous].to_numpy(dtype=np.float64, na_value=np.nan)
    present = (~np.isnan(values)).sum(axis=0)
    # An all-missing column is centred at 0 (its imputed values then carry no information).
    mean = np.where(present > 0, np.nansum(values, axis=0) / np.maximum(present, 1), 0.0)
    filled = np.where(np.isnan(values), mean, values)
    std = filled.std(axis=0) if continuous else np.zeros(0)
    std = np.where(std <= _MIN_STD, 1.0, std)
    modalities: dict[str, pd.Index] = {}
    proportions: list[np.ndarray] = []
    col_w: list[float] = [float(weights.get(c, 1.0)) for c in continuous]
    for column in categorical:
        (codes,) = category_codes([original], column)
        uniques = pd.unique(original[column].to_numpy(dtype=object))
        counts = np.bincount(codes, minlength=len(uniques)).astype(np.float64)
        if len(uniques) > MAX_MODALITIES:
            top = np.argsort(-counts, kind="stable")[: MAX_MODALITIES - 1]
            rest = counts.sum() - counts[top].sum()
            uniques = np.array([*uniques[top], OTHER], dtype=object)
            counts = np.append(counts[top], rest)
        index = pd.Index(uniques, dtype=object)
        modalities[column] = index
        proportions.append(counts / len(original))
        col_w.extend([float(weights.get(column, 1.0))] * len(index))
    model = FamdModel(
        continuous=list(continuous),
        categorical=list(categorical),
        mean=mean,
        std=std,
        modalities=modalities,
        proportions=np.concatenate(proportions) if proportions else np.zeros(0),
        components=np.zeros((0, len(col_w))),
        explained_variance_ratio=np.zeros(0),
    )
    weights_vector = np.asarray(col_w)
    weighted = model.scale(original) * weights_vector
    gram = weighted.T @ weighted
    eigenvalues, eigenvectors = np.linalg.eigh(gram)
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues = np.clip(eigenvalues[order], 0.0, None)
    n_keep = min(len(original), weighted.shape[1])
    vt = eigenvectors[:, order].T[:n_keep]
    total = float(eigenvalues.sum())
    ratio = eigenvalues[:n_keep] / total if total > 0 else np.zeros(n_keep)
    return FamdModel(
        continuous=model.continuous,
        categorical=model.categorical,
        mean=mean,
        std=std,
        modalities=modalities,
        proportions=model.proportions,
        components=vt / np.sqrt(weights_vector),
        explained_variance_ratio=ratio,
    )


def resolve_ncp(requested: int | None, model: FamdModel) -> int:
    """The number of components distance metrics use.

    Octopize: "If unspecified, ncp is set to the minimum value between 5 and the number of
    variables after one hot encoding." A request above the available components is capped at
    them, as the avatarization does (:func:`ncp_warning` says so).
    """
    if requested is None:
        return min(5, model.n_components)
    return min(requested, model.n_components)


def ncp_warning(requested: int | None, model: FamdModel) -> str | None:
    """The warning for an ``ncp`` above the projection's components, or None."""
    if requested is None or requested <= model.n_components:
        return None
    return (
        f"ncp={requested} is more than the {model.n_components} dimensions of this table's "
        f"projection: the distance metrics used all {model.n_components} (ncp capped at "
        f"{model.n_components})."
    )
