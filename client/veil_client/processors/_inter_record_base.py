"""Argument checks and output shaping shared by the four inter-record processors."""

from __future__ import annotations

import numpy as np
import pandas as pd

from veil_client.errors import InvalidArgument
from veil_client.processors._checks import require_columns, require_no_missing, require_numeric
from veil_client.processors._records import FloatArray


def check_inputs(
    df: pd.DataFrame,
    *,
    processor: str,
    id_variable: str,
    targets: dict[str, str],
    sort_by: str | None,
) -> None:
    """Columns present, targets numeric, no missing value in any of them."""
    require_columns(df, [id_variable], processor=processor, argument="id_variable")
    for argument, column in targets.items():
        require_columns(df, [column], processor=processor, argument=argument)
    if sort_by is not None:
        require_columns(df, [sort_by], processor=processor, argument="sort_by_variable")
    require_numeric(df, list(targets.values()), processor=processor)
    used = [id_variable, *targets.values(), *([sort_by] if sort_by else [])]
    require_no_missing(df, used, processor=processor)


def check_new_names(df: pd.DataFrame, *, processor: str, names: dict[str, str]) -> None:
    """The columns the processor will create must not exist already."""
    for argument, name in names.items():
        if name in df.columns:
            raise InvalidArgument(
                f"{processor}: {argument}={name!r} is already a column of the table; choose a "
                "new name.",
                field=argument,
            )


def require_dest_columns(dest: pd.DataFrame, *, processor: str, columns: dict[str, str]) -> None:
    """The avatars given to ``postprocess`` carry the columns ``preprocess`` created."""
    for argument, column in columns.items():
        if column not in dest.columns:
            raise InvalidArgument(
                f"{processor}: dest has no column {column!r} ({argument}); pass the avatars of "
                "the preprocessed table.",
                field=argument,
            )
    require_no_missing(dest, list(columns.values()), processor=processor)


def scatter(values: FloatArray, order: np.ndarray, n: int) -> FloatArray:
    """Put values computed in record order back at their rows."""
    out = np.empty(n, dtype=np.float64)
    out[order] = values
    return out


def typed(values: FloatArray, like: pd.Series, index: pd.Index, round_output: bool) -> pd.Series:
    """A column of ``values`` with ``like``'s dtype where it is an integer dtype."""
    series = pd.Series(values, index=index)
    if round_output or pd.api.types.is_integer_dtype(like.dtype):
        series = series.round()
    if pd.api.types.is_integer_dtype(like.dtype):
        return series.astype(like.dtype)
    return series.astype("int64") if round_output else series
