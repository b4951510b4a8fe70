"""Avatarize one batch with a fitted projection: the unit of work a worker process runs.

Everything a batch needs travels in :class:`BatchTask` (small numpy arrays and the fitted model),
and everything it produces in :class:`BatchOutput`, so a batch runs the same way in the calling
process or in a worker, and its random draws come only from its own seed: the output does not
depend on how many workers ran or in which order they finished. :func:`redraw_rows` draws new
avatars for some rows of a batch (same neighbours, fresh weights and noise), for the rows whose
avatar came out equal to an original that occurs once.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from veil_service.engine.avatarize.column_types import CodeArray, FloatArray
from veil_service.engine.avatarize.famd import (
    FamdModel,
    decode_modalities,
    inverse_project,
    project,
    weighted_scaled,
)
from veil_service.engine.avatarize.neighbours import IndexArray, nearest_neighbours, nearest_points
from veil_service.engine.avatarize.weights import (
    add_local_noise,
    barycentres,
    deviation_coefficients,
    draw_modalities,
    local_spread,
    local_weights,
    shift_by_deviations,
)


@dataclass(frozen=True)
class BatchTask:
    """One batch to avatarize.

    Attributes:
        model: The projection fitted on the training batch.
        continuous: Imputed continuous model columns of the batch's rows.
        codes: Imputed categorical codes (indicators included) of the batch's rows.
        k: Neighbours per avatar.
        ncp: Components used by the neighbour search.
        n_output_components: Components of the projections returned.
        seed: This batch's own seed sequence.
        match_originals: Also find, for each avatar, the batch's original nearest to it.
        workers: Threads for the neighbour queries (more than 1 only when the batch runs alone).
        max_weight: Bound on the largest barycentre weight (None: Octopize's unbounded weights).
        local_noise: Share of the mixing's lost spread given back as local noise, and
            temperature of the categorical draws (0: none, Octopize's argmax).
        coupled_noise: Draw the noise of all variables from one random combination of the
            neighbours' deviations (weights.deviation_coefficients) instead of one by one.
        keep_weights: Also return each row's neighbours and coefficients (diagnostics, tests).
        neighbours: Every batch row's neighbours, already searched with the same model, ``k``
            and ``ncp`` (a prepared avatarization reuses them across seeds); None searches them.
        exact_continuous: Continuous model columns decoded without local noise (the named
            target column's, or its embedding's): they keep the barycentre's value.
        exact_codes: Categorical model columns decoded without local noise (the named target
            column and its missingness indicator): they take the weighted majority.
    """

    model: FamdModel
    continuous: FloatArray
    codes: CodeArray
    k: int
    ncp: int
    n_output_components: int
    seed: np.random.SeedSequence
    match_originals: bool
    workers: int = 1
    max_weight: float | None = None
    local_noise: float = 0.0
    coupled_noise: bool = False
    keep_weights: bool = False
    neighbours: tuple[FloatArray, IndexArray] | None = None
    exact_continuous: tuple[int, ...] = ()
    exact_codes: tuple[int, ...] = ()


@dataclass(frozen=True)
class BatchOutput:
    """What one batch gives back (rows in the batch's order, or the redrawn rows' order).

    Attributes:
        continuous: Avatars' continuous model columns (not yet clipped or rounded).
        codes: Avatars' categorical codes, indicators included.
        original_projections: Originals' first components (empty for a redraw).
        avatar_projections: Avatars' first components (decoded avatars projected again).
        nearest_original: For each avatar, the batch row of the nearest original (or empty).
        neighbours: Batch rows of each avatar's k neighbours (empty unless ``keep_weights``).
        coefficients: The neighbours' coefficients, summing to one per row (same condition).
    """

    continuous: FloatArray
    codes: CodeArray
    original_projections: FloatArray
    avatar_projections: FloatArray
    nearest_original: IndexArray
    neighbours: IndexArray
    coefficients: FloatArray


def avatarize_batch(task: BatchTask) -> BatchOutput:
    """Project, find neighbours, draw weights, take barycentres and decode one batch."""
    rng = np.random.default_rng(task.seed)
    coordinates = project(task.model, task.continuous, task.codes)
    output = _avatarize_rows(task, coordinates, None, rng)
    keep = task.n_output_components
    return BatchOutput(
        continuous=output.continuous,
        codes=output.codes,
        original_projections=coordinates[:, :keep].copy(),
        avatar_projections=output.avatar_projections,
        nearest_original=output.nearest_original,
        neighbours=output.neighbours,
        coefficients=output.coefficients,
    )


def redraw_rows(task: BatchTask, rows: IndexArray, seed: np.random.SeedSequence) -> BatchOutput:
    """New avatars for some rows of a batch: same neighbours, fresh weights and noise."""
    coordinates = project(task.model, task.continuous, task.codes)
    return _avatarize_rows(task, coordinates, rows, np.random.default_rng(seed))


def _blocks(model: FamdModel, onehot: FloatArray) -> list[FloatArray]:
    """The one-hot values split per categorical variable."""
    bounds = np.cumsum([0, *(len(p) for p in model.proportions)])
    return [onehot[:, a:b] for a, b in itertools.pairwise(bounds)]


def _onehot(model: FamdModel, codes: CodeArray) -> FloatArray:
    """The batch's categorical codes as one-hot columns, in the model's modality order."""
    blocks = [np.eye(len(p))[codes[:, j]] for j, p in enumerate(model.proportions)]
    return np.hstack(blocks) if blocks else np.empty((codes.shape[0], 0))


def _without_noise(
    task: BatchTask, means: FloatArray, onehot: FloatArray, continuous: FloatArray, codes: CodeArray
) -> tuple[FloatArray, CodeArray]:
    """Put back the noise-free decoding on the named target column's model columns.

    The noise of every other column is drawn as without a target (same draws, in the same
    order), so the avatars differ from the defaults' on the target only.
    """
    if task.exact_continuous:
        continuous = continuous.copy()
        exact = list(task.exact_continuous)
        continuous[:, exact] = means[:, exact]
    if task.exact_codes:
        codes = codes.copy()
        blocks = _blocks(task.model, onehot)
        for j in task.exact_codes:
            codes[:, j] = np.argmax(blocks[j], axis=1)
    return continuous, codes


def _avatarize_rows(
    task: BatchTask,
    coordinates: FloatArray,
    rows: IndexArray | None,
    rng: np.random.Generator,
) -> BatchOutput:
    search_space = np.ascontiguousarray(coordinates[:, : task.ncp])
    if task.neighbours is None:
        distances, indexes = nearest_neighbours(search_space, task.k, task.workers, rows)
    else:
        # Each row's query is answered on its own, so a subset's neighbours are its rows of all.
        distances, indexes = task.neighbours
        if rows is not None:
            distances, indexes = distances[rows], indexes[rows]
    coefficients = local_weights(distances, rng, task.max_weight)
    avatar_coordinates = barycentres(coefficients, indexes, coordinates)
    continuous, onehot = inverse_project(task.model, avatar_coordinates)
    means = continuous
    if task.local_noise > 0 and task.coupled_noise:
        deviations = deviation_coefficients(coefficients, rng, task.local_noise)
        continuous = shift_by_deviations(deviations, indexes, task.continuous, continuous)
        leaning = shift_by_deviations(deviations, indexes, _onehot(task.model, task.codes), onehot)
        codes = draw_modalities(
            _blocks(task.model, leaning), rng, task.local_noise, len(continuous)
        )
    elif task.local_noise > 0:
        spread = local_spread(coefficients, indexes, task.continuous, continuous)
        continuous = add_local_noise(continuous, spread, coefficients, rng, task.local_noise)
        codes = draw_modalities(_blocks(task.model, onehot), rng, task.local_noise, len(continuous))
    else:
        codes = decode_modalities(task.model, onehot)
    if task.local_noise > 0:
        continuous, codes = _without_noise(task, means, onehot, continuous, codes)
    keep = task.n_output_components
    # Only the returned components (which include the first ncp) are needed for the avatars.
    reprojected = weighted_scaled(task.model, continuous, codes) @ task.model.axes[:, :keep]
    nearest = np.empty(0, dtype=np.intp)
    if task.match_originals:
        nearest = nearest_points(search_space, reprojected[:, : task.ncp], task.workers)
    empty_index = np.empty((0, task.k), dtype=np.intp)
    return BatchOutput(
        continuous=continuous,
        codes=codes,
        original_projections=np.empty((0, keep)),
        avatar_projections=reprojected,
        nearest_original=nearest,
        neighbours=indexes if task.keep_weights else empty_index,
        coefficients=coefficients if task.keep_weights else np.empty((0, task.k)),
    )
