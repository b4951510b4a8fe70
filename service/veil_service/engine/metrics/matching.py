"""Value-matching privacy metrics: direct matches, categorical hidden rate, correlation protection.

These work on the raw values rather than on the projection: an attacker who sees an exact copy of
a row, or of a rare combination of values, needs no geometry. Octopize publishes only prose for the
first three; the formulas chosen (and why) are in docs/metrics.md. ``correlation_protection_rate``
follows the paper-era code (``metrics/correlation_protection_rate.py`` of octopize/avatar-paper),
vectorised with a Chebyshev KD-tree instead of one pandas filter per record.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from veil_service.engine.metrics.distances import query
from veil_service.engine.metrics.search_threads import INLINE, SearchPool
from veil_service.engine.metrics.tables import AlignedTables

_KEY_LIMIT = 2**62

CPR_BOUNDARY = 0.05
"""Two numeric values match for correlation protection when within 5 % of the column mean."""


def _table_keys(tables: AlignedTables, columns: list[str], count: int = 2) -> list[np.ndarray]:
    """One integer key per row of the first ``count`` tables (original, avatars) such that rows
    equal on ``columns`` (NaN equal to NaN) get equal keys, from the tables' cached codes."""
    return _keys_from_codes([tables.codes(column)[:count] for column in columns])


def _keys_from_codes(per_column: list[list[np.ndarray]]) -> list[np.ndarray]:
    """Row keys from each column's codes in each table (equal codes = equal values).

    Keys are numbered by first appearance over the tables in order, so they depend only on
    which rows are equal, not on the code values: any consistent coding gives the same keys.
    """
    sizes = [len(codes) for codes in per_column[0]]
    stacked = np.zeros(sum(sizes), dtype=np.int64)
    radix = 1  # every value of ``stacked`` is below it
    for codes_per_table in per_column:
        codes = np.concatenate(codes_per_table)
        width = int(codes.max()) + 1
        if radix * width >= _KEY_LIMIT:
            # Renumber only when the mixed-radix key would overflow: hashing two million keys
            # per column was most of these metrics' time on a million rows.
            stacked = pd.factorize(stacked)[0].astype(np.int64)
            radix = int(stacked.max()) + 1
        stacked = stacked * width + codes
        radix *= width
    stacked = pd.factorize(stacked)[0].astype(np.int64)
    out: list[np.ndarray] = []
    start = 0
    for size in sizes:
        out.append(stacked[start : start + size])
        start += size
    return out


def row_direct_match_protection(tables: AlignedTables) -> float:
    """% of original rows of which no exact copy exists anywhere in the avatar table.

    Octopize: "the percentage of original individuals that are not present in the anonymous
    dataset". Missing values match missing values.
    """
    original_keys, avatar_keys = _table_keys(tables, tables.columns)
    copied = np.isin(original_keys, avatar_keys)
    return float(1.0 - copied.mean()) * 100.0


def column_direct_match_protection(tables: AlignedTables) -> tuple[float, dict[str, float]]:
    """How far each column is from being a kept direct identifier; the minimum over columns.

    Octopize weighs "the percentage of correct univariate matches" against "the number of unique
    values": a match on a rare value points at few people, a match on a common one at many (and
    "does not represent a risk"). For column c, a row whose avatar holds the original's exact
    value contributes ``1 / (originals holding that value)``, the chance that the value picks out
    that individual. Protection_c = 100 * (1 - mean over rows of that contribution): a copied
    identifier gives 0, a copied binary column about 100.

    Returns:
        ``(minimum over columns, per-column protection)``.
    """
    per_column: dict[str, float] = {}
    for column in tables.columns:
        orig_codes, avatar_codes = tables.codes(column)[:2]
        holders = np.bincount(orig_codes)[orig_codes]
        exposure = np.where(orig_codes == avatar_codes, 1.0 / holders, 0.0)
        per_column[column] = float(1.0 - exposure.mean()) * 100.0
    return min(per_column.values()), per_column


def categorical_hidden_rate(tables: AlignedTables, variables: list[str]) -> float | None:
    """Hidden rate of an attacker who links on categorical values only.

    The attacker takes an original's values of ``variables`` and picks, uniformly at random, one
    avatar holding exactly that combination. The chance of picking the own avatar is
    ``1 / (avatars with the combination)`` when the own avatar holds it, else 0; the metric is
    100 * (1 - mean chance). Computed in closed form, so it has no sampling noise. An original
    whose combination no avatar holds cannot be linked this way and counts as hidden.

    Returns:
        The rate in %, or None when there is no categorical variable to link on.
    """
    if not variables:
        return None
    orig_keys, avatar_keys = _table_keys(tables, variables)
    counts = np.bincount(avatar_keys, minlength=int(max(orig_keys.max(), avatar_keys.max())) + 1)
    own_matches = orig_keys == avatar_keys
    chance = np.zeros(len(orig_keys))
    chance[own_matches] = 1.0 / counts[orig_keys[own_matches]]
    return float(1.0 - chance.mean()) * 100.0


def _cpr_space(tables: AlignedTables, known: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Embed the known variables so that "match" is Chebyshev distance < 1.

    Numeric values are divided by 5 % of the column's |mean| (exact match if the mean is 0);
    categorical values, and missingness of numeric ones, become one group code spaced 4 apart,
    so rows of different groups are never within distance 1.
    """
    numeric = [c for c in known if c in tables.continuous]
    categorical = [c for c in known if c not in numeric]
    groups = [tables.codes(column)[:2] for column in categorical]
    blocks_o: list[np.ndarray] = []
    blocks_a: list[np.ndarray] = []
    for column in numeric:
        o = tables.original[column].to_numpy(dtype=np.float64)
        a = tables.avatars[column].to_numpy(dtype=np.float64)
        groups.append([np.isnan(o).astype(np.int64), np.isnan(a).astype(np.int64)])
        width = CPR_BOUNDARY * abs(float(np.nanmean(o))) if not np.isnan(o).all() else 0.0
        width = width if width > 0 else 1e-12
        blocks_o.append(np.nan_to_num(o / width))
        blocks_a.append(np.nan_to_num(a / width))
    if groups:
        group_o, group_a = _keys_from_codes(groups)
        blocks_o.append(4.0 * group_o)
        blocks_a.append(4.0 * group_a)
    return np.column_stack(blocks_o), np.column_stack(blocks_a)


def correlation_protection_rate(
    tables: AlignedTables, known: list[str], hidden_rate: float, pool: SearchPool = INLINE
) -> tuple[float, dict[str, int]]:
    """Linkability protection on the attacker's known variables (paper-era definition).

    Steps: (1) originals whose combination of ``known`` values is unique among originals; (2)
    for each, the avatars matching it on every known variable (categorical: equal; numeric:
    within 5 % of the column mean); (3) n2 = unique originals matched by exactly one avatar;
    (4) CPR = 100 * (1 - round(n2 * (1 - hidden_rate / 100)) / N). The hidden rate discounts
    the single matches that are not the individual's own avatar.

    Returns:
        ``(rate in %, {"unique_originals": n, "single_matches": n2})``.
    """
    (orig_keys,) = _table_keys(tables, known, count=1)
    unique_rows = np.flatnonzero(np.bincount(orig_keys)[orig_keys] == 1)
    space_o, space_a = _cpr_space(tables, known)
    single = 0
    if len(unique_rows):
        dist, _ = query(
            cKDTree(space_a),
            space_o[unique_rows],
            min(2, len(space_a)),
            pool=pool,
            p=np.inf,
            distance_upper_bound=1.0,
        )
        matches = np.isfinite(dist).sum(axis=1)
        single = int(np.sum(matches == 1))
    n = len(tables.original)
    rate = (1.0 - round(single * (1.0 - hidden_rate / 100.0)) / n) * 100.0
    return float(rate), {"unique_originals": len(unique_rows), "single_matches": single}
