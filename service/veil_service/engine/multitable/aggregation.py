"""Information flowing along links: children summarised per parent, parents broadcast to children.

Before a parent is avatarized, each of its child tables is summarised per parent row and the
summary appended to it, so that avatar parents carry the structure of their children
(avatar_method.md 1.12): how many children, the mean of each continuous child variable, the share
of each frequent modality of each categorical child variable. A parent without children gets a
count of 0 and, for means and shares, the values over all children (an undefined mean would add a
missing-value indicator per column to the projection for no information).

Before a child is avatarized, its parent's variables are broadcast onto its rows, so that avatar
children carry the parent they were drawn near; that part of each avatar child is what the
assignment to avatar parents compares (:mod:`veil_service.engine.multitable.assignment`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

MAX_SHARED_MODALITIES = 8
"""Modalities of a categorical child variable summarised per parent; rarer ones are left out.

Each kept modality becomes one parent column: eight keep a many-valued variable from swamping the
parent's own variables, and the rare modalities they drop weigh little in any distance.
"""


@dataclass(frozen=True)
class ChildSummary:
    """A child table summarised per parent row.

    Attributes:
        frame: One row per parent row (same order), the summary columns.
        count_column: The column holding each parent's number of children.
        weights: Projection weight of each summary column (the count weighs 1; the means and
            shares of one child table share a total weight of 1).
        modalities: The modalities summarised for each categorical variable, so that another
            table (the avatars) can be summarised on the same ones.
    """

    frame: pd.DataFrame
    count_column: str
    weights: dict[str, float]
    modalities: dict[str, pd.Index]


def is_continuous(series: pd.Series, categorical: Iterable[str] = ()) -> bool:
    """Numbers (not booleans) and datetimes are summarised by a mean; the rest by shares."""
    if series.name in set(categorical):
        return False
    if pd.api.types.is_bool_dtype(series):
        return False
    return bool(
        pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series)
    )


def as_float(series: pd.Series) -> np.ndarray:
    """Continuous values as float64 (datetimes in seconds since the epoch, NaN where missing)."""
    if pd.api.types.is_datetime64_any_dtype(series):
        stamps = pd.to_datetime(series, utc=True)
        seconds = stamps.astype("int64").to_numpy().astype(np.float64) / 1e9
        seconds[stamps.isna().to_numpy()] = np.nan
        return seconds
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def parent_positions(parent_keys: pd.Series, child_keys: pd.Series) -> np.ndarray:
    """Row position in the parent table of each child row's parent (keys checked beforehand)."""
    positions = pd.Index(parent_keys.to_numpy()).get_indexer(pd.Index(child_keys.to_numpy()))
    return np.asarray(positions, dtype=np.intp)


def summarise_children(
    child: pd.DataFrame,
    positions: np.ndarray,
    n_parents: int,
    columns: list[str],
    prefix: str,
    categorical: Iterable[str] = (),
    modalities: dict[str, pd.Index] | None = None,
) -> ChildSummary:
    """Summarise a child table per parent row.

    Args:
        child: The child table.
        positions: Parent row position of each child row (:func:`parent_positions`).
        n_parents: Rows of the parent table.
        columns: Child variables to summarise (keys excluded).
        prefix: Prefix of the summary column names (distinct per child table).
        categorical: Numeric child columns to summarise as categories.
        modalities: Modalities to summarise per categorical variable (default: its
            :data:`MAX_SHARED_MODALITIES` most frequent).

    Returns:
        The summary, row ``p`` describing the children of parent row ``p``.
    """
    counts = np.bincount(positions, minlength=n_parents).astype(np.float64)
    # A float column: the avatarization rounds an integer one, and rounded avatar counts (local
    # means: 0.4 where a parent's neighbours are mostly childless) lost most small counts to 0
    # before the assignment could share the children out by them.
    data: dict[str, np.ndarray] = {f"{prefix}count": counts}
    shared: list[str] = []
    kept: dict[str, pd.Index] = {}
    categorical = list(categorical)
    for column in columns:
        series = child[column]
        if is_continuous(series, categorical):
            values = as_float(series)
            present = ~np.isnan(values)
            if not present.any():
                continue
            sums = np.bincount(positions[present], values[present], minlength=n_parents)
            seen = np.bincount(positions[present], minlength=n_parents)
            mean = np.full(n_parents, float(values[present].mean()))
            has = seen > 0
            mean[has] = sums[has] / seen[has]
            name = f"{prefix}mean.{column}"
            data[name] = mean
            shared.append(name)
            continue
        labels = series.astype(object)
        if modalities is not None and column in modalities:
            frequent = modalities[column]
        else:
            frequent = labels.value_counts(dropna=True).index[:MAX_SHARED_MODALITIES]
        kept[column] = pd.Index(frequent)
        overall = labels.value_counts(normalize=True, dropna=False)
        has_children = counts > 0
        for number, modality in enumerate(frequent):
            hits = (labels == modality).to_numpy()
            share = np.full(n_parents, float(overall.get(modality, 0.0)))
            per_parent = np.bincount(positions[hits], minlength=n_parents)
            share[has_children] = per_parent[has_children] / counts[has_children]
            name = f"{prefix}share.{column}.{number}"
            data[name] = share
            shared.append(name)
    count_column = f"{prefix}count"
    weights = {count_column: 1.0}
    weights.update({name: 1.0 / np.sqrt(len(shared)) for name in shared})
    return ChildSummary(pd.DataFrame(data), count_column, weights, kept)


def broadcast_parent(
    parent: pd.DataFrame, positions: np.ndarray, columns: list[str], prefix: str
) -> pd.DataFrame:
    """The parent variables of each child row (row ``i`` = the parent of child row ``i``).

    Args:
        parent: The parent table.
        positions: Parent row position of each child row.
        columns: Parent variables to broadcast.
        prefix: Prefix of the broadcast column names.
    """
    picked = parent[columns].iloc[positions].reset_index(drop=True)
    return picked.rename(columns={c: f"{prefix}{c}" for c in columns})
