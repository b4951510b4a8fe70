"""``InterRecordCumulatedDifferenceProcessor``: a cumulative value as first value + increments."""

from __future__ import annotations

import numpy as np
import pandas as pd

from veil_client.errors import InvalidArgument
from veil_client.processors._inter_record_base import (
    check_inputs,
    check_new_names,
    require_dest_columns,
    scatter,
    typed,
)
from veil_client.processors._records import (
    first_in_group,
    previous_in_group,
    record_order,
    restore_column_order,
)

_NAME = "InterRecordCumulatedDifferenceProcessor"


class InterRecordCumulatedDifferenceProcessor:
    """Turn a value that grows over an individual's records into a first value and increments.

    ``preprocess`` sorts each individual's records by the target, and replaces the target by
    ``new_first_variable_name`` (the individual's smallest value) and
    ``new_difference_variable_name`` (the increase since the previous record, 0 for the first).
    ``postprocess`` adds the increments up, so each individual's avatar values grow record after
    record, as the originals did. Records are walked in row order, or, with
    ``keep_record_order``, in the order of the original's values (``source`` and ``dest`` must
    then share their index).

    Args:
        id_variable: Column naming the individual of each record.
        target_variable: The cumulative column.
        new_first_variable_name: Name of the first-value column.
        new_difference_variable_name: Name of the increment column.
        keep_record_order: Decode in the original records' order (needs aligned indexes).
    """

    def __init__(
        self,
        *,
        id_variable: str,
        target_variable: str,
        new_first_variable_name: str,
        new_difference_variable_name: str,
        keep_record_order: bool = False,
    ) -> None:
        self.id_variable = id_variable
        self.target_variable = target_variable
        self.new_first_variable_name = new_first_variable_name
        self.new_difference_variable_name = new_difference_variable_name
        self.keep_record_order = keep_record_order

    def preprocess(self, df: pd.DataFrame) -> pd.DataFrame:
        """The target replaced by the first value and the increments."""
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
        order = record_order(df, self.id_variable, [self.target_variable])
        ids = df[self.id_variable].to_numpy(dtype=object)[order]
        values = df[self.target_variable].to_numpy(dtype=np.float64)[order]
        first = first_in_group(values, ids)
        difference = values - previous_in_group(values, ids)
        out = df.drop(columns=self.target_variable)
        target = df[self.target_variable]
        out[self.new_first_variable_name] = typed(
            scatter(first, order, len(df)), target, df.index, False
        )
        out[self.new_difference_variable_name] = scatter(difference, order, len(df))
        return out

    def postprocess(self, source: pd.DataFrame, dest: pd.DataFrame) -> pd.DataFrame:
        """The target rebuilt as each individual's first value plus the running increments."""
        require_dest_columns(
            dest,
            processor=_NAME,
            columns={
                "id_variable": self.id_variable,
                "new_first_variable_name": self.new_first_variable_name,
                "new_difference_variable_name": self.new_difference_variable_name,
            },
        )
        if self.keep_record_order:
            order = self._source_order(source, dest)
        else:
            order = record_order(dest, self.id_variable, [])
        ids = dest[self.id_variable].to_numpy(dtype=object)[order]
        first = first_in_group(
            dest[self.new_first_variable_name].to_numpy(dtype=np.float64)[order], ids
        )
        increments = np.clip(
            np.nan_to_num(
                dest[self.new_difference_variable_name].to_numpy(dtype=np.float64)[order]
            ),
            0.0,
            None,
        )
        codes = pd.factorize(ids)[0]
        # pandas' grouped cumsum compensates its rounding (Kahan), so adding an increment of 0
        # can lower the sum by an ulp (372.56421714 then 372.56421714 - 5.7e-14): the running
        # maximum keeps each individual's values non-decreasing, as the originals were.
        grouped = pd.Series(pd.Series(increments).groupby(codes).cumsum().to_numpy())
        running = grouped.groupby(codes).cummax().to_numpy()
        values = scatter(first + running, order, len(dest))
        out = dest.drop(columns=[self.new_first_variable_name, self.new_difference_variable_name])
        like = (
            source[self.target_variable]
            if self.target_variable in source.columns
            else pd.Series(values)
        )
        out[self.target_variable] = typed(values, like, dest.index, False)
        return restore_column_order(source, out)

    def _source_order(self, source: pd.DataFrame, dest: pd.DataFrame) -> np.ndarray:
        if not source.index.equals(dest.index) and set(source.index) != set(dest.index):
            raise InvalidArgument(
                f"{_NAME}: keep_record_order needs source and dest with the same index (the "
                "unshuffled avatars); use keep_record_order=False for shuffled avatars.",
                field="keep_record_order",
            )
        ranked = source.sort_values([self.id_variable, self.target_variable], kind="stable").index
        rank = pd.Series(np.arange(len(ranked)), index=ranked)
        key = rank.reindex(dest.index).to_numpy()
        frame = pd.DataFrame({"id": dest[self.id_variable].to_numpy(), "rank": key})
        return frame.sort_values(["id", "rank"], kind="stable").index.to_numpy()
