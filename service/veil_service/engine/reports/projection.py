"""Coordinates and variable contributions for the projection and contribution figures.

The standard job hands its FAMD coordinates to `build_figures`. A metrics-only run (avatars
uploaded by the user) has none, so this module computes a light FAMD-style projection itself:
numeric columns standardized, categorical columns one-hot encoded and scaled by 1/sqrt(p) as in
FAMD, then an SVD fitted on the originals. It is only for pictures, never for metrics.

Contributions are computed from coordinates, whichever produced them: the share of each
variable in a dimension's inertia, i.e. its squared correlation (numeric) or correlation ratio
eta squared (categorical) with the dimension, normalized to 100 %.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from veil_service.engine.reports.context import column_kind

#: Rows used to fit the fallback projection; more changes the picture little and costs time.
_FIT_ROWS = 20_000
#: Categories kept per column before the rest are merged into one level.
_MAX_LEVELS = 30


def _numeric_view(series: pd.Series) -> pd.Series:
    if column_kind(series) == "datetime":
        values = pd.to_datetime(series, utc=True)
        seconds = (values - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds()
        return pd.Series(seconds.to_numpy(dtype=float), index=series.index)
    return pd.to_numeric(series, errors="coerce").astype(float)


def _levels(series: pd.Series) -> list[str]:
    counts = series.astype("string").value_counts(dropna=True)
    return [str(level) for level in counts.index[:_MAX_LEVELS]]


def _encode(original: pd.DataFrame, other: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Encode both tables with statistics of the originals only."""
    blocks_o: list[np.ndarray] = []
    blocks_a: list[np.ndarray] = []
    for col in original.columns:
        kind = column_kind(original[col])
        if kind in ("numeric", "datetime"):
            o = _numeric_view(original[col])
            a = _numeric_view(other[col]) if col in other else pd.Series(np.nan, index=other.index)
            mean, std = float(o.mean()), float(o.std())
            std = std if std > 0 and np.isfinite(std) else 1.0
            mean = mean if np.isfinite(mean) else 0.0
            blocks_o.append(((o.fillna(mean) - mean) / std).to_numpy()[:, None])
            blocks_a.append(((a.fillna(mean) - mean) / std).to_numpy()[:, None])
            continue
        levels = _levels(original[col])
        if not levels:
            continue
        o_str = original[col].astype("string")
        a_str = other[col].astype("string") if col in other else pd.Series(pd.NA, index=other.index)
        for level in levels:
            ind_o = (o_str == level).fillna(False).to_numpy(dtype=float)
            ind_a = (a_str == level).fillna(False).to_numpy(dtype=float)
            share = max(float(ind_o.mean()), 1e-9)
            blocks_o.append(((ind_o - share) / np.sqrt(share))[:, None])
            blocks_a.append(((ind_a - share) / np.sqrt(share))[:, None])
    if not blocks_o:
        return np.zeros((len(original), 1)), np.zeros((len(other), 1))
    return np.hstack(blocks_o), np.hstack(blocks_a)


def famd_like_projection(
    original: pd.DataFrame, avatars: pd.DataFrame, n_components: int = 3, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Project originals and avatars on the first components fitted on the originals.

    Args:
        original: Original table.
        avatars: Avatar table with the same columns.
        n_components: Dimensions returned (columns "Dim. 1", "Dim. 2", ...).
        seed: Seed of the row sample used for the fit on large tables.

    Returns:
        (original coordinates, avatar coordinates), one row per input row.
    """
    x_o, x_a = _encode(original, avatars)
    fit = x_o
    if len(fit) > _FIT_ROWS:
        rows = np.random.default_rng(seed).choice(len(fit), _FIT_ROWS, replace=False)
        fit = fit[rows]
    _, _, vt = np.linalg.svd(fit, full_matrices=False)
    k = min(n_components, vt.shape[0])
    names = [f"Dim. {i + 1}" for i in range(k)]
    axes = vt[:k].T
    coords_o = pd.DataFrame(x_o @ axes, columns=names, index=original.index)
    coords_a = pd.DataFrame(x_a @ axes, columns=names, index=avatars.index)
    return coords_o, coords_a


def _eta_squared(groups: pd.Series, values: np.ndarray) -> float:
    total = float(((values - values.mean()) ** 2).sum())
    if total <= 0:
        return 0.0
    frame = pd.DataFrame({"g": groups.astype("string").fillna("<NA>").to_numpy(), "v": values})
    stats = frame.groupby("g", sort=False)["v"].agg(["mean", "count"])
    between = float((stats["count"] * (stats["mean"] - values.mean()) ** 2).sum())
    return between / total


def contributions(
    original: pd.DataFrame, coordinates: pd.DataFrame, n_dims: int = 2
) -> pd.DataFrame | None:
    """Contribution (%) of each variable to the first dimensions.

    Args:
        original: Original table, rows aligned with `coordinates`.
        coordinates: Original coordinates (numeric columns, first ones used).
        n_dims: Dimensions to report.

    Returns:
        Index = variable, columns = dimension names, each column summing to 100; None when the
        rows do not align or there is no dimension.
    """
    dims = [c for c in coordinates.columns if pd.api.types.is_numeric_dtype(coordinates[c])]
    dims = dims[:n_dims]
    if not dims or len(original) != len(coordinates) or len(original) < 3:
        return None
    result = {}
    for dim in dims:
        values = coordinates[dim].to_numpy(dtype=float)
        scores = {}
        for col in original.columns:
            series = original[col].reset_index(drop=True)
            if column_kind(series) in ("numeric", "datetime"):
                numeric = _numeric_view(series).to_numpy()
                mask = np.isfinite(numeric) & np.isfinite(values)
                ok = mask.sum() > 2 and np.std(numeric[mask]) > 0 and np.std(values[mask]) > 0
                r = float(np.corrcoef(numeric[mask], values[mask])[0, 1]) if ok else 0.0
                scores[str(col)] = r * r
            else:
                scores[str(col)] = _eta_squared(series, values)
        total = sum(scores.values()) or 1.0
        result[str(dim)] = {name: 100.0 * score / total for name, score in scores.items()}
    return pd.DataFrame(result)
