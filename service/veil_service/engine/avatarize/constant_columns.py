"""Columns that carry no information: one value in every row, or no value at all.

Real tables have them: a region column in a one-state extract, a protocol flag in a trial, a
field nobody filled in. Such a column says nothing about any row, so releasing it as it is
reveals nothing, while keeping it in the projection would only add a direction of zero variance
(and, for metrics, a column every avatar "matches"). So these columns are set aside before the
avatarization and the metrics' distances, and put back unchanged, with a warning saying so.

A column with one value and some missing values is *not* constant: whether a value is missing
is information, and it is avatarized like any other column.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from veil_service.errors import InvalidArgumentError


@dataclass(frozen=True)
class SetAside:
    """The columns set aside from a table, in their original positions.

    Attributes:
        columns: The original column order.
        constant: Columns with one value in every row.
        empty: Columns with no value in any row.
    """

    columns: tuple[Any, ...]
    constant: tuple[Any, ...]
    empty: tuple[Any, ...]

    @property
    def names(self) -> tuple[Any, ...]:
        """Every column set aside."""
        return self.constant + self.empty

    def warnings(self, table_name: str) -> list[str]:
        """One sentence per kind of column set aside."""
        out = []
        if self.constant:
            out.append(
                f"table {table_name!r}: {_listed(self.constant)} "
                f"{'has' if len(self.constant) == 1 else 'have'} one value in every row: "
                "released unchanged (a constant says nothing about any row) and left out of the "
                "projection and of the metrics' distances."
            )
        if self.empty:
            out.append(
                f"table {table_name!r}: {_listed(self.empty)} "
                f"{'has' if len(self.empty) == 1 else 'have'} no value in any row: released "
                "empty and left out of the projection and of the metrics' distances."
            )
        return out


def _listed(names: tuple[Any, ...]) -> str:
    quoted = [repr(str(n)) for n in names]
    return ("column " if len(quoted) == 1 else "columns ") + ", ".join(quoted)


def find_set_aside(frame: pd.DataFrame) -> SetAside:
    """The constant and the empty columns of a table (none when it has a single row)."""
    constant: list[Any] = []
    empty: list[Any] = []
    if len(frame) > 1:
        for name in frame.columns:
            series = frame[name]
            missing = int(series.isna().sum())
            if missing == len(series):
                empty.append(name)
            elif missing == 0 and series.nunique(dropna=True) == 1:
                constant.append(name)
    return SetAside(tuple(frame.columns), tuple(constant), tuple(empty))


def without(frame: pd.DataFrame, aside: SetAside, table_name: str) -> pd.DataFrame:
    """The table without the set-aside columns.

    Raises:
        InvalidArgumentError: nothing is left to work on.
    """
    kept = frame.drop(columns=list(aside.names))
    if kept.shape[1] == 0:
        raise InvalidArgumentError(
            f"every column of table {table_name!r} is constant or empty ("
            f"{', '.join(repr(str(c)) for c in aside.names)}): there is nothing to avatarize. "
            "Add the columns that vary, or release this table as it is.",
            field="data",
        )
    return kept


def restore(avatars: pd.DataFrame, original: pd.DataFrame, aside: SetAside) -> pd.DataFrame:
    """Put the set-aside columns back, with the original's values and dtypes, in place.

    The constant value is the same on every row, so it does not matter which avatar gets which
    copy; rows of ``avatars`` may be in any order.
    """
    if not aside.names:
        return avatars
    restored = avatars.copy()
    for name in aside.names:
        value = original[name].iloc[0]
        restored[name] = pd.Series([value] * len(avatars), index=avatars.index).astype(
            original[name].dtype
        )
    return restored[list(aside.columns)]


def prune_names(names: list[Any] | None, aside: SetAside) -> list[Any] | None:
    """A list of column names without the set-aside ones (None stays None)."""
    if names is None:
        return None
    return [n for n in names if n not in aside.names]


def prune_weights(weights: dict[Any, float] | None, aside: SetAside) -> dict[Any, float] | None:
    """Column weights without the set-aside columns."""
    if weights is None:
        return None
    return {c: w for c, w in weights.items() if c not in aside.names}
