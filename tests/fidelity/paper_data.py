"""The paper-fidelity tests' data (the shared data sets) and the privacy metrics they compute.

These tests check Veil against published figures, on the published data: they read
``../shared/data`` (``scripts/shared_data.py``) and fail, naming the missing file, when it is not
there; they never skip. Every other test uses ``tests/fixtures``.

Loaders and the two privacy metrics the avatarization tests compute directly.

The metrics follow avatar_method.md section 2 until the metrics package lands: a FAMD fitted on the
originals (continuous columns standardised, modalities scaled by 1/sqrt(p)), originals and avatars
projected on its first ``nf`` components; the hidden rate is the share of originals whose nearest
avatar (ties to the lowest index, as numpy's argmin and faiss do) is not their own; local cloaking
counts the other avatars at least as close as the own one (ties count as closer).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist
from shared_data import SHARED_DATA


def shared(*parts: str) -> Path:
    """A file of the shared data sets; the calling test fails, naming it, when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.fail(
            f"{path} is missing: the paper-fidelity tests (tests/fidelity) need the shared data "
            "sets next to the repository (../shared/data, see scripts/shared_data.py and README).",
            pytrace=False,
        )
    return path


def load_wbcd() -> pd.DataFrame:
    """WBCD as in the paper (683 rows, 10 variables, the identifier dropped)."""
    return pd.read_csv(shared("paper", "WBCD", "breast_cancer_wisconsin.csv")).drop(
        columns="Sample_code_number"
    )


def load_aids() -> pd.DataFrame:
    """AIDS (ACTG 175) as in the paper (2,139 rows, 26 variables, the identifier dropped)."""
    return pd.read_csv(shared("paper", "AIDS", "aids_original_data.csv"), sep=";").drop(
        columns="pidnum"
    )


def paper_categoricals(df: pd.DataFrame) -> list[str]:
    """The paper's rule: a variable with at most 10 distinct values is categorical."""
    return [c for c in df.columns if df[c].nunique() <= 10]


def _encode(df: pd.DataFrame, reference: pd.DataFrame, categorical: list[str]) -> np.ndarray:
    blocks = []
    for name in reference.columns:
        if name in categorical:
            ref = reference[name].astype(str)
            modalities = sorted(ref.unique())
            p = np.array([(ref == m).mean() for m in modalities])
            values = df[name].astype(str)
            onehot = np.stack([(values == m).to_numpy(float) for m in modalities], axis=1)
            blocks.append((onehot - p) / np.sqrt(p))
        else:
            ref_values = reference[name].to_numpy(float)
            mean, std = ref_values.mean(), ref_values.std()
            blocks.append(((df[name].to_numpy(float) - mean) / std)[:, None])
    return np.hstack(blocks)


def metric_coordinates(
    originals: pd.DataFrame, avatars: pd.DataFrame, categorical: list[str], nf: int
) -> tuple[np.ndarray, np.ndarray]:
    """Originals and avatars on the first ``nf`` components of a FAMD fitted on the originals."""
    z_orig = _encode(originals, originals, categorical)
    z_avat = _encode(avatars, originals, categorical)
    eigenvalues, vectors = np.linalg.eigh(z_orig.T @ z_orig)
    axes = vectors[:, np.argsort(eigenvalues)[::-1][:nf]]
    return z_orig @ axes, z_avat @ axes


def hidden_rate_and_local_cloaking(
    originals: np.ndarray, avatars: np.ndarray
) -> tuple[float, float]:
    """Hidden rate (%) and median local cloaking; row i of ``avatars`` is original i's avatar."""
    distances = cdist(originals, avatars)
    n = len(originals)
    own = distances[np.arange(n), np.arange(n)]
    hidden = 100.0 * float(np.mean(distances.argmin(axis=1) != np.arange(n)))
    cloaking = (distances <= own[:, None]).sum(axis=1) - 1
    return hidden, float(np.median(cloaking))
