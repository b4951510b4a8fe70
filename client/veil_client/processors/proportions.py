"""``ProportionProcessor``: keep ``part_1 + part_2 + ... = whole`` through the avatarization."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from veil_client.errors import InvalidArgument
from veil_client.processors._checks import require_columns, require_numeric

_NAME = "ProportionProcessor"


class ProportionProcessor:
    """Express numeric columns as shares, so an additive relation survives the avatarization.

    With ``sum_to_one`` (the default), each of ``variable_names`` becomes its share of their row
    sum, and ``postprocess`` turns the avatar shares back into amounts that add up exactly to the
    avatar's ``reference`` (largest-remainder rounding to ``decimal_count`` decimals). Without it,
    each column becomes its ratio to ``reference`` and is multiplied back.

    Args:
        variable_names: The parts.
        reference: The whole (kept as it is).
        sum_to_one: Parts are shares of their sum (exact additivity after postprocess).
        decimal_count: Decimals of the postprocessed parts.
    """

    def __init__(
        self,
        variable_names: list[str],
        reference: str,
        *,
        sum_to_one: bool = True,
        decimal_count: int = 1,
    ) -> None:
        if not variable_names:
            raise InvalidArgument(
                f"{_NAME}: variable_names is empty; name the columns that add up to {reference!r}.",
                field="variable_names",
            )
        if reference in variable_names:
            raise InvalidArgument(
                f"{_NAME}: the reference {reference!r} cannot also be one of variable_names.",
                field="reference",
            )
        if (
            isinstance(decimal_count, bool)
            or not isinstance(decimal_count, int)
            or decimal_count < 0
        ):
            raise InvalidArgument(
                f"{_NAME}: decimal_count must be a non-negative integer; got {decimal_count!r}.",
                field="decimal_count",
            )
        self.variable_names = list(variable_names)
        self.reference = reference
        self.sum_to_one = sum_to_one
        self.decimal_count = decimal_count

    def preprocess(self, df: pd.DataFrame) -> pd.DataFrame:
        """Parts as shares of their sum (or ratios to the reference)."""
        columns = [*self.variable_names, self.reference]
        require_columns(df, self.variable_names, processor=_NAME, argument="variable_names")
        require_columns(df, [self.reference], processor=_NAME, argument="reference")
        require_numeric(df, columns, processor=_NAME)
        parts = df[self.variable_names].astype("float64")
        denominator = parts.sum(axis=1) if self.sum_to_one else df[self.reference].astype(float)
        shares = parts.div(denominator.where(denominator != 0), axis=0)
        shares = shares.mask(parts == 0, 0.0)
        out = df.copy()
        for name in self.variable_names:
            out[name] = shares[name]
        return out

    def postprocess(self, source: pd.DataFrame, dest: pd.DataFrame) -> pd.DataFrame:
        """Shares back to amounts; with ``sum_to_one`` they add up to ``reference`` exactly."""
        require_columns(dest, self.variable_names, processor=_NAME, argument="variable_names")
        require_columns(dest, [self.reference], processor=_NAME, argument="reference")
        out = dest.copy()
        shares = dest[self.variable_names].astype("float64").clip(lower=0)
        whole = dest[self.reference].to_numpy(dtype=np.float64)
        if self.sum_to_one:
            total = shares.sum(axis=1)
            even = 1.0 / len(self.variable_names)
            normalised = shares.div(total.where(total > 0), axis=0).fillna(even)
            amounts = _round_preserving_sum(
                normalised.to_numpy(dtype=np.float64) * whole[:, None],
                whole,
                self.decimal_count,
            )
        else:
            amounts = np.round(
                shares.to_numpy(dtype=np.float64) * whole[:, None], self.decimal_count
            )
        for j, name in enumerate(self.variable_names):
            values = pd.Series(amounts[:, j], index=out.index)
            if (
                self.decimal_count == 0
                and name in source.columns
                and pd.api.types.is_integer_dtype(source[name].dtype)
                and not values.isna().any()
            ):
                values = values.astype(source[name].dtype)
            out[name] = values
        return out


def _round_preserving_sum(
    values: npt.NDArray[np.float64], totals: npt.NDArray[np.float64], decimals: int
) -> npt.NDArray[np.float64]:
    """Round each row to ``decimals`` so that it still adds up to its rounded total.

    Largest-remainder method: floor every value, then give the missing units to the values that
    lost the most in the floor (ties to the leftmost column).
    """
    scale = 10.0**decimals
    scaled = values * scale
    missing_row = np.isnan(scaled).any(axis=1) | np.isnan(totals)
    scaled = np.nan_to_num(scaled)
    floors = np.floor(scaled)
    target = np.round(np.nan_to_num(totals) * scale)
    deficit = (target - floors.sum(axis=1)).astype(np.int64)
    remainders = scaled - floors
    order = np.argsort(-remainders, axis=1, kind="stable")
    ranks = np.empty_like(order)
    rows = np.arange(values.shape[0])[:, None]
    ranks[rows, order] = np.arange(values.shape[1])[None, :]
    floors += (ranks < deficit[:, None]).astype(np.float64)
    result = floors / scale
    result[missing_row] = np.nan
    return result
