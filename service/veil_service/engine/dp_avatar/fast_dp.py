"""Fast DP: a parametric model whose parameters carry Laplace noise (NOT end-to-end DP).

As Octopize describes FastDP: "if your data can be approximated by a parametric model, you can
make that model differentially private". Numeric values are first clipped to the
[``bounds_percentile``, 100 - ``bounds_percentile``] percentiles of the data. Those bounds are
read from the data without noise, so the release as a whole is not differentially private: a
single row can move a bound. Everything fitted after the clipping gets noise from OpenDP's
``make_laplace``, with sensitivities fixed by the bounds, and ε is split over those statistics.

Mechanisms (``mechanism``):

* ``gaussian``: rows encoded as numeric values scaled to [0, 1] and one-hot categories; a noisy
  count, noisy sum and noisy second-moment matrix give a mean and a covariance; rows are drawn
  from that normal law and decoded (values clipped into the bounds, each categorical variable
  taking its highest one-hot score).
* ``gmm``: the same encoding; ``gmm_n_components`` normal laws fitted by three rounds of noisy
  hard-assignment EM (each round's statistics are disjoint per component, so a round costs one
  share of ε whatever the number of components), started from the noisy gaussian fit.
* ``histogram``: noisy per-column histograms (``histogram_n_bins`` bins per numeric column, one
  per category) tied by a Gaussian copula whose correlation matrix is computed, with noise, on the
  rows' normal scores.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import opendp.prelude as dp
import pandas as pd
from scipy import stats

from veil_service.engine.dp_avatar.parameters import FastDPParameters
from veil_service.errors import InvalidArgumentError

dp.enable_features("contrib")

FloatArray = npt.NDArray[np.float64]
ProgressCallback = Callable[[float, str], None]
#: Normal scores are clipped to this many standard deviations (bounds the copula's sensitivity).
_SCORE_CLIP = 4.0
_EM_ROUNDS = 3


@dataclass(frozen=True)
class FastDPResult:
    """What Fast DP gives back.

    Attributes:
        avatars: The generated rows.
        epsilon: ε spent on the noisy parameters (OpenDP's map of each Laplace step, added up).
        steps: (statistic, ε) of each noisy statistic.
        bounds: Column -> (low, high) clipping bounds read from the data WITHOUT noise.
        end_to_end_dp: Always False: the bounds come from the data's percentiles.
    """

    avatars: pd.DataFrame
    epsilon: float
    steps: list[tuple[str, float]]
    bounds: dict[str, tuple[float, float]]
    end_to_end_dp: bool = False


@dataclass
class _Encoding:
    numeric: list[str]
    categorical: list[str]
    bounds: dict[str, tuple[float, float]]
    categories: dict[str, list[Any]]
    dtypes: dict[str, Any]

    @property
    def width(self) -> int:
        return len(self.numeric) + sum(len(self.categories[c]) for c in self.categorical)

    @property
    def l1_norm(self) -> float:
        """Largest L1 norm of an encoded row: 1 per numeric value, 1 per one-hot block."""
        return float(len(self.numeric) + len(self.categorical))

    def encode(self, df: pd.DataFrame) -> FloatArray:
        blocks = []
        for name in self.numeric:
            low, high = self.bounds[name]
            values = df[name].astype("float64").to_numpy()
            values = np.where(np.isnan(values), (low + high) / 2, values)
            blocks.append(((np.clip(values, low, high) - low) / max(high - low, 1e-12))[:, None])
        for name in self.categorical:
            lookup = {v: i for i, v in enumerate(self.categories[name])}
            codes = _codes(df[name], lookup)
            block = np.zeros((len(df), len(self.categories[name])))
            block[np.arange(len(df)), codes] = 1.0
            blocks.append(block)
        return np.hstack(blocks) if blocks else np.empty((len(df), 0))

    def decode(self, z: FloatArray, order: list[str]) -> pd.DataFrame:
        data: dict[str, Any] = {}
        j = 0
        for name in self.numeric:
            low, high = self.bounds[name]
            values = low + np.clip(z[:, j], 0.0, 1.0) * (high - low)
            data[name] = _typed(values, self.dtypes[name])
            j += 1
        for name in self.categorical:
            size = len(self.categories[name])
            codes = np.argmax(z[:, j : j + size], axis=1)
            values = np.asarray(self.categories[name], dtype=object)[codes]
            data[name] = pd.Series(values, dtype=object).astype(self.dtypes[name])
            j += size
        return pd.DataFrame(data)[order]


def fast_dp_avatarize(
    df: pd.DataFrame, params: FastDPParameters, progress: ProgressCallback | None = None
) -> FastDPResult:
    """Generate rows from a noisy parametric model of ``df`` (see the module docstring).

    Raises:
        InvalidArgumentError: empty table, or a column of an unsupported type.
    """
    report = progress or (lambda fraction, phase: None)
    if df.empty or df.shape[1] == 0:
        raise InvalidArgumentError(
            "the table is empty: Fast DP needs rows and columns.", field="table"
        )
    rng = np.random.default_rng(params.seed)
    encoding = _encoding(df, params)
    n_rows = params.n_rows or max(1, round(len(df) * params.row_multiplier))
    report(0.1, f"fitting {params.mechanism}")
    ledger = _Steps()
    if params.mechanism == "histogram":
        rows = _histogram_copula(df, encoding, params, ledger, rng, n_rows)
        avatars = rows[list(df.columns)]
    else:
        z = encoding.encode(df)
        if params.mechanism == "gaussian":
            sample = _gaussian(z, encoding, params.epsilon, ledger, rng, n_rows)
        else:
            sample = _gmm(z, encoding, params, ledger, rng, n_rows)
        avatars = encoding.decode(sample, list(df.columns))
    report(1.0, "done")
    return FastDPResult(
        avatars=avatars.reset_index(drop=True),
        epsilon=ledger.total,
        steps=ledger.steps,
        bounds=encoding.bounds,
    )


def _encoding(df: pd.DataFrame, params: FastDPParameters) -> _Encoding:
    numeric, categorical = [], []
    bounds: dict[str, tuple[float, float]] = {}
    categories: dict[str, list[Any]] = {}
    for name in df.columns:
        dtype = df[name].dtype
        is_number = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
        if is_number and name not in params.categorical_columns:
            values = df[name].astype("float64").dropna().to_numpy()
            if values.size == 0:
                raise InvalidArgumentError(
                    f"column {name!r} has no value; drop it before Fast DP.", field="table"
                )
            low, high = np.percentile(
                values, [params.bounds_percentile, 100 - params.bounds_percentile]
            )
            bounds[str(name)] = (float(low), float(high))
            numeric.append(str(name))
        elif pd.api.types.is_datetime64_any_dtype(dtype):
            raise InvalidArgumentError(
                f"column {name!r} is a datetime: Fast DP models numbers and categories. Convert "
                "it (DatetimeProcessor) or drop it.",
                field="table",
            )
        else:
            observed = df[name].dropna().astype(object)
            categories[str(name)] = sorted(observed.unique(), key=str) or [None]
            categorical.append(str(name))
    dtypes = {str(c): df[c].dtype for c in df.columns}
    return _Encoding(numeric, categorical, bounds, categories, dtypes)


class _Steps:
    """ε of each noisy statistic (OpenDP's map of its Laplace measurement)."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, float]] = []

    @property
    def total(self) -> float:
        return float(sum(eps for _, eps in self.steps))

    def laplace(
        self, name: str, values: FloatArray, sensitivity: float, epsilon: float
    ) -> FloatArray:
        domain = dp.vector_domain(dp.atom_domain(T=float, nan=False))
        measurement = dp.m.make_laplace(
            domain, dp.l1_distance(T=float), scale=sensitivity / epsilon
        )
        self.steps.append((name, float(measurement.map(sensitivity))))  # type: ignore[no-untyped-call]
        flat = [float(v) for v in np.asarray(values, dtype=np.float64).ravel()]
        return np.asarray(measurement(flat), dtype=np.float64).reshape(np.shape(values))


def _moments(
    z: FloatArray, norm: float, epsilon: float, ledger: _Steps, name: str
) -> tuple[float, FloatArray, FloatArray]:
    """Noisy mean and covariance of rows ``z`` (count 10%, sum 30%, second moments 60% of ε)."""
    d = z.shape[1]
    count = ledger.laplace(f"{name}.count", np.array([len(z)]), 1.0, 0.1 * epsilon)[0]
    count = max(float(count), 2.0)
    if len(z) == 0:
        z = np.zeros((0, d))
    total = ledger.laplace(f"{name}.sum", z.sum(axis=0), norm, 0.3 * epsilon)
    upper = np.triu_indices(d)
    second = (z.T @ z)[upper]
    # One row adds z z^T: its upper triangle has L1 norm at most ||z||_1^2.
    noisy = ledger.laplace(f"{name}.second_moments", second, norm * norm, 0.6 * epsilon)
    moments = np.zeros((d, d))
    moments[upper] = noisy
    moments = moments + moments.T - np.diag(np.diag(moments))
    mean = total / count
    covariance = moments / count - np.outer(mean, mean)
    return count, mean, _nearest_psd(covariance)


def _nearest_psd(matrix: FloatArray) -> FloatArray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    fixed: FloatArray = (vectors * np.clip(values, 1e-6, None)) @ vectors.T
    return fixed


def _gaussian(
    z: FloatArray,
    encoding: _Encoding,
    epsilon: float,
    ledger: _Steps,
    rng: np.random.Generator,
    n_rows: int,
) -> FloatArray:
    _, mean, covariance = _moments(z, encoding.l1_norm, epsilon, ledger, "gaussian")
    sample: FloatArray = rng.multivariate_normal(mean, covariance, size=n_rows, method="eigh")
    return sample


def _gmm(
    z: FloatArray,
    encoding: _Encoding,
    params: FastDPParameters,
    ledger: _Steps,
    rng: np.random.Generator,
    n_rows: int,
) -> FloatArray:
    k = params.gmm_n_components
    share = params.epsilon / (_EM_ROUNDS + 1)
    _, mean, covariance = _moments(z, encoding.l1_norm, share, ledger, "gmm.init")
    # Start points drawn from the noisy single-normal fit (public after noise).
    means = rng.multivariate_normal(mean, covariance, size=k, method="eigh")
    covariances = np.repeat(covariance[None], k, axis=0)
    weights = np.full(k, 1.0 / k)
    for round_ in range(_EM_ROUNDS):
        assignment = _assign(z, means, covariances, weights)
        fitted = [
            # Each row is in exactly one component: a round's statistics are disjoint
            # (parallel composition), so each component spends the round's whole share.
            _moments(z[assignment == c], encoding.l1_norm, share, ledger, f"gmm.round{round_}.c{c}")
            for c in range(k)
        ]
        counts = np.clip(np.asarray([f[0] for f in fitted]), 1e-3, None)
        weights = counts / counts.sum()
        means = np.asarray([f[1] for f in fitted])
        covariances = np.asarray([f[2] for f in fitted])
    ledger.steps = _collapse_parallel(ledger.steps)
    component = rng.choice(k, size=n_rows, p=weights)
    sample = np.empty((n_rows, z.shape[1]))
    for c in range(k):
        rows = component == c
        sample[rows] = rng.multivariate_normal(
            means[c], covariances[c], size=int(rows.sum()), method="eigh"
        )
    return sample


def _collapse_parallel(steps: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """One entry per round and statistic: components of a round are disjoint row sets."""
    collapsed: dict[str, float] = {}
    for name, eps in steps:
        key = re.sub(r"\.c\d+\.", ".", name)
        collapsed[key] = max(collapsed.get(key, 0.0), eps)
    return list(collapsed.items())


def _assign(
    z: FloatArray, means: FloatArray, covariances: FloatArray, weights: FloatArray
) -> npt.NDArray[np.int64]:
    scores = np.column_stack(
        [
            stats.multivariate_normal(means[c], covariances[c], allow_singular=True).logpdf(z)
            + np.log(weights[c])
            for c in range(len(means))
        ]
    )
    best: npt.NDArray[np.int64] = np.argmax(scores, axis=1).astype(np.int64)
    return best


def _histogram_copula(
    df: pd.DataFrame,
    encoding: _Encoding,
    params: FastDPParameters,
    ledger: _Steps,
    rng: np.random.Generator,
    n_rows: int,
) -> pd.DataFrame:
    columns = encoding.numeric + encoding.categorical
    share = params.epsilon / 2 / len(columns)
    cdfs: dict[str, tuple[FloatArray, FloatArray]] = {}
    scores = np.empty((len(df), len(columns)))
    for j, name in enumerate(columns):
        if name in encoding.numeric:
            low, high = encoding.bounds[name]
            edges = np.linspace(low, high, params.histogram_n_bins + 1)
            values = np.clip(
                df[name].astype("float64").fillna((low + high) / 2).to_numpy(), low, high
            )
            cells = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 2)
            counts = np.bincount(cells, minlength=len(edges) - 1).astype(np.float64)
        else:
            lookup = {v: i for i, v in enumerate(encoding.categories[name])}
            cells = _codes(df[name], lookup)
            counts = np.bincount(cells, minlength=len(lookup)).astype(np.float64)
            edges = np.arange(len(lookup) + 1, dtype=np.float64)
        noisy = np.clip(ledger.laplace(f"histogram.{name}", counts, 1.0, share), 0.0, None) + 1e-9
        cdf = np.concatenate([[0.0], np.cumsum(noisy) / noisy.sum()])
        cdfs[name] = (edges, cdf)
        # Normal score of each row: the middle of its cell's noisy CDF interval.
        middle = (cdf[cells] + cdf[cells + 1]) / 2
        scores[:, j] = np.clip(stats.norm.ppf(middle), -_SCORE_CLIP, _SCORE_CLIP)
    d = len(columns)
    upper = np.triu_indices(d, k=1)
    products = (scores.T @ scores)[upper]
    # One row changes each product by at most _SCORE_CLIP^2.
    sensitivity = _SCORE_CLIP**2 * len(products)
    noisy_products = (
        ledger.laplace("histogram.correlations", products, sensitivity, params.epsilon / 2)
        if len(products)
        else products
    )
    correlation = np.eye(d)
    if len(products):
        correlation[upper] = np.clip(noisy_products / len(df), -0.99, 0.99)
        correlation = correlation + correlation.T - np.eye(d)
    correlation = _nearest_psd(correlation)
    diag = np.sqrt(np.diag(correlation))
    correlation = correlation / np.outer(diag, diag)
    latent = rng.multivariate_normal(np.zeros(d), correlation, size=n_rows, method="eigh")
    uniform = stats.norm.cdf(latent)
    data: dict[str, Any] = {}
    for j, name in enumerate(columns):
        edges, cdf = cdfs[name]
        cell = np.clip(np.searchsorted(cdf, uniform[:, j], side="right") - 1, 0, len(cdf) - 2)
        if name in encoding.numeric:
            within = (uniform[:, j] - cdf[cell]) / np.maximum(cdf[cell + 1] - cdf[cell], 1e-12)
            values = edges[cell] + np.clip(within, 0, 1) * (edges[cell + 1] - edges[cell])
            data[name] = _typed(values, encoding.dtypes[name])
        else:
            values = np.asarray(encoding.categories[name], dtype=object)[cell]
            data[name] = pd.Series(values, dtype=object).astype(encoding.dtypes[name])
    return pd.DataFrame(data)


def _codes(series: pd.Series, lookup: dict[Any, int]) -> npt.NDArray[np.int64]:
    """Index of each value in ``lookup`` (values outside it: 0)."""
    return np.fromiter(
        (lookup.get(v, 0) for v in series.astype(object)), dtype=np.int64, count=len(series)
    )


def _typed(values: FloatArray, dtype: Any) -> pd.Series:
    if pd.api.types.is_integer_dtype(dtype):
        return pd.Series(np.round(values)).astype(dtype)
    return pd.Series(values, dtype="float64")
