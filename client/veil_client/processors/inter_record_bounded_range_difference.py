"""``InterRecordBoundedRangeDifferenceProcessor``: start/end ranges over records, kept in bounds."""

from __future__ import annotations

import numpy as np
import pandas as pd

from veil_client.processors._inter_record_base import (
    check_inputs,
    check_new_names,
    require_dest_columns,
    scatter,
    typed,
)
from veil_client.processors._records import (
    FloatArray,
    IntArray,
    apply_relative_change,
    decode_sequentially,
    first_in_group,
    previous_in_group,
    record_order,
    relative_change,
    restore_column_order,
)

_NAME = "InterRecordBoundedRangeDifferenceProcessor"


class InterRecordBoundedRangeDifferenceProcessor:
    """Express (start, end) pairs of successive records as bounded changes.

    For records ``start_t, end_t`` of an individual (sorted by ``sort_by_variable`` when given),
    ``preprocess`` keeps the individual's first start (``new_first_variable_name``), the change
    from the previous end to this start (``new_difference_variable_name``) and the change from
    this start to this end (``new_range_variable``), each as a share in [-1, 1] of the room left
    towards the global bound (min and max over both columns). ``postprocess`` rebuilds start then
    end record after record, so every value stays within the original bounds and the direction of
    each change (up or down) is the avatar's.

    Args:
        id_variable: Column naming the individual of each record.
        target_start_variable: Start of each record's range.
        target_end_variable: End of each record's range.
        new_first_variable_name: Name of the first-start column.
        new_range_variable: Name of the start-to-end change column.
        new_difference_variable_name: Name of the previous-end-to-start change column.
        sort_by_variable: Column ordering an individual's records (default: row order).
        should_round_output: Round the rebuilt values to integers.
    """

    def __init__(
        self,
        *,
        id_variable: str,
        target_start_variable: str,
        target_end_variable: str,
        new_first_variable_name: str,
        new_range_variable: str,
        new_difference_variable_name: str,
        sort_by_variable: str | None = None,
        should_round_output: bool = True,
    ) -> None:
        self.id_variable = id_variable
        self.target_start_variable = target_start_variable
        self.target_end_variable = target_end_variable
        self.new_first_variable_name = new_first_variable_name
        self.new_range_variable = new_range_variable
        self.new_difference_variable_name = new_difference_variable_name
        self.sort_by_variable = sort_by_variable
        self.should_round_output = should_round_output

    def preprocess(self, df: pd.DataFrame) -> pd.DataFrame:
        """Start and end replaced by the first start and the two bounded changes."""
        targets = {
            "target_start_variable": self.target_start_variable,
            "target_end_variable": self.target_end_variable,
        }
        check_inputs(
            df,
            processor=_NAME,
            id_variable=self.id_variable,
            targets=targets,
            sort_by=self.sort_by_variable,
        )
        check_new_names(
            df,
            processor=_NAME,
            names={
                "new_first_variable_name": self.new_first_variable_name,
                "new_range_variable": self.new_range_variable,
                "new_difference_variable_name": self.new_difference_variable_name,
            },
        )
        low, high = _bounds(df, self.target_start_variable, self.target_end_variable)
        order = record_order(
            df, self.id_variable, [self.sort_by_variable] if self.sort_by_variable else []
        )
        ids = df[self.id_variable].to_numpy(dtype=object)[order]
        start = df[self.target_start_variable].to_numpy(dtype=np.float64)[order]
        end = df[self.target_end_variable].to_numpy(dtype=np.float64)[order]
        previous_end = previous_in_group(end, ids)
        is_first = np.ones(len(ids), dtype=bool)
        is_first[1:] = ids[1:] != ids[:-1]
        previous_end[is_first] = start[is_first]
        out = df.drop(columns=[self.target_start_variable, self.target_end_variable])
        n = len(df)
        out[self.new_range_variable] = scatter(relative_change(end, start, low, high), order, n)
        first = scatter(first_in_group(start, ids), order, n)
        out[self.new_first_variable_name] = typed(
            first, df[self.target_start_variable], df.index, False
        )
        out[self.new_difference_variable_name] = scatter(
            relative_change(start, previous_end, low, high), order, n
        )
        return out

    def postprocess(self, source: pd.DataFrame, dest: pd.DataFrame) -> pd.DataFrame:
        """Start and end rebuilt record after record within ``source``'s bounds."""
        require_dest_columns(
            dest,
            processor=_NAME,
            columns={
                "id_variable": self.id_variable,
                "new_first_variable_name": self.new_first_variable_name,
                "new_range_variable": self.new_range_variable,
                "new_difference_variable_name": self.new_difference_variable_name,
            },
        )
        low, high = _bounds(source, self.target_start_variable, self.target_end_variable)
        order = record_order(dest, self.id_variable, [])
        ids = dest[self.id_variable].to_numpy(dtype=object)[order]
        first = np.clip(
            dest[self.new_first_variable_name].to_numpy(dtype=np.float64)[order], low, high
        )
        differences = dest[self.new_difference_variable_name].to_numpy(dtype=np.float64)[order]
        ranges = dest[self.new_range_variable].to_numpy(dtype=np.float64)[order]
        starts = np.empty(len(dest))
        ends = np.empty(len(dest))

        def step(rows: IntArray, previous: FloatArray) -> FloatArray:
            start = apply_relative_change(differences[rows], previous, low, high)
            end = apply_relative_change(ranges[rows], start, low, high)
            starts[rows] = start
            ends[rows] = end
            return end

        decode_sequentially(ids, step, first)
        out = dest.drop(
            columns=[
                self.new_first_variable_name,
                self.new_range_variable,
                self.new_difference_variable_name,
            ]
        )
        n = len(dest)
        for column, values in (
            (self.target_start_variable, starts),
            (self.target_end_variable, ends),
        ):
            out[column] = typed(
                scatter(values, order, n), source[column], dest.index, self.should_round_output
            )
        return restore_column_order(source, out)


def _bounds(df: pd.DataFrame, start: str, end: str) -> tuple[float, float]:
    values = df[[start, end]].to_numpy(dtype=np.float64)
    return float(np.nanmin(values)), float(np.nanmax(values))
