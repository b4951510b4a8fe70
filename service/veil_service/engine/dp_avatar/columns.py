"""Column descriptions of the Open DP generator: public grids, learnt bins, encoding, decoding.

Nothing here reads the data except through the functions the ledger wraps (``range_cell_of``,
``bin_of``, ``category_keys``): a numeric column is described by bins laid out from its noisy
histogram on a public grid (or its declared range) and the noisy count of each bin; a categorical
column by its released categories and their noisy counts. The model works on bins and categories.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Key under which a missing value is counted in a categorical column.
MISSING_KEY: Final = "\x00missing"
#: Edges of the data-independent grid a numeric column's range is learnt on: 0 and +-10^(k/2)
#: for k from -6 to 24 (a factor of about 3.16 between edges: coarse cells hold enough rows for
#: their noisy counts to mean something on a small budget). The grid has one cell more than
#: edges: below the first edge, between each two edges, above the last.
RANGE_GRID: Final = np.concatenate(
    [-(10.0 ** (np.arange(24, -7, -1) / 2)), [0.0], 10.0 ** (np.arange(-6, 25) / 2)]
)
RANGE_CELLS: Final = len(RANGE_GRID) + 1
#: Chance that some grid cell holding no value at all passes the range threshold: the learnt
#: range is made of the cells whose noisy count passes it.
RANGE_FALSE_POSITIVE: Final = 0.05
#: Empty cells (a factor of 3.16 each) a run of passing cells may step over; only cells that can
#: hold a value count (for an integer column, the cells strictly between two integers do not).
RANGE_GAP: Final = 2
#: A run of passing cells away from the fullest one is kept only if its noisy mass passes the
#: level that an empty cell's noise passes with probability e^-5 times that of the threshold
#: (Gaussian noise: about 4.4 standard deviations on a 63-cell grid against 3.2 for the threshold):
#: a far-off cell passing by chance seldom stretches the range (a simulation of Adult's
#: hours-per-week at a thin margin stretched its range to 10^8 once in 200 draws), while a real
#: second mode (the gains of a zero-inflated column, the ones of a 0/1 flag far from its zeros)
#: passes easily.
RANGE_FAR_FACTOR: Final = math.exp(-5.0)
_NS_PER_SECOND: Final = 1_000_000_000


def numeric_values(series: pd.Series) -> FloatArray:
    """A numeric or datetime column as float64 (datetimes in seconds), NaN where missing."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        values = series
        if getattr(values.dtype, "tz", None) is not None:
            values = values.dt.tz_convert("UTC").dt.tz_localize(None)
        ns = values.astype("datetime64[ns]").to_numpy().astype(np.int64).astype(np.float64)
        ns[series.isna().to_numpy()] = np.nan
        result: FloatArray = np.asarray(ns / _NS_PER_SECOND, dtype=np.float64)
        return result
    return np.asarray(series.astype("float64").to_numpy(na_value=np.nan), dtype=np.float64)


def range_cell_of(series: pd.Series) -> IntArray:
    """:data:`RANGE_GRID` cell of each present value (missing values left out)."""
    values = numeric_values(series)
    values = values[~np.isnan(values)]
    return np.searchsorted(RANGE_GRID, values, side="right").astype(np.int64)


def _cell_bounds(cell: int) -> tuple[float, float]:
    """[low, high) of a :data:`RANGE_GRID` cell (the two open-ended cells closed at 10x)."""
    low = RANGE_GRID[cell - 1] if cell > 0 else 10.0 * RANGE_GRID[0]
    high = RANGE_GRID[cell] if cell < len(RANGE_GRID) else 10.0 * RANGE_GRID[-1]
    return float(low), float(high)


def _runs(passing: IntArray, holds_values: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """(first, last) cell of each run of passing cells, in order: two passing cells are in one
    run when at most :data:`RANGE_GAP` cells that can hold a value lie between them."""
    runs: list[tuple[int, int]] = []
    for cell in sorted(int(c) for c in passing):
        if runs and int(holds_values[runs[-1][1] + 1 : cell].sum()) <= RANGE_GAP:
            runs[-1] = (runs[-1][0], cell)
        else:
            runs.append((cell, cell))
    return runs


@dataclass
class NumericColumn:
    """A numeric (or datetime) column, cut into the model's bins.

    The bins depend only on public information and DP releases: the declared range, or the
    noisy histogram of the column on the public :data:`RANGE_GRID` (post-processing).

    Attributes:
        name: Column name.
        dtype: Original dtype, restored on output.
        is_integer: Values are whole numbers (rounded on output; bin edges at half-integers).
        edges: Edges of the model bins, increasing; values beyond them are clamped into the
            first or last bin.
        counts: Noisy count of each bin, then of missing values (last).
        noise_std: Standard deviation of the noise of each count.
    """

    name: str
    dtype: Any
    is_integer: bool
    edges: FloatArray = field(default_factory=lambda: np.empty(0))
    counts: FloatArray = field(default_factory=lambda: np.empty(0))
    noise_std: float = 1.0
    public_range: tuple[float, float] | None = None

    @property
    def size(self) -> int:
        """Codes in the model: one per bin, plus missing."""
        return len(self.edges)

    @property
    def low(self) -> float:
        """Lower end of the range the bins cover."""
        return float(self.edges[0])

    @property
    def high(self) -> float:
        """Upper end of the range the bins cover."""
        return float(self.edges[-1])

    def set_public_range(self, low: float, high: float, n_bins: int) -> None:
        """Equal-width bins over a declared range (no budget spent)."""
        self.public_range = (low, high)
        self._set_edges(np.linspace(low, high, n_bins + 1))

    def set_bins_from_histogram(self, noisy: FloatArray, scale: float, n_bins: int) -> None:
        """Bins from the noisy :data:`RANGE_GRID` histogram (post-processing of a DP release).

        A cell passes when its noisy count is above a threshold that an empty cell passes with
        probability :data:`RANGE_FALSE_POSITIVE` over the whole grid (Gaussian noise of standard
        deviation ``scale``). Passing cells form runs across gaps of at most :data:`RANGE_GAP`
        cells that can hold a value; the run holding the fullest cell is kept, and any other run
        whose noisy mass passes the level an empty cell passes :data:`RANGE_FAR_FACTOR` times
        as often (a far-off cell that passes by chance does not stretch the range; a real
        second mode, such as the gains of a mostly zero column, is kept). Each kept cell gets
        bins in proportion to its noisy mass (at least one), cut at equal width: dense cells get
        narrow bins. The stretch between two kept runs is one bin.
        """
        noisy = np.asarray(noisy, dtype=np.float64)
        tail = RANGE_FALSE_POSITIVE / len(noisy)
        threshold = scale * NormalDist().inv_cdf(1.0 - tail)
        far_threshold = scale * NormalDist().inv_cdf(1.0 - tail * RANGE_FAR_FACTOR)
        passing = np.flatnonzero(noisy > threshold)
        if passing.size == 0:
            passing = np.array([int(np.argmax(noisy))])
        peak = int(passing[np.argmax(noisy[passing])])
        runs = _runs(passing, self._cells_holding_values(len(noisy)))
        kept = [
            (first, last)
            for first, last in runs
            if first <= peak <= last
            or noisy[first : last + 1].clip(0.0, None).sum() > far_threshold
        ]
        cells = np.concatenate([np.arange(first, last + 1) for first, last in kept])
        mass = np.where(noisy[cells] > threshold, np.clip(noisy[cells], 0.0, None), 0.0)
        shares = mass / mass.sum() if mass.sum() > 0 else np.full(mass.size, 1.0 / mass.size)
        share_of = dict(zip(cells.tolist(), shares.tolist(), strict=True))
        pieces = []
        for first, last in kept:
            for cell in range(first, last + 1):
                low, high = _cell_bounds(cell)
                bins = max(1, round(n_bins * share_of[cell]))
                pieces.append(np.linspace(low, high, bins + 1)[:-1])
            # The run's upper end closes its last bin; the stretch to the next run is one bin.
            pieces.append(np.array([_cell_bounds(last)[1]]))
        self._set_edges(np.concatenate(pieces))

    def _cells_holding_values(self, cells: int) -> npt.NDArray[np.bool_]:
        """Which :data:`RANGE_GRID` cells can hold a value of this column (all of them, except
        for an integer column the cells with no integer inside)."""
        if not self.is_integer:
            return np.ones(cells, dtype=bool)
        bounds = np.array([_cell_bounds(cell) for cell in range(cells)])
        holds: npt.NDArray[np.bool_] = np.ceil(bounds[:, 0]) < bounds[:, 1]
        return holds

    def _set_edges(self, edges: FloatArray) -> None:
        edges = np.asarray(edges, dtype=np.float64)
        if self.is_integer:
            # A bin [a, b) holds the integers ceil(a) .. ceil(b) - 1: edges at half-integers.
            edges = np.unique(np.ceil(edges) - 0.5)
        edges = np.unique(edges)
        if edges.size < 2:
            edges = np.array([edges[0], edges[0] + 1.0])
        self.edges = edges

    def bin_of(self, series: pd.Series) -> IntArray:
        """Model code of each value (clamped into the range); the last code for missing."""
        values = numeric_values(series)
        missing = np.isnan(values)
        n_bins = len(self.edges) - 1
        codes = np.searchsorted(self.edges, np.nan_to_num(values), side="right") - 1
        codes = np.clip(codes, 0, n_bins - 1)
        codes[missing] = n_bins
        return codes.astype(np.int64)

    def decode(self, codes: IntArray, rng: np.random.Generator) -> pd.Series:
        """Values for model codes: drawn uniformly within the bin (integers: one of the bin's
        integers, each equally likely)."""
        n_bins = len(self.edges) - 1
        values = np.full(len(codes), np.nan)
        present = codes < n_bins
        left, right = self.edges[codes[present]], self.edges[codes[present] + 1]
        values[present] = left + rng.random(int(present.sum())) * (right - left)
        return _restore(values, self)


def _restore(values: FloatArray, column: NumericColumn) -> pd.Series:
    missing = np.isnan(values)
    dtype = column.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        ns = np.round(np.nan_to_num(values) * _NS_PER_SECOND).astype(np.int64)
        stamps = pd.Series(pd.to_datetime(ns, unit="ns")).mask(missing)
        tz = getattr(dtype, "tz", None)
        if tz is not None:
            stamps = stamps.dt.tz_localize("UTC").dt.tz_convert(tz)
        return stamps
    if column.is_integer:
        values = np.round(values)
        if pd.api.types.is_integer_dtype(dtype):
            if missing.any():
                return pd.Series(values).astype("Int64")
            return pd.Series(values).astype(dtype)
    return pd.Series(values, dtype="float64")


@dataclass
class CategoricalColumn:
    """A categorical column.

    Attributes:
        name: Column name.
        dtype: Original dtype, restored on output.
        originals: Declared (public) key -> the declared value.
        categories: Released keys, in model code order; the model's last code
            (``len(categories)``) stands for every value that was not released.
        counts: Noisy count of each released category.
    """

    name: str
    dtype: Any
    originals: dict[str, Any] = field(default_factory=dict)
    categories: list[str] = field(default_factory=list)
    counts: FloatArray = field(default_factory=lambda: np.empty(0))
    noise_std: float = 1.0

    @property
    def size(self) -> int:
        """Codes in the model: one per released category, plus one for the rest."""
        return len(self.categories) + 1

    def codes_of(self, series: pd.Series) -> IntArray:
        """Model code of each value (unreleased values -> the last code)."""
        lookup = {key: code for code, key in enumerate(self.categories)}
        keys = category_keys(series)
        return np.fromiter(
            (lookup.get(k, len(self.categories)) for k in keys), dtype=np.int64, count=len(keys)
        )

    def _value(self, key: str) -> Any:
        """The value a released key stands for, typed from the column's (public) dtype."""
        if key in self.originals:
            return self.originals[key]
        if pd.api.types.is_bool_dtype(self.dtype):
            return key == "True"
        if pd.api.types.is_numeric_dtype(self.dtype):
            number = float(key)
            return int(number) if number.is_integer() else number
        return key

    def decode(self, codes: IntArray) -> pd.Series:
        """Values for model codes; the code of unreleased values decodes to missing."""
        values = np.empty(len(codes), dtype=object)
        for code, key in enumerate(self.categories):
            values[codes == code] = None if key == MISSING_KEY else self._value(key)
        values[codes >= len(self.categories)] = None
        series = pd.Series(values, dtype=object)
        if isinstance(self.dtype, pd.CategoricalDtype):
            return series.astype(self.dtype)
        if pd.api.types.is_bool_dtype(self.dtype) or pd.api.types.is_numeric_dtype(self.dtype):
            if series.isna().any():
                return series
            return series.astype(self.dtype)
        return series


def category_keys(series: pd.Series) -> list[str]:
    """The text each value is counted under (missing values under :data:`MISSING_KEY`)."""
    missing = series.isna().to_numpy()
    keys = series.astype(str).to_numpy(dtype=object)
    keys[missing] = MISSING_KEY
    return [str(k) for k in keys]
