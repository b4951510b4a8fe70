"""Anonymeter's three attacks (singling out, linkability, inference), without anonymeter.

The attacks follow ``statice/anonymeter`` (avatar_method.md section 5.1) on plain numpy:

* singling out (multivariate): predicates on 3 random columns of a random avatar (``==`` for
  categories, ``>=``/``<=`` toward the tail for numbers) that select exactly one avatar; a success
  is a predicate selecting exactly one record of the attacked set;
* linkability: the auxiliary columns are split in two halves; a success is when the nearest avatar
  on one half is the nearest avatar on the other half;
* inference: the nearest avatar on ``known_variables`` gives its ``target`` as the guess; a
  success is an equal category, or a number within 5 % of the guess.

Nearest avatars use anonymeter's Gower-like distance (numbers divided by their range, categories
0/1), by brute force over the avatars: the attacks make only ``n_attacks`` queries.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy.stats import hypergeom

from veil_service.engine.metrics.attack_risk import AttackResult, attack_risk
from veil_service.engine.metrics.distances import distinct_rows
from veil_service.engine.metrics.parameters import MetricsParameters
from veil_service.engine.metrics.tables import AlignedTables

N_COLS = 3
"""Columns per singling-out predicate (anonymeter's default ``n_cols``)."""

INFERENCE_TOLERANCE = 0.05
"""A numeric guess is right when within 5 % of the guess (anonymeter's regression rule)."""

_CANDIDATES = 256
_MAX_ROUNDS = 100
_SCREEN_ROWS = 2048
_CHUNK = 64
_COUNT_ROWS = 16384
_JACKKNIFE_MATCHES = 2000

_TILE_QUERIES = 32
_TILE_CANDIDATES = 4096
"""The nearest-record search works on tiles of 32 queries x 4,096 candidates: its buffers
(about 2 MB) stay in the CPU's cache. 10x less CPU than whole rows of candidates at 200,000
avatars (docs/benchmarks.md, "Attacks' nearest-record search")."""


@dataclass(frozen=True)
class Encoded:
    """A table as one float matrix: numbers as they are (NaN kept), categories as codes."""

    values: np.ndarray
    numeric: np.ndarray


def encode(tables: AlignedTables) -> list[Encoded]:
    """Encode the avatars, the original and the holdout (if any), in that order, with shared
    category codes (the tables' cached ones), columns in the original's order.

    The attacks compare categories only for equality, so any consistent coding gives the same
    attacks and successes."""
    numeric = np.array([c in tables.continuous for c in tables.columns])
    frames = [tables.avatars, tables.original]
    if tables.holdout is not None:
        frames.append(tables.holdout)
    matrices = [np.empty((len(f), len(tables.columns))) for f in frames]
    for j, column in enumerate(tables.columns):
        if numeric[j]:
            for m, frame in zip(matrices, frames, strict=True):
                m[:, j] = frame[column].to_numpy(dtype=np.float64)
        else:
            original, avatars, *holdout = tables.codes(column)
            for m, codes in zip(matrices, [avatars, original, *holdout], strict=True):
                m[:, j] = codes
    return [Encoded(values=m, numeric=numeric) for m in matrices]


def _count_matches(
    data_t: np.ndarray, cols: np.ndarray, ops: np.ndarray, vals: np.ndarray
) -> np.ndarray:
    """Rows each predicate selects in a column-major table ``data_t`` (columns x rows).

    Ops: 0 is ``==``, 1 is ``>=``, 2 is ``<=``, 3 is "is missing".
    """
    counts = np.zeros(len(cols), dtype=np.int64)
    for _, start, stop, mask in _masks(data_t, cols, ops, vals):
        counts[start:stop] += mask.sum(axis=1)
    return counts


def _matching_rows(
    data_t: np.ndarray, cols: np.ndarray, ops: np.ndarray, vals: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(predicate, row) index pairs of every row each predicate selects: for predicates known
    to select few rows (the pairs are as many as the matches)."""
    found_predicates, found_rows = [], []
    for first, start, _, mask in _masks(data_t, cols, ops, vals):
        predicate, row = np.nonzero(mask)
        found_predicates.append(predicate + start)
        found_rows.append(row + first)
    if not found_predicates:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(found_predicates), np.concatenate(found_rows)


def _masks(
    data_t: np.ndarray, cols: np.ndarray, ops: np.ndarray, vals: np.ndarray
) -> Iterator[tuple[int, int, int, np.ndarray]]:
    """(first row, first predicate, last predicate + 1, predicates x rows mask) per block."""
    n = data_t.shape[1]
    # Blocks of rows keep each (predicates x rows) temporary in cache: on a million rows a
    # whole-row mask per slot copied 64 x 1M values through memory.
    for first in range(0, n, _COUNT_ROWS):
        block = data_t[:, first : first + _COUNT_ROWS]
        for start in range(0, len(cols), _CHUNK):
            stop = min(start + _CHUNK, len(cols))
            mask = np.ones((stop - start, block.shape[1]), dtype=bool)
            for slot in range(cols.shape[1]):
                column = block[cols[start:stop, slot]]
                value = vals[start:stop, slot]
                op = ops[start:stop, slot]
                part = np.empty_like(mask)
                for code, compare in ((0, np.equal), (1, np.greater_equal), (2, np.less_equal)):
                    rows = np.flatnonzero(op == code)
                    if len(rows):
                        part[rows] = compare(column[rows], value[rows, None])
                rows = np.flatnonzero(op == 3)
                if len(rows):
                    part[rows] = np.isnan(column[rows])
                mask &= part
            yield first, start, stop, mask


def _predicates(
    syn: Encoded, rows: np.ndarray, cols: np.ndarray, medians: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    vals = syn.values[rows[:, None], cols]
    numeric = syn.numeric[cols]
    ops = np.where(numeric, np.where(vals > medians[cols], 1, 2), 0)
    ops = np.where(numeric & np.isnan(vals), 3, ops)
    return ops, vals


def singling_out(
    syn: Encoded,
    ori: Encoded,
    control: Encoded | None,
    n_attacks: int,
    rng: np.random.Generator,
    confidence: float,
) -> AttackResult:
    """Multivariate singling-out risk of the original records through the avatars."""
    n_syn, p = syn.values.shape
    n_cols = min(N_COLS, p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-missing columns: median NaN
        medians = np.where(
            syn.numeric, np.nanmedian(np.where(syn.numeric, syn.values, 0.0), axis=0), 0.0
        )
    syn_t = np.ascontiguousarray(syn.values.T)
    screen = rng.choice(n_syn, size=min(n_syn, _SCREEN_ROWS), replace=False)
    in_screen = np.zeros(n_syn, dtype=bool)
    in_screen[screen] = True
    screen_t = np.ascontiguousarray(syn_t[:, screen])
    seen: set[bytes] = set()
    kept: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for _ in range(_MAX_ROUNDS):
        if len(seen) >= n_attacks:
            break
        rows = rng.integers(n_syn, size=_CANDIDATES)
        cols = np.argsort(rng.random((_CANDIDATES, p)), axis=1)[:, :n_cols]
        ops, vals = _predicates(syn, rows, cols, medians)
        # A predicate singling out its own avatar selects nobody else in a sample either, so a
        # cheap pass on a sample rejects most candidates before the full count.
        others = _count_matches(screen_t, cols, ops, vals) - in_screen[rows]
        maybe = np.flatnonzero(others == 0)
        unique = maybe[_count_matches(syn_t, cols[maybe], ops[maybe], vals[maybe]) == 1]
        for c, o, v in zip(cols[unique], ops[unique], vals[unique], strict=True):
            order = np.argsort(c)
            key = np.concatenate([c[order], o[order], v[order]]).tobytes()
            if key not in seen and len(seen) < n_attacks:
                seen.add(key)
                kept.append((c, o, v))
    n = len(kept)
    if n == 0:
        return attack_risk(0, 0, None if control is None else 0, n_attacks, confidence)
    cols = np.array([k[0] for k in kept])
    ops = np.array([k[1] for k in kept])
    vals = np.array([k[2] for k in kept])
    ori_t = np.ascontiguousarray(ori.values.T)
    ori_matches = _count_matches(ori_t, cols, ops, vals)
    main = float(np.sum(ori_matches == 1))
    base_rows = rng.integers(n_syn, size=(n, n_cols))
    base_vals = syn.values[base_rows, cols]
    base_ops = np.where(syn.numeric[cols], rng.integers(1, 3, size=(n, n_cols)), 0)
    base_ops = np.where(syn.numeric[cols] & np.isnan(base_vals), 3, base_ops)
    baseline = float(np.sum(_count_matches(ori_t, cols, base_ops, base_vals) == 1))
    control_successes, excess_error = None, None
    if control is not None:
        control_t = np.ascontiguousarray(control.values.T)
        matched = _count_matches(control_t, cols, ops, vals)
        control_successes = control_at_original_size(
            ori_matches, matched, len(ori.values), len(control.values)
        )
        if len(control.values) < len(ori.values):
            excess_error = _excess_deviation(
                (ori_t, control_t), (cols, ops, vals), (ori_matches, matched)
            )
    return attack_risk(main, baseline, control_successes, n, confidence, excess_error)


def _excess_deviation(
    tables: tuple[np.ndarray, np.ndarray],
    predicates: tuple[np.ndarray, np.ndarray, np.ndarray],
    matches: tuple[np.ndarray, np.ndarray],
) -> float:
    """Standard deviation of main minus control successes, (n / m)(T_m - C_m), for a control
    of m < n rows (:func:`control_at_original_size`), from the jackknife variances of T_m over
    the originals' rows and of C_m over the control's.

    Predicates overlap (several are built from neighbouring avatars and single out the same
    row), so their successes are not independent and a binomial error over the predicates was
    2-3 times too small (docs/metrics.md). Deleting one row at a time keeps the overlap and only
    needs the rows of predicates that select few: removing row i from the control turns each
    predicate selecting it alone into a failure and each selecting it and one other row into a
    success; from the originals, it moves each predicate selecting it from c to c - 1 matches.
    The jackknife estimate of a symmetric statistic's variance is biased upward (Efron and
    Stein 1981): the safe side. A bootstrap was tried and is biased down here (a resampled row
    drawn twice no longer counts as singled out). On the originals' side only predicates whose
    chance of singling out a row of an m-row draw moves by more than 1e-6 when one of their rows
    goes are counted, at most :data:`_JACKKNIFE_MATCHES` matches each (the pairs kept in memory
    are as many as their matches).
    """
    (ori_t, control_t), (cols, ops, vals), (ori_matches, control_matches) = (
        tables,
        predicates,
        matches,
    )
    n, m = ori_t.shape[1], control_t.shape[1]

    def variance(data_t: np.ndarray, few: np.ndarray, change: np.ndarray, rows: int) -> float:
        predicate, row = _matching_rows(data_t, cols[few], ops[few], vals[few])
        moved = np.bincount(row, weights=change[predicate], minlength=rows)
        return float((rows - 1) / rows * np.sum((moved - moved.mean()) ** 2))

    c = ori_matches
    change = hypergeom.pmf(1, n - 1, np.maximum(c - 1, 0), m) - hypergeom.pmf(1, n - 1, c, m)
    change = np.where(c > 0, change, 0.0)
    few = np.flatnonzero((np.abs(change) > 1e-6) & (c <= _JACKKNIFE_MATCHES))
    at_m = variance(ori_t, few, change[few], n)
    few = np.flatnonzero((control_matches >= 1) & (control_matches <= 2))
    change = np.where(control_matches[few] == 1, -1.0, 1.0)
    control = variance(control_t, few, change, m)
    return float(n / m * math.sqrt(at_m + control))


SMALL_CONTROL_SHARE = 0.25
"""Under this share of the original's rows, a control leaves the singling-out point unreliable."""


def small_control_note(tables: AlignedTables) -> str | None:
    """What a reader of the singling-out risk must know when the holdout is much smaller than
    the original (None otherwise).

    The control's successes are carried to the original's size by n / m
    (:func:`control_at_original_size`), so a small control's noise is multiplied: with a
    control of 10 % of a wbcd-like table, a verbatim copy of the originals read 0 in 5 of 20
    draws (interval [0, 1]); with 25 % it read 0.97-0.99 in all 20 (docs/metrics.md).
    """
    if tables.holdout is None:
        return None
    n, m = len(tables.original), len(tables.holdout)
    if m >= SMALL_CONTROL_SHARE * n:
        return None
    return (
        f"the holdout has {m} rows, under a quarter of the original's {n}: the control's "
        f"singling-out successes are carried to the original's size ({n / m:.1f} times its "
        "noise), so the point can read low even for avatars that copy the originals; read its "
        "confidence interval, or pass a holdout of at least a third of the original's rows."
    )


def control_at_original_size(
    original_matches: np.ndarray, control_matches: np.ndarray, n: int, m: int
) -> float:
    """The control's singling-out successes at the original's size ``n``, from a control of ``m``.

    A predicate singles out a record of a set of ``s`` records with probability
    ``s w (1 - w)^(s - 1)`` (w its selectivity in the population): the successes depend on the
    set's size, so the main attack (on ``n`` originals) and the control attack must be compared at
    one size. Going down in size is exact: the successes of a random ``s``-row subset of a set in
    which a predicate selects ``c`` rows are hypergeometric, ``P(1) = c C(N - c, s - 1) / C(N,
    s)``, with no draw needed. Going up is not: no unbiased estimator of a degree-``n`` polynomial
    in w exists from ``m < n`` binomial draws. The plug-in w = matches / m (used before) is
    biased down: a predicate of selectivity 1/n singles out one of n records 37 % of the time,
    but matches no row of a control of m = 0.43 n (wbcd's split) 65 % of the time and then counts
    0 (wbcd: every generator's risk read 0.13-0.27 where equal sizes read 0.00-0.05).

    So a larger control is brought down to ``n`` (exact). A smaller one is compared with the
    originals brought down to ``m`` (``T_m``, exact), and the difference is carried back up:
    ``C_n = S_n - (n / m) (T_m - C_m)``, S_n the main successes. When the avatars carry nothing
    of their own rows (the originals are just another sample of the population) E[T_m] = E[C_m]
    and C_n estimates S_n's own expectation: risk 0 on average. When they single out individual
    originals (a copy), each is in an m-row draw with probability m / n, so the excess at m is
    (m / n) of the excess at n, and scaling it by n / m gives it back exactly (a copy of the
    originals reads 0.99 on wbcd where the equal-size comparison alone read 0.33). For a
    predicate whose original also has population neighbours the scaling overstates the excess
    (the safe side). The price is noise: main minus control is then (n / m)(T_m - C_m), n / m
    times as noisy as T_m - C_m, and S_n and C_n are not independent; :func:`singling_out`
    builds the interval from that difference's jackknife deviation (:func:`_excess_deviation`).

    Args:
        original_matches: Rows of the original each predicate selects.
        control_matches: Rows of the control each predicate selects.
        n: Rows of the original.
        m: Rows of the control.

    Returns:
        The control's successes at size n, in [0, predicates].
    """
    if m >= n:
        return float(np.sum(hypergeom.pmf(1, m, control_matches, n)))
    main = float(np.sum(original_matches == 1))
    at_m = float(np.sum(hypergeom.pmf(1, n, original_matches, m)))
    control = float(np.sum(control_matches == 1))
    estimate = main - n / m * (at_m - control)
    return min(max(estimate, 0.0), float(len(original_matches)))


def gower_nearest(
    candidates: Encoded, queries: np.ndarray, columns: np.ndarray, ranges: np.ndarray
) -> np.ndarray:
    """Index of the nearest candidate row for each query row on ``columns`` (ties: lowest).

    Brute force over every candidate (queries x candidates x columns): with 500 attacks on a
    million avatars it dominated the privacy metrics. The arithmetic is the plain one (float64
    differences, scaled, missing = 1, summed in float32); it runs on tiles of
    :data:`_TILE_QUERIES` queries by :data:`_TILE_CANDIDATES` candidates, in buffers allocated
    once, so the work stays in the CPU's cache instead of streaming (chunk x candidates)
    temporaries through memory. Tiles are visited in candidate order and a later tile must be
    strictly closer to win, so ties still go to the lowest index.
    """
    numeric = candidates.numeric[columns]
    scale = np.where(numeric & (ranges[columns] > 0), ranges[columns], 1.0)
    # Equal candidate rows are equally far from every query: only the first of each (the
    # lowest index, which wins ties) is searched. On the known variables a million avatars
    # hold a few thousand distinct rows.
    kept, _ = distinct_rows(candidates.values[:, columns])
    data = [np.ascontiguousarray(candidates.values[kept, c]) for c in columns]
    n = len(kept)
    shape = (min(_TILE_QUERIES, len(queries)), min(_TILE_CANDIDATES, n))
    total = np.empty(shape, dtype=np.float32)
    wide = np.empty(shape, dtype=np.float64)
    narrow = np.empty(shape, dtype=np.float32)
    flags = np.empty(shape, dtype=bool)
    nearest = np.empty(len(queries), dtype=np.int64)
    for start in range(0, len(queries), _TILE_QUERIES):
        block = queries[start : start + _TILE_QUERIES][:, columns]
        m = len(block)
        best = np.full(m, np.inf, dtype=np.float32)
        best_index = np.zeros(m, dtype=np.int64)
        for first in range(0, n, _TILE_CANDIDATES):
            width = min(_TILE_CANDIDATES, n - first)
            acc, d64, d32, flag = (b[:m, :width] for b in (total, wide, narrow, flags))
            acc.fill(0.0)
            for j in range(len(columns)):
                a = block[:, j][:, None]
                b = data[j][first : first + width]
                if numeric[j]:
                    with np.errstate(invalid="ignore"):
                        np.subtract(a, b, out=d64)
                    np.abs(d64, out=d64)
                    d64 /= scale[j]
                    np.isnan(d64, out=flag)
                    np.copyto(d64, 1.0, where=flag)
                    np.copyto(d32, d64, casting="same_kind")
                    acc += d32
                else:
                    np.not_equal(a, b, out=flag)
                    acc += flag
            tile_index = np.argmin(acc, axis=1)
            tile_best = acc[np.arange(m), tile_index]
            closer = tile_best < best
            best[closer] = tile_best[closer]
            best_index[closer] = first + tile_index[closer]
        nearest[start : start + m] = kept[best_index]
    return nearest


def value_ranges(encoded: list[Encoded]) -> np.ndarray:
    """Per-column range (max - min) over every table, the Gower scale of numeric columns."""
    stacked = np.vstack([e.values for e in encoded])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-missing columns: range NaN
        spread = np.nanmax(stacked, axis=0) - np.nanmin(stacked, axis=0)
    return np.where(np.isfinite(spread), spread, 0.0)


def linkability(
    syn: Encoded,
    targets: np.ndarray,
    control: np.ndarray | None,
    halves: tuple[np.ndarray, np.ndarray],
    ranges: np.ndarray,
    rng: np.random.Generator,
    confidence: float,
) -> AttackResult:
    """Linkability risk: do the two halves of a record point to the same avatar?"""

    def successes(records: np.ndarray) -> float:
        left = gower_nearest(syn, records, halves[0], ranges)
        right = gower_nearest(syn, records, halves[1], ranges)
        return float(np.sum(left == right))

    n = len(targets)
    guesses = rng.integers(len(syn.values), size=(n, 2))
    baseline = float(np.sum(guesses[:, 0] == guesses[:, 1]))
    control_successes = None if control is None else successes(control)
    return attack_risk(successes(targets), baseline, control_successes, n, confidence)


def inference(
    syn: Encoded,
    targets: np.ndarray,
    control: np.ndarray | None,
    aux: np.ndarray,
    secret: int,
    ranges: np.ndarray,
    rng: np.random.Generator,
    confidence: float,
) -> AttackResult:
    """Inference risk: the nearest avatar on ``aux`` guesses the ``secret`` column."""
    numeric = bool(syn.numeric[secret])

    def correct(truth: np.ndarray, guess: np.ndarray) -> float:
        both_nan = np.isnan(truth) & np.isnan(guess)
        if numeric:
            with np.errstate(invalid="ignore"):
                hit = np.abs(guess - truth) <= INFERENCE_TOLERANCE * np.abs(guess + 1e-12)
        else:
            hit = truth == guess
        return float(np.sum(hit | both_nan))

    def successes(records: np.ndarray) -> float:
        index = gower_nearest(syn, records, aux, ranges)
        return correct(records[:, secret], syn.values[index, secret])

    n = len(targets)
    random_guess = syn.values[rng.integers(len(syn.values), size=n), secret]
    baseline = correct(targets[:, secret], random_guess)
    control_successes = None if control is None else successes(control)
    return attack_risk(successes(targets), baseline, control_successes, n, confidence)


def attack_risks(tables: AlignedTables, parameters: MetricsParameters) -> dict[str, AttackResult]:
    """Run the three attacks with anonymeter's protocol on aligned tables.

    Targets are ``n_attacks`` original rows drawn without replacement; the control set is as many
    holdout rows when a holdout was given. Linkability splits the auxiliary columns
    (``known_variables``, else every column but ``target``) into two alternating halves;
    inference needs ``known_variables`` and ``target``.

    Returns:
        ``{"singling_out": ..., "linkability": ..., "inference": ...}`` for the attacks that apply.
    """
    rng = np.random.default_rng(parameters.seed)
    encoded = encode(tables)
    syn, ori = encoded[0], encoded[1]
    control = encoded[2] if len(encoded) > 2 else None
    n = min(
        parameters.n_attacks,
        len(ori.values),
        len(control.values) if control is not None else len(ori.values),
    )
    targets = ori.values[rng.choice(len(ori.values), size=n, replace=False)]
    control_rows = (
        None
        if control is None
        else control.values[rng.choice(len(control.values), size=n, replace=False)]
    )
    ranges = value_ranges(encoded)
    confidence = parameters.confidence_level
    results: dict[str, AttackResult] = {}
    results["singling_out"] = singling_out(syn, ori, control, n, rng, confidence)
    position = {c: j for j, c in enumerate(tables.columns)}
    aux = list(parameters.known_variables) or [c for c in tables.columns if c != parameters.target]
    if len(aux) >= 2:
        halves = (
            np.array([position[c] for c in aux[0::2]]),
            np.array([position[c] for c in aux[1::2]]),
        )
        results["linkability"] = linkability(
            syn, targets, control_rows, halves, ranges, rng, confidence
        )
    if parameters.known_variables and parameters.target is not None:
        results["inference"] = inference(
            syn,
            targets,
            control_rows,
            np.array([position[c] for c in aux]),
            position[parameters.target],
            ranges,
            rng,
            confidence,
        )
    return results
