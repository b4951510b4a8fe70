"""Open DP's numeric ranges from the noisy histogram on the public grid (post-processing only).

Before: the range was the run of passing cells around the fullest one, across at most two empty
grid cells, counting the cells between 0 and 1 where no integer lies: a 0/1 flag or a count whose
zeros are the mode was released as all zeros, and the gains of a mostly-zero column (Adult's
capital-gain) were cut off even when their cells passed by far.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
from veil_service.engine.dp_avatar.columns import (
    RANGE_CELLS,
    RANGE_FALSE_POSITIVE,
    RANGE_FAR_FACTOR,
    NumericColumn,
    range_cell_of,
)


def _bins(values: list[float], *, integer: bool = True, noise: np.ndarray | None = None) -> list:
    series = pd.Series(values)
    histogram = np.bincount(range_cell_of(series), minlength=RANGE_CELLS).astype(float)
    if noise is not None:
        histogram += noise
    column = NumericColumn("x", series.dtype, integer)
    column.set_bins_from_histogram(histogram, 1.0, 16)
    codes = column.bin_of(series)
    return [(float(column.edges[c]), float(column.edges[c + 1])) for c in sorted(set(codes))]


def test_a_flag_whose_zeros_are_the_mode_keeps_its_ones() -> None:
    bins = _bins([0] * 700 + [1] * 300)
    assert bins == [(-0.5, 0.5), (0.5, 1.5)]


def test_counts_keep_every_value_in_their_own_bin() -> None:
    bins = _bins([0] * 500 + [1] * 200 + [2] * 150 + [3] * 100 + [5] * 50)
    assert bins[:4] == [(-0.5, 0.5), (0.5, 1.5), (1.5, 2.5), (2.5, 3.5)]
    assert bins[4][0] <= 5 < bins[4][1] <= 9.5


def test_the_gains_of_a_mostly_zero_column_are_a_range_of_their_own() -> None:
    bins = _bins([0] * 900 + [5000] * 60 + [15000] * 40, integer=False)
    assert bins[0][0] <= 0 < bins[0][1] <= 1e-3
    # 5,000 and 15,000 fall in bins inside their own grid cells, not in the stretch between.
    assert 3162 <= bins[1][0] <= 5000 < bins[1][1] <= 10_000
    assert 10_000 <= bins[2][0] <= 15_000 < bins[2][1] <= 31_623


def test_a_far_cell_passing_by_chance_does_not_stretch_the_range() -> None:
    # Age-like values, and one empty cell far above them pushed just over the threshold.
    values = list(np.random.default_rng(0).integers(18, 90, 2000))
    # Gaussian noise of standard deviation 1 (zCDP): the cell passes the range threshold but
    # not the far-run level (about 3.2 and 4.4 standard deviations on this grid).
    tail = RANGE_FALSE_POSITIVE / RANGE_CELLS
    threshold = NormalDist().inv_cdf(1.0 - tail)
    far_level = NormalDist().inv_cdf(1.0 - tail * RANGE_FAR_FACTOR)
    noise = np.zeros(RANGE_CELLS)
    far = int(range_cell_of(pd.Series([5e6]))[0])
    noise[far] = (threshold + far_level) / 2
    assert threshold < noise[far] < far_level
    series = pd.Series(values)
    histogram = np.bincount(range_cell_of(series), minlength=RANGE_CELLS) + noise
    column = NumericColumn("age", series.dtype, True)
    column.set_bins_from_histogram(histogram.astype(float), 1.0, 16)
    assert column.low >= 9.5 and column.high <= 100.5
    # A far cell with the mass of a real mode is kept.
    noise[far] = 500.0
    histogram = np.bincount(range_cell_of(series), minlength=RANGE_CELLS) + noise
    column.set_bins_from_histogram(histogram.astype(float), 1.0, 16)
    assert column.high > 1e6


@pytest.mark.parametrize("integer", [True, False])
def test_decoded_values_stay_in_the_kept_cells(integer: bool) -> None:
    values = [0] * 900 + [5000] * 60 + [15000] * 40
    series = pd.Series(values if integer else [float(v) for v in values])
    histogram = np.bincount(range_cell_of(series), minlength=RANGE_CELLS).astype(float)
    column = NumericColumn("gain", series.dtype, integer)
    column.set_bins_from_histogram(histogram, 1.0, 16)
    decoded = column.decode(column.bin_of(series), np.random.default_rng(0))
    assert (decoded[:900] == 0).all() if integer else (decoded[:900] < 1e-3).all()
    assert decoded[900:960].between(3162, 10_000).all()
    assert decoded[960:].between(10_000, 31_623).all()
