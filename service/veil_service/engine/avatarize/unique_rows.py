"""Finding avatars that copy an original row occurring once in the table.

Such an avatar discloses that row whole, so the pipeline draws it again
(``pipeline._redraw_unique_copies``). Equality is decided on hashes of whole rows (pandas'
``hash_pandas_object``: equal rows, equal hashes). Hashing every column of every avatar was an
eighth of a linked parameter search's CPU on Tutorial 3's tables, where the search avatarizes
small tables hundreds of times and almost never finds a copy: the number columns alone rule
out nearly every row first, hashed together in one pass, and only the rows they do not rule
out are hashed whole. The rows found are the same (a row equal to an original is equal on its
number columns too); the first pass can only keep too many.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from veil_service.engine.avatarize.column_types import is_numpy_number

IndexArray = npt.NDArray[np.intp]
Keys = npt.NDArray[np.uint64]


def row_keys(frame: pd.DataFrame) -> Keys:
    """One hash per row of ``frame`` (equal rows, equal hashes)."""
    keys = pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype=np.uint64)
    return np.asarray(keys, dtype=np.uint64)


def number_keys(frame: pd.DataFrame, columns: tuple[str, ...]) -> Keys:
    """One hash per row of the values of ``columns`` (numpy number columns) read as float64.

    Rows equal on those columns get equal hashes (the same values read the same way), which is
    all the first pass needs: it never rules out a row equal to an original.
    """
    values = np.column_stack([frame[c].to_numpy(dtype=np.float64) for c in columns])
    bits = np.ascontiguousarray(values).view(np.uint64)
    mixed = pd.util.hash_array(bits.ravel()).reshape(bits.shape)
    # Distinct odd weights per column, so that swapping two columns' values changes the key.
    weights = (np.arange(len(columns), dtype=np.uint64) * np.uint64(2) + np.uint64(1)) * np.uint64(
        0x9E3779B97F4A7C15
    )
    keys: Keys = (mixed * weights).sum(axis=1, dtype=np.uint64)
    return keys


@dataclass(frozen=True)
class UniqueRows:
    """The rows of a table that occur once, ready to be looked for among avatars.

    Attributes:
        keys: :func:`row_keys` of those rows.
        number_columns: The table's numpy number columns (the first pass).
        number_keys: :func:`number_keys` of those rows.
    """

    keys: Keys
    number_columns: tuple[str, ...]
    number_keys: Keys

    @classmethod
    def of(cls, table: pd.DataFrame) -> UniqueRows:
        """The rows of ``table`` that occur once."""
        all_keys = row_keys(table)
        keys, counts = np.unique(all_keys, return_counts=True)
        once = np.isin(all_keys, keys[counts == 1])
        columns = tuple(c for c in table.columns if is_numpy_number(table[c].dtype))
        numbers = number_keys(table[once], columns) if columns else np.empty(0, np.uint64)
        return cls(keys[counts == 1], columns, np.unique(numbers))

    def copies(self, frame: pd.DataFrame) -> IndexArray:
        """Positions of ``frame``'s rows (the table's columns and types) equal to one of these
        rows."""
        if len(self.keys) == 0:
            return np.empty(0, dtype=np.intp)
        if not self.number_columns:
            return np.flatnonzero(np.isin(row_keys(frame), self.keys))
        candidates = np.flatnonzero(
            np.isin(number_keys(frame, self.number_columns), self.number_keys)
        )
        if candidates.size == 0:
            return candidates
        whole = np.isin(row_keys(frame.iloc[candidates]), self.keys)
        found: IndexArray = candidates[whole]
        return found
