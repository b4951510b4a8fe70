"""``PerturbationProcessor``: move avatars part of the way back towards their originals."""

from __future__ import annotations

import numpy as np
import pandas as pd

from veil_client.errors import InvalidArgument
from veil_client.processors._checks import is_categorical, require_columns

_NAME = "PerturbationProcessor"


class PerturbationProcessor:
    """Reduce the distance between each avatar and its original, column by column.

    SENSITIVE: ``postprocess`` needs the avatars in the original row order (the unshuffled
    avatars, ``runner.sensitive_unshuffled(table)``), and it moves them towards the originals, so
    it lowers privacy: level 0 gives the original values back. Measure the privacy of the result
    before releasing it.

    For a numeric column at level ``l``: ``dest = source + (dest - source) * l``. For a categorical
    column, each row keeps its avatar value with probability ``l`` and takes the original's
    otherwise. Columns not listed keep level 1 (no change).

    Args:
        perturbation_level: Column -> level in [0, 1] (0: original values, 1: avatars as they are).
        seed: Seed of the categorical draws.
    """

    def __init__(
        self, perturbation_level: dict[str, float] | None = None, *, seed: int | None = None
    ) -> None:
        levels = dict(perturbation_level or {})
        for name, level in levels.items():
            if isinstance(level, bool) or not isinstance(level, int | float) or not 0 <= level <= 1:
                raise InvalidArgument(
                    f"{_NAME}: perturbation_level[{name!r}] must be a number in [0, 1] (0 gives "
                    f"the original values back, 1 leaves the avatar); got {level!r}.",
                    field=f"perturbation_level[{name}]",
                )
        self.perturbation_level = levels
        self.seed = seed

    def preprocess(self, df: pd.DataFrame) -> pd.DataFrame:
        """The table unchanged (the perturbation happens after avatarization)."""
        require_columns(df, self.perturbation_level, processor=_NAME, argument="perturbation_level")
        return df

    def postprocess(self, source: pd.DataFrame, dest: pd.DataFrame) -> pd.DataFrame:
        """``dest`` (avatars aligned row by row with ``source``) moved towards ``source``."""
        require_columns(
            source, self.perturbation_level, processor=_NAME, argument="perturbation_level"
        )
        require_columns(
            dest, self.perturbation_level, processor=_NAME, argument="perturbation_level"
        )
        if len(source) != len(dest):
            raise InvalidArgument(
                f"{_NAME}: source has {len(source)} rows and dest {len(dest)}; postprocess needs "
                "the avatars aligned with the originals (runner.sensitive_unshuffled(table)).",
                field="dest",
            )
        rng = np.random.default_rng(self.seed)
        out = dest.copy()
        for name, level in self.perturbation_level.items():
            if level == 1:
                continue
            original = source[name].to_numpy()
            avatar = dest[name].to_numpy()
            if is_categorical(source[name]) or is_categorical(dest[name]):
                keep_avatar = rng.random(len(out)) < level
                values = np.where(keep_avatar, avatar, original)
                out[name] = pd.Series(values, index=out.index).astype(dest[name].dtype)
            else:
                moved = original.astype(np.float64) + (
                    avatar.astype(np.float64) - original.astype(np.float64)
                ) * float(level)
                if pd.api.types.is_integer_dtype(dest[name].dtype) and not np.isnan(moved).any():
                    moved = np.round(moved)
                out[name] = pd.Series(moved, index=out.index).astype(dest[name].dtype)
        return out
