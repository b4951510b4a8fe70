"""Local cloaking counts past the first 16 neighbours, against brute force."""

from __future__ import annotations

import numpy as np
from veil_service.engine.metrics.distances import (
    LOCAL_CLOAKING_CAP,
    count_within,
    own_avatar_search,
)


def _brute_counts(original: np.ndarray, avatars: np.ndarray) -> np.ndarray:
    own = np.linalg.norm(original - avatars, axis=1)
    dist = np.linalg.norm(original[:, None, :] - avatars[None, :, :], axis=2)
    within = dist <= own[:, None] * (1 + 1e-9)
    np.fill_diagonal(within, False)
    counts: np.ndarray = within.sum(axis=1)
    return counts


def test_count_within_equals_brute_force() -> None:
    rng = np.random.default_rng(4)
    points = rng.normal(size=(1500, 3))
    queries = rng.normal(size=(1200, 3))
    radius = rng.uniform(0.0, 2.5, size=1200)  # up to most of the points in one ball
    dist = np.linalg.norm(queries[:, None, :] - points[None, :, :], axis=2)
    expected = (dist <= radius[:, None]).sum(axis=1)
    assert np.array_equal(count_within(points, queries, radius), expected)
    assert expected.max() > 500  # large balls are counted too, not only small ones


def test_counts_beyond_sixteen_are_exact_when_they_decide_the_median() -> None:
    # Clusters of 40 near-identical originals, avatars jittered further than the cluster
    # spread: most records have dozens of avatars closer than their own.
    rng = np.random.default_rng(8)
    centres = rng.normal(size=(50, 4)) * 10
    original = np.repeat(centres, 40, axis=0) + rng.normal(scale=0.01, size=(2000, 4))
    avatars = original + rng.normal(scale=0.05, size=original.shape)
    search = own_avatar_search(original, avatars)
    brute = np.minimum(_brute_counts(original, avatars), LOCAL_CLOAKING_CAP)
    assert np.median(brute) > 16  # the refined path is the one tested
    assert np.array_equal(search.closer_count, brute)
    assert np.median(search.closer_count) == np.median(brute)


def test_counts_above_a_small_median_stay_lower_bounds() -> None:
    rng = np.random.default_rng(9)
    original = rng.normal(size=(1200, 3))
    avatars = original + rng.normal(scale=0.02, size=original.shape)
    avatars[:200] += 5.0  # a few far avatars: many closer ones, but the median is small
    search = own_avatar_search(original, avatars)
    brute = _brute_counts(original, avatars)
    assert np.median(brute) < 16
    small = brute < 16
    assert np.array_equal(search.closer_count[small], brute[small])
    assert np.all(search.closer_count[~small] >= 15)
    assert np.median(search.closer_count) == np.median(brute)
