"""Veil's metrics against the published numbers of Guillaudeux et al. 2023 (octopize/avatar-paper).

Figures: avatar_method.md sections 4.2 and 8. The paper typed a column as categorical when it had
at most 10 distinct values (AIDS; ``get_column_type.py``), and WBCD's ``Class`` as a factor.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from paper_data import shared
from veil_service.engine.metrics import privacy_metrics
from veil_service.engine.metrics.distances import closest_two
from veil_service.engine.metrics.projection import fit_famd
from veil_service.engine.metrics.tables import align_tables

# avatar_method.md section 4.2: DCR and NNDR medians pooled over the 10 holdout splits.
DCR_NNDR_MEDIANS = {
    ("AIDS", "remaining"): (3.00, 0.91),
    ("AIDS", "avatar"): (2.04, 0.80),
    ("AIDS", "synthpop"): (2.90, 0.90),
    ("AIDS", "ctgan"): (4.43, 0.95),
    ("WBCD", "remaining"): (0.45, 0.97),
    ("WBCD", "avatar"): (0.00, 1.00),
    ("WBCD", "synthpop"): (0.36, 0.96),
    ("WBCD", "ctgan"): (1.46, 0.94),
}


def _as_categories(frames: list[pd.DataFrame], columns: list[str]) -> None:
    for frame in frames:
        for column in columns:
            frame[column] = frame[column].astype("category")


def _wbcd() -> tuple[pd.DataFrame, pd.DataFrame]:
    original = pd.read_csv(shared("paper", "WBCD", "breast_cancer_wisconsin.csv"))
    original = original.drop(columns=["Sample_code_number"])
    avatars = pd.read_csv(shared("paper", "WBCD", "breast_cancer_wisconsin_avatarized_k20.csv"))
    _as_categories([original, avatars], ["Class"])
    return original, avatars


def _aids() -> tuple[pd.DataFrame, pd.DataFrame]:
    original = pd.read_csv(shared("paper", "AIDS", "aids_original_data.csv"), sep=";")
    original = original.drop(columns=["pidnum"])
    avatars = pd.read_csv(shared("paper", "AIDS", "aids_avatarized_base_k20_nf5.csv"))
    categorical = [c for c in original.columns if original[c].nunique() <= 10]
    _as_categories([original, avatars], categorical)
    return original, avatars


def test_wbcd_hidden_rate_and_local_cloaking_match_the_paper_figure() -> None:
    original, avatars = _wbcd()
    result = privacy_metrics(original, avatars, ncp=2, compute_attacks=False)
    # Figure WBCD_local_cloaking.svg: "Hidden rate = 93 %" (rounded), "Median = 25". Veil gets
    # 24: the figure predates the paper repo's January 2022 local-cloaking fix, whose old radius
    # count added one (avatar_method.md 4.2); the recomputation with the fixed code also gives 24.
    assert round(result["hidden_rate"]) == 93
    assert abs(result["local_cloaking"] - 25) <= 1


def test_aids_hidden_rate_and_local_cloaking_match_the_recomputation() -> None:
    original, avatars = _aids()
    result = privacy_metrics(original, avatars, ncp=5, compute_attacks=False)
    assert result["hidden_rate"] == pytest.approx(92.9, abs=0.2)
    assert result["local_cloaking"] == 11


def _split(dataset: str, name: str, i: int) -> pd.DataFrame:
    frame = pd.read_csv(shared("paper", dataset, "privacy", f"{name}_{i}.csv"))
    frame = frame.drop(columns=["Unnamed: 0"], errors="ignore")
    # As the paper's notebook did: mean imputation (AIDS), zero (WBCD).
    return frame.fillna(frame.mean()) if dataset == "AIDS" else frame.fillna(0)


@pytest.mark.parametrize("dataset", ["AIDS", "WBCD"])
def test_dcr_and_nndr_medians_match_the_paper_table(dataset: str) -> None:
    pooled: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {
        name: ([], []) for name in ("remaining", "avatar", "synthpop", "ctgan")
    }
    for i in range(10):
        train = _split(dataset, "holdout", i)
        others = {name: _split(dataset, name, i) for name in pooled}
        categorical = (
            ["Class"]
            if dataset == "WBCD"
            else [c for c in train.columns if train[c].nunique() <= 10]
        )
        _as_categories([train, *others.values()], categorical)
        tables = align_tables(train, train)
        # The paper's protocol: FAMD fitted on the training split with all components.
        model = fit_famd(tables.original, tables.continuous, tables.categorical)
        reference = model.transform(tables.original)
        for name, frame in others.items():
            aligned = align_tables(train, train, frame).holdout
            assert aligned is not None
            dcr, nndr = closest_two(reference, model.transform(aligned))
            pooled[name][0].append(dcr)
            pooled[name][1].append(nndr)
    for name, (dcr_parts, nndr_parts) in pooled.items():
        expected_dcr, expected_nndr = DCR_NNDR_MEDIANS[(dataset, name)]
        assert np.median(np.concatenate(dcr_parts)) == pytest.approx(expected_dcr, abs=0.05)
        assert np.median(np.concatenate(nndr_parts)) == pytest.approx(expected_nndr, abs=0.05)


def test_paper_results_file_agrees_with_the_table() -> None:
    """The table in section 4.2 was recomputed from this file; guard against a misread."""
    results = pd.read_csv(shared("paper", "results_df", "AIDS_DCR_NNDR_comparison_results.csv"))
    avatar = results[results["type"] == "Avatar"]
    assert avatar["dcr_values"].median() == pytest.approx(2.04, abs=0.005)
