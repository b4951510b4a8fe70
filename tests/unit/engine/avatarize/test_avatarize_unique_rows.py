"""Avatars that copy an original row occurring once (engine/avatarize/unique_rows.py): the two
passes find exactly the rows one hash of every whole row finds."""

from __future__ import annotations

import numpy as np
import pandas as pd
from veil_service.engine.avatarize.unique_rows import UniqueRows, row_keys


def _table() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    rows = 80
    table = pd.DataFrame(
        {
            "age": rng.integers(20, 25, rows),
            "income": np.round(rng.normal(3000, 400, rows), -2),
            "ratio": rng.random(rows).astype(np.float32),
            "smoker": rng.random(rows) < 0.5,
            "sex": rng.choice(["F", "M"], rows).astype(object),
            "town": pd.Categorical(rng.choice(["a", "b", None], rows)),
        }
    )
    table.loc[rng.random(rows) < 0.1, "income"] = np.nan
    table.iloc[1] = table.iloc[0]  # a row that occurs twice: copying it singles no one out
    return table


def _brute_force(table: pd.DataFrame, frame: pd.DataFrame) -> np.ndarray:
    keys, counts = np.unique(row_keys(table), return_counts=True)
    return np.flatnonzero(np.isin(row_keys(frame), keys[counts == 1]))


def test_copies_are_the_rows_equal_to_a_row_occurring_once() -> None:
    table = _table()
    unique = UniqueRows.of(table)
    assert unique.number_columns == ("age", "income", "ratio", "smoker")
    avatars = table.sample(frac=1.0, random_state=3).reset_index(drop=True)
    avatars["ratio"] = avatars["ratio"] + np.float32(2.0)  # no avatar copies anyone ...
    copied = [4, 9, 30]  # ... but these copy rows 5, 0 (occurs twice), 7 and 2 exactly
    avatars.iloc[copied] = table.iloc[[5, 0, 7]].to_numpy()
    avatars.iloc[50] = table.iloc[2].to_numpy()
    # Equal to row 11 on every number column but not on its sex: ruled out by the second pass.
    avatars.iloc[60] = table.iloc[11].to_numpy()
    avatars.loc[60, "sex"] = "M" if table.loc[11, "sex"] == "F" else "F"
    avatars = avatars.astype(table.dtypes.to_dict())
    found = unique.copies(avatars)
    assert list(found) == [4, 30, 50]
    assert np.array_equal(found, _brute_force(table, avatars))


def test_missing_values_and_a_table_without_numbers() -> None:
    table = _table()
    assert np.array_equal(UniqueRows.of(table).copies(table), _brute_force(table, table))
    assert len(UniqueRows.of(table).copies(table)) == len(table) - 2
    words = table[["sex", "town"]]
    unique = UniqueRows.of(words)
    assert unique.number_columns == ()
    assert np.array_equal(unique.copies(words), _brute_force(words, words))
    assert len(UniqueRows.of(pd.concat([words, words])).copies(words)) == 0
