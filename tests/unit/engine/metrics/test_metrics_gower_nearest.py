"""The attacks' nearest-record search (Gower distance) against its plain definition.

``attacks.gower_nearest`` works on cache-sized tiles (issue 17 item 6); this compares it, row
for row, with the direct computation over every candidate at once, on data with missing values,
rounded numbers (many ties) and categories, across tile borders.
"""

from __future__ import annotations

import numpy as np
import pytest
from veil_service.engine.metrics import attacks
from veil_service.engine.metrics.attacks import Encoded


def _plain(
    candidates: Encoded, queries: np.ndarray, columns: np.ndarray, ranges: np.ndarray
) -> np.ndarray:
    data = candidates.values[:, columns]
    numeric = candidates.numeric[columns]
    scale = np.where(numeric & (ranges[columns] > 0), ranges[columns], 1.0)
    block = queries[:, columns]
    total = np.zeros((len(block), len(data)), dtype=np.float32)
    for j in range(len(columns)):
        a, b = block[:, j][:, None], data[:, j][None, :]
        if numeric[j]:
            with np.errstate(invalid="ignore"):
                d = np.abs(a - b) / scale[j]
            total += np.where(np.isnan(d), 1.0, d).astype(np.float32)
        else:
            total += (a != b).astype(np.float32)
    return np.argmin(total, axis=1)


@pytest.mark.parametrize("rows", [7, 5_000])
def test_tiles_find_the_same_nearest_record_as_the_plain_search(
    rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(attacks, "_TILE_CANDIDATES", 1_000)  # several tiles, a ragged last one
    monkeypatch.setattr(attacks, "_TILE_QUERIES", 16)
    rng = np.random.default_rng(7)
    numeric = np.array([True, True, True, False, False, False])
    values = np.empty((rows, 6))
    values[:, :3] = rng.normal(size=(rows, 3)).round(0)  # few distinct values: many ties
    values[:, 3:] = rng.integers(0, 3, size=(rows, 3))
    values[rng.random(values.shape) < 0.05] = np.nan
    values[:, 2] = 4.0  # a constant column: range 0, scale 1
    candidates = Encoded(values, numeric)
    queries = values[rng.integers(0, rows, 40)].copy()
    queries[::5, 0] = np.nan
    columns = np.array([0, 2, 3, 5])
    ranges = attacks.value_ranges([candidates])
    found = attacks.gower_nearest(candidates, queries, columns, ranges)
    assert found.dtype == np.int64
    np.testing.assert_array_equal(found, _plain(candidates, queries, columns, ranges))
