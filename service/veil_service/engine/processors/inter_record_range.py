"""Inter-record range difference: keep ``start_1 <= end_1 <= start_2 <= ...`` per individual.

``preprocess`` sorts each individual's records by start and replaces (start, end) by the
individual's first start, each record's range ``end - start`` and the gap from the previous end
to this start (0 for the first record). ``postprocess`` walks each individual's avatar records in
row order and adds gaps and ranges up (negative ones count as 0), so the chain holds in every
avatar. Helper columns are named ``__veil_<start>_first`` and so on; they never reach the output.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from veil_service.engine.processors.checks import (
    require_columns,
    require_no_missing,
    require_numeric,
)
from veil_service.errors import InvalidArgumentError

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class InterRecordRangeDifference:
    """``InterRecordRangeDifferenceParameters(id_variable, target_start_variable, ...)``.

    Attributes:
        id_variable: Column naming the individual of each record.
        target_start_variable: Start of each record's range.
        target_end_variable: End of each record's range.
    """

    id_variable: str
    target_start_variable: str
    target_end_variable: str

    def __post_init__(self) -> None:
        names = (self.id_variable, self.target_start_variable, self.target_end_variable)
        if len(set(names)) != 3:
            raise InvalidArgumentError(
                "processors: InterRecordRangeDifferenceParameters needs three different columns "
                f"(id, start, end); got {list(names)}.",
                field="processors",
            )

    @property
    def columns(self) -> tuple[str, ...]:
        """Columns the processor reads."""
        return (self.id_variable, self.target_start_variable, self.target_end_variable)

    @property
    def _first(self) -> str:
        return f"__veil_{self.target_start_variable}_first"

    @property
    def _range(self) -> str:
        return f"__veil_{self.target_start_variable}_range"

    @property
    def _gap(self) -> str:
        return f"__veil_{self.target_start_variable}_gap"

    def preprocess(self, df: pd.DataFrame) -> pd.DataFrame:
        """Start and end replaced by the first start, the ranges and the gaps."""
        name = "InterRecordRangeDifferenceParameters"
        require_columns(df, self.columns, name)
        require_numeric(df, self.columns[1:], name)
        require_no_missing(df, self.columns, name)
        frame = df[list(self.columns)].reset_index(drop=True)
        order = frame.sort_values(
            [self.id_variable, self.target_start_variable], kind="stable"
        ).index.to_numpy()
        ids = frame[self.id_variable].to_numpy(dtype=object)[order]
        start = frame[self.target_start_variable].to_numpy(dtype=np.float64)[order]
        end = frame[self.target_end_variable].to_numpy(dtype=np.float64)[order]
        is_first = _group_starts(ids)
        previous_end = np.roll(end, 1)
        previous_end[is_first] = start[is_first]
        first = start[is_first][np.cumsum(is_first) - 1]
        out = df.drop(columns=[self.target_start_variable, self.target_end_variable])
        out[self._first] = _scatter(first, order)
        out[self._range] = _scatter(end - start, order)
        out[self._gap] = _scatter(start - previous_end, order)
        return out

    def postprocess(self, source: pd.DataFrame, dest: pd.DataFrame) -> pd.DataFrame:
        """Start and end rebuilt record after record in each avatar individual."""
        frame = dest[[self.id_variable]].reset_index(drop=True)
        order = frame.sort_values(self.id_variable, kind="stable").index.to_numpy()
        ids = frame[self.id_variable].to_numpy(dtype=object)[order]
        first = dest[self._first].to_numpy(dtype=np.float64)[order]
        ranges = np.clip(
            np.nan_to_num(dest[self._range].to_numpy(dtype=np.float64)[order]), 0, None
        )
        gaps = np.clip(np.nan_to_num(dest[self._gap].to_numpy(dtype=np.float64)[order]), 0, None)
        is_first = _group_starts(ids)
        group = np.cumsum(is_first) - 1
        position = np.arange(len(ids)) - np.flatnonzero(is_first)[group]
        running = first[is_first].copy()
        starts = np.empty(len(ids))
        ends = np.empty(len(ids))
        for t in range(int(position.max(initial=-1)) + 1):
            rows = np.flatnonzero(position == t)
            # Added one after the other so that rounding never breaks the chain.
            starts[rows] = running[group[rows]] + gaps[rows]
            ends[rows] = starts[rows] + ranges[rows]
            running[group[rows]] = ends[rows]
        out = dest.drop(columns=[self._first, self._range, self._gap])
        # Floors keep the chain only when both columns are floored (floor is monotone): with a
        # fractional end, an integer start stays fractional too.
        integers = all(
            pd.api.types.is_integer_dtype(source[c].dtype)
            for c in (self.target_start_variable, self.target_end_variable)
        )
        for column, values in (
            (self.target_start_variable, starts),
            (self.target_end_variable, ends),
        ):
            series = pd.Series(_scatter(values, order), index=dest.index)
            dtype = source[column].dtype
            if integers:
                series = (series + 1e-9).apply(np.floor).astype(dtype)
            out[column] = series
        known = [c for c in source.columns if c in out.columns]
        return out[known + [c for c in out.columns if c not in source.columns]]


def _group_starts(ids: npt.NDArray[np.object_]) -> npt.NDArray[np.bool_]:
    starts = np.ones(len(ids), dtype=bool)
    if len(ids) > 1:
        starts[1:] = ids[1:] != ids[:-1]
    return starts


def _scatter(values: FloatArray, order: npt.NDArray[np.intp]) -> FloatArray:
    out = np.empty(len(values), dtype=np.float64)
    out[order] = values
    return out
