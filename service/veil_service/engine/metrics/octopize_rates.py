"""The privacy assessment figures under the names Octopize's tutorials read.

Octopize's current client reports ``knowledge_protection_rate``, ``linkability_protection_rate``
and ``inference_accuracy_ratio`` (Tutorials 2 and 7). Veil derives them from attacks it already
runs; docs/metrics.md ("Octopize's assessment names") gives the definitions:

* ``knowledge_protection_rate``: the protection against an attacker who knows the
  ``known_variables`` of an individual and looks for the one avatar that matches them; the
  paper-era correlation protection rate under its current name (None without
  ``known_variables``).
* ``linkability_protection_rate``: ``100 - linkability_risk``, the anonymeter linkability attack
  (records linked across two halves of the auxiliary columns, beyond what a control explains).
* ``inference_accuracy_ratio``: how well ``target`` is inferred from ``known_variables`` with
  the originals themselves (half of them, attacking the other half) compared with the avatars
  (attacking every original), in %: 100 means the avatars help an attacker as much as real
  records would, above 100 that inference is harder with the avatars.
"""

from __future__ import annotations

import numpy as np

from veil_service.engine.metrics.distances import nearest
from veil_service.engine.metrics.inference import nearest_avatar_on, smape
from veil_service.engine.metrics.projection import fit_famd
from veil_service.engine.metrics.search_threads import INLINE, SearchPool
from veil_service.engine.metrics.tables import AlignedTables


def _accuracy(
    tables: AlignedTables,
    target: str,
    truth_rows: np.ndarray,
    guesses: np.ndarray,
    source: str,
    source_rows: np.ndarray,
) -> float:
    """Share of right guesses (categorical) or 1 - SMAPE/200 (continuous), in [0, 1]."""
    frame = tables.avatars if source == "avatars" else tables.original
    if target in tables.continuous:
        truth = tables.original[target].to_numpy(dtype=np.float64)[truth_rows]
        guess = frame[target].to_numpy(dtype=np.float64)[source_rows[guesses]]
        error = smape(truth, guess)
        return 0.0 if np.isnan(error) else 1.0 - error / 200.0
    original_codes, avatar_codes = tables.codes(target)[:2]
    codes = avatar_codes if source == "avatars" else original_codes
    return float(np.mean(original_codes[truth_rows] == codes[source_rows[guesses]]))


def inference_accuracy_ratio(
    tables: AlignedTables,
    known: list[str],
    target: str,
    seed: int,
    avatar_guesses: np.ndarray | None = None,
    pool: SearchPool = INLINE,
) -> float | None:
    """100 x (accuracy with half the originals) / (accuracy with the avatars), see the module.

    ``avatar_guesses`` is :func:`~veil_service.engine.metrics.inference.nearest_avatar_on` for
    ``known`` when the inference metrics already searched it (the same search), else None.
    ``pool`` runs the nearest-record searches.
    """
    n = len(tables.original)
    if n < 4:
        return None
    continuous = [c for c in known if c in tables.continuous]
    categorical = [c for c in known if c not in continuous]
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    holders, victims = order[: n // 2], order[n // 2 :]
    everyone = np.arange(n)

    if avatar_guesses is None:
        avatar_guesses = nearest_avatar_on(tables, known, pool)
    with_avatars = _accuracy(tables, target, everyone, avatar_guesses, "avatars", everyone)

    held = tables.original.iloc[holders][known]
    model = fit_famd(held, continuous, categorical)
    ncp = min(5, model.n_components)
    guesses = nearest(
        model.transform(held, ncp), model.transform(tables.original.iloc[victims][known], ncp), pool
    )
    with_originals = _accuracy(tables, target, victims, guesses, "original", holders)

    if with_avatars <= 0.0:
        return None  # no attacker guesses anything right from the avatars: no ratio to give
    return 100.0 * with_originals / with_avatars


def linkability_protection_rate(linkability_risk: float | None) -> float | None:
    """``100 - linkability_risk`` (None when the attack did not run)."""
    return None if linkability_risk is None else 100.0 - linkability_risk
