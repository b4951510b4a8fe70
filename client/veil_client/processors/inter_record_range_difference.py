"""``InterRecordRangeDifferenceProcessor``: (start, end) records as first start, gaps and ranges."""

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
    FloatArray,
    IntArray,
    decode_sequentially,
    first_in_group,
    previous_in_group,
    record_order,
    restore_column_order,
)

_NAME = "InterRecordRangeDifferenceProcessor"


class InterRecordRangeDifferenceProcessor:
    """Keep ``start_1 <= end_1 <= start_2 <= end_2 <= ...`` over an individual's records.

    ``preprocess`` sorts each individual's records (by ``sort_by_variable``) and replaces start
    and end by the individual's first start (``new_first_variable``), each record's range
    ``end - start`` (``new_range_variable``) and the gap from the previous end to this start
    (``new_difference_variable``, 0 for the first record). ``postprocess`` adds gaps and ranges
    up; negative avatar gaps or ranges are set to 0, so the chain of inequalities holds in the
    avatars. With ``keep_record_order`` records are walked in the originals' order (``source``
    and ``dest`` must share their index); otherwise in row order.

    The same transformation runs on the server when passed as
    ``InterRecordRangeDifferenceParameters`` in ``set_parameters(processors=[...])``.

    Args:
        id_variable: Column naming the individual of each record.
        target_start_variable: Start of each record's range.
        target_end_variable: End of each record's range.
        sort_by_variable: Column ordering an individual's records.
        new_first_variable: Name of the first-start column.
        new_range_variable: Name of the range column.
        new_difference_variable: Name of the gap column.
        keep_record_order: Decode in the originals' record order (needs aligned indexes).
    """

    def __init__(
        self,
        *,
        id_variable: str,
        target_start_variable: str,
        target_end_variable: str,
        sort_by_variable: str,
        new_first_variable: str,
        new_range_variable: str,
        new_difference_variable: str,
        keep_record_order: bool = False,
    ) -> None:
        self.id_variable = id_variable
        self.target_start_variable = target_start_variable
        self.target_end_variable = target_end_variable
        self.sort_by_variable = sort_by_variable
        self.new_first_variable = new_first_variable
        self.new_range_variable = new_range_variable
        self.new_difference_variable = new_difference_variable
        self.keep_record_order = keep_record_order

    def preprocess(self, df: pd.DataFrame) -> pd.DataFrame:
        """Start and end replaced by the first start, the ranges and the gaps."""
        check_inputs(
            df,
            processor=_NAME,
            id_variable=self.id_variable,
            targets={
                "target_start_variable": self.target_start_variable,
                "target_end_variable": self.target_end_variable,
            },
            sort_by=self.sort_by_variable,
        )
        check_new_names(
            df,
            processor=_NAME,
            names={
                "new_first_variable": self.new_first_variable,
                "new_range_variable": self.new_range_variable,
                "new_difference_variable": self.new_difference_variable,
            },
        )
        order = record_order(df, self.id_variable, [self.sort_by_variable])
        ids = df[self.id_variable].to_numpy(dtype=object)[order]
        start = df[self.target_start_variable].to_numpy(dtype=np.float64)[order]
        end = df[self.target_end_variable].to_numpy(dtype=np.float64)[order]
        previous_end = previous_in_group(end, ids)
        is_first = np.ones(len(ids), dtype=bool)
        is_first[1:] = ids[1:] != ids[:-1]
        previous_end[is_first] = start[is_first]
        n = len(df)
        out = df.drop(columns=[self.target_start_variable, self.target_end_variable])
        source_start = df[self.target_start_variable]
        out[self.new_range_variable] = typed(
            scatter(end - start, order, n), source_start, df.index, False
        )
        out[self.new_first_variable] = typed(
            scatter(first_in_group(start, ids), order, n), source_start, df.index, False
        )
        out[self.new_difference_variable] = typed(
            scatter(start - previous_end, order, n), source_start, df.index, False
        )
        return out

    def postprocess(self, source: pd.DataFrame, dest: pd.DataFrame) -> pd.DataFrame:
        """Start and end rebuilt as first start plus running gaps and ranges."""
        require_dest_columns(
            dest,
            processor=_NAME,
            columns={
                "id_variable": self.id_variable,
                "new_first_variable": self.new_first_variable,
                "new_range_variable": self.new_range_variable,
                "new_difference_variable": self.new_difference_variable,
            },
        )
        if self.keep_record_order:
            if set(source.index) != set(dest.index):
                raise InvalidArgument(
                    f"{_NAME}: keep_record_order needs source and dest with the same index (the "
                    "unshuffled avatars); use keep_record_order=False for shuffled avatars.",
                    field="keep_record_order",
                )
            ranked = source.sort_values(
                [self.id_variable, self.sort_by_variable], kind="stable"
            ).index
            rank = pd.Series(np.arange(len(ranked)), index=ranked).reindex(dest.index).to_numpy()
            frame = pd.DataFrame({"id": dest[self.id_variable].to_numpy(), "rank": rank})
            order = frame.sort_values(["id", "rank"], kind="stable").index.to_numpy()
        else:
            order = record_order(dest, self.id_variable, [])
        ids = dest[self.id_variable].to_numpy(dtype=object)[order]
        first = first_in_group(dest[self.new_first_variable].to_numpy(dtype=np.float64)[order], ids)
        gaps = np.clip(
            dest[self.new_difference_variable].to_numpy(dtype=np.float64)[order], 0, None
        )
        ranges = np.clip(dest[self.new_range_variable].to_numpy(dtype=np.float64)[order], 0, None)
        starts = np.empty(len(dest))
        ends = np.empty(len(dest))

        def step(rows: IntArray, previous_end: FloatArray) -> FloatArray:
            # Added one after the other so that rounding never breaks start <= end <= next start.
            start: FloatArray = previous_end + gaps[rows]
            end: FloatArray = start + ranges[rows]
            starts[rows] = start
            ends[rows] = end
            return end

        decode_sequentially(ids, step, first)
        start, end = starts, ends
        n = len(dest)
        out = dest.drop(
            columns=[self.new_first_variable, self.new_range_variable, self.new_difference_variable]
        )
        out[self.target_start_variable] = typed(
            scatter(start, order, n), source[self.target_start_variable], dest.index, False
        )
        out[self.target_end_variable] = typed(
            scatter(end, order, n), source[self.target_end_variable], dest.index, False
        )
        return restore_column_order(source, out)
