"""What every client-side processor provides (the Octopize ``Processor`` protocol)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import pandas as pd


@runtime_checkable
class Processor(Protocol):
    """A reversible transformation run around the avatarization, on the caller's machine.

    ``preprocess`` turns the original table into the table that is uploaded; ``postprocess`` turns
    the downloaded avatars back into the original shape, using the original table (``source``)
    where the transformation needs it (bounds, dtypes, reference statistics).
    """

    def preprocess(self, df: pd.DataFrame) -> pd.DataFrame:
        """The table to upload instead of ``df``."""

    def postprocess(self, source: pd.DataFrame, dest: pd.DataFrame) -> pd.DataFrame:
        """``dest`` (avatars of the preprocessed table) back in the shape of ``source``."""
