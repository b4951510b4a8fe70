"""``InterRecordBoundedCumulatedDifferenceProcessor``: successive values, changes kept in bounds."""

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

_NAME = "InterRecordBoundedCumulatedDifferenceProcessor"


class InterRecordBoundedCumulatedDifferenceProcessor:
    """Express each record's value as a bounded change from the individual's previous record.

    ``preprocess`` walks each individual's records in row order and replaces the target by
    ``new_first_variable_name`` (the first record's value) and ``new_difference_variable_name``:
    the change from the previous value as a share of the room left towards the global bound (an
    increase divided by ``max - previous``, a decrease by ``previous - min``), so it lies in
    [-1, 1]. ``postprocess`` applies the avatar shares record after record; every rebuilt value
    stays within the original [min, max].

    Args:
        id_variable: Column naming the individual of each record.
        target_variable: The column to transform.
        new_first_variable_name: Name of the first-value column.
        new_difference_variable_name: Name of the bounded-change column.
        should_round_output: Round the rebuilt values to integers.
    """

    def __init__(
        self,
        id_variable: str,
        target_variable: str,
        new_first_variable_name: str,
        new_difference_variable_name: str,
        should_round_output: bool = False,
    ) -> None:
        self.id_variable = id_variable
        self.target_variable = target_variable
        self.new_first_variable_name = new_first_variable_name
        self.new_difference_variable_name = new_difference_variable_name
        self.should_round_output = should_round_output

    def preprocess(self, df: pd.DataFrame) -> pd.DataFrame:
        """The target replaced by the first value and the bounded changes."""
        check_inputs(
            df,
            processor=_NAME,
            id_variable=self.id_variable,
            targets={"target_variable": self.target_variable},
            sort_by=None,
        )
        check_new_names(
            df,
            processor=_NAME,
            names={
                "new_first_variable_name": self.new_first_variable_name,
                "new_difference_variable_name": self.new_difference_variable_name,
            },
        )
        raw = df[self.target_variable].to_numpy(dtype=np.float64)
        low, high = float(raw.min()), float(raw.max())
        order = record_order(df, self.id_variable, [])
        ids = df[self.id_variable].to_numpy(dtype=object)[order]
        values = raw[order]
        change = relative_change(values, previous_in_group(values, ids), low, high)
        out = df.drop(columns=self.target_variable)
        target = df[self.target_variable]
        first = scatter(first_in_group(values, ids), order, len(df))
        out[self.new_first_variable_name] = typed(first, target, df.index, False)
        out[self.new_difference_variable_name] = scatter(change, order, len(df))
        return out

    def postprocess(self, source: pd.DataFrame, dest: pd.DataFrame) -> pd.DataFrame:
        """Values rebuilt record after record within the bounds of ``source``'s target."""
        require_dest_columns(
            dest,
            processor=_NAME,
            columns={
                "id_variable": self.id_variable,
                "new_first_variable_name": self.new_first_variable_name,
                "new_difference_variable_name": self.new_difference_variable_name,
            },
        )
        check_inputs(
            source,
            processor=_NAME,
            id_variable=self.id_variable,
            targets={"target_variable": self.target_variable},
            sort_by=None,
        )
        bounds = source[self.target_variable].to_numpy(dtype=np.float64)
        low, high = float(bounds.min()), float(bounds.max())
        order = record_order(dest, self.id_variable, [])
        ids = dest[self.id_variable].to_numpy(dtype=object)[order]
        first = np.clip(
            dest[self.new_first_variable_name].to_numpy(dtype=np.float64)[order], low, high
        )
        shares = dest[self.new_difference_variable_name].to_numpy(dtype=np.float64)[order]
        rebuilt = np.empty(len(dest))

        def step(rows: IntArray, previous: FloatArray) -> FloatArray:
            values = apply_relative_change(shares[rows], previous, low, high)
            rebuilt[rows] = values
            return values

        decode_sequentially(ids, step, first)
        out = dest.drop(columns=[self.new_first_variable_name, self.new_difference_variable_name])
        values = scatter(rebuilt, order, len(dest))
        out[self.target_variable] = typed(
            values, source[self.target_variable], dest.index, self.should_round_output
        )
        return restore_column_order(source, out)
