"""``ExpectedMeanProcessor``: give avatars the original mean (and spread) per group."""

from __future__ import annotations

import pandas as pd

from veil_client.errors import InvalidArgument
from veil_client.processors._checks import require_columns, require_numeric

_NAME = "ExpectedMeanProcessor"


class ExpectedMeanProcessor:
    """Shift (and optionally rescale) numeric avatar columns to the original per-group moments.

    ``preprocess`` records, for each group of ``groupby_variables`` (the whole table when there
    is none), the mean and standard deviation of each target variable, and returns the table
    unchanged. ``postprocess`` moves each target of each group of ``dest`` so that its mean is
    the recorded one; with ``same_std`` it also rescales the deviations to the recorded spread.
    Groups absent from the original are left as they are. Corrected columns are floats (an
    integer column shifted by a fraction no longer holds integers).

    This improves one-variable fidelity at the expense of the joint structure, and it pulls the
    avatars towards a statistic of the originals: use it knowingly.

    Args:
        target_variables: Numeric columns to correct.
        groupby_variables: Columns whose combinations define the groups (default: none).
        same_std: Also match the per-group standard deviation.
    """

    def __init__(
        self,
        target_variables: list[str],
        *,
        groupby_variables: list[str] | None = None,
        same_std: bool = False,
    ) -> None:
        if not target_variables:
            raise InvalidArgument(
                f"{_NAME}: target_variables is empty; name the numeric columns to correct.",
                field="target_variables",
            )
        self.target_variables = list(target_variables)
        self.groupby_variables = list(groupby_variables or [])
        self.same_std = same_std
        self._reference: dict[str, tuple[pd.Series, pd.Series]] | None = None

    def preprocess(self, df: pd.DataFrame) -> pd.DataFrame:
        """Record the per-group mean and standard deviation; the table is returned unchanged."""
        require_columns(df, self.target_variables, processor=_NAME, argument="target_variables")
        require_columns(df, self.groupby_variables, processor=_NAME, argument="groupby_variables")
        require_numeric(df, self.target_variables, processor=_NAME)
        self._reference = self._moments(df)
        return df.copy()

    def postprocess(self, source: pd.DataFrame, dest: pd.DataFrame) -> pd.DataFrame:
        """Correct each group's targets in ``dest`` to the recorded (or ``source``'s) moments."""
        reference = self._reference if self._reference is not None else self._moments(source)
        require_columns(dest, self.target_variables, processor=_NAME, argument="target_variables")
        require_columns(dest, self.groupby_variables, processor=_NAME, argument="groupby_variables")
        out = dest.copy()
        keys = self._keys(out)
        for column in self.target_variables:
            values = out[column].astype("float64")
            grouped = values.groupby(keys, dropna=False)
            mean_now = grouped.transform("mean")
            ref_means, ref_stds = reference[column]
            ref_mean = keys.map(ref_means)
            corrected = values - mean_now + ref_mean
            if self.same_std:
                std_now = grouped.transform("std", ddof=0)
                ref_std = keys.map(ref_stds)
                scale = (ref_std / std_now).where(std_now > 0, 1.0)
                corrected = (values - mean_now) * scale + ref_mean
            known = ref_mean.notna()
            # Left as floats even for an integer column, as Octopize's processor does: rounding
            # back to integers would undo the shift (a mean of 0.24 goals over rows of 0 and 1
            # rounds back to the avatars' own mean), which is all the processor exists for.
            out[column] = values.where(~known, corrected)
        return out

    def _keys(self, df: pd.DataFrame) -> pd.Series:
        if not self.groupby_variables:
            return pd.Series("all", index=df.index)
        parts = df[self.groupby_variables].astype(str)
        return parts.agg("\x1f".join, axis=1)

    def _moments(self, df: pd.DataFrame) -> dict[str, tuple[pd.Series, pd.Series]]:
        keys = self._keys(df)
        out = {}
        for column in self.target_variables:
            grouped = df[column].astype("float64").groupby(keys, dropna=False)
            out[column] = (grouped.mean(), grouped.std(ddof=0))
        return out
