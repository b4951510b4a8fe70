"""``GroupModalitiesProcessor``: merge rare modalities into one, to shrink the projection."""

from __future__ import annotations

import pandas as pd

from veil_client.errors import InvalidArgument
from veil_client.processors._checks import is_categorical, require_columns

_NAME = "GroupModalitiesProcessor"


class GroupModalitiesProcessor:
    """Replace the modalities of a categorical column held by few rows with ``new_category``.

    Rare modalities cost one projection dimension each and single out the few people who hold
    them; grouping them helps both utility and privacy. Give either ``variable_thresholds``
    (column -> threshold) or both ``min_unique`` and ``global_threshold`` (every categorical column
    with at least ``min_unique`` modalities gets ``global_threshold``). A modality held by at most
    ``threshold`` rows becomes ``new_category``. ``postprocess`` returns the avatars unchanged:
    grouping is not reversible, and that is the point.

    Args:
        variable_thresholds: Column -> largest row count of a modality that gets grouped.
        min_unique: Number of modalities from which a categorical column is grouped.
        global_threshold: Threshold applied to the columns selected by ``min_unique``.
        new_category: The modality the rare ones become.
    """

    def __init__(
        self,
        *,
        variable_thresholds: dict[str, int] | None = None,
        min_unique: int | None = None,
        global_threshold: int | None = None,
        new_category: str = "other",
    ) -> None:
        if (min_unique is None) != (global_threshold is None):
            raise InvalidArgument(
                f"{_NAME}: give min_unique and global_threshold together; got min_unique="
                f"{min_unique!r}, global_threshold={global_threshold!r}.",
                field="min_unique" if min_unique is None else "global_threshold",
            )
        if (variable_thresholds is None) == (global_threshold is None):
            raise InvalidArgument(
                f"{_NAME}: give either variable_thresholds or (min_unique, global_threshold), "
                "not both and not neither.",
                field="variable_thresholds",
            )
        for name, value in {
            "min_unique": min_unique,
            "global_threshold": global_threshold,
            **{f"variable_thresholds[{k}]": v for k, v in (variable_thresholds or {}).items()},
        }.items():
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                raise InvalidArgument(
                    f"{_NAME}: {name} must be a non-negative integer; got {value!r}.", field=name
                )
        self.variable_thresholds = dict(variable_thresholds or {})
        self.min_unique = min_unique
        self.global_threshold = global_threshold
        self.new_category = new_category
        self.grouped: dict[str, list[object]] = {}

    def preprocess(self, df: pd.DataFrame) -> pd.DataFrame:
        """The table with rare modalities replaced by ``new_category``."""
        require_columns(
            df, self.variable_thresholds, processor=_NAME, argument="variable_thresholds"
        )
        thresholds = dict(self.variable_thresholds)
        if self.global_threshold is not None and self.min_unique is not None:
            for name in df.columns:
                if is_categorical(df[name]) and df[name].nunique() >= self.min_unique:
                    thresholds[name] = self.global_threshold
        out = df.copy()
        self.grouped = {}
        for name, threshold in thresholds.items():
            counts = out[name].value_counts()
            rare = [value for value, count in counts.items() if count <= threshold]
            if not rare:
                continue
            self.grouped[name] = rare
            column = out[name]
            if isinstance(column.dtype, pd.CategoricalDtype):
                column = column.astype(object)
            out[name] = column.mask(column.isin(rare), self.new_category)
        return out

    def postprocess(self, source: pd.DataFrame, dest: pd.DataFrame) -> pd.DataFrame:
        """The avatars unchanged (grouped modalities stay grouped)."""
        del source
        return dest
