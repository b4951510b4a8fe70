"""The shortcuts of the privacy metrics' neighbour searches give the plain searches' answers.

Issue 17 item 6 (privacy metrics on 1M rows): duplicate query points are searched once
(``distances.nearest``) and the inference metrics and the inference accuracy ratio share one
nearest-avatar search. Each shortcut is compared here with the plain computation on small tables
full of duplicates and exact ties, where a wrong tie rule or a misplaced copy would show.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial import cKDTree
from veil_service.engine.metrics import privacy_metrics
from veil_service.engine.metrics.distances import distinct_rows, nearest, query
from veil_service.engine.metrics.inference import nearest_avatar_on
from veil_service.engine.metrics.octopize_rates import inference_accuracy_ratio
from veil_service.engine.metrics.tables import align_tables


def _grid(rows: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 4, size=(rows, 3)).astype(np.float64) * 0.37


def test_distinct_rows_groups_equal_rows_in_order_of_first_appearance() -> None:
    values = np.array([[1.0, np.nan], [2.0, 0.0], [1.0, np.nan], [2.0, 0.0], [2.0, 1.0]])
    first, group = distinct_rows(values)
    assert first.tolist() == [0, 1, 4]
    assert group.tolist() == [0, 1, 0, 1, 2]
    np.testing.assert_array_equal(values[first][group], values)


@pytest.mark.parametrize("rows", [5, 3_000])
def test_nearest_equals_the_plain_kd_tree_search_with_duplicates_and_ties(rows: int) -> None:
    reference, queries = _grid(rows, 1), _grid(2 * rows, 2)
    assert len(np.unique(queries, axis=0)) < len(queries)  # duplicates are what is shortcut
    _, plain = query(cKDTree(reference), queries, 1)
    found = nearest(reference, queries)
    assert found.dtype == np.int64
    np.testing.assert_array_equal(found, plain[:, 0])


def _people(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.integers(20, 30, rows),
            "sex": rng.choice(["F", "M"], rows),
            "city": rng.choice(["a", "b", "c"], rows),
            "income": rng.choice(["low", "high"], rows),
            "weight": rng.normal(70, 10, rows).round(1),
        }
    )


def test_inference_accuracy_ratio_with_shared_guesses_equals_its_own_search() -> None:
    original = _people(2_000, 3)
    avatars = _people(2_000, 4)
    tables = align_tables(original, avatars)
    known = ["age", "sex", "city"]
    guesses = nearest_avatar_on(tables, known)
    shared = inference_accuracy_ratio(tables, known, "income", 0, guesses)
    alone = inference_accuracy_ratio(tables, known, "income", 0)
    assert shared is not None
    assert shared == alone


def test_privacy_metrics_inference_figures_follow_the_shared_search() -> None:
    original = _people(1_500, 5)
    avatars = _people(1_500, 6)
    known = ["age", "sex", "city"]
    result = privacy_metrics(
        original, avatars, known_variables=known, target="income", compute_attacks=False
    )
    tables = align_tables(original, avatars)
    guesses = nearest_avatar_on(tables, known)
    truth = tables.original["income"].to_numpy(dtype=object)
    guessed = tables.avatars["income"].to_numpy(dtype=object)[guesses]
    assert result["inference_categorical"] == pytest.approx(100.0 * np.mean(truth != guessed))
    assert result["inference_accuracy_ratio"] == inference_accuracy_ratio(
        tables, known, "income", 0
    )
