"""Signal metrics of avatar time series (Octopize's time-series signal metrics).

* ``pointwise_hellinger_mean`` / ``_std``: at each point of the common grid and for each variable,
  the Hellinger distance between the original and the avatar values there (one value per
  individual); mean and standard deviation over points and variables. It asks: at the same moment
  of their series, do avatars spread like the originals?
* ``density_hellinger_mean`` / ``_std``: for each variable, the Hellinger distance between all its
  original readings and all its avatar readings, pooled over time and individuals; mean and
  standard deviation over variables. It asks: do avatar series visit the same values as often?

Histograms use 20 bins of equal width over the range of both samples. docs/metrics.md has the
definitions and the targets.
"""

from __future__ import annotations

import numpy as np

BINS = 20


def hellinger(original: np.ndarray, avatar: np.ndarray, bins: int = BINS) -> float:
    """Hellinger distance between the histograms of two samples (0 same, 1 disjoint)."""
    original = original[np.isfinite(original)]
    avatar = avatar[np.isfinite(avatar)]
    if len(original) == 0 or len(avatar) == 0:
        return 1.0 if len(original) != len(avatar) else 0.0
    low = float(min(original.min(), avatar.min()))
    high = float(max(original.max(), avatar.max()))
    if high <= low:
        return 0.0
    p, _ = np.histogram(original, bins=bins, range=(low, high))
    q, _ = np.histogram(avatar, bins=bins, range=(low, high))
    p = p / p.sum()
    q = q / q.sum()
    return float(np.sqrt(0.5 * ((np.sqrt(p) - np.sqrt(q)) ** 2).sum()))


def pointwise_hellinger(original: np.ndarray, avatar: np.ndarray) -> np.ndarray:
    """Hellinger distance per grid point and variable.

    Args:
        original: Original aligned curves (individuals x points x variables).
        avatar: Avatar aligned curves on the same grid.

    Returns:
        points x variables distances.
    """
    _, n_points, n_vars = original.shape
    out = np.empty((n_points, n_vars))
    for g in range(n_points):
        for v in range(n_vars):
            out[g, v] = hellinger(original[:, g, v], avatar[:, g, v])
    return out


def series_signal(
    original_curves: np.ndarray,
    avatar_curves: np.ndarray,
    original_readings: np.ndarray,
    avatar_readings: np.ndarray,
    variables: list[str],
) -> dict[str, object]:
    """The time-series signal metrics of one table.

    Args:
        original_curves: Original aligned curves (individuals with a series only).
        avatar_curves: Avatar aligned curves on the same grid.
        original_readings: Original readings (readings x variables).
        avatar_readings: Avatar readings.
        variables: Variable names.

    Returns:
        ``pointwise_hellinger_mean/std``, ``density_hellinger_mean/std`` and per-variable
        ``details``.
    """
    pointwise = pointwise_hellinger(original_curves, avatar_curves)
    density = np.array(
        [hellinger(original_readings[:, v], avatar_readings[:, v]) for v in range(len(variables))]
    )
    return {
        "pointwise_hellinger_mean": float(pointwise.mean()),
        "pointwise_hellinger_std": float(pointwise.std()),
        "density_hellinger_mean": float(density.mean()),
        "density_hellinger_std": float(density.std()),
        "details": {
            "pointwise_hellinger_per_variable": {
                name: float(pointwise[:, v].mean()) for v, name in enumerate(variables)
            },
            "density_hellinger_per_variable": {
                name: float(density[v]) for v, name in enumerate(variables)
            },
        },
    }
