"""Fidelity to the paper (Guillaudeux et al. 2023): hidden rate and local cloaking at k=20.

Paper figures: WBCD (k=20, ncp=2) hidden rate 93 %, median local cloaking 25; AIDS (k=20, ncp=5)
92.9 % and 11 (avatar_method.md sections 4.2 and 8). The metrics are computed as the paper did:
FAMD fitted on the originals, nf = ncp, AIDS' missing cd496 mean-imputed for the metric only.
The paper's own method: unbounded weights, no local noise, no redraw (Veil's defaults differ,
docs/avatarization.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from paper_data import (
    hidden_rate_and_local_cloaking,
    load_aids,
    load_wbcd,
    metric_coordinates,
    paper_categoricals,
    shared,
)
from veil_service.engine.avatarize import avatarize

PAPER_METHOD = {"max_weight": 1.0, "local_noise": 0.0, "redraw_unique_copies": False}


def test_wbcd_matches_the_paper_hidden_rate_and_local_cloaking() -> None:
    wbcd = load_wbcd()
    # The paper's WBCD run cast every column to category (avatarize_WBCD_time.py).
    result = avatarize(wbcd.astype("category"), k=20, ncp=2, seed=7, **PAPER_METHOD)
    avatars = result.unshuffled.astype("int64")
    # The paper's metric treats WBCD's 1-10 scores as numbers.
    orig, avat = metric_coordinates(wbcd, avatars, [], nf=2)
    hidden, cloaking = hidden_rate_and_local_cloaking(orig, avat)
    assert abs(hidden - 93.0) <= 3.0, hidden
    assert abs(cloaking - 25.0) <= 6.0, cloaking
    assert result.projection_kind == "MCA"


def test_aids_matches_the_paper_hidden_rate_and_local_cloaking() -> None:
    aids = load_aids()
    categorical = [c for c in paper_categoricals(aids) if c != "zprior"]
    # zprior is constant (always 1): avatarization refuses constant columns, so it is excluded
    # and re-attached unchanged.
    result = avatarize(
        aids,
        k=20,
        ncp=5,
        categorical_columns=categorical,
        exclude_variable_names=["zprior"],
        seed=7,
        **PAPER_METHOD,
    )
    avatars = result.unshuffled
    assert avatars["cd496"].isna().sum() == pytest_approx_count(aids["cd496"].isna().sum())
    mean = aids["cd496"].mean()
    originals = aids.assign(cd496=aids["cd496"].fillna(mean))
    avatars = avatars.assign(cd496=avatars["cd496"].fillna(mean))
    orig, avat = metric_coordinates(originals, avatars, paper_categoricals(aids), nf=5)
    hidden, cloaking = hidden_rate_and_local_cloaking(orig, avat)
    assert abs(hidden - 92.9) <= 3.0, hidden
    assert abs(cloaking - 11.0) <= 4.0, cloaking
    assert result.projection_kind == "FAMD"


def pytest_approx_count(expected: int) -> object:
    """Missing values are reproduced, not copied: the count stays within 10 % of the original's
    (the paper's k=20 avatars had 790 for 797)."""

    class _Within:
        def __eq__(self, other: object) -> bool:
            return (
                isinstance(other, int | np.integer) and abs(int(other) - expected) <= 0.1 * expected
            )

        def __repr__(self) -> str:
            return f"{expected} +- 10 %"

    return _Within()


def test_paper_avatars_give_the_paper_figures_with_these_metrics() -> None:
    # Calibrates the metric code itself on the paper's own k=20 avatar files.
    wbcd = load_wbcd()
    paper = pd.read_csv(shared("paper", "WBCD", "breast_cancer_wisconsin_avatarized_k20.csv"))[
        wbcd.columns
    ]
    hidden, cloaking = hidden_rate_and_local_cloaking(*metric_coordinates(wbcd, paper, [], nf=2))
    assert round(hidden, 1) == 92.7
    assert cloaking == 24.0
