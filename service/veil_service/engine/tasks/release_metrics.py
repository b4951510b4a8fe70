"""Which (original, avatars) pairs the metrics jobs compare, after the standard job's features.

The metrics pair original row ``i`` with avatar row ``i``. The standard job may have released
something else; this module says what to measure instead:

* pseudonymized columns are identifiers: left out on both sides (their values are pseudonyms);
* data augmentation (a ``lineage`` input: the original each output row descends from): the
  ``standalone`` metrics on the first avatar of each original, then Octopize's
  ``barycentered`` (each original against the barycentre of all the rows descending from it)
  and ``class_balancing_barycenter`` (only the originals that got extra rows) computations,
  which measure the extra exposure of an individual with several descendants;
* a DP generator: no output row descends from one original, and the release may have another
  number of rows; the output rows are drawn (seeded) to the original's size, so the pairs are
  arbitrary. Row-pair metrics then measure chance pairs, as they should for a release in which
  no row stands for one individual; the metadata says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from veil_service.engine.tasks.context import TaskContext
from veil_service.engine_contract import avatar_features

LINEAGE = avatar_features.LINEAGE_RESULT
"""Task input: the standard job's lineage of an augmented table (column ``source_row``)."""
DP_PAIRING_NOTE = (
    "DP generator: no output row descends from one original, so rows were paired at random "
    "(the output drawn to the original's size); row-pair metrics measure chance pairs."
)


@dataclass(frozen=True)
class Computation:
    """One comparison the metrics job makes.

    Attributes:
        computation_type: Octopize's ``metadata.computation_type``.
        original: The original rows compared.
        avatars: Their counterparts, row by row.
        note: What the metadata should tell the reader, if anything.
    """

    computation_type: str
    original: pd.DataFrame
    avatars: pd.DataFrame
    note: str = ""


def without_identifiers(ctx: TaskContext, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` without its pseudonymized columns."""
    pseudonymized = ctx.params.get("pseudonymized_columns") or {}
    return frame.drop(columns=[c for c in frame.columns if c in pseudonymized])


def computations(
    ctx: TaskContext, original: pd.DataFrame, avatars: pd.DataFrame, section: str
) -> list[Computation]:
    """The comparisons of one metrics job (see the module docstring)."""
    from veil_service.engine.augmentation import barycentres

    original = without_identifiers(ctx, original).reset_index(drop=True)
    avatars = without_identifiers(ctx, avatars).reset_index(drop=True)
    generator = avatar_features.generator_of(ctx.params.get("avatarization") or {})
    if LINEAGE in ctx.inputs:
        sources = ctx.read_table(LINEAGE)["source_row"].to_numpy(dtype=np.int64)
        n = len(original)
        out = [Computation("standalone", original, avatars.iloc[:n].reset_index(drop=True))]
        if section == "privacy_metrics":
            out.append(Computation("barycentered", *barycentres(original, avatars, sources)))
            kept, centres = barycentres(original, avatars, sources, only_augmented=True)
            if len(kept) >= 3:
                out.append(Computation("class_balancing_barycenter", kept, centres))
        return out
    if generator != avatar_features.AVATAR and len(avatars) and len(avatars) != len(original):
        rng = np.random.default_rng(int(ctx.params.get("seed") or 0))
        rows = rng.choice(len(avatars), len(original), replace=len(avatars) < len(original))
        avatars = avatars.iloc[rows].reset_index(drop=True)
    note = DP_PAIRING_NOTE if generator != avatar_features.AVATAR else ""
    return [Computation("standalone", original, avatars, note)]


def labelled(result: dict[str, Any], computation: Computation) -> dict[str, Any]:
    """``result`` with its computation type (and note) in its metadata."""
    metadata = result.setdefault("metadata", {})
    metadata["computation_type"] = computation.computation_type
    if computation.note:
        metadata["note"] = computation.note
    return result
