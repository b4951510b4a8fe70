"""FAMD projection (PCA when every variable is continuous, MCA when every one is categorical).

Follows saiph's FAMD (avatar_method.md section 1.3): continuous columns are standardised with the
population standard deviation; each modality of a categorical variable becomes the column
(delta - p) / sqrt(p); every column is multiplied by its variable's weight (a categorical weight is
repeated over its modalities); the principal axes are the right singular vectors of that matrix.

PCA and MCA need no separate code: on continuous columns only, the matrix above is PCA's; on
categorical columns only, it equals MCA's standardised residual matrix up to one global factor,
which changes no neighbour, no barycentre weight and no decoded value. ``kind`` names which of the
three the data gave.

Every component is kept (the table has few encoded columns), so the inverse projection of an
original's coordinates gives its values back exactly; only the first ``ncp`` components drive the
neighbour search. The axes come from the eigen-decomposition of the small Gram matrix, so fitting
costs one pass over the training rows, and the signs are fixed (largest loading positive) so that
the same data always gives the same axes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from veil_service.engine.avatarize.column_types import CodeArray, FloatArray


@dataclass(frozen=True)
class FamdModel:
    """A fitted projection.

    Attributes:
        kind: ``PCA``, ``MCA`` or ``FAMD``.
        mean: Mean of each continuous column.
        std: Population standard deviation of each continuous column (1 where it is 0).
        proportions: Modality proportions of each categorical column.
        weights: Weight of each encoded column (variable weights repeated over modalities).
        axes: Principal axes as columns (encoded columns x components), strongest first.
        explained_variance_ratio: Share of inertia carried by each component.
    """

    kind: str
    mean: FloatArray
    std: FloatArray
    proportions: tuple[FloatArray, ...]
    weights: FloatArray
    axes: FloatArray
    explained_variance_ratio: FloatArray

    @property
    def n_components(self) -> int:
        """Number of dimensions of the projection space."""
        return int(self.axes.shape[1])

    @property
    def n_continuous(self) -> int:
        """Number of continuous encoded columns (they come first)."""
        return int(self.mean.shape[0])


def encoded_width(n_continuous: int, n_categories: list[int]) -> int:
    """Number of encoded columns (one per continuous variable, one per modality)."""
    return n_continuous + int(sum(n_categories))


def fit_famd(
    continuous: FloatArray, codes: CodeArray, n_categories: list[int], variable_weights: FloatArray
) -> FamdModel:
    """Fit the projection on complete (imputed) training rows.

    Args:
        continuous: Continuous values (rows x continuous variables), no NaN.
        codes: Categorical codes (rows x categorical variables), no -1.
        n_categories: Number of modalities of each categorical variable.
        variable_weights: One weight per variable, continuous first then categorical.
    """
    n = continuous.shape[0]
    mean = continuous.mean(axis=0) if continuous.shape[1] else np.empty(0)
    std = continuous.std(axis=0) if continuous.shape[1] else np.empty(0)
    std = np.where(std > 0, std, 1.0)
    proportions = tuple(
        np.maximum(np.bincount(codes[:, j], minlength=m) / n, 1.0 / n)
        for j, m in enumerate(n_categories)
    )
    repeats = [1] * continuous.shape[1] + list(n_categories)
    weights = np.repeat(np.asarray(variable_weights, dtype=np.float64), repeats)
    if continuous.shape[1] == 0:
        kind = "MCA"
    elif codes.shape[1] == 0:
        kind = "PCA"
    else:
        kind = "FAMD"
    partial = FamdModel(kind, mean, std, proportions, weights, np.empty((0, 0)), np.empty(0))
    scaled = weighted_scaled(partial, continuous, codes)
    gram = scaled.T @ scaled
    eigenvalues, eigenvectors = np.linalg.eigh(gram)
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues = np.clip(eigenvalues[order], 0.0, None)
    axes = eigenvectors[:, order]
    strongest = np.argmax(np.abs(axes), axis=0)
    axes *= np.where(axes[strongest, np.arange(axes.shape[1])] < 0, -1.0, 1.0)
    total = eigenvalues.sum()
    ratio = eigenvalues / total if total > 0 else eigenvalues
    return FamdModel(kind, mean, std, proportions, weights, axes, ratio)


def weighted_scaled(model: FamdModel, continuous: FloatArray, codes: CodeArray) -> FloatArray:
    """Standardise rows with the fitted statistics and apply the column weights."""
    n = continuous.shape[0]
    width = model.n_continuous + sum(len(p) for p in model.proportions)
    out = np.empty((n, width), dtype=np.float64)
    out[:, : model.n_continuous] = (continuous - model.mean) / model.std
    offset = model.n_continuous
    rows = np.arange(n)
    for j, p in enumerate(model.proportions):
        block = np.broadcast_to(-np.sqrt(p), (n, len(p))).copy()
        block[rows, codes[:, j]] += 1.0 / np.sqrt(p[codes[:, j]])
        out[:, offset : offset + len(p)] = block
        offset += len(p)
    out *= model.weights
    return out


def project(model: FamdModel, continuous: FloatArray, codes: CodeArray) -> FloatArray:
    """Coordinates of rows in the projection space (all components)."""
    return weighted_scaled(model, continuous, codes) @ model.axes


def inverse_project(model: FamdModel, coordinates: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Map coordinates back to continuous values and modality scores.

    Returns:
        The continuous values (unscaled), and the estimated one-hot values of every modality
        (delta-hat = z * sqrt(p) + p), which :func:`decode_modalities` turns into codes.
    """
    scaled = (coordinates @ model.axes.T) / model.weights
    continuous = scaled[:, : model.n_continuous] * model.std + model.mean
    offset = model.n_continuous
    blocks = []
    for p in model.proportions:
        blocks.append(scaled[:, offset : offset + len(p)] * np.sqrt(p) + p)
        offset += len(p)
    onehot = np.hstack(blocks) if blocks else np.empty((coordinates.shape[0], 0))
    return continuous, onehot


def decode_modalities(model: FamdModel, onehot: FloatArray) -> CodeArray:
    """Pick, for each categorical variable, the modality with the largest estimated indicator."""
    codes = np.empty((onehot.shape[0], len(model.proportions)), dtype=np.int32)
    offset = 0
    for j, p in enumerate(model.proportions):
        codes[:, j] = np.argmax(onehot[:, offset : offset + len(p)], axis=1)
        offset += len(p)
    return codes
