"""Checks of the server-side processors against the table, with errors naming the fix."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from veil_service.errors import InvalidArgumentError


def require_columns(df: pd.DataFrame, columns: Iterable[str], processor: str) -> None:
    """Refuse a processor that names a column the table does not have."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InvalidArgumentError(
            f"processors: {processor} names column(s) {missing}, which the table does not have; "
            f"its columns are {list(df.columns)[:30]}. Fix the processor's parameters.",
            field="processors",
        )


def require_numeric(df: pd.DataFrame, columns: Iterable[str], processor: str) -> None:
    """Refuse a processor doing arithmetic on non-numeric columns."""
    bad = [
        c
        for c in columns
        if not pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c])
    ]
    if bad:
        raise InvalidArgumentError(
            f"processors: {processor} needs numeric columns; {bad} are "
            f"{[str(df[c].dtype) for c in bad]}. Declare them int or float, or remove the "
            "processor.",
            field="processors",
        )


def require_no_missing(df: pd.DataFrame, columns: Iterable[str], processor: str) -> None:
    """Refuse missing values where the processor orders or chains records."""
    bad = [c for c in columns if df[c].isna().any()]
    if bad:
        raise InvalidArgumentError(
            f"processors: {processor} cannot chain records with missing values in {bad}; "
            "impute or drop those rows first.",
            field="processors",
        )
