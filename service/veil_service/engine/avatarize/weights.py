"""Random local weights and the weighted barycentre that makes each avatar.

Each neighbour j of a row gets P_j = (1 / d_j) * E_j * 2^(-s_j), with E_j an Exp(1) draw and s a
random permutation of the ranks 0..k-1; the weights are P normalised to sum to one
(avatar_method.md section 1.6). The inverse distance keeps the avatar local, the exponential
draw makes every avatar a fresh simulation, and the random contribution factor lets one random
neighbour dominate, so that the avatar is not the neighbourhood's mean (which would shrink the
variance and pull every avatar toward the same point).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse

from veil_service.engine.avatarize.column_types import FloatArray
from veil_service.engine.avatarize.neighbours import IndexArray

#: Distances below this (in projection units, where a variable's spread is about 1) count as this,
#: so that a duplicate neighbour gets a large but finite weight.
MIN_DISTANCE = 1e-6


def local_weights(distances: FloatArray, rng: np.random.Generator) -> FloatArray:
    """Draw the normalised barycentre weights (rows x k) for the given neighbour distances."""
    n, k = distances.shape
    exponential = rng.standard_exponential(size=(n, k))
    ranks = np.argsort(rng.random(size=(n, k)), axis=1)
    contribution = np.exp2(-ranks.astype(np.float64))
    raw = exponential * contribution / np.maximum(distances, MIN_DISTANCE)
    weights: FloatArray = raw / raw.sum(axis=1, keepdims=True)
    return weights


def barycentres(weights: FloatArray, indexes: IndexArray, coordinates: FloatArray) -> FloatArray:
    """Weighted barycentre of each row's neighbours, in the full coordinate space.

    A sparse (rows x rows) weight matrix does it in one product, without materialising the
    rows x k x dimensions array of neighbour coordinates.
    """
    n, k = weights.shape
    matrix = scipy.sparse.csr_matrix(
        (weights.ravel(), indexes.ravel(), np.arange(0, n * k + 1, k)),
        shape=(n, coordinates.shape[0]),
    )
    result: FloatArray = np.asarray(matrix @ coordinates)
    return result
