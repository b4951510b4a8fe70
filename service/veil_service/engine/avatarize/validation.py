"""Checks of the parameters against the table, each failing with the parameter and the fix.

An avatarization failure becomes a failed job's exception message, so every message names the
parameter at fault, the value it had, and what to change.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from veil_service.engine.avatarize.parameters import AvatarizationParameters
from veil_service.errors import InvalidArgumentError

#: Projection width (continuous variables plus modalities) above which the one-hot encoding is
#: refused: past it, one variable's modalities swamp the projection and the memory.
MAX_ENCODED_WIDTH = 2_000


def validate_table(df: object, params: AvatarizationParameters) -> None:
    """Check the table and every column name the parameters mention.

    Raises:
        InvalidArgumentError: not a DataFrame, too few rows for ``k``, duplicate or unknown
            column names.
    """
    if not isinstance(df, pd.DataFrame):
        raise InvalidArgumentError(
            f"The table must be a pandas DataFrame; got {type(df).__name__}.", field="table"
        )
    duplicates = sorted(str(c) for c, n in Counter(df.columns).items() if n > 1)
    if duplicates:
        raise InvalidArgumentError(
            f"The table has duplicate column names: {', '.join(duplicates)}. Rename them so that "
            "each column name is unique.",
            field="table",
        )
    if df.shape[1] == 0:
        raise InvalidArgumentError(
            "The table has no column. Upload a table with columns.", field="table"
        )
    n = len(df)
    if params.k >= n:
        raise InvalidArgumentError(
            f"k must be smaller than the number of rows ({n}); got k={params.k}. Lower k or add "
            "rows.",
            field="k",
        )
    columns = set(df.columns)
    _check_names("column_weights", params.column_weights, columns)
    _check_names("exclude_variable_names", params.exclude_variable_names, columns)
    _check_names("categorical_columns", params.categorical_columns, columns)
    if set(params.exclude_variable_names) >= columns:
        raise InvalidArgumentError(
            "exclude_variable_names lists every column: nothing is left to avatarize. Keep at "
            "least two columns out of it.",
            field="exclude_variable_names",
        )
    _check_target_column(params, columns)
    _check_finite(df, set(params.exclude_variable_names))
    for name in params.categorical_columns:
        if (
            name not in params.exclude_variable_names
            and not pd.api.types.is_numeric_dtype(df[name].dtype)
            and not pd.api.types.is_object_dtype(df[name].dtype)
            and not isinstance(df[name].dtype, pd.CategoricalDtype)
            and not pd.api.types.is_string_dtype(df[name].dtype)
        ):
            raise InvalidArgumentError(
                f"categorical_columns lists {name!r}, of type {df[name].dtype}: only numeric (or "
                "already categorical) columns can be declared categorical. Remove it from "
                "categorical_columns.",
                field="categorical_columns",
            )


def _check_finite(df: pd.DataFrame, excluded: set[Any]) -> None:
    """Refuse infinite numbers: the projection's eigendecomposition cannot take them (it failed
    deep in numpy, as an internal error), and no avatar can be drawn near one."""
    for name in df.columns:
        dtype = df[name].dtype
        if name in excluded or not pd.api.types.is_float_dtype(dtype):
            continue
        values = df[name].to_numpy(dtype=np.float64, na_value=np.nan)
        count = int(np.isinf(values).sum())
        if count:
            raise InvalidArgumentError(
                f"Column {name!r} holds infinite values (inf or -inf) in {count} rows: the "
                "avatarization needs finite numbers. Replace them with a "
                "finite value or with a missing value (NaN), or list the column in "
                "exclude_variable_names.",
                field="table",
            )


def _check_target_column(params: AvatarizationParameters, columns: set[Any]) -> None:
    """The target column must be a column the avatarization decodes."""
    target = params.target_column
    if target is None:
        return
    if target not in columns:
        known = ", ".join(sorted(str(c) for c in columns)[:20])
        raise InvalidArgumentError(
            f"target_column names an unknown column: {target!r}. Use the name of the column "
            f"analysts will model, one of the table's columns ({known}), or leave it unset.",
            field="target_column",
        )
    if target in params.exclude_variable_names:
        raise InvalidArgumentError(
            f"target_column {target!r} is also in exclude_variable_names: an excluded column is "
            "put back, not avatarized, so there is nothing to decode without noise. Remove it "
            "from one of the two.",
            field="target_column",
        )


def _check_names(parameter: str, names: Iterable[str], columns: set[Any]) -> None:
    listed = list(names)
    repeated = sorted(str(c) for c, n in Counter(listed).items() if n > 1)
    if repeated:
        raise InvalidArgumentError(
            f"{parameter} names a column more than once: {', '.join(repeated)}. List each column "
            "once.",
            field=parameter,
        )
    unknown = [str(c) for c in listed if c not in columns]
    if unknown:
        known = ", ".join(sorted(str(c) for c in columns)[:20])
        raise InvalidArgumentError(
            f"{parameter} names unknown columns: {', '.join(unknown)}. Use names of the table's "
            f"columns ({known}).",
            field=parameter,
        )


def validate_projection(width: int, modalities: dict[Any, int] | None = None) -> None:
    """Check the projection width against its limit.

    ``ncp`` needs no check here: a value above the projection's dimensions is capped where the
    dimensions are known (after the fit), with a warning, as Octopize does.

    Args:
        width: Encoded columns (continuous variables plus modalities).
        modalities: Modalities of each categorical column, to name the widest in the error.
    """
    if width > MAX_ENCODED_WIDTH:
        # Name the columns that make the width, not every categorical one.
        ranked = sorted((modalities or {}).items(), key=lambda item: -item[1])
        widest = [item for item in ranked if item[1] > MAX_ENCODED_WIDTH // 20][:3] or ranked[:1]
        named = ", ".join(f"{str(name)!r} ({count} values)" for name, count in widest)
        raise InvalidArgumentError(
            f"The table encodes to {width} projection columns (over {MAX_ENCODED_WIDTH}): "
            + (f"{named} {'has' if len(widest) == 1 else 'have'} " if widest else "some ")
            + "very many modalities (identifiers, free text). Exclude them with "
            "exclude_variable_names (advise_parameters() lists them), or group rare modalities.",
            field="exclude_variable_names",
        )
