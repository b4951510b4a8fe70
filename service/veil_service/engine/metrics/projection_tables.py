"""The tables the distance metrics project: the avatarization's view of the data.

The distance-based privacy metrics (hidden rate, local cloaking, distance to closest, closest
rate) measure how far avatars are from originals *in the space the avatarization worked in*. Two
of Octopize's parameters change that space, and the metrics follow them as the avatarization
did:

* ``exclude_variable_names``: variables kept out of the avatarization are kept out of the
  projection (unless ``use_excluded_variables_in_metrics`` put them back, in which case the
  client does not send them here);
* ``use_categorical_reduction``: a categorical variable with many modalities enters the projection
  as its embedding (the avatarization's PPMI embedding, fitted on the original) instead of one
  column per modality.

Every other metric (direct matches, Hellinger, correlations, attacks) still sees every column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from veil_service.engine.avatarize.categorical_reduction import (
    REDUCTION_DIMENSIONS,
    fit_reduction,
)
from veil_service.engine.metrics.tables import AlignedTables, category_codes


def projection_tables(
    tables: AlignedTables, exclude: tuple[str, ...], use_categorical_reduction: bool
) -> AlignedTables:
    """The aligned tables as the distance metrics should project them."""
    if exclude:
        kept = [c for c in tables.columns if c not in exclude]
        tables = AlignedTables(
            tables.original[kept],
            tables.avatars[kept],
            None if tables.holdout is None else tables.holdout[kept],
            [c for c in tables.continuous if c in kept],
            [c for c in tables.categorical if c in kept],
        )
    if not use_categorical_reduction:
        return tables
    return _reduced(tables)


def _reduced(tables: AlignedTables) -> AlignedTables:
    if not tables.categorical:
        return tables
    frames = [tables.original, tables.avatars] + (
        [] if tables.holdout is None else [tables.holdout]
    )
    codes = {c: category_codes(frames, c) for c in tables.categorical}
    n_categories = [int(max(c.max() for c in codes[column]) + 1) for column in tables.categorical]
    if not any(m > REDUCTION_DIMENSIONS + 1 for m in n_categories):
        return tables
    original_codes = np.column_stack([codes[c][0] for c in tables.categorical]).astype(np.int32)
    continuous = tables.original[tables.continuous].to_numpy(dtype=np.float64, na_value=np.nan)
    present = (~np.isnan(continuous)).sum(axis=0)
    means = np.where(
        present > 0, np.nansum(continuous, axis=0) / np.maximum(present, 1), 0.0
    )  # the projection's own imputation: a missing value sits at the mean
    continuous = np.where(np.isnan(continuous), means, continuous)
    reduction = fit_reduction(continuous, np.ascontiguousarray(original_codes), n_categories)
    reduced_names = {tables.categorical[j] for j in reduction.reduced}
    out: list[pd.DataFrame] = []
    for index, frame in enumerate(frames):
        columns = {c: frame[c] for c in frame.columns if c not in reduced_names}
        for j, embedding in zip(reduction.reduced, reduction.embeddings, strict=True):
            name = tables.categorical[j]
            frame_codes = codes[name][index]
            # A modality the original never had (possible in the avatars of metrics-only runs)
            # sits at the centre of the embedding.
            inside = frame_codes < embedding.shape[0]
            vectors = np.zeros((len(frame), embedding.shape[1]))
            vectors[inside] = embedding[frame_codes[inside]]
            for d in range(embedding.shape[1]):
                columns[f"{name}__embedding_{d}"] = pd.Series(vectors[:, d], index=frame.index)
        out.append(pd.DataFrame(columns, index=frame.index))
    embedded = [c for c in out[0].columns if c not in tables.columns]
    return AlignedTables(
        out[0],
        out[1],
        out[2] if len(out) > 2 else None,
        [*tables.continuous, *embedded],
        [c for c in tables.categorical if c not in reduced_names],
    )
