"""One avatarization round of data augmentation, on the whole table or on one class's rows.

Augmentation avatarizes the table again and again, sometimes on a single class's rows only
(:func:`veil_service.engine.augmentation.augment`); a class may have fewer rows than the
table's ``k`` or ``ncp``, so each round caps them below the rows it has, and keeps only the
column weights, exclusions and categorical columns that are in the frame. The single-table
release and the linked pipeline both use it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from veil_service.engine.avatarize import AvatarizationResult, avatarize

DEFAULT_K = 20


def avatarize_round(
    frame: pd.DataFrame,
    seed: int,
    options: Mapping[str, Any],
    categorical_columns: Sequence[str],
    column_weights: Mapping[str, float],
    progress: Callable[[float, str], None] | None = None,
) -> AvatarizationResult:
    """Avatarize ``frame`` with ``options`` (``avatarize``'s keyword arguments but the
    categorical columns and weights), ``k`` and ``ncp`` capped below its row count."""
    capped = dict(options)
    capped["k"] = min(int(options.get("k", DEFAULT_K)), len(frame) - 1)
    if "ncp" in capped:
        capped["ncp"] = min(int(capped["ncp"]), max(1, len(frame) - 1))
    capped["exclude_variable_names"] = [
        c for c in options.get("exclude_variable_names") or [] if c in frame.columns
    ] or None
    capped = {key: value for key, value in capped.items() if value is not None}
    return avatarize(
        frame,
        seed=seed,
        categorical_columns=[c for c in categorical_columns if c in frame.columns],
        column_weights={c: w for c, w in column_weights.items() if c in frame.columns} or None,
        progress=progress,
        **capped,
    )
