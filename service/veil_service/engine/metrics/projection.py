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
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

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
        code_positions: For each categorical column, the modality position of each code of
            the fitted table (codes numbered by first appearance, as ``pd.factorize`` does):
            lets :meth:`project` take codes a caller already has instead of hashing values.
    """

    continuous: list[str]
    categorical: list[str]
    mean: np.ndarray
    std: np.ndarray
    modalities: dict[str, pd.Index]
    proportions: np.ndarray
    components: np.ndarray
    explained_variance_ratio: np.ndarray
    code_positions: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_components(self) -> int:
        """How many components the model holds (all of them)."""
        return int(self.components.shape[0])

    def positions(
        self, frame: pd.DataFrame, column: str, codes: np.ndarray | None = None
    ) -> np.ndarray:
        """Each row's modality position in ``column``'s one-hot block (-1: unseen at fit time).

        ``codes``: the rows' codes in a coding shared with the fitted table, in which the
        fitted table's values are numbered first by first appearance (codes beyond them are
        values it did not have), e.g. :meth:`AlignedTables.codes` when the model was fitted on
        the original with those codes.
        """
        modalities = self.modalities[column]
        if codes is not None:
            lookup = self.code_positions[column]
            unseen = len(modalities) - 1 if modalities[-1] is OTHER else -1
            inside = codes < len(lookup)
            found = np.full(len(codes), unseen, dtype=np.intp)
            found[inside] = lookup[codes[inside]]
            return found
        codes = modalities.get_indexer(pd.Index(frame[column].to_numpy(dtype=object)))
        if modalities[-1] is OTHER:
            codes = np.where(codes < 0, len(modalities) - 1, codes)
        return np.asarray(codes, dtype=np.intp)

    def continuous_scaled(self, frame: pd.DataFrame) -> np.ndarray:
        """The continuous columns standardised with the fitted statistics (missing -> mean)."""
        values = np.column_stack(
            [frame[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in self.continuous]
        )
        values = np.where(np.isnan(values), self.mean, values)
        return np.asarray((values - self.mean) / self.std)

    def scale(self, frame: pd.DataFrame) -> np.ndarray:
        """Standardise and one-hot encode a table with the fitted statistics.

        This is the definition :meth:`transform` and :func:`fit_famd` compute without building
        the matrix (rows x one-hot columns: 880 MB for a million Adult rows); it is kept as the
        reference they are tested against.

        Args:
            frame: A table with at least the model's columns, values normalised by
                :func:`veil_service.engine.metrics.tables.align_tables`.

        Returns:
            The scaled matrix (rows x one-hot columns). Modalities unseen at fit time get no
            column, so their rows sit at the centre of that variable, as in saiph.
        """
        n = len(frame)
        width = len(self.continuous) + len(self.proportions)
        scaled = np.empty((n, width), dtype=np.float64)
        start = len(self.continuous)
        if self.continuous:
            scaled[:, :start] = self.continuous_scaled(frame)
        for column, (first, stop) in zip(self.categorical, self._blocks(), strict=True):
            prop = self.proportions[first - len(self.continuous) : stop - len(self.continuous)]
            root = np.sqrt(prop)
            block = scaled[:, first:stop]
            block[:] = -prop / root
            codes = self.positions(frame, column)
            known = codes >= 0
            block[np.flatnonzero(known), codes[known]] += 1.0 / root[codes[known]]
        return scaled

    def _blocks(self) -> list[tuple[int, int]]:
        """``(first, stop)`` columns of each categorical column's one-hot block."""
        out: list[tuple[int, int]] = []
        start = len(self.continuous)
        for column in self.categorical:
            out.append((start, start + len(self.modalities[column])))
            start += len(self.modalities[column])
        return out

    def transform(self, frame: pd.DataFrame, n_components: int | None = None) -> np.ndarray:
        """Coordinates of a table's rows on the first ``n_components`` components.

        Computed as ``scale(frame) @ components[:k].T``. Searches that break exact ties by
        whichever point a KD-tree meets first (the inference metrics) depend on the last bits
        of these coordinates, so they keep this exact product; :meth:`project` gives the same
        coordinates up to rounding without the one-hot matrix.

        Args:
            frame: The table to project (original, avatars or holdout).
            n_components: How many leading components to return (None: all).

        Returns:
            A float64 array of shape (rows, n_components).
        """
        k = self.n_components if n_components is None else min(n_components, self.n_components)
        return np.asarray(self.scale(frame) @ self.components[:k].T)

    def project(
        self,
        frame: pd.DataFrame,
        n_components: int | None = None,
        codes: Mapping[str, np.ndarray] | None = None,
    ) -> np.ndarray:
        """:meth:`transform`'s coordinates up to rounding (1e-14), without the one-hot matrix.

        Computed column by column: a categorical column adds, for each row, its modality's row
        of a (modalities x k) table plus the column's constant (the centring). On a million
        Adult rows the one-hot matrix is 0.9 GB and its product most of the projection's time.
        Equal rows get bitwise-equal coordinates. For metrics whose ties are settled with a
        tolerance (the distance metrics), not for tie-breaking by search order.

        Args:
            frame: The table to project (original, avatars or holdout).
            n_components: How many leading components to return (None: all).
            codes: Optional codes of the frame's categorical columns (see :meth:`positions`).

        Returns:
            A float64 array of shape (rows, n_components).
        """
        k = self.n_components if n_components is None else min(n_components, self.n_components)
        components = self.components[:k]
        n_cont = len(self.continuous)
        if n_cont:
            coords = np.asarray(self.continuous_scaled(frame) @ components[:, :n_cont].T)
        else:
            coords = np.zeros((len(frame), k))
        for column, (first, stop) in zip(self.categorical, self._blocks(), strict=True):
            root = np.sqrt(self.proportions[first - n_cont : stop - n_cont])
            block = components[:, first:stop]
            coords -= block @ root
            table = (block / root).T
            positions = self.positions(frame, column, None if codes is None else codes[column])
            known = positions >= 0
            if known.all():
                coords += table[positions]
            else:
                coords[known] += table[positions[known]]
        return coords


def fit_famd(
    original: pd.DataFrame,
    continuous: list[str],
    categorical: list[str],
    column_weights: Mapping[str, float] | None = None,
    gram_from_counts: bool = False,
    codes: Mapping[str, np.ndarray] | None = None,
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
        gram_from_counts: Build the Gram matrix from category counts (:func:`_gram`) instead of
            the one-hot product: equal up to rounding, far cheaper on large tables, but the
            components then differ in their last bits (see :meth:`FamdModel.transform`).
        codes: Optional codes of the original's categorical columns, numbered by first
            appearance (what ``pd.factorize`` gives, e.g. :meth:`AlignedTables.codes`): saves
            hashing the values again.

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
    positions: list[np.ndarray] = []
    code_positions: dict[str, np.ndarray] = {}
    proportions: list[np.ndarray] = []
    col_w: list[float] = [float(weights.get(c, 1.0)) for c in continuous]
    for column in categorical:
        if codes is not None and column in codes:
            column_codes = np.asarray(codes[column], dtype=np.intp)
            # First-appearance numbering: the rows where each code first appears, in code order.
            first = pd.Series(column_codes).drop_duplicates().index.to_numpy()
            uniques = original[column].to_numpy(dtype=object)[first]
        else:
            column_codes, uniques = pd.factorize(
                original[column].to_numpy(dtype=object), use_na_sentinel=False
            )
        lookup = np.arange(len(uniques), dtype=np.intp)
        counts = np.bincount(column_codes, minlength=len(uniques)).astype(np.float64)
        if len(uniques) > MAX_MODALITIES:
            top = np.argsort(-counts, kind="stable")[: MAX_MODALITIES - 1]
            rest = counts.sum() - counts[top].sum()
            lookup = np.full(len(uniques), len(top), dtype=np.intp)  # the rest: OTHER, last
            lookup[top] = np.arange(len(top))
            uniques = np.array([*uniques[top], OTHER], dtype=object)
            counts = np.append(counts[top], rest)
        code_positions[column] = lookup
        positions.append(lookup[column_codes])
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
    if gram_from_counts:
        gram = _gram(model, original, positions) * np.outer(weights_vector, weights_vector)
    else:
        weighted = model.scale(original) * weights_vector
        gram = weighted.T @ weighted
    eigenvalues, eigenvectors = np.linalg.eigh(gram)
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues = np.clip(eigenvalues[order], 0.0, None)
    n_keep = min(len(original), len(col_w))
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
        code_positions=code_positions,
    )


def _gram(model: FamdModel, original: pd.DataFrame, positions: list[np.ndarray]) -> np.ndarray:
    """``scale(original).T @ scale(original)`` from counts, without the one-hot matrix.

    With ``z`` the standardised continuous values, ``p_a`` a modality's proportion, ``c_a`` its
    count and ``N_ab`` the rows holding both modalities ``a`` and ``b`` (of two columns, or
    ``c_a`` on the diagonal of one column), the one-hot entries ``(delta - p) / sqrt(p)`` give:

    * continuous x continuous: ``z_i . z_j``;
    * continuous x modality a: ``(sum of z over rows holding a) / sqrt(p_a) - sqrt(p_a) sum z``;
    * modality a x modality b: ``N_ab / sqrt(p_a p_b) - n sqrt(p_a p_b)``.

    One pass of integer counting per pair of columns instead of an (n x width) product: on a
    million Adult rows, 0.9 GB and several seconds less. Equal to the product up to rounding.
    """
    n = len(original)
    n_cont = len(model.continuous)
    width = n_cont + len(model.proportions)
    gram = np.empty((width, width))
    z = model.continuous_scaled(original) if n_cont else np.zeros((n, 0))
    gram[:n_cont, :n_cont] = z.T @ z
    blocks = model._blocks()
    roots = np.sqrt(model.proportions)
    z_sums = z.sum(axis=0)
    for (first, stop), codes in zip(blocks, positions, strict=True):
        m = stop - first
        root = roots[first - n_cont : stop - n_cont]
        for i in range(n_cont):
            sums = np.bincount(codes, weights=z[:, i], minlength=m)
            cross = sums / root - root * z_sums[i]
            gram[i, first:stop] = cross
            gram[first:stop, i] = cross
    for left, ((first_a, stop_a), codes_a) in enumerate(zip(blocks, positions, strict=True)):
        root_a = roots[first_a - n_cont : stop_a - n_cont]
        for (first_b, stop_b), codes_b in list(zip(blocks, positions, strict=True))[left:]:
            root_b = roots[first_b - n_cont : stop_b - n_cont]
            m_b = stop_b - first_b
            together = np.bincount(codes_a * m_b + codes_b, minlength=(stop_a - first_a) * m_b)
            block = together.reshape(stop_a - first_a, m_b) / np.outer(root_a, root_b)
            block -= n * np.outer(root_a, root_b)
            gram[first_a:stop_a, first_b:stop_b] = block
            gram[first_b:stop_b, first_a:stop_a] = block.T
    return gram


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
