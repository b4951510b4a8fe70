"""Large tables: training batch with every modality, batches in parallel, progress reported."""

from __future__ import annotations

import numpy as np
import pandas as pd
from support import FIXTURES
from veil_service.engine.avatarize import avatarize
from veil_service.engine.avatarize.batching import split_batches

ADULT = FIXTURES / "tables" / "adult_6000.csv.gz"


def test_split_puts_every_modality_in_the_training_batch() -> None:
    rng = np.random.default_rng(0)
    codes = np.column_stack([rng.integers(0, 30, 5000), rng.integers(0, 3, 5000)]).astype(np.int32)
    codes[4999, 0] = 30  # a modality seen only on the last row
    batches = split_batches(codes, 1000, np.random.default_rng(1))
    assert len(batches) == 5
    assert sorted(np.concatenate(batches).tolist()) == list(range(5000))
    assert all(len(b) == 1000 for b in batches)
    training = codes[batches[0]]
    assert set(training[:, 0]) == set(range(31))
    assert set(training[:, 1]) == {0, 1, 2}


def test_single_batch_when_the_table_fits() -> None:
    codes = np.zeros((300, 1), dtype=np.int32)
    assert [len(b) for b in split_batches(codes, 1000, np.random.default_rng(0))] == [300]


def test_batched_avatarization_keeps_shape_types_and_reports_progress() -> None:
    adult = pd.read_csv(ADULT, nrows=6000)
    events: list[tuple[float, str]] = []
    result = avatarize(
        adult,
        k=20,
        max_rows_per_batch=2000,
        n_jobs=2,
        seed=9,
        progress=lambda fraction, phase: events.append((fraction, phase)),
    )
    assert result.n_batches == 3
    assert result.avatars.shape == adult.shape
    assert result.avatars.dtypes.to_dict() == adult.dtypes.to_dict()
    assert result.original_projections.shape == (6000, 5)
    assert result.avatar_projections.shape == (6000, 5)
    fractions = [f for f, _ in events]
    assert fractions == sorted(fractions)
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    phases = [p for _, p in events]
    assert {"validating", "imputing", "fitting projection", "done"} <= set(phases)
    assert [p for p in phases if p.startswith("avatarizing batch")] == [
        "avatarizing batch 1/3",
        "avatarizing batch 2/3",
        "avatarizing batch 3/3",
    ]
    # Each batch keeps the marginals: the share of high incomes stays close.
    share = (adult["income"] == ">50K").mean()
    assert abs((result.avatars["income"] == ">50K").mean() - share) < 0.05


def test_batches_avatarize_within_themselves() -> None:
    adult = pd.read_csv(ADULT, nrows=4000)
    whole = avatarize(adult, k=20, seed=2)
    batched = avatarize(adult, k=20, max_rows_per_batch=1000, n_jobs=1, seed=2)
    assert whole.n_batches == 1 and batched.n_batches == 4
    for result in (whole, batched):
        assert abs(result.unshuffled["age"].mean() - adult["age"].mean()) < 1.0
