"""Shared inputs of the figures and reports tests (no tests here).

A real table (WBCD, 683 rows) and a hand-made "avatar" copy: numeric columns shifted by rounded
Gaussian noise, the class column shuffled. The metrics dicts are hand-written in the Octopize shape
with one missed target (column_direct_match_protection) and some keys absent, so the reports have
a pass, a fail and a "not computed" to show.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from support import FIXTURES
from veil_service.engine.reports import (
    Figure,
    PiaContext,
    ReportContext,
    TableSummary,
    build_figures,
)

TABLES = FIXTURES / "tables"

TABLE = "wbcd"
PRIVACY: dict[str, Any] = {
    "hidden_rate": 93.21,
    "local_cloaking": 24.0,
    "distance_to_closest": 0.3125,
    "closest_distances_ratio": 0.8234,
    "row_direct_match_protection": 99.12,
    "column_direct_match_protection": 41.5,
    "correlation_protection_rate": 97.46,
    "inference_categorical": 12.38,
    "singling_out_risk": 3.1,
    "targets": {"hidden_rate": "> 90", "column_direct_match_protection": "> 50"},
    "metadata": {"table_name": TABLE, "computation_type": "standalone"},
}
SIGNAL: dict[str, Any] = {
    "hellinger_mean": 0.0523,
    "hellinger_std": 0.0311,
    "correlation_difference_ratio": 2.807,
    "metadata": {"table_name": TABLE},
}


@lru_cache(maxsize=1)
def wbcd_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(originals, perturbed copy standing in for avatars); callers must not mutate them."""
    original = pd.read_csv(TABLES / "wbcd.csv")
    rng = np.random.default_rng(7)
    avatars = original.copy()
    for column in avatars.columns[:-1]:
        noise = rng.normal(0.0, 1.0, len(avatars)).round()
        avatars[column] = (avatars[column] + noise).clip(1, 10)
    avatars["Class"] = avatars["Class"].sample(frac=1.0, random_state=3).to_numpy()
    return original, avatars


@lru_cache(maxsize=2)
def wbcd_figures(language: str = "en") -> tuple[Figure, ...]:
    """Figures of the WBCD pair, built once per language for the whole test session."""
    original, avatars = wbcd_tables()
    return tuple(
        build_figures(
            original, avatars, privacy=PRIVACY, signal=SIGNAL, table_name=TABLE, language=language
        )
    )


def wbcd_context(
    *,
    privacy: dict[str, Any] | None = PRIVACY,
    pia: PiaContext | None = None,
    with_figures: bool = True,
) -> ReportContext:
    """A report context for the WBCD pair; `privacy=None` simulates a missing privacy job."""
    original, avatars = wbcd_tables()
    return ReportContext(
        run_name="wbcd-demo",
        tables=(TableSummary.from_frames(TABLE, original, avatars),),
        parameters={TABLE: {"k": 20, "ncp": 5, "use_categorical_reduction": False}, "seed": 42},
        privacy={TABLE: privacy} if privacy is not None else {},
        signal={TABLE: SIGNAL},
        pia=pia or PiaContext(),
        figures={TABLE: wbcd_figures()} if with_figures else {},
    )
