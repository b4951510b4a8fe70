"""The singling-out attack's predicate counts, done in row blocks, against the plain count.

``attacks._count_matches`` counts the rows each predicate selects in blocks of rows (issue 17
item 6: whole-row masks copied 64 x 1M values per column slot); the counts must be the ones a
direct evaluation of each predicate over the whole table gives, with missing values and every
operator, across ragged block and chunk borders.
"""

from __future__ import annotations

import numpy as np
import pytest
from veil_service.engine.metrics import attacks


def _plain(data: np.ndarray, cols: np.ndarray, ops: np.ndarray, vals: np.ndarray) -> np.ndarray:
    counts = []
    for c, o, v in zip(cols, ops, vals, strict=True):
        mask = np.ones(len(data), dtype=bool)
        for column, op, value in zip(c, o, v, strict=True):
            x = data[:, column]
            if op == 0:
                mask &= x == value
            elif op == 1:
                mask &= x >= value
            elif op == 2:
                mask &= x <= value
            else:
                mask &= np.isnan(x)
        counts.append(int(mask.sum()))
    return np.array(counts)


@pytest.mark.parametrize("rows", [5, 2_345])
def test_row_blocks_count_what_the_plain_predicates_select(
    rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(attacks, "_COUNT_ROWS", 500)  # several blocks, a ragged last one
    monkeypatch.setattr(attacks, "_CHUNK", 7)
    rng = np.random.default_rng(11)
    data = rng.integers(0, 4, size=(rows, 5)).astype(np.float64)
    data[rng.random(data.shape) < 0.1] = np.nan
    cols = np.argsort(rng.random((50, 5)), axis=1)[:, :3]
    ops = rng.integers(0, 4, size=(50, 3))
    vals = rng.integers(0, 4, size=(50, 3)).astype(np.float64)
    found = attacks._count_matches(np.ascontiguousarray(data.T), cols, ops, vals)
    expected = _plain(data, cols, ops, vals)
    assert expected.max() > 0  # the predicates select something
    np.testing.assert_array_equal(found, expected)
