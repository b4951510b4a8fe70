"""Column descriptions of the Open DP generator: public grids, learnt bins, encoding, decoding.

Nothing here reads the data except through the functions the ledger wraps (``cell_of``,
``category_keys``): a numeric column is described by its range, a grid of cells over that range
and the noisy count of each cell; a categorical column by its released categories and their noisy
counts. The model works on bins (groups of cells of about equal noisy mass) and categories.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Key under which a missing value is counted in a categorical column.
MISSING_KEY: Final = "\x00missing"
#: Edges of the data-independent grid the range of a numeric column is found on: 0 and
#: +-10^k for k from -3 to 12 in 90 steps per sign (a factor of about 1.47 between edges).
RANGE_GRID: Final = np.concatenate(
    [-(10.0 ** np.linspace(12, -3, 91)), [0.0], 10.0 ** np.linspace(-3, 12, 91)]
)
#: Linear sub-cells each cell of :data:`RANGE_GRID` is cut into inside a numeric column's range
#: (an integer column spanning at most :data:`INTEGER_CELLS` values gets one cell per integer).
SUB_CELLS: Final = 8
INTEGER_CELLS: Final = 200
#: Share of the rows left out below and above the estimated range of a numeric column.
RANGE_TAIL: Final = 0.01
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


@dataclass
class NumericColumn:
    """A numeric (or datetime) column.

    Attributes:
        name: Column name.
        dtype: Original dtype, restored on output.
        is_integer: Values are whole numbers (rounded on output).
        low: Lower end of the range (public or learnt under DP).
        high: Upper end of the range.
        edges: Edges of the fine cells (cells + 1 values from ``low`` to ``high``).
        cell_counts: Noisy count of each fine cell, then of the missing cell (last).
        bins: For each model bin, the (first, last + 1) fine cells it covers; the model's last
            code (``len(bins)``) means missing.
    """

    name: str
    dtype: Any
    is_integer: bool
    low: float = 0.0
    high: float = 0.0
    edges: FloatArray = field(default_factory=lambda: np.empty(0))
    cell_counts: FloatArray = field(default_factory=lambda: np.empty(0))
    bins: list[tuple[int, int]] = field(default_factory=list)
    noise_std: float = 1.0

    @property
    def size(self) -> int:
        """Codes in the model: one per bin, plus missing."""
        return len(self.bins) + 1

    def set_range(self, low: float, high: float) -> None:
        """Fix the range and lay the fine grid over it (public: depends on the range only)."""
        if self.is_integer:
            low, high = float(np.floor(low)), float(np.ceil(high))
        if high <= low:
            high = low + 1.0
        self.low, self.high = low, high
        if self.is_integer and high - low + 1 <= INTEGER_CELLS:
            self.edges = np.arange(low - 0.5, high + 1.0, 1.0)
            return
        # The public logarithmic grid inside the range, each of its cells cut in SUB_CELLS: a
        # range that is too wide (a poor DP estimate) only adds empty cells, it never blurs the
        # cells where the data is.
        inner = RANGE_GRID[(low < RANGE_GRID) & (high > RANGE_GRID)]
        coarse = np.concatenate([[low], inner, [high]])
        fine = [np.linspace(a, b, SUB_CELLS + 1)[:-1] for a, b in itertools.pairwise(coarse)]
        self.edges = np.concatenate([*fine, [high]])

    @property
    def n_cells(self) -> int:
        """Fine cells, the missing cell excluded."""
        return len(self.edges) - 1

    def cell_of(self, series: pd.Series) -> IntArray:
        """Fine cell of each value (clamped into the range), ``n_cells`` for missing."""
        values = numeric_values(series)
        missing = np.isnan(values)
        cells = np.searchsorted(self.edges, np.nan_to_num(values), side="right") - 1
        cells = np.clip(cells, 0, self.n_cells - 1)
        cells[missing] = self.n_cells
        return cells.astype(np.int64)

    def denoise(self) -> None:
        """Zero the cells whose noisy count is within noise of zero (post-processing): with
        hundreds of empty cells, their positive noise would otherwise add up to real mass."""
        # Laplace scale b = noise_std / sqrt(2); a cell passes with probability
        # exp(-floor / b) / 2 when empty, so this floor lets through less than one empty cell
        # on average however many cells the range holds.
        scale = self.noise_std / np.sqrt(2.0)
        floor = scale * np.log(2.0 * max(self.n_cells, 2))
        counts = self.cell_counts.copy()
        counts[: self.n_cells][counts[: self.n_cells] < floor] = 0.0
        self.cell_counts = np.clip(counts, 0.0, None)

    def set_bins(self, n_bins: int) -> None:
        """Group the fine cells into about ``n_bins`` bins of equal noisy mass."""
        mass = np.clip(self.cell_counts[: self.n_cells], 0.0, None) + 1e-9
        cumulative = np.cumsum(mass) / mass.sum()
        cuts = np.searchsorted(cumulative, np.arange(1, n_bins) / n_bins, side="left") + 1
        boundaries = sorted({0, *(int(c) for c in cuts if 0 < c < self.n_cells), self.n_cells})
        self.bins = list(itertools.pairwise(boundaries))

    def bin_of_cell(self) -> IntArray:
        """Model code of each fine cell (missing cell -> last code)."""
        codes = np.empty(self.n_cells + 1, dtype=np.int64)
        for code, (first, stop) in enumerate(self.bins):
            codes[first:stop] = code
        codes[self.n_cells] = len(self.bins)
        return codes

    def decode(self, codes: IntArray, rng: np.random.Generator) -> pd.Series:
        """Values for model codes: a cell drawn by its noisy mass within the bin, then a value
        drawn uniformly within the cell (the cell itself for integer cells of width 1)."""
        mass = np.clip(self.cell_counts[: self.n_cells], 0.0, None)
        values = np.full(len(codes), np.nan)
        for code, (first, stop) in enumerate(self.bins):
            rows = np.flatnonzero(codes == code)
            if rows.size == 0:
                continue
            weights = mass[first:stop]
            p = weights / weights.sum() if weights.sum() > 0 else None
            cells = first + rng.choice(stop - first, size=rows.size, p=p)
            left, right = self.edges[cells], self.edges[cells + 1]
            values[rows] = left + rng.random(rows.size) * (right - left)
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
