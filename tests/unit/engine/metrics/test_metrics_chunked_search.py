"""The own-avatar search queried in bounded chunks gives exactly the one-query answer.

The chunks exist for memory (a 250,000-row partition's 257-nearest stage held 2.3 GiB in one
query, docs/scaling.md); they must change no count, flag or distance.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree
from veil_service.engine.metrics.distances import (
    LOCAL_CLOAKING_CAP,
    own_avatar_hidden,
    own_avatar_search,
)


def _far_avatars(rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Avatars loosely tied to their originals: most counts pass 16 and 64, some reach the cap."""
    rng = np.random.default_rng(3)
    original = rng.normal(size=(rows, 3))
    return original, original + rng.normal(scale=0.9, size=(rows, 3))


def _tied_avatars(rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer-valued coordinates: many avatars at exactly the own avatar's distance."""
    rng = np.random.default_rng(5)
    original = rng.integers(0, 4, size=(rows, 2)).astype(np.float64)
    return original, original + rng.integers(-1, 2, size=(rows, 2))


@pytest.mark.parametrize("tables", [_far_avatars, _tied_avatars])
@pytest.mark.parametrize("chunk_entries", [1, 700, 65_536])
def test_chunked_search_equals_one_query(tables, chunk_entries: int) -> None:  # type: ignore[no-untyped-def]
    original, avatars = tables(4_000)
    whole = own_avatar_search(original, avatars, chunk_entries=1 << 40)
    chunked = own_avatar_search(original, avatars, chunk_entries=chunk_entries)
    assert np.array_equal(chunked.own_distance, whole.own_distance)
    assert np.array_equal(chunked.closer_count, whole.closer_count)
    assert np.array_equal(chunked.hidden, whole.hidden)
    assert np.array_equal(chunked.strictly_hidden, whole.strictly_hidden)


def test_far_avatars_reach_every_stage_and_match_brute_force() -> None:
    """The data of the test above goes through the 16-, 64- and 257-nearest stages, and the
    median the chunked search reports is the brute-force median."""
    original, avatars = _far_avatars(4_000)
    search = own_avatar_search(original, avatars, chunk_entries=700)
    own = np.linalg.norm(original - avatars, axis=1)
    distances = np.linalg.norm(original[:, None, :] - avatars[None, :, :], axis=2)
    np.fill_diagonal(distances, np.inf)
    exact = np.minimum((distances <= own[:, None] * (1 + 1e-9)).sum(axis=1), LOCAL_CLOAKING_CAP)
    assert np.median(exact) > 64  # the third stage ran
    assert np.median(search.closer_count) == np.median(exact)
    below = search.closer_count < 16  # counts settled in the first stage are exact
    assert np.array_equal(search.closer_count[below], exact[below])
    nearest_other = distances.min(axis=1)
    assert np.array_equal(search.hidden, nearest_other < own)


@pytest.mark.parametrize("tables", [_far_avatars, _tied_avatars])
@pytest.mark.parametrize("rows", [5, 300, 4_000])
def test_hidden_flags_alone_equal_the_whole_search(tables, rows: int) -> None:  # type: ignore[no-untyped-def]
    """The first stage settles the hidden flags (ties with lower-index avatars beyond the 16
    nearest included): the search that stops there gives the whole search's flags, with or
    without the originals' tree, and with fewer rows than that stage's 16."""
    original, avatars = tables(rows)
    whole = own_avatar_search(original, avatars)
    assert 0 < whole.hidden.sum() < rows
    assert np.array_equal(own_avatar_hidden(original, avatars), whole.hidden)
    assert np.array_equal(own_avatar_hidden(original, avatars, cKDTree(original)), whole.hidden)
