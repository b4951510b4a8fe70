"""Aligning series of different lengths and times on one grid, and back (avatar_method.md 1.11).

Each individual's series is read on its own time span, mapped to [0, 1], then resampled by linear
interpolation at ``nb_points`` evenly spaced positions of [0, 1]. What the grid loses (where the
series starts, how long it lasts, how many readings it has) is kept per individual as three
numbers, avatarized with the rest, and used to put avatar curves back on a time axis.

Every function works on all individuals at once: series are laid end to end on one axis where
individual ``i`` occupies [2i, 2i + 1], so one ``numpy.interp`` call resamples them all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from veil_service.engine.timeseries.parameters import TimeSeriesParameters


@dataclass(frozen=True)
class Readings:
    """The readings of a series table, sorted by individual then time.

    Attributes:
        owner: Individual (parent row position) of each reading.
        time: Time of each reading, float seconds or numbers.
        values: One column per variable (readings x variables), NaN where missing.
        n_individuals: Rows of the parent table (individuals without readings included).
    """

    owner: np.ndarray
    time: np.ndarray
    values: np.ndarray
    n_individuals: int

    @property
    def counts(self) -> np.ndarray:
        """Readings per individual."""
        return np.bincount(self.owner, minlength=self.n_individuals)


@dataclass(frozen=True)
class Aligned:
    """Series on the common grid.

    Attributes:
        curves: individuals x grid points x variables (individuals without readings: NaN).
        start: First time of each individual's series.
        span: Last minus first time.
        counts: Readings per individual.
    """

    curves: np.ndarray
    start: np.ndarray
    span: np.ndarray
    counts: np.ndarray

    @property
    def has_series(self) -> np.ndarray:
        """Individuals with at least two readings."""
        return np.asarray(self.counts >= 2)


def sort_readings(
    owner: np.ndarray, time: np.ndarray, values: np.ndarray, n_individuals: int
) -> Readings:
    """Sort readings by individual and time and fill missing values within each series.

    A missing value is filled from the nearest earlier reading of the same series, else the
    nearest later one; a variable missing from a whole series takes the variable's mean.
    """
    order = np.lexsort((time, owner))
    owner, time, values = owner[order], time[order], values[order].astype(np.float64)
    if np.isnan(values).any():
        frame = pd.DataFrame(values)
        filled = frame.groupby(owner, sort=False).transform(lambda s: s.ffill().bfill())
        values = filled.to_numpy(dtype=np.float64)
        means = np.nanmean(values, axis=0) if np.isfinite(values).any() else 0.0
        values = np.where(np.isnan(values), np.nan_to_num(means), values)
    return Readings(owner, time, values, n_individuals)


def grid_length(counts: np.ndarray, params: TimeSeriesParameters) -> int:
    """Points of the common grid, from the alignment method and the series lengths."""
    lengths = counts[counts >= 2]
    if params.method == "specified" and params.nb_points is not None:
        return params.nb_points
    if params.method == "max":
        return int(lengths.max())
    if params.method == "min":
        return int(lengths.min())
    return max(2, round(float(lengths.mean())))


def align(readings: Readings, n_points: int) -> Aligned:
    """Resample every series on ``n_points`` evenly spaced positions of its own time span."""
    n = readings.n_individuals
    counts = readings.counts
    first = np.r_[0, np.cumsum(counts)[:-1]]
    has = counts > 0
    start = np.full(n, np.nan)
    last = np.full(n, np.nan)
    start[has] = readings.time[first[has]]
    last[has] = readings.time[first[has] + counts[has] - 1]
    span = last - start
    safe_span = np.where(span > 0, span, 1.0)
    position = (readings.time - start[readings.owner]) / safe_span[readings.owner]
    axis = 2.0 * readings.owner + position
    grid = np.linspace(0.0, 1.0, n_points)
    targets = (2.0 * np.arange(n)[:, None] + grid[None, :]).ravel()
    curves = np.full((n, n_points, readings.values.shape[1]), np.nan)
    series = counts >= 2
    for j in range(readings.values.shape[1]):
        resampled = np.interp(targets, axis, readings.values[:, j]).reshape(n, n_points)
        curves[series, :, j] = resampled[series]
    return Aligned(curves, start, span, counts)


def unalign(
    curves: np.ndarray, start: np.ndarray, span: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read avatar curves back at their own number of readings over their own time span.

    Args:
        curves: individuals x grid points x variables.
        start: Time of each avatar series' first reading.
        span: Duration of each series (negative values read as 0).
        counts: Readings to produce per individual (0 or 1: no series).

    Returns:
        ``(owner, time, values)``: the individual of each reading, its time, its values
        (readings x variables), sorted by individual then time.
    """
    counts = np.where(counts >= 2, counts, 0).astype(np.int64)
    n, n_points, n_vars = curves.shape
    owner = np.repeat(np.arange(n), counts)
    first = np.r_[0, np.cumsum(counts)[:-1]]
    rank = np.arange(len(owner)) - first[owner]
    position = rank / np.maximum(counts[owner] - 1, 1)
    time = start[owner] + np.clip(span[owner], 0.0, None) * position
    grid = np.linspace(0.0, 1.0, n_points)
    axis = (2.0 * np.arange(n)[:, None] + grid[None, :]).ravel()
    targets = 2.0 * owner + position
    values = np.empty((len(owner), n_vars))
    for j in range(n_vars):
        values[:, j] = np.interp(targets, axis, np.nan_to_num(curves[:, :, j]).ravel())
    return owner, time, values
