"""Helpers of the inter-record processors: records of one individual, in order."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def record_order(df: pd.DataFrame, id_variable: str, by: list[str]) -> IntArray:
    """Row positions sorted by individual, then by ``by`` (stable: ties keep the row order)."""
    keys = [id_variable, *by]
    frame = df[keys].reset_index(drop=True)
    order = frame.sort_values(keys, kind="stable").index.to_numpy()
    return np.asarray(order, dtype=np.int64)


def previous_in_group(values: FloatArray, ids: npt.NDArray[np.object_]) -> FloatArray:
    """The value of each record's predecessor in its group (itself for a group's first record).

    ``values`` and ``ids`` are already in record order.
    """
    previous = np.roll(values, 1)
    first = np.ones(len(values), dtype=bool)
    if len(values) > 1:
        first[1:] = ids[1:] != ids[:-1]
    previous[first] = values[first]
    return previous


def first_in_group(values: FloatArray, ids: npt.NDArray[np.object_]) -> FloatArray:
    """Each record's group's first value (records in order)."""
    starts = np.ones(len(values), dtype=bool)
    if len(values) > 1:
        starts[1:] = ids[1:] != ids[:-1]
    group = np.cumsum(starts) - 1
    result: FloatArray = values[starts][group]
    return result


def relative_change(new: FloatArray, old: FloatArray, low: float, high: float) -> FloatArray:
    """The change from ``old`` to ``new`` as a share of the room left towards the bound.

    An increase is divided by ``high - old``, a decrease by ``old - low`` (so the result is in
    [-1, 1] for values within the bounds); no room means no change (0).
    """
    room = np.where(new >= old, high - old, old - low)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = (new - old) / room
    return np.where(room > 0, share, 0.0)


def apply_relative_change(
    share: FloatArray, old: FloatArray, low: float, high: float
) -> FloatArray:
    """Inverse of :func:`relative_change` (shares clipped to [-1, 1], so results stay in bounds)."""
    share = np.clip(np.nan_to_num(share), -1.0, 1.0)
    return np.where(share >= 0, old + share * (high - old), old + share * (old - low))


def decode_sequentially(
    ids: npt.NDArray[np.object_],
    step: Callable[[IntArray, FloatArray], FloatArray],
    initial: FloatArray,
) -> None:
    """Walk each group's records in order, all groups at once, position by position.

    ``step(rows, previous)`` receives the rows at the current position of every group that has
    one and their groups' running values, and returns the new running values. ``initial`` holds,
    per row, its group's starting value (only the first row of each group is read).
    """
    n = len(ids)
    if n == 0:
        return
    starts = np.ones(n, dtype=bool)
    starts[1:] = ids[1:] != ids[:-1]
    group = np.cumsum(starts) - 1
    first_row = np.flatnonzero(starts)
    position = np.arange(n) - first_row[group]
    running = initial[first_row].astype(np.float64)
    for t in range(int(position.max()) + 1):
        rows = np.flatnonzero(position == t)
        running[group[rows]] = step(rows, running[group[rows]])


def restore_column_order(source: pd.DataFrame, out: pd.DataFrame) -> pd.DataFrame:
    """``out``'s columns in ``source``'s order, columns unknown to ``source`` last."""
    known = [c for c in source.columns if c in out.columns]
    return out[known + [c for c in out.columns if c not in source.columns]]
