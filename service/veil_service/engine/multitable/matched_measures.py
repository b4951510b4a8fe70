"""What the linked search measures a table's release by: a hidden rate without Veil's pairing,
and the table's fidelity.

Veil's own ``hidden_rate`` pairs each original with *its* avatar. A generator such as SDV's
HMASynthesizer keeps no such link, so the figure that compares the two pairs every original with
a synthetic record by minimum total distance (the pairing most favourable to an attacker) and
measures the hidden rate of that pairing: :func:`matched_hidden_rate`. Its reference is what new
individuals of the same population get: :func:`fresh_sample_hidden_rate` measures one random half
of the real table against the other (docs/benchmarks.md, "Multi-table and time series").

The search measures some 440 releases of 50-300 rows on Tutorial 3, so the cost of each measure
counts: :func:`matched_measures` aligns a release with its original once for the pairing, the
hidden rate and the fidelity, and computes the hidden rate alone (``metrics.hidden_rate``), with
the values the full ``privacy_metrics`` gives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache

import numpy as np
import numpy.typing as npt
import pandas as pd
from threadpoolctl import ThreadpoolController

from veil_service.engine.metrics.evaluate import ReleasesHiddenRate, hidden_rate
from veil_service.engine.metrics.projection import FamdModel, fit_famd
from veil_service.engine.metrics.signal import column_shapes, pair_trends
from veil_service.engine.metrics.tables import AlignedTables, align_release, align_tables
from veil_service.engine.multitable.assignment import assign_linear_sum

#: Random half/half cuts of the fresh-sample reference.
FRESH_SPLITS = 5
#: Components of the projection the pairing and the hidden rate are measured in.
MATCH_NCP = 5


def matched_pairs(original: pd.DataFrame, synthetic: pd.DataFrame) -> pd.DataFrame:
    """Synthetic rows paired with the originals by minimum total distance (same row count).

    Both tables are cut to the smaller row count; the distance is Euclidean on the first
    :data:`MATCH_NCP` FAMD components of the originals.
    """
    original, synthetic = _cut(original, synthetic)
    rows = _pairing(align_tables(original, synthetic))
    return synthetic.iloc[rows].reset_index(drop=True)


def table_fidelity(original: pd.DataFrame, synthetic: pd.DataFrame) -> float:
    """Mean of the column shapes and pair trends scores of a table's values (in [0, 1]).

    The ranking the single-table privacy advice uses without a target
    (engine/privacy_advice.py, SDMetrics' KS/TV complements and pair trends).
    """
    return _fidelity(align_tables(original, synthetic))


def matched_hidden_rate(original: pd.DataFrame, synthetic: pd.DataFrame) -> float:
    """Hidden rate (%) of the originals against synthetic records paired by minimum distance
    (both cut to the smaller row count)."""
    original, synthetic = _cut(original, synthetic)
    return _matched_rate(align_tables(original, synthetic))


def matched_measures(original: pd.DataFrame, synthetic: pd.DataFrame) -> tuple[float, float]:
    """:func:`matched_hidden_rate` and :func:`table_fidelity` of a release with as many rows as
    the original, from one alignment of the two (each alone aligns them once)."""
    return ReleaseMeasures(original)(synthetic)


@dataclass
class ReleaseMeasures:
    """:func:`matched_measures` of many releases of one original (a search's trials).

    The pairing's projection is fitted on the original alone, and the original's coordinates
    and aligned values depend on nothing else: all are computed at the first release and
    reused (the same values; a FAMD fit per trial was a tenth of the search's cost on Tutorial
    3's tables, the original's alignment another twelfth).
    The original must not change while the object is used.
    """

    original: pd.DataFrame
    _pairing: _Pairing | None = field(default=None, repr=False)
    _aligned: AlignedTables | None = field(default=None, repr=False)
    _hidden_rate: ReleasesHiddenRate = field(default_factory=ReleasesHiddenRate, repr=False)

    def prepare(self) -> None:
        """Align the original and fit the pairing's and the hidden rate's projections now (they
        depend on the original alone), so that trials run in forked children inherit them
        (engine/forked_map.py)."""
        if self._aligned is None:
            self._aligned = align_tables(self.original, self.original)
        if self._pairing is None:
            self._pairing = _Pairing.fit(self._aligned)
        self._hidden_rate.fit(self._aligned)

    def __call__(self, synthetic: pd.DataFrame) -> tuple[float, float]:
        """The matched hidden rate (%) and fidelity of ``synthetic`` (as many rows)."""
        if self._aligned is None:
            aligned = self._aligned = align_tables(self.original, synthetic)
        else:
            # The original's side of the alignment is the first release's.
            aligned = align_release(self.original, self._aligned, synthetic)
        if self._pairing is None:
            self._pairing = _Pairing.fit(aligned)
        return _matched_rate(aligned, self._pairing, self._hidden_rate), _fidelity(aligned)


def fresh_sample_hidden_rate(
    table: pd.DataFrame, splits: int = FRESH_SPLITS, seed: int = 0
) -> tuple[float, float]:
    """The matched hidden rate of real data against real data (mean, standard deviation).

    The rows are cut into two random halves and one half is measured against the other as if it
    were synthetic, ``splits`` times. A fresh sample of the same population gets this figure:
    avatars below it sit closer to their originals than new individuals would. Halves have half
    the rows, which the figure depends on a little.
    """
    rng = np.random.default_rng(seed)
    rates = []
    for _ in range(splits):
        order = rng.permutation(len(table))
        half = len(table) // 2
        first = table.iloc[order[:half]].reset_index(drop=True)
        second = table.iloc[order[half : 2 * half]].reset_index(drop=True)
        rates.append(matched_hidden_rate(first, second))
    return float(np.mean(rates)), float(np.std(rates))


def _cut(original: pd.DataFrame, synthetic: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = min(len(original), len(synthetic))
    return original.iloc[:n].reset_index(drop=True), synthetic.iloc[:n].reset_index(drop=True)


@dataclass(frozen=True)
class _Pairing:
    """The projection the pairing is computed in (fitted on the original) and the original's
    coordinates in it."""

    model: FamdModel
    ncp: int
    points: npt.NDArray[np.float64]

    @classmethod
    def fit(cls, aligned: AlignedTables) -> _Pairing:
        model = fit_famd(aligned.original, aligned.continuous, aligned.categorical)
        ncp = min(MATCH_NCP, model.n_components)
        return cls(model, ncp, model.transform(aligned.original, ncp))

    def rows(self, aligned: AlignedTables) -> npt.NDArray[np.intp]:
        """For each original row, the synthetic row it is paired with."""
        points_s = self.model.transform(aligned.avatars, self.ncp)
        ones = np.ones(len(aligned.original), dtype=np.int64)
        paired: npt.NDArray[np.intp] = assign_linear_sum(
            self.points, points_s, ones, block_size=1024
        )
        return paired


def _pairing(aligned: AlignedTables) -> npt.NDArray[np.intp]:
    """For each original row, the synthetic row it is paired with."""
    return _Pairing.fit(aligned).rows(aligned)


def _matched_rate(
    aligned: AlignedTables,
    pairing: _Pairing | None = None,
    rate: Callable[[AlignedTables], float] = hidden_rate,
) -> float:
    """The hidden rate of the matched pairing of aligned tables.

    Aligning is value by value (a column's mapping depends only on its set of values), so the
    aligned synthetic rows, reordered, are the alignment of the reordered rows: the rate equals
    ``privacy_metrics(original, matched_pairs(original, synthetic))["hidden_rate"]``, on one
    BLAS thread as ``privacy_metrics`` runs (tests/unit/engine/multitable/
    test_hidden_rate_advice.py).
    """
    rows = (pairing or _Pairing.fit(aligned)).rows(aligned)
    paired = replace(aligned, avatars=aligned.avatars.iloc[rows].reset_index(drop=True))
    with _blas().limit(limits=1):
        return float(rate(paired))


def _fidelity(aligned: AlignedTables) -> float:
    scores = list(column_shapes(aligned).values()) + list(pair_trends(aligned).values())
    return float(np.mean(scores))


@cache
def _blas() -> ThreadpoolController:
    """The process's BLAS and OpenMP libraries, found once: ``threadpool_limits`` looks them up
    again at every call (1.5 ms, a fifth of a small table's privacy metrics)."""
    return ThreadpoolController()
