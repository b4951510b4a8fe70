"""Assigning avatar children to avatar parents (Octopize's ``LinkMethod``).

Each avatar child carries a synthetic copy of its parent's variables (broadcast before the child
was avatarized); each avatar parent carries a synthetic number of children. Assignment gives every
avatar child one avatar parent so that each parent receives its number of children (its
*capacity*) and the children land near the parent their copy resembles:

* ``linear_sum_assignment`` minimises the total distance between children and their parents'
  slots (each parent expanded into as many slots as its capacity) with scipy's
  ``linear_sum_assignment``. That solver is cubic, so only a problem of at most ``block_size``
  children is solved in one piece. A larger one starts from the minimum-distance assignment
  below; then, for a few rounds, the children are cut into pieces of ``block_size`` neighbours
  (median splits along random mixes of the principal axes, different in each round) and each
  piece is solved exactly over the slots its children hold. Capacities never change and the
  total distance never grows; the cost is linear in the rows (n * block_size squared per round).
  On 9,000 children the result is within 2 % of the exact optimum, which takes 40 s to reach
  (docs/benchmarks.md).
* ``minimum_distance_assignment``: every unassigned child asks its nearest parent that still has
  room; a parent takes the closest askers up to its capacity; the rest ask again (vectorised
  rounds). Cheaper, a little less faithful.
* ``sensitive_original_order_assignment``: the avatar of child ``i`` goes to the avatar of the
  parent of original child ``i``. The original structure is kept exactly: a HIGH PRIVACY BREACH,
  flagged in the privacy report.

Distances are Euclidean in a space where the parent's variables are standardised (see
:mod:`veil_service.engine.multitable.pipeline`).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist

DEFAULT_BLOCK_SIZE = 256
"""Children solved exactly at once by ``linear_sum_assignment`` (docs/benchmarks.md)."""
DEFAULT_ROUNDS = 3
"""Refinement rounds of a large ``linear_sum_assignment`` problem (docs/benchmarks.md)."""

_AXIS_SAMPLE = 2048
_MAX_CANDIDATES = 32


COUNT_LEVEL_PARENTS = 3
"""How many original parents' sorted counts each calibrated level averages (at most the table's
``k``): enough that the largest count is not one parent's own, few enough to keep the counts'
distribution (docs/benchmarks.md, "Child counts calibrated")."""


def calibrated_counts(
    avatar_counts: np.ndarray,
    original_counts: np.ndarray,
    window: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """The avatar parents' child counts: ranked by their avatarized counts and given the
    original counts' distribution, each level averaged over ``window`` sorted counts.

    The avatarized count is a weighted mean of the neighbours' counts, and means pull every
    count toward the table's average: where most parents are childless, the zeros became small
    positive counts that the apportioning turned into ones, more so the larger ``k`` (300
    parents, 180 of them childless: 144 childless avatars at k 80, the ones going from 26 to 76;
    docs/benchmarks.md). Drawing each count from the neighbours' own counts kept more zeros
    than the original had (189-204 of 300): childless parents share their summaries (every
    child mean and share 0), so they are everyone's neighbours.

    Here the avatarized counts only order the parents (ties in a random order), and the parent
    ranked ``r`` of ``n`` takes the original counts' quantile at ``(r + 1/2) / n``, averaged
    with the ``window - 1`` sorted counts around it. The distribution keeps its zeros and its
    modes, each count still follows its avatar's neighbourhood, and no released level is one
    parent's own count unless ``window`` parents share it: the largest count becomes the mean of
    the ``window`` largest. A window as wide as ``k`` flattened the counts where ``k`` is most
    of the table (k 118 on Tutorial 3's 130 patients: Hellinger 0.52, was 0.09).

    Args:
        avatar_counts: Each avatar parent's avatarized child count.
        original_counts: The original parents' child counts.
        window: How many sorted original counts each level averages
            (:data:`COUNT_LEVEL_PARENTS`, at most the table's ``k``).
        rng: Breaks ties between equal avatarized counts.

    Returns:
        One count per avatar parent (fractional where a level averages different counts; the
        apportioning draws the fractions).
    """
    n, m = len(avatar_counts), len(original_counts)
    if n == 0 or m == 0:
        return np.asarray(avatar_counts, dtype=np.float64)
    levels = np.sort(np.asarray(original_counts, dtype=np.float64))
    width = max(1, min(int(window), m))
    sums = np.concatenate(([0.0], np.cumsum(levels)))
    starts = np.clip(np.arange(m) - (width - 1) // 2, 0, m - width)
    smoothed = (sums[starts + width] - sums[starts]) / width
    ranked = np.lexsort((rng.random(n), np.nan_to_num(np.asarray(avatar_counts, dtype=float))))
    out = np.empty(n)
    out[ranked] = smoothed[((np.arange(n) + 0.5) * m / n).astype(np.int64)]
    return out


def apportion(
    total: int,
    weights: np.ndarray,
    rng: np.random.Generator | None = None,
    limit: int | None = None,
) -> np.ndarray:
    """Whole capacities proportional to ``weights`` that add up to ``total``.

    Each parent gets the whole part of its quota (``weights`` scaled to ``total``) and one child
    more with a probability equal to the fraction left (systematic sampling over the parents in
    random order: the total is exact and every parent's expected capacity is its quota). The
    largest-remainder rule (without ``rng``) gives the extra children to the largest fractions;
    on whole avatar counts scaled by a ratio near 1 the fractions of all the parents with the
    same count are equal, so it moved whole classes at once: avatar counts summing to 287 for
    300 children turned every count of 4 into 5 and every 5 into 6 (docs/benchmarks.md,
    "Tutorial 3 fixtures"). Drawn, only the expected share of each class moves up.

    With ``limit`` (the original's largest count), no parent's quota goes past it: a capped
    parent keeps ``limit`` and the children left are shared among the others by their weights
    (all of them evenly once none has weight left). Avatar counts are local means, so where a few
    parents have children among many childless ones they add up to far less than the children to
    place (2.9 for 13 on 20 parents, 15 of them childless); scaled without a cap, those few
    parents got 5 to 10 children where the original's most was 4. Every other avatarized
    variable stays in its original range; the cap keeps the counts in theirs.

    Args:
        total: Children to place.
        weights: Each parent's synthetic child count (negative values count as 0; all zero
            spreads the children evenly).
        rng: Source of the draw; None uses the deterministic largest-remainder rule.
        limit: Most children one parent may get (raised to ``ceil(total / parents)`` when
            the parents cannot hold ``total`` otherwise); None for no limit.

    Returns:
        One non-negative integer per parent, summing to ``total``.
    """
    w = np.clip(np.nan_to_num(np.asarray(weights, dtype=np.float64)), 0.0, None)
    quota = _quotas(total, w, limit)
    base = np.floor(quota).astype(np.int64)
    left = total - int(base.sum())
    if left <= 0:
        return np.asarray(base, dtype=np.int64)
    fraction = quota - base
    if rng is None:
        order = np.argsort(-fraction, kind="stable")
        base[order[:left]] += 1
        return np.asarray(base, dtype=np.int64)
    # Systematic sampling: the fractions (each below 1, summing to ``left``) laid end to end in
    # a random order, and ``left`` marks one apart from a random start; a parent gets one more
    # child for the mark that falls in its stretch (at most one, since its stretch is below 1).
    order = rng.permutation(len(base))
    ends = np.cumsum(fraction[order])
    ends *= left / ends[-1]  # the float sum of the fractions is ``left`` up to rounding
    marks = rng.random() + np.arange(left)
    hit = np.searchsorted(ends, marks, side="right")
    np.add.at(base, order[np.minimum(hit, len(base) - 1)], 1)
    return np.asarray(base, dtype=np.int64)


def _quotas(total: int, weights: np.ndarray, limit: int | None) -> np.ndarray:
    """Each parent's share of ``total``, proportional to ``weights``, none above ``limit``."""
    n = len(weights)
    if not n:
        return np.zeros(0, dtype=np.float64)
    if weights.sum() <= 0:
        weights = np.ones(n, dtype=np.float64)
    if limit is None:
        return np.asarray(weights / weights.sum() * total, dtype=np.float64)
    cap = float(max(limit, -(-total // n)))
    quota = np.zeros(n, dtype=np.float64)
    free = np.ones(n, dtype=bool)
    # Each round caps at least one more parent, so this ends within n rounds.
    while (left := total - quota.sum()) > 0 and free.any():
        w = np.where(free, weights, 0.0)
        if w.sum() <= 0:
            w = free.astype(np.float64)
        share = w / w.sum() * left
        over = free & (share > cap)
        if not over.any():
            quota[free] = share[free]
            break
        quota[over] = cap
        free &= ~over
    return quota


def assign_linear_sum(
    children: np.ndarray,
    parents: np.ndarray,
    capacity: np.ndarray,
    block_size: int = DEFAULT_BLOCK_SIZE,
    rounds: int = DEFAULT_ROUNDS,
    seed: int = 0,
) -> np.ndarray:
    """Minimum total distance assignment under capacities (see the module docstring).

    Problems of at most ``block_size`` children are solved exactly in one piece. Larger ones
    start from :func:`assign_minimum_distance`, then each of ``rounds`` rounds cuts the children
    into pieces of at most ``block_size`` neighbours and re-solves each piece exactly over the
    parent slots its children hold: capacities never change, the total distance never grows, and
    the cost stays linear in the rows.

    Args:
        children: Child points (n x d).
        parents: Parent points (m x d).
        capacity: Children each parent receives (m integers summing to n).
        block_size: Largest piece solved exactly.
        rounds: Refinement rounds on large problems.
        seed: Seed of the cutting directions (the result is deterministic for a seed).

    Returns:
        The parent row of each child (n integers).
    """
    n = len(children)
    slots = np.repeat(np.arange(len(parents)), capacity)
    if len(slots) != n:
        raise ValueError(f"capacities add up to {len(slots)}, not to the {n} children")
    if n <= block_size:
        rows, cols = linear_sum_assignment(cdist(children, parents[slots]))
        result = np.empty(n, dtype=np.intp)
        result[rows] = slots[cols]
        return result
    result = assign_minimum_distance(children, parents, capacity)
    rng = np.random.default_rng(seed)
    for _ in range(rounds):
        for piece in _pieces(children, block_size, rng):
            held = result[piece]
            rows, cols = linear_sum_assignment(cdist(children[piece], parents[held]))
            result[piece[rows]] = held[cols]
    return result


def _pieces(points: np.ndarray, size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Cut ``points`` into pieces of at most ``size`` close points (recursive median splits).

    Each split is along a random mix of the leading principal axes, so that successive rounds
    cut in different places and a child near one round's border sits inside a piece the next.
    """
    done: list[np.ndarray] = []
    pending = [np.arange(len(points))]
    while pending:
        rows = pending.pop()
        if len(rows) <= size:
            done.append(rows)
            continue
        sample = points[rows[:: max(1, len(rows) // _AXIS_SAMPLE)]]
        centred = sample - sample.mean(axis=0)
        _, vectors = np.linalg.eigh(centred.T @ centred)
        leading = vectors[:, ::-1][:, : min(3, vectors.shape[1])]
        axis = leading @ rng.normal(size=leading.shape[1])
        half = len(rows) // 2
        # A median split needs no full sort: partitioning is linear in the rows.
        ordered = rows[np.argpartition(points[rows] @ axis, half)]
        pending += [ordered[:half], ordered[half:]]
    return done


def assign_minimum_distance(
    children: np.ndarray, parents: np.ndarray, capacity: np.ndarray, candidates: int = 8
) -> np.ndarray:
    """Greedy nearest-parent assignment under capacities (see the module docstring).

    Args:
        children: Child points (n x d).
        parents: Parent points (m x d).
        capacity: Children each parent receives (m integers summing to n).
        candidates: Nearest parents each child considers in the first search (doubled, up to
            32, at each new search among the parents that still have room).

    Returns:
        The parent row of each child (n integers).
    """
    n = len(children)
    if int(capacity.sum()) != n:
        raise ValueError(f"capacities add up to {int(capacity.sum())}, not to the {n} children")
    result = np.full(n, -1, dtype=np.intp)
    room = capacity.astype(np.int64).copy()
    while (pending := np.flatnonzero(result < 0)).size:
        open_parents = np.flatnonzero(room > 0)
        k = min(candidates, len(open_parents))
        dist, idx = cKDTree(parents[open_parents]).query(children[pending], k=k)
        dist = dist.reshape(len(pending), k)
        idx = open_parents[idx.reshape(len(pending), k)]
        for column in range(k):
            asking = result[pending] < 0
            if not asking.any():
                break
            askers = pending[asking]
            wanted = idx[asking, column]
            order = np.lexsort((dist[asking, column], wanted))
            askers, wanted = askers[order], wanted[order]
            # Rank of each asker among those asking the same parent, closest first.
            first = np.r_[True, wanted[1:] != wanted[:-1]]
            starts = np.flatnonzero(first)
            rank = np.arange(len(wanted)) - np.repeat(starts, np.diff(np.r_[starts, len(wanted)]))
            accepted = rank < room[wanted]
            result[askers[accepted]] = wanted[accepted]
            np.subtract.at(room, wanted[accepted], 1)
        candidates = min(2 * candidates, _MAX_CANDIDATES)
    return result


def assign_original_order(
    original_parent_rows: np.ndarray, avatar_of_original: np.ndarray
) -> np.ndarray:
    """SENSITIVE: the avatar of child ``i`` goes to the avatar of original child ``i``'s parent.

    Args:
        original_parent_rows: Parent row of each original child (n integers).
        avatar_of_original: Avatar parent row of each original parent row (the identity when
            avatar parents are in the original order, as unshuffled avatars are).
    """
    return np.asarray(avatar_of_original[original_parent_rows], dtype=np.intp)


def total_distance(children: np.ndarray, parents: np.ndarray, assigned: np.ndarray) -> float:
    """Sum of the distances between each child and its assigned parent (what LSA minimises)."""
    return float(np.linalg.norm(children - parents[assigned], axis=1).sum())
