"""Curves to a few numbers and back: functional PCA or flattening (``ProjectionType``).

**FPCA.** On a grid of G evenly spaced points of [0, 1], the L2 inner product of two curves is
approximated by the trapezoidal rule with weights w (1/(G-1), halved at both ends). Functional PCA
finds the eigenfunctions of the covariance operator for that inner product: with C the centred
curves (individuals x G) and W = diag(w), the SVD ``C W^(1/2) = U S V^T`` gives eigenfunctions
``phi_k = W^(-1/2) v_k``, scores ``U_k S_k`` (= the inner products of the centred curves with the
eigenfunctions) and eigenvalues ``S_k^2 / n``. A curve is rebuilt as the mean curve plus the sum of
its scores times the eigenfunctions. This is scikit-fda's ``FPCA`` on an ``FDataGrid`` (without
regularisation); bench/multitable.py measures the two side by side.

**FLATTEN.** Each aligned curve is read at ``nf`` evenly spaced positions; those readings are the
numbers, and a curve is rebuilt by linear interpolation between them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from veil_service.engine.timeseries.parameters import FPCA


def trapezoid_weights(n_points: int) -> np.ndarray:
    """Quadrature weights of the trapezoidal rule on ``n_points`` evenly spaced points of [0, 1]."""
    weights = np.full(n_points, 1.0 / (n_points - 1))
    weights[[0, -1]] /= 2.0
    return weights


@dataclass(frozen=True)
class CurveProjection:
    """A fitted projection of one variable's aligned curves.

    Attributes:
        kind: ``fpca`` or ``flatten``.
        mean: Mean curve (G points); zeros for flatten.
        basis: Eigenfunctions on the grid (nf x G) for FPCA; for flatten, the interpolation
            matrix from the ``nf`` readings back to the grid (G x nf, transposed here).
        explained_variance: Variance of each score (eigenvalues for FPCA, readings' variance
            for flatten).
        explained_variance_ratio: Share of the total variance each FPCA component carries
            (flatten: each reading's share of the readings' variance).
    """

    kind: str
    mean: np.ndarray
    basis: np.ndarray
    explained_variance: np.ndarray
    explained_variance_ratio: np.ndarray

    @property
    def n_components(self) -> int:
        """Numbers per curve."""
        return int(self.basis.shape[0])

    def scores(self, curves: np.ndarray) -> np.ndarray:
        """Project curves (individuals x G) to numbers (individuals x nf)."""
        centred = curves - self.mean
        if self.kind == FPCA:
            weights = trapezoid_weights(curves.shape[1])
            return np.asarray((centred * weights) @ self.basis.T)
        n_points = curves.shape[1]
        positions = np.linspace(0.0, n_points - 1, self.n_components)
        lower = np.floor(positions).astype(int)
        upper = np.minimum(lower + 1, n_points - 1)
        fraction = positions - lower
        return np.asarray(centred[:, lower] * (1 - fraction) + centred[:, upper] * fraction)

    def curves(self, scores: np.ndarray) -> np.ndarray:
        """Rebuild curves (individuals x G) from numbers (individuals x nf)."""
        return np.asarray(self.mean + scores @ self.basis)


def fit_projection(curves: np.ndarray, kind: str, nf: int) -> CurveProjection:
    """Fit FPCA (``nf`` components, at most individuals - 1 and G) or flatten (``nf`` readings).

    Args:
        curves: Aligned curves of one variable (individuals x G), no NaN.
        kind: ``fpca`` or ``flatten``.
        nf: Components or readings per curve.
    """
    n, n_points = curves.shape
    if kind == FPCA:
        mean = curves.mean(axis=0)
        weights = trapezoid_weights(n_points)
        root = np.sqrt(weights)
        _, singular, vt = np.linalg.svd((curves - mean) * root, full_matrices=False)
        keep = min(nf, len(singular))
        eigenvalues = singular**2 / n
        total = float(eigenvalues.sum())
        ratio = eigenvalues / total if total > 0 else np.zeros_like(eigenvalues)
        # svd_flip-like sign rule: the largest loading of each eigenfunction is positive.
        basis = vt[:keep] / root
        signs = np.sign(basis[np.arange(keep), np.abs(basis).argmax(axis=1)])
        basis *= np.where(signs == 0, 1.0, signs)[:, None]
        return CurveProjection(FPCA, mean, basis, eigenvalues[:keep], ratio[:keep])
    positions = np.linspace(0.0, n_points - 1, nf)
    grid = np.arange(n_points)
    basis = np.zeros((nf, n_points))
    for k in range(nf):
        reading = np.zeros(nf)
        reading[k] = 1.0
        basis[k] = np.interp(grid, positions, reading)
    projection = CurveProjection("flatten", np.zeros(n_points), basis, np.zeros(nf), np.zeros(nf))
    readings = projection.scores(curves)
    variance = readings.var(axis=0)
    total = float(variance.sum())
    return CurveProjection(
        "flatten",
        np.zeros(n_points),
        basis,
        variance,
        variance / total if total > 0 else np.zeros(nf),
    )
