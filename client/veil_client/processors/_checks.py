"""Argument checks shared by the client-side processors.

Processors run on the caller's machine, before the upload and after the download, so their errors
are plain :class:`~veil_client.errors.InvalidArgument` (a ``ValueError``) naming the processor, the
argument and the fix; nothing is sent to the server.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from veil_client.errors import InvalidArgument


def require_columns(
    df: pd.DataFrame, columns: Iterable[str], *, processor: str, argument: str
) -> None:
    """Refuse a table that lacks a column the processor was told to use."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InvalidArgument(
            f"{processor}: {argument} names column(s) {missing} that the table does not have; "
            f"its columns are {list(df.columns)[:30]}.",
            field=argument,
        )


def require_no_missing(df: pd.DataFrame, columns: Iterable[str], *, processor: str) -> None:
    """Refuse missing values in columns whose order or arithmetic the processor relies on."""
    with_missing = [c for c in columns if df[c].isna().any()]
    if with_missing:
        raise InvalidArgument(
            f"{processor}: column(s) {with_missing} have missing values, which this processor "
            "cannot order or difference. Impute or drop those rows first.",
            field=with_missing[0],
        )


def require_numeric(df: pd.DataFrame, columns: Iterable[str], *, processor: str) -> None:
    """Refuse non-numeric columns where the processor does arithmetic."""
    bad = [
        c
        for c in columns
        if not pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c])
    ]
    if bad:
        raise InvalidArgument(
            f"{processor}: column(s) {bad} must be numeric; got {[str(df[c].dtype) for c in bad]}.",
            field=bad[0],
        )


def is_categorical(series: pd.Series) -> bool:
    """Whether the avatarization treats a column as categorical (not a number or a date)."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        return True
    return not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_datetime64_any_dtype(dtype))
