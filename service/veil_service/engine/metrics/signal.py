"""Signal (utility) metrics: how much of the original's statistics the avatars keep.

Octopize reports ``hellinger_mean``/``hellinger_std`` (univariate distributions) and
``correlation_difference_ratio`` (Pearson correlations of continuous variables). Veil adds the
SDMetrics-style scores: per-column distribution similarity (KS complement for numbers, total
variation complement for categories) and pair-trend similarity. Binning and formulas are stated
here and in docs/metrics.md, because Octopize never published its binning.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from veil_service.engine.metrics.tables import AlignedTables

PAIR_BINS = 10
"""Numbers are cut into 10 quantile bins of the original for contingency-based pair trends."""

MAX_HISTOGRAM_BINS = 100
"""Upper bound on the numpy ``auto`` bin count used for Hellinger distances on numbers."""


def _histogram_codes(
    original: np.ndarray, avatars: np.ndarray, edges: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Bin codes for both tables on shared edges; out-of-range values go to the edge bins and a
    missing value gets a bin of its own (so missingness differences count)."""
    n_bins = len(edges) - 1
    out: list[np.ndarray] = []
    for values in (original, avatars):
        codes = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, n_bins - 1)
        codes[np.isnan(values)] = n_bins
        out.append(codes)
    return out[0], out[1]


def _numeric_bins(
    original: np.ndarray, avatars: np.ndarray, bins: int | str
) -> tuple[np.ndarray, np.ndarray]:
    present = original[~np.isnan(original)]
    if len(present) == 0 or present.min() == present.max():
        centre = present[0] if len(present) else 0.0
        edges = np.array([centre - 0.5, centre + 0.5])
    else:
        edges = np.histogram_bin_edges(present, bins=bins)
        if len(edges) - 1 > MAX_HISTOGRAM_BINS:
            edges = np.linspace(present.min(), present.max(), MAX_HISTOGRAM_BINS + 1)
    return _histogram_codes(original, avatars, edges)


def column_codes(
    tables: AlignedTables, column: str, bins: int | str = "auto"
) -> tuple[np.ndarray, np.ndarray]:
    """Discrete codes of one column in both tables: modalities, or shared histogram bins."""
    if column in tables.continuous:
        return _numeric_bins(
            tables.original[column].to_numpy(dtype=np.float64),
            tables.avatars[column].to_numpy(dtype=np.float64),
            bins,
        )
    # The tables' cached codes: the same values as coding these two (a holdout's own values
    # come after theirs), once per column for every metric of the run.
    orig, avatar = tables.codes(column)[:2]
    return orig, avatar


def _frequencies(orig: np.ndarray, avatar: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    size = int(max(orig.max(), avatar.max())) + 1
    p = np.bincount(orig, minlength=size) / len(orig)
    q = np.bincount(avatar, minlength=size) / len(avatar)
    return p, q


def hellinger_distances(tables: AlignedTables) -> dict[str, float]:
    """Hellinger distance H = sqrt(1 - sum sqrt(p q)) between each column's two distributions.

    Categories use their modality frequencies (missing is a modality). Numbers use shared
    histogram bins: numpy's ``auto`` rule on the original's values (at most 100 bins), avatar
    values outside the original's range counted in the edge bins, missing values in their own bin.
    """
    out: dict[str, float] = {}
    for column in tables.columns:
        p, q = _frequencies(*column_codes(tables, column))
        out[column] = float(np.sqrt(max(0.0, 1.0 - float(np.sum(np.sqrt(p * q))))))
    return out


def correlation_difference_ratio(tables: AlignedTables) -> float | None:
    """100 x mean over continuous pairs of |rho_original - rho_avatar| (Pearson), in %.

    Returns:
        The ratio in %, or None with fewer than two continuous columns. A pair whose correlation
        is undefined in either table (a constant column) is left out.
    """
    if len(tables.continuous) < 2:
        return None
    orig = _correlations(tables.original, tables.continuous)
    avat = _correlations(tables.avatars, tables.continuous)
    upper = np.triu_indices(len(tables.continuous), k=1)
    diff = np.abs(orig[upper] - avat[upper])
    diff = diff[~np.isnan(diff)]
    return float(diff.mean()) * 100.0 if len(diff) else None


def column_shapes(tables: AlignedTables) -> dict[str, float]:
    """Per-column similarity in [0, 1]: KS complement (numbers) or TV complement (categories).

    KS complement = 1 - max |F_orig - F_avatar| over the non-missing values; TV complement =
    1 - (1/2) sum |p - q| over modalities (SDMetrics' KSComplement and TVComplement).
    """
    out: dict[str, float] = {}
    for column in tables.columns:
        if column in tables.continuous:
            o = tables.original[column].dropna().to_numpy(dtype=np.float64)
            a = tables.avatars[column].dropna().to_numpy(dtype=np.float64)
            if len(o) == 0 or len(a) == 0:
                out[column] = 1.0 if len(o) == len(a) else 0.0
                continue
            out[column] = 1.0 - ks_statistic(o, a)
        else:
            p, q = _frequencies(*column_codes(tables, column))
            out[column] = 1.0 - 0.5 * float(np.abs(p - q).sum())
    return out


def ks_statistic(first: np.ndarray, second: np.ndarray) -> float:
    """The two-sample Kolmogorov-Smirnov statistic max |F_first - F_second| of non-empty samples
    without missing values.

    SciPy's ``ks_2samp`` statistic, with its arithmetic step for step (the same value to the
    bit, tests/unit/engine/metrics/test_metrics_signal.py) but without its p-value and its
    argument-checking wrapper: 3.8 ms a call on 100-row columns, a quarter of a small table's
    fidelity, which the linked search measures some 440 times.
    """
    first = np.sort(first)
    second = np.sort(second)
    pooled = np.concatenate([first, second])
    differences = (
        np.searchsorted(first, pooled, side="right") / first.shape[0]
        - np.searchsorted(second, pooled, side="right") / second.shape[0]
    )
    below = np.clip(-differences[np.argmin(differences)], 0, 1)
    above = differences[np.argmax(differences)]
    return float(below if below > above else above)


def pair_trends(tables: AlignedTables) -> dict[str, float]:
    """Per-pair similarity in [0, 1] of how two columns move together (SDMetrics' pair trends).

    Two numbers: 1 - |rho_orig - rho_avatar| / 2 (Pearson). Any pair with a category: contingency
    similarity, 1 - (1/2) sum |P_orig(a, b) - P_avatar(a, b)|, numbers cut into 10 quantile bins
    of the original.

    Returns:
        ``{"col_a|col_b": score}`` for every pair.
    """
    codes = {
        c: column_codes(tables, c) if c in tables.categorical else _quantile_codes(tables, c)
        for c in tables.columns
    }
    corr_o = _correlations(tables.original, tables.continuous)
    corr_a = _correlations(tables.avatars, tables.continuous)
    index = {c: j for j, c in enumerate(tables.continuous)}
    out: dict[str, float] = {}
    for a, b in combinations(tables.columns, 2):
        if a in tables.continuous and b in tables.continuous:
            delta = abs(float(corr_o[index[a], index[b]]) - float(corr_a[index[a], index[b]]))
            out[f"{a}|{b}"] = 1.0 - delta / 2.0 if not np.isnan(delta) else 1.0
            continue
        (oa, aa), (ob, ab) = codes[a], codes[b]
        width = int(max(ob.max(), ab.max())) + 1
        p, q = _frequencies(oa * width + ob, aa * width + ab)
        out[f"{a}|{b}"] = 1.0 - 0.5 * float(np.abs(p - q).sum())
    return out


def _correlations(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Pearson correlations of ``columns`` (pandas' ``corr``: pairwise complete rows), from one
    matrix of their values: selecting the columns from an aligned table (a block per column)
    cost ten times the correlations on the small tables a search measures."""
    if not columns:
        return np.empty((0, 0))
    values = np.column_stack([frame[c].to_numpy(dtype=np.float64) for c in columns])
    correlations: np.ndarray = pd.DataFrame(values).corr().to_numpy()
    return correlations


def _quantile_codes(tables: AlignedTables, column: str) -> tuple[np.ndarray, np.ndarray]:
    original = tables.original[column].to_numpy(dtype=np.float64)
    present = original[~np.isnan(original)]
    if len(present) == 0:
        edges = np.array([0.0, 1.0])
    else:
        edges = np.unique(np.quantile(present, np.linspace(0.0, 1.0, PAIR_BINS + 1)))
        if len(edges) < 2:
            edges = np.array([edges[0] - 0.5, edges[0] + 0.5])
    return _histogram_codes(original, tables.avatars[column].to_numpy(dtype=np.float64), edges)
