"""``ToCategoricalProcessor``: avatarize low-cardinality numbers as categories."""

from __future__ import annotations

import numpy as np
import pandas as pd

from veil_client.errors import InvalidArgument

_NAME = "ToCategoricalProcessor"


class ToCategoricalProcessor:
    """Treat numeric columns with few distinct values as categorical during the avatarization.

    A numeric column with at most ``to_categorical_threshold`` distinct values (a score, a count
    of children) becomes an object column, so avatars only take values the originals had (no
    2.6 children). With ``keep_continuous`` a numeric copy named ``<column><continuous_suffix>``
    also goes through, and ``postprocess`` uses it wherever the categorical avatar is
    ``category`` (the modality :class:`GroupModalitiesProcessor` groups rare values into).
    ``postprocess`` restores the original dtypes.

    Args:
        to_categorical_threshold: Largest number of distinct values of a converted column.
        keep_continuous: Also send a numeric copy of each converted column.
        continuous_suffix: Suffix of the numeric copies.
        category: Modality replaced by the numeric copy in ``postprocess``.
    """

    def __init__(
        self,
        to_categorical_threshold: int,
        *,
        keep_continuous: bool = False,
        continuous_suffix: str = "__cont",
        category: str = "other",
    ) -> None:
        value = to_categorical_threshold
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidArgument(
                f"{_NAME}: to_categorical_threshold must be a positive integer; got {value!r}.",
                field="to_categorical_threshold",
            )
        if keep_continuous and not continuous_suffix:
            raise InvalidArgument(
                f"{_NAME}: continuous_suffix must not be empty when keep_continuous is set.",
                field="continuous_suffix",
            )
        self.to_categorical_threshold = value
        self.keep_continuous = keep_continuous
        self.continuous_suffix = continuous_suffix
        self.category = category
        self.variables: list[str] = []

    def preprocess(self, df: pd.DataFrame) -> pd.DataFrame:
        """Low-cardinality numeric columns as object columns (plus numeric copies on request)."""
        self.variables = [
            name
            for name in df.columns
            if pd.api.types.is_numeric_dtype(df[name].dtype)
            and not pd.api.types.is_bool_dtype(df[name].dtype)
            and df[name].nunique() <= self.to_categorical_threshold
        ]
        out = df.copy()
        for name in self.variables:
            if self.keep_continuous:
                copy = f"{name}{self.continuous_suffix}"
                if copy in df.columns:
                    raise InvalidArgument(
                        f"{_NAME}: the table already has a column {copy!r}; choose another "
                        "continuous_suffix.",
                        field="continuous_suffix",
                    )
                out[copy] = df[name]
            out[name] = df[name].astype(object)
        return out

    def postprocess(self, source: pd.DataFrame, dest: pd.DataFrame) -> pd.DataFrame:
        """Converted columns back to ``source``'s numeric dtypes (numeric copies dropped)."""
        out = dest.copy()
        for name in self.variables:
            if name not in out.columns:
                continue
            values = out[name]
            copy = f"{name}{self.continuous_suffix}"
            if self.keep_continuous and copy in out.columns:
                values = values.where(values.astype(str) != self.category, out[copy])
                out = out.drop(columns=copy)
            numbers = pd.to_numeric(values, errors="coerce")
            dtype = source[name].dtype if name in source.columns else numbers.dtype
            if pd.api.types.is_integer_dtype(dtype):
                numbers = numbers.round()
                if numbers.isna().any() and isinstance(dtype, np.dtype):
                    dtype = pd.Int64Dtype()
            out[name] = numbers.astype(dtype)
        return out
