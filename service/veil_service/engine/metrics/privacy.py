"""Distance-based privacy metrics: hidden rate, local cloaking, DCR, NNDR and closest rate.

All five are measured in the FAMD space fitted on the original (first ``ncp`` components), between
the original and the *unshuffled* avatars. The attack they model is Octopize's worst case: the
attacker holds both tables and links each individual to the synthetic record that resembles it
most. Definitions, formulas and the choices made where the reference only gives prose are in
docs/metrics.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from veil_service.engine.metrics.distances import (
    LOCAL_CLOAKING_CAP,
    OwnAvatarSearch,
    Trees,
    closest_two,
    leave_one_out_two,
    own_avatar_search,
)
from veil_service.engine.metrics.search_threads import INLINE, SearchPool


@dataclass(frozen=True)
class DistancePrivacy:
    """The distance-based privacy metrics of one table.

    Attributes:
        hidden_rate: % of originals whose nearest avatar is not their own (higher is safer).
        local_cloaking: Median number of other avatars at least as close to an original as its
            own avatar (higher is safer).
        distance_to_closest: Median distance from an avatar to its closest original.
        closest_distances_ratio: Median ratio closest / second-closest original distance.
        closest_rate: % of avatars NOT both closer and more isolated than a real (holdout) record
            at the ``quantile_threshold`` percentile (higher is safer).
        details: Supporting figures (thresholds, shares, the holdout source).
    """

    hidden_rate: float
    local_cloaking: float
    distance_to_closest: float
    closest_distances_ratio: float
    closest_rate: float
    details: dict[str, float | int | str | bool]


def tie_rule_details(own: OwnAvatarSearch) -> dict[str, float | int | str | bool]:
    """How much the hidden rate owes to its tie rule (exact duplicates, integer-valued data).

    The hidden rate resolves exact ties (several avatars at the own avatar's distance) to the
    lowest row index, as the paper's code did. Two other attackers bound its effect: one who
    breaks ties at random (hidden with probability 1 - 1/t among t tied avatars), and one who
    counts a tie that includes the own avatar as found.
    """
    tied = ~own.strictly_hidden & (own.closer_count > 0)
    random_hidden = np.where(
        own.strictly_hidden, 1.0, 1.0 - 1.0 / (own.closer_count.astype(np.float64) + 1.0)
    )
    return {
        "hidden_rate_tie_rule": "lowest_index",
        "hidden_rate_tied_share": float(np.mean(tied)) * 100.0,
        "hidden_rate_if_ties_random": float(np.mean(random_hidden)) * 100.0,
        "hidden_rate_if_ties_found": float(np.mean(own.strictly_hidden)) * 100.0,
    }


def distance_privacy(
    original: np.ndarray,
    avatars: np.ndarray,
    holdout: np.ndarray | None,
    quantile_threshold: float,
    pool: SearchPool = INLINE,
) -> DistancePrivacy:
    """Compute the distance-based privacy metrics from projected coordinates.

    Args:
        original: Projected originals (n x ncp).
        avatars: Projected unshuffled avatars (n x ncp), row ``i`` the avatar of original ``i``.
        holdout: Projected holdout records (m x ncp) that did not help build the avatars; when
            None, each original's distances to the *other* originals stand in for them.
        quantile_threshold: Percentile (0-100) of the holdout distributions used as the
            distance and ratio thresholds of ``closest_rate``.
        pool: Threads for the trees and the neighbour searches (the values do not depend on it).

    Returns:
        The five metrics and their supporting figures.
    """
    # One tree per table serves every search, and its leaf order is the queries' spatial order.
    trees = Trees.build(original, avatars, pool)
    own = own_avatar_search(original, avatars, trees, pool=pool)
    dcr, nndr = closest_two(original, avatars, trees, pool)
    if holdout is not None:
        ref_dcr, ref_nndr = closest_two(original, holdout, trees, pool)
        source = "holdout"
    else:
        ref_dcr, ref_nndr = leave_one_out_two(original, trees, pool)
        source = "original_leave_one_out"
    distance_threshold = float(np.percentile(ref_dcr, quantile_threshold))
    ratio_threshold = float(np.percentile(ref_nndr, quantile_threshold))
    at_risk = (dcr < distance_threshold) & (nndr < ratio_threshold)
    details: dict[str, float | int | str | bool] = {
        "closest_rate_distance_threshold": distance_threshold,
        "closest_rate_ratio_threshold": ratio_threshold,
        "closest_rate_reference": source,
        **tie_rule_details(own),
        "local_cloaking_cap": LOCAL_CLOAKING_CAP,
        "local_cloaking_zero_share": float(np.mean(own.closer_count == 0)) * 100.0,
        "local_cloaking_at_most_5_share": float(np.mean(own.closer_count <= 5)) * 100.0,
        "exact_copy_share": float(np.mean(dcr == 0.0)) * 100.0,
        "holdout_distance_to_closest": float(np.median(ref_dcr)),
        "holdout_closest_distances_ratio": float(np.median(ref_nndr)),
    }
    return DistancePrivacy(
        hidden_rate=float(np.mean(own.hidden)) * 100.0,
        local_cloaking=float(np.median(own.closer_count)),
        distance_to_closest=float(np.median(dcr)),
        closest_distances_ratio=float(np.median(nndr)),
        closest_rate=float(1.0 - np.mean(at_risk)) * 100.0,
        details=details,
    )
