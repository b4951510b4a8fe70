"""Relative difference: keep ``target >= references`` (or <=) through the avatarization.

``preprocess`` replaces the target by ``(target - sum(references)) / scaling_unit``; the
avatarization keeps each column within its observed range, so when every original difference has
one sign, every avatar difference has it too; ``postprocess`` adds the avatar's own references
back. Missing values stay missing.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from veil_service.engine.processors.checks import require_columns, require_numeric
from veil_service.errors import InvalidArgumentError


@dataclass(frozen=True)
class RelativeDifference:
    """``RelativeDifferenceParameters(target, references, scaling_unit=None)``.

    Attributes:
        target: Column expressed as a difference to the references.
        references: Columns whose sum the target is compared to.
        scaling_unit: Divide the difference by this (e.g. 1000 for metres to kilometres).
    """

    target: str
    references: tuple[str, ...]
    scaling_unit: float | None = None

    def __post_init__(self) -> None:
        if not self.references:
            raise InvalidArgumentError(
                f"processors: RelativeDifferenceParameters(target={self.target!r}) needs at "
                "least one reference column.",
                field="processors.references",
            )
        if self.target in self.references:
            raise InvalidArgumentError(
                f"processors: RelativeDifferenceParameters target {self.target!r} is also one of "
                "its references; name different columns.",
                field="processors.target",
            )
        unit = self.scaling_unit
        if unit is not None and (
            isinstance(unit, bool) or not isinstance(unit, int | float) or unit <= 0
        ):
            raise InvalidArgumentError(
                f"processors: RelativeDifferenceParameters scaling_unit must be a positive number "
                f"or unset; got {unit!r}.",
                field="processors.scaling_unit",
            )

    @property
    def columns(self) -> tuple[str, ...]:
        """Columns the processor reads."""
        return (self.target, *self.references)

    def preprocess(self, df: pd.DataFrame) -> pd.DataFrame:
        """The target as a (scaled) difference to the sum of the references."""
        require_columns(df, self.columns, "RelativeDifferenceParameters")
        require_numeric(df, self.columns, "RelativeDifferenceParameters")
        out = df.copy()
        difference = df[self.target].astype("float64") - self._reference_sum(df)
        out[self.target] = difference / (self.scaling_unit or 1.0)
        return out

    def postprocess(self, source: pd.DataFrame, dest: pd.DataFrame) -> pd.DataFrame:
        """The target rebuilt from the avatar's difference and the avatar's references."""
        out = dest.copy()
        values = dest[self.target].astype("float64") * (self.scaling_unit or 1.0)
        values = values + self._reference_sum(dest)
        dtype = source[self.target].dtype
        if pd.api.types.is_integer_dtype(dtype) and not values.isna().any():
            out[self.target] = values.round().astype(dtype)
        else:
            out[self.target] = values
        return out

    def _reference_sum(self, df: pd.DataFrame) -> pd.Series:
        # A missing reference counts as 0 (as the client-side processor did).
        return df[list(self.references)].astype("float64").fillna(0.0).sum(axis=1)
