"""Avatarize one batch with a fitted projection: the unit of work a worker process runs.

Everything a batch needs travels in :class:`BatchTask` (small numpy arrays and the fitted model),
and everything it produces in :class:`BatchOutput`, so a batch runs the same way in the calling
process or in a worker, and its random draws come only from its own seed: the output does not
depend on how many workers ran or in which order they finished.
"""

from __future__ import annotations

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
from veil_service.engine.avatarize.weights import barycentres, local_weights


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


@dataclass(frozen=True)
class BatchOutput:
    """What one batch gives back (rows in the batch's order).

    Attributes:
        continuous: Avatars' continuous model columns (not yet clipped or rounded).
        codes: Avatars' categorical codes, indicators included.
        original_projections: Originals' first components.
        avatar_projections: Avatars' first components (decoded avatars projected again).
        nearest_original: For each avatar, the batch row of the nearest original (or empty).
    """

    continuous: FloatArray
    codes: CodeArray
    original_projections: FloatArray
    avatar_projections: FloatArray
    nearest_original: IndexArray


def avatarize_batch(task: BatchTask) -> BatchOutput:
    """Project, find neighbours, draw weights, take barycentres and decode one batch."""
    rng = np.random.default_rng(task.seed)
    coordinates = project(task.model, task.continuous, task.codes)
    search_space = np.ascontiguousarray(coordinates[:, : task.ncp])
    distances, indexes = nearest_neighbours(search_space, task.k, task.workers)
    weights = local_weights(distances, rng)
    avatar_coordinates = barycentres(weights, indexes, coordinates)
    continuous, onehot = inverse_project(task.model, avatar_coordinates)
    codes = decode_modalities(task.model, onehot)
    keep = task.n_output_components
    # Only the returned components (which include the first ncp) are needed for the avatars.
    reprojected = weighted_scaled(task.model, continuous, codes) @ task.model.axes[:, :keep]
    nearest = np.empty(0, dtype=np.intp)
    if task.match_originals:
        nearest = nearest_points(search_space, reprojected[:, : task.ncp], task.workers)
    return BatchOutput(
        continuous=continuous,
        codes=codes,
        original_projections=coordinates[:, :keep].copy(),
        avatar_projections=reprojected,
        nearest_original=nearest,
    )
