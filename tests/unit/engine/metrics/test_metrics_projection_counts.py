"""The distance projection computed from category counts equals its one-hot definition."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from veil_service.engine.metrics.projection import MAX_MODALITIES, OTHER, fit_famd
from veil_service.engine.metrics.tables import align_tables


def _tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(11)
    n = 3000

    def table(size: int, seed: int) -> pd.DataFrame:
        r = np.random.default_rng(seed)
        frame = pd.DataFrame(
            {
                "age": r.integers(18, 90, size).astype(float),
                "income": r.lognormal(10, 1, size),
                "city": r.choice(list("abcdefg"), size, p=[0.4, 0.2, 0.1, 0.1, 0.1, 0.05, 0.05]),
                "sex": r.choice(["F", "M"], size),
                # more distinct values than MAX_MODALITIES: the tail shares one "other" modality
                "code": r.integers(0, 3 * MAX_MODALITIES, size).astype(str),
            }
        )
        frame.loc[r.random(size) < 0.05, "age"] = np.nan
        frame.loc[r.random(size) < 0.05, "city"] = None
        return frame

    original = table(n, 1)
    avatars = table(n, 2)
    avatars.loc[rng.random(n) < 0.1, "city"] = "unseen"  # a modality the original lacks
    return original, avatars, table(500, 3)


@pytest.mark.parametrize("weights", [None, {"age": 2.0, "city": 0.5}])
def test_counts_projection_equals_the_one_hot_product(
    weights: dict[str, float] | None,
) -> None:
    original, avatars, holdout = _tables()
    tables = align_tables(original, avatars, holdout)
    dense = fit_famd(tables.original, tables.continuous, tables.categorical, weights)
    counted = fit_famd(
        tables.original, tables.continuous, tables.categorical, weights, gram_from_counts=True
    )
    assert dense.modalities["code"][-1] is OTHER
    np.testing.assert_allclose(
        counted.explained_variance_ratio, dense.explained_variance_ratio, rtol=1e-9, atol=1e-15
    )
    for frame in (tables.original, tables.avatars, tables.holdout):
        assert frame is not None
        exact = dense.scale(frame) @ dense.components[:5].T
        np.testing.assert_allclose(dense.project(frame, 5), exact, rtol=0, atol=1e-10)
        np.testing.assert_allclose(dense.transform(frame, 5), exact, rtol=0, atol=0)
        # components are defined up to sign: distances, not coordinates, must agree
        a, b = counted.project(frame, 5), dense.transform(frame, 5)
        np.testing.assert_allclose(np.abs(a), np.abs(b), rtol=0, atol=1e-8)
        pairs = np.random.default_rng(0).integers(0, len(frame), size=(200, 2))
        da = np.linalg.norm(a[pairs[:, 0]] - a[pairs[:, 1]], axis=1)
        db = np.linalg.norm(b[pairs[:, 0]] - b[pairs[:, 1]], axis=1)
        np.testing.assert_allclose(da, db, rtol=1e-9, atol=1e-12)


def test_equal_rows_get_bitwise_equal_coordinates() -> None:
    original, avatars, _ = _tables()
    tables = align_tables(original, avatars)
    model = fit_famd(tables.original, tables.continuous, tables.categorical, gram_from_counts=True)
    copies = pd.concat([tables.original.iloc[:50], tables.original.iloc[:50]], ignore_index=True)
    points = model.project(copies, 5)
    assert np.array_equal(points[:50], points[50:])
    assert np.array_equal(points[:50], model.project(tables.original, 5)[:50])
