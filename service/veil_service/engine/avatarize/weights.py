"""Random local weights and the weighted barycentre that makes each avatar.

Each neighbour j of a row gets P_j = (1 / d_j) * E_j * 2^(-s_j), with E_j an Exp(1) draw and s a
random permutation of the ranks 0..k-1; the weights are P normalised to sum to one
(avatar_method.md section 1.6). The inverse distance keeps the avatar local, the exponential
draw makes every avatar a fresh simulation, and the random contribution factor lets one random
neighbour dominate, so that the avatar is not the neighbourhood's mean (which would shrink the
variance and pull every avatar toward the same point).

That dominance is also where the method leaks (docs/avatarization.md, "Where the leakage comes
from"): on Adult the largest weight averages 0.6, so most avatars are a slightly moved copy of one
other individual, who can then be found, linked and inferred from. Two optional steps, measured in
docs/benchmarks.md, replace dominance by something that keeps the variance without copying:

* ``max_weight`` bounds the largest weight (the excess goes to the other neighbours in proportion
  to their weights), so that no avatar is mostly one individual;
* ``local_noise`` gives back the spread that mixing removed, variable by variable, instead of
  copying one neighbour: each continuous variable gets Gaussian noise sized to the neighbours'
  own spread of it, and each categorical variable is drawn from the neighbours' weighted
  frequencies of its modalities (Octopize takes the most frequent). Each variable is drawn on
  its own, so no avatar carries one neighbour's combination of values; variables on which the
  neighbours agree keep their common value.

Drawing each variable on its own also drops the neighbourhood's correlations (diamonds' price
and carat, a target and its features): ``coupled_noise`` draws one random combination of the
neighbours' deviations per avatar (:func:`deviation_coefficients`) and moves every variable with
it (:func:`shift_by_deviations`): the continuous noise then has the neighbourhood's covariance
(each variable's variance is the same as the independent draw's), and the categorical
frequencies lean toward the same neighbours before the draw.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse

from veil_service.engine.avatarize.column_types import CodeArray, FloatArray
from veil_service.engine.avatarize.neighbours import IndexArray

#: Distances below this (in projection units, where a variable's spread is about 1) count as this,
#: so that a duplicate neighbour gets a large but finite weight.
MIN_DISTANCE = 1e-6


def local_weights(
    distances: FloatArray, rng: np.random.Generator, max_weight: float | None = None
) -> FloatArray:
    """Draw the normalised barycentre weights (rows x k) for the given neighbour distances.

    Args:
        distances: Distances to each row's k neighbours.
        rng: Source of the draws.
        max_weight: Largest weight one neighbour may take (``None``: no bound). At least 1/k.
    """
    n, k = distances.shape
    exponential = rng.standard_exponential(size=(n, k))
    ranks = np.argsort(rng.random(size=(n, k)), axis=1)
    contribution = np.exp2(-ranks.astype(np.float64))
    raw = exponential * contribution / np.maximum(distances, MIN_DISTANCE)
    weights: FloatArray = raw / raw.sum(axis=1, keepdims=True)
    if max_weight is not None:
        weights = cap_weights(weights, max_weight)
    return weights


def cap_weights(weights: FloatArray, cap: float) -> FloatArray:
    """Bound every weight by ``cap``, giving the excess to the others in proportion to theirs.

    The result is the fixed point of capping the weights over ``cap`` and handing their excess
    to the uncapped ones in proportion to their weights, again until none is over: each row's
    uncapped weights end up scaled by one factor ``c``, so a row is ``min(cap, c x w)`` with the
    ``c`` that makes it sum to one ("water filling"). That ``c`` is found in closed form from
    the row's weights sorted in decreasing order: with the ``m`` largest capped, the others sum
    to ``1 - m x cap``, so ``c = (1 - m x cap) / (sum of the others)``, and ``m`` is the fewest
    for which the largest uncapped weight stays under the cap. One sort per row, where the
    redistribution loop took up to k passes over the whole matrix (it was the largest single
    cost of a linked parameter search: 1.9 of 12 s on Tutorial 3's tables, k up to 129); the
    two agree to rounding (tests/unit/engine/avatarize/test_avatarize_privacy_knobs.py).

    A row whose positive weights cannot take the whole mass under the cap (fewer than
    ``1 / cap`` of them: the others underflowed to 0) gives each positive weight the cap and
    shares the rest evenly among its zeros.

    Args:
        weights: Rows of non-negative weights summing to one (rows x k).
        cap: The bound, at least 1/k (every weight equal to 1/k is the only solution then).
    """
    n, k = weights.shape
    cap = max(cap, 1.0 / k)
    descending = -np.sort(-weights, axis=1)
    # rest[:, m]: the sum of each row's weights but its m largest.
    rest = np.cumsum(descending[:, ::-1], axis=1)[:, ::-1]
    capped_count = np.arange(k)
    # A row's smallest weights can underflow to denormals (a duplicate neighbour at distance
    # 1e-6 beside 2^-rank factors at large k): dividing by their sum overflows to inf, which
    # the fit test below rejects as it should, so the overflow is no fault to warn of.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        scale = (1.0 - capped_count * cap) / rest
        fits = (rest > 0) & (scale * descending <= cap * (1.0 + 1e-12))
    found = fits.any(axis=1)
    fewest = np.argmax(fits, axis=1)
    factor = np.where(found, scale[np.arange(n), fewest], 1.0)[:, None]
    out = np.minimum(cap, factor * weights)
    if not found.all():
        stuck = ~found
        positive = weights[stuck] > 0
        share = (1.0 - positive.sum(axis=1, keepdims=True) * cap) / np.maximum(
            k - positive.sum(axis=1, keepdims=True), 1
        )
        out[stuck] = np.where(positive, cap, share)
    result: FloatArray = out
    return result


def local_spread(
    weights: FloatArray, indexes: IndexArray, values: FloatArray, means: FloatArray
) -> FloatArray:
    """Weighted standard deviation of each variable among each row's neighbours.

    Args:
        weights: Barycentre weights (rows x k), rows summing to one.
        indexes: The neighbours (rows x k) into ``values``.
        values: Continuous model columns of the batch (batch rows x variables).
        means: The weighted means (the barycentres' continuous values), rows x variables.
    """
    n, k = weights.shape
    matrix = scipy.sparse.csr_matrix(
        (weights.ravel(), indexes.ravel(), np.arange(0, n * k + 1, k)),
        shape=(n, values.shape[0]),
    )
    second_moment = np.asarray(matrix @ (values**2))
    spread: FloatArray = np.sqrt(np.clip(second_moment - means**2, 0.0, None))
    return spread


def add_local_noise(
    means: FloatArray,
    spread: FloatArray,
    weights: FloatArray,
    rng: np.random.Generator,
    scale: float,
) -> FloatArray:
    """Continuous values plus Gaussian noise sized to the neighbourhood, variable by variable.

    A barycentre keeps only sum(w^2) of the neighbourhood's variance; the noise adds back
    ``scale^2 x (1 - sum(w^2))`` of it, so that with scale 1 an avatar spreads like one
    individual of its neighbourhood. Variables on which the neighbours agree get no noise.
    """
    lost = np.sqrt(np.clip(1.0 - (weights**2).sum(axis=1, keepdims=True), 0.0, None))
    noisy: FloatArray = means + scale * lost * spread * rng.standard_normal(size=means.shape)
    return noisy


def deviation_coefficients(
    weights: FloatArray, rng: np.random.Generator, scale: float
) -> FloatArray:
    """Random coefficients (rows x k) of the neighbours' deviations in a coupled local noise.

    Coefficient j is Gaussian with variance ``scale^2 x (1 - sum(w^2)) x w_j``, so that
    sum_j c_j (x_j - mean) has, for every variable, the variance :func:`add_local_noise` gives
    (``scale^2 x (1 - sum(w^2)) x spread^2``) and, across variables, the neighbourhood's
    weighted covariance: the noise keeps the local correlations instead of drawing each
    variable on its own.
    """
    lost = np.sqrt(np.clip(1.0 - (weights**2).sum(axis=1, keepdims=True), 0.0, None))
    coefficients: FloatArray = (
        scale * lost * np.sqrt(weights) * rng.standard_normal(size=weights.shape)
    )
    return coefficients


def shift_by_deviations(
    coefficients: FloatArray, indexes: IndexArray, values: FloatArray, means: FloatArray
) -> FloatArray:
    """``means + sum_j c_j (values[neighbour j] - means)`` for each row.

    Args:
        coefficients: From :func:`deviation_coefficients` (rows x k).
        indexes: The neighbours (rows x k) into ``values``.
        values: The batch's values (continuous model columns, or one-hot modalities).
        means: The barycentres' values (rows x variables).
    """
    n, k = coefficients.shape
    matrix = scipy.sparse.csr_matrix(
        (coefficients.ravel(), indexes.ravel(), np.arange(0, n * k + 1, k)),
        shape=(n, values.shape[0]),
    )
    total = coefficients.sum(axis=1, keepdims=True)
    shifted: FloatArray = means + np.asarray(matrix @ values) - total * means
    return shifted


def draw_modalities(
    frequencies: list[FloatArray], rng: np.random.Generator, temperature: float, n_rows: int
) -> CodeArray:
    """Draw each categorical variable's modality from the neighbourhood's weighted frequencies.

    Args:
        frequencies: One (rows x modalities) block per variable: the weighted share of the
            neighbours holding each modality (the barycentre's one-hot values).
        rng: Source of the draws.
        temperature: In (0, 1]: probabilities proportional to frequency^(1/temperature); 1 draws
            in proportion to the frequencies, lower values lean toward the most frequent
            modality (Octopize's choice, the limit at 0).
        n_rows: Avatars drawn (a table without categorical variables has no block to say it).
    """
    n = n_rows
    codes = np.empty((n, len(frequencies)), dtype=np.int32)
    for j, block in enumerate(frequencies):
        positive = np.clip(block, 0.0, None)
        if temperature < 1.0:
            top = positive.max(axis=1, keepdims=True)
            positive = (positive / np.maximum(top, 1e-300)) ** (1.0 / temperature)
        total = positive.sum(axis=1, keepdims=True)
        probabilities = np.where(
            total > 0, positive / np.maximum(total, 1e-300), 1.0 / block.shape[1]
        )
        cumulative = probabilities.cumsum(axis=1)
        draws = rng.random(size=(n, 1)) * cumulative[:, -1:]
        codes[:, j] = np.minimum((cumulative < draws).sum(axis=1), block.shape[1] - 1)
    return codes


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
