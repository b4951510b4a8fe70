"""Nearest-neighbour searches in the projected space, all on KD-trees.

The distance metrics need three searches: for each original, the avatars closer than its own avatar
(hidden rate, local cloaking); for each avatar, its two closest originals (DCR, NNDR); and for a
reference set, its two closest originals (the holdout distribution of ``closest_rate``). A KD-tree
answers each in O(n log n) in the few dimensions (``ncp``) these metrics use, where the paper's
code used faiss and pairwise loops.

Ties matter: integer-valued data such as WBCD put many avatars at exactly the same distance from an
original (avatar_method.md section 8). Distances closer than ``TIE_TOLERANCE`` (relative) are ties.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from veil_service.engine.metrics.search_threads import INLINE, SearchPool

TIE_TOLERANCE = 1e-9
"""Relative tolerance under which two distances are equal (guards floating-point noise)."""

LOCAL_CLOAKING_CAP = 256
"""The median local cloaking is exact up to this many avatars; a larger median is reported as it.

An exact count for every record costs O(n x count), which is quadratic for an avatar table that is
unrelated to the original (every record then has about n/2 closer avatars). The target is 5, and
the paper's medians are 11 and 25, so a cap of 256 changes no decision and no published number.
"""

_FIRST_K = 16

SEARCH_CHUNK_ENTRIES = 1 << 21
"""Neighbours (rows x k) one chunk of :func:`own_avatar_search` holds at a time.

Its distance and index arrays and the scan's masks take about 20 bytes per neighbour, so a chunk
is about 40 MiB whatever the table (one per search thread at a time): the 257-nearest stage on a
250,000-row partition held 2.3 GiB unchunked (docs/scaling.md). Each query row is answered alone
by the tree, so the chunking changes no value.
"""


@dataclass(frozen=True)
class OwnAvatarSearch:
    """Where each original's own avatar ranks among all avatars.

    Attributes:
        own_distance: Distance from original ``i`` to avatar ``i``.
        closer_count: Avatars other than ``i``'s own at a distance <= its own avatar's (ties count
            as closer), capped at :data:`LOCAL_CLOAKING_CAP`.
        hidden: True when a distance-based attacker who links ``i`` to its nearest avatar (lowest
            row index among exact ties) does NOT pick ``i``'s own avatar.
        strictly_hidden: True when some other avatar is strictly closer to ``i`` than its own:
            hidden whatever the tie rule. Where it is False, ``closer_count`` avatars tie with the
            own one at the nearest distance.
    """

    own_distance: np.ndarray
    closer_count: np.ndarray
    hidden: np.ndarray
    strictly_hidden: np.ndarray


def _tolerance(radius: np.ndarray) -> np.ndarray:
    tolerance: np.ndarray = TIE_TOLERANCE * np.maximum(1.0, radius)
    return tolerance


def _scan(
    dist: np.ndarray, idx: np.ndarray, rows: np.ndarray, radius: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    tol = _tolerance(radius)[:, None]
    other = idx != rows[:, None]
    within = (dist <= radius[:, None] + tol) & other
    strictly = (dist < radius[:, None] - tol) & other
    tied_lower = within & ~strictly & (idx < rows[:, None])
    strictly_hidden = strictly.any(axis=1)
    hidden = strictly_hidden | tied_lower.any(axis=1)
    saturated = dist[:, -1] <= radius + tol[:, 0]
    return within.sum(axis=1), hidden, strictly_hidden, saturated


def spatial_order(points: np.ndarray) -> np.ndarray:
    """A permutation that puts nearby points next to each other (a KD-tree's leaf order).

    Querying a KD-tree in this order keeps the visited nodes in cache: five times faster on
    200,000 rows than querying in table order.
    """
    indices: np.ndarray = np.asarray(cKDTree(points).indices, dtype=np.intp)
    return indices


def query(
    tree: cKDTree,
    points: np.ndarray,
    k: int,
    order: np.ndarray | None = None,
    pool: SearchPool = INLINE,
    **options: float,
) -> tuple[np.ndarray, np.ndarray]:
    """``tree.query`` in spatial order, results returned in the points' own order.

    ``order`` is :func:`spatial_order` of ``points`` when the caller already has a tree on them
    (its ``indices``): building one only for the order costs as much as the search's setup. The
    rows are queried in chunks on ``pool``'s threads; each row's answer is the tree's alone, so
    the result is the single-thread one.
    """
    if order is None:
        order = spatial_order(points)
    rows = len(points)
    out_dist = np.empty((rows, k), dtype=np.float64)
    out_idx = np.empty((rows, k), dtype=np.intp)
    step = pool.chunk_rows(rows, k, SEARCH_CHUNK_ENTRIES)

    def chunk(start: int) -> None:
        at = order[start : start + step]
        dist, idx = tree.query(points[at], k=k, workers=1, **options)
        out_dist[at] = np.asarray(dist).reshape(len(at), k)
        out_idx[at] = np.asarray(idx).reshape(len(at), k)

    pool.map(chunk, range(0, rows, step))
    return out_dist, out_idx


def nearest(reference: np.ndarray, queries: np.ndarray, pool: SearchPool = INLINE) -> np.ndarray:
    """Row index of the nearest reference record for each query, each distinct query once.

    The inference searches run in the known variables' space, where a million records hold a few
    thousand distinct points (ages and a few categories). A KD-tree answers a query from its
    coordinates alone, so bitwise-equal query rows get the same answer: each distinct row is
    searched once and its answer copied to its duplicates. The result is the one
    ``query(cKDTree(reference), queries, 1)`` gives (ties included), in a fraction of the time
    (docs/benchmarks.md, "Privacy metrics on 1M rows").

    Args:
        reference: The records searched (n x d).
        queries: The records looked up (m x d).
        pool: Threads for the search.

    Returns:
        The reference row index nearest to each query (int64, length m).
    """
    first, group = distinct_rows(queries)
    _, index = query(cKDTree(reference), queries[first], 1, pool=pool)
    found: np.ndarray = np.asarray(index[:, 0], dtype=np.int64)[group]
    return found


def distinct_rows(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of a float matrix: where each first occurs, and each row's group.

    Hash-based (one ``pd.factorize`` per column), ten times faster than ``np.unique(axis=0)``
    on a million rows. Rows are equal when every value compares equal (NaN equal to NaN).

    Args:
        values: A 2-D array.

    Returns:
        ``(first, group)``: ``first[g]`` is the lowest row index of group ``g``, groups
        numbered in order of first appearance (so ``first`` is increasing); ``group[i]`` is
        row ``i``'s group, and ``values[first][group]`` equals ``values``.
    """
    group = np.zeros(len(values), dtype=np.int64)
    for column in range(values.shape[1]):
        codes, uniques = pd.factorize(values[:, column], use_na_sentinel=False)
        group, _ = pd.factorize(group * len(uniques) + codes)
    _, first = np.unique(group, return_index=True)
    return np.asarray(first, dtype=np.int64), np.asarray(group, dtype=np.int64)


def _settle_tied(
    tree: cKDTree, original: np.ndarray, own: np.ndarray, rows: np.ndarray, hidden: np.ndarray
) -> None:
    """Rows whose nearest avatars are all exact ties with a higher index than theirs: look at
    every tied avatar, since one with a lower index (the attacker's pick) may lie beyond k."""
    if len(rows) == 0:
        return
    radius = own[rows] + _tolerance(own[rows])
    for row, neighbours in zip(rows, tree.query_ball_point(original[rows], radius), strict=True):
        hidden[row] = any(j < row for j in neighbours)


@dataclass(frozen=True)
class Trees:
    """KD-trees on the projected originals and avatars, built once for every search."""

    original: cKDTree
    avatars: cKDTree

    @classmethod
    def build(cls, original: np.ndarray, avatars: np.ndarray, pool: SearchPool = INLINE) -> Trees:
        """Build both trees (about a second each on a million rows), side by side on ``pool``."""
        original_tree, avatars_tree = pool.map(cKDTree, [original, avatars])
        return cls(original_tree, avatars_tree)

    def order(self, points: np.ndarray) -> np.ndarray | None:
        """The spatial order of ``points`` if they are one of the two trees' data, else None."""
        for tree in (self.original, self.avatars):
            if points is tree.data or (
                points.shape == tree.data.shape and np.shares_memory(points, tree.data)
            ):
                return np.asarray(tree.indices, dtype=np.intp)
        return None


def _chunked_scan(
    tree: cKDTree,
    original: np.ndarray,
    own: np.ndarray,
    pending: np.ndarray,
    k: int,
    order: np.ndarray,
    chunk_entries: int,
    pool: SearchPool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_scan` of the ``k`` nearest avatars of ``original[pending]``, chunk by chunk.

    The rows are taken in spatial order (``order``: positions in ``pending``) and queried at
    most ``chunk_entries // k`` at a time, so only one chunk's ``rows x k`` arrays exist per
    thread of ``pool``. Chunks write disjoint rows of the outputs.
    """
    size = len(pending)
    found = np.empty(size, dtype=np.int64)
    hidden = np.empty(size, dtype=bool)
    strictly = np.empty(size, dtype=bool)
    saturated = np.empty(size, dtype=bool)
    step = pool.chunk_rows(size, k, chunk_entries)

    def chunk(start: int) -> None:
        at = order[start : start + step]
        rows = pending[at]
        dist, idx = tree.query(original[rows], k=k, workers=1)
        dist = np.asarray(dist).reshape(len(rows), k)
        idx = np.asarray(idx).reshape(len(rows), k)
        found[at], hidden[at], strictly[at], saturated[at] = _scan(dist, idx, rows, own[rows])

    pool.map(chunk, range(0, size, step))
    return found, hidden, strictly, saturated


def own_avatar_search(
    original: np.ndarray,
    avatars: np.ndarray,
    trees: Trees | None = None,
    chunk_entries: int = SEARCH_CHUNK_ENTRIES,
    pool: SearchPool = INLINE,
    *,
    hidden_only: bool = False,
) -> OwnAvatarSearch:
    """Rank every original's own avatar among the avatars (hidden rate and local cloaking).

    Searches the nearest 16 avatars of each original. The hidden flag is settled there (a
    record with 16 avatars at least as close is hidden). Counts of 16 or more are refined (64,
    then :data:`LOCAL_CLOAKING_CAP`) only while they decide the median, i.e. while at least half
    of the records have that many: the median is exact, the counts above it may be lower bounds.

    Args:
        original: Projected originals (n x ncp).
        avatars: Projected avatars, row ``i`` being the avatar of original ``i`` (n x ncp).
        trees: :class:`Trees` on these two arrays, if the caller built them.
        chunk_entries: Neighbours held at once per thread (rows per query chunk x k); bounds
            the memory, changes no value.
        pool: Threads for the searches; changes no value.
        hidden_only: Stop after the first stage, which settles the hidden flags: the counts
            of 16 or more are then not refined (a search measuring only the hidden rate).

    Returns:
        The own-avatar distances, local-cloaking counts and hidden flags.
    """
    n = len(original)
    trees = trees or Trees.build(original, avatars, pool)
    tree = trees.avatars
    own = np.linalg.norm(original - avatars, axis=1)
    counts = np.zeros(n, dtype=np.int64)
    hidden = np.zeros(n, dtype=bool)
    strictly_hidden = np.zeros(n, dtype=bool)
    pending = np.arange(n)
    # The originals' spatial order (the original tree's leaf order); a later stage queries its
    # pending rows in the same order, rather than building a tree on them only to order them.
    whole_order = trees.order(original)
    if whole_order is None:
        whole_order = spatial_order(original)
    rank = np.empty(n, dtype=np.intp)
    rank[whole_order] = np.arange(n)
    for stage, k in enumerate((_FIRST_K, 64, LOCAL_CLOAKING_CAP + 1)):
        k = min(k, n)
        order = whole_order if stage == 0 else np.argsort(rank[pending], kind="stable")
        found, hid, strictly, saturated = _chunked_scan(
            tree, original, own, pending, k, order, chunk_entries, pool
        )
        counts[pending] = found
        if stage == 0:
            # Neighbours come nearest first: when all k are ties, none beyond is strictly closer.
            hidden, strictly_hidden = hid, strictly
            _settle_tied(tree, original, own, pending[saturated & ~hid], hidden)
        pending = pending[saturated]
        if hidden_only or k == n or len(pending) == 0 or n - len(pending) > n // 2:
            break
    return OwnAvatarSearch(
        own_distance=own,
        closer_count=np.minimum(counts, LOCAL_CLOAKING_CAP),
        hidden=hidden,
        strictly_hidden=strictly_hidden,
    )


def own_avatar_hidden(
    original: np.ndarray, avatars: np.ndarray, original_tree: cKDTree | None = None
) -> np.ndarray:
    """The ``hidden`` flags of :func:`own_avatar_search`, from its first stage alone.

    A search that measures the hidden rate of hundreds of small releases of one original
    (engine/multitable/hidden_rate_advice.py) needs nothing else, and passes the original's
    tree, built once.

    Args:
        original: Projected originals (n x ncp).
        avatars: Projected avatars, row ``i`` being the avatar of original ``i`` (n x ncp).
        original_tree: A KD-tree on ``original``, if the caller keeps one.
    """
    if original_tree is None:
        original_tree = cKDTree(original)
    trees = Trees(original_tree, cKDTree(avatars))
    hidden: np.ndarray = own_avatar_search(original, avatars, trees, hidden_only=True).hidden
    return hidden


def closest_two(
    reference: np.ndarray,
    queries: np.ndarray,
    trees: Trees | None = None,
    pool: SearchPool = INLINE,
) -> tuple[np.ndarray, np.ndarray]:
    """Distance to the closest reference record (DCR) and the closest/second-closest ratio (NNDR).

    NNDR is 1 when the second-closest distance is 0 (the paper's convention: a query sitting on
    several identical records is not isolated).

    Args:
        reference: The records distances are measured to (the originals), (n x d).
        queries: The records distances are measured from (avatars or holdout), (m x d).
        trees: :class:`Trees` whose ``original`` is built on ``reference``, if the caller has it.
        pool: Threads for the search.

    Returns:
        ``(dcr, nndr)``, each of length m.
    """
    tree = cKDTree(reference) if trees is None else trees.original
    order = None if trees is None else trees.order(queries)
    dist, _ = query(tree, queries, 2, order, pool)
    return _dcr_nndr(dist[:, 0], dist[:, 1])


def _dcr_nndr(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ratio = np.ones_like(first)
    positive = second > 0
    ratio[positive] = first[positive] / second[positive]
    return first, ratio


def leave_one_out_two(
    reference: np.ndarray, trees: Trees | None = None, pool: SearchPool = INLINE
) -> tuple[np.ndarray, np.ndarray]:
    """DCR and NNDR of every reference record to the *other* reference records.

    Used as the holdout distribution when no holdout table is given: the distance from a real
    record to the rest of the real data is what "as close as a new real record" means. The
    record itself is always at distance 0 and sorts first (an exact duplicate also at 0 is
    indistinguishable and equivalent), so dropping the first neighbour removes it.

    Args:
        reference: The projected originals (n x d), n >= 3.
        trees: :class:`Trees` whose ``original`` is built on ``reference``, if the caller has it.
        pool: Threads for the search.

    Returns:
        ``(dcr, nndr)`` of length n.
    """
    tree = cKDTree(reference) if trees is None else trees.original
    order = None if trees is None else trees.order(reference)
    dist, _ = query(tree, reference, 3, order, pool)
    return _dcr_nndr(dist[:, 1], dist[:, 2])
