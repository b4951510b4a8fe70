"""Privacy metrics on small tables whose answer is known by construction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from veil_service.engine.metrics import privacy_metrics
from veil_service.engine.metrics.distances import (
    closest_two,
    leave_one_out_two,
    own_avatar_search,
)
from veil_service.engine.metrics.matching import (
    categorical_hidden_rate,
    column_direct_match_protection,
    correlation_protection_rate,
    row_direct_match_protection,
)
from veil_service.engine.metrics.tables import align_tables


@pytest.fixture()
def mixed() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 400
    return pd.DataFrame(
        {
            "age": rng.integers(18, 90, n),
            "weight": rng.normal(70, 12, n).round(1),
            "sex": rng.choice(["F", "M"], n),
            "city": rng.choice(["a", "b", "c", "d"], n),
        }
    )


def _noisy(frame: pd.DataFrame, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = frame.copy()
    out["age"] = out["age"] + rng.integers(-8, 9, len(out))
    out["weight"] = (out["weight"] + rng.normal(0, 8, len(out))).round(1)
    flip = rng.random(len(out)) < 0.3
    out.loc[flip, "city"] = rng.choice(["a", "b", "c", "d"], int(flip.sum()))
    return out


def test_exact_copies_are_fully_exposed(mixed: pd.DataFrame) -> None:
    result = privacy_metrics(mixed, mixed.copy(), compute_attacks=False)
    assert result["hidden_rate"] < 5  # only exact duplicate originals can hide a copy
    assert result["local_cloaking"] == 0
    assert result["distance_to_closest"] == 0
    assert result["row_direct_match_protection"] == 0
    assert result["column_direct_match_protection"] < 50
    assert result["passed"]["hidden_rate"] is False


def test_noisy_avatars_are_more_private_than_copies(mixed: pd.DataFrame) -> None:
    result = privacy_metrics(mixed, _noisy(mixed), compute_attacks=False)
    assert result["hidden_rate"] > 50
    assert result["local_cloaking"] >= 1
    assert result["distance_to_closest"] > 0
    assert result["row_direct_match_protection"] == 100


def test_hidden_rate_breaks_exact_ties_toward_the_lowest_index() -> None:
    original = np.array([[0.0], [10.0], [20.0]])
    # Avatar 0 and avatar 1 both sit on original 1; original 0's avatar sits on it too.
    avatars = np.array([[10.0], [10.0], [20.0]])
    search = own_avatar_search(original, avatars)
    # Original 0: avatars 0 and 1 tie at 10; the attacker picks 0, its own: not hidden.
    # Original 1: avatars 0 and 1 tie at 0; the attacker picks 0, not its own: hidden.
    assert search.hidden.tolist() == [False, True, False]
    assert search.closer_count.tolist() == [1, 1, 0]  # ties count as closer


def test_local_cloaking_counts_avatars_closer_than_the_own_one() -> None:
    original = np.array([[0.0], [100.0], [200.0], [300.0]])
    avatars = np.array([[5.0], [101.0], [1.0], [301.0]])
    search = own_avatar_search(original, avatars)
    # Original 0: avatar 2 (at 1) beats its own (at 5). Original 2: its avatar went to 1, and
    # avatars 1, 3 and 0 are all closer to 200 than that.
    assert search.closer_count.tolist() == [1, 0, 3, 0]
    assert search.hidden.tolist() == [True, False, True, False]


def test_dcr_and_nndr() -> None:
    reference = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0]])
    dcr, nndr = closest_two(reference, np.array([[1.0, 0.0], [0.0, 0.0]]))
    assert dcr.tolist() == [1.0, 0.0]
    assert nndr.tolist() == pytest.approx([0.5, 0.0])
    loo_dcr, loo_nndr = leave_one_out_two(reference)
    assert loo_dcr.tolist() == [3.0, 3.0, 4.0]
    assert loo_nndr.tolist() == pytest.approx([0.75, 0.6, 0.8])


def test_nndr_is_one_on_duplicated_records() -> None:
    reference = np.array([[0.0], [0.0], [5.0]])
    _, nndr = closest_two(reference, np.array([[0.0]]))
    assert nndr.tolist() == [1.0]


def test_closest_rate_uses_the_holdout_distribution(mixed: pd.DataFrame) -> None:
    holdout = _noisy(mixed, seed=11).iloc[:100]
    far = privacy_metrics(mixed, _noisy(mixed), holdout=holdout, compute_attacks=False)
    copies = privacy_metrics(mixed, mixed.copy(), holdout=holdout, compute_attacks=False)
    assert far["details"]["closest_rate_reference"] == "holdout"
    assert copies["closest_rate"] < far["closest_rate"]
    assert copies["closest_rate"] == pytest.approx(0.0, abs=1.0)


def test_row_and_column_direct_match() -> None:
    original = pd.DataFrame({"id": [1, 2, 3, 4], "flag": ["y", "n", "y", "n"]})
    avatars = pd.DataFrame({"id": [1, 2, 7, 8], "flag": ["y", "n", "n", "y"]})
    tables = align_tables(original, avatars)
    assert row_direct_match_protection(tables) == 50.0
    minimum, per_column = column_direct_match_protection(tables)
    assert per_column["id"] == 50.0  # half the identifiers kept
    assert per_column["flag"] == 75.0  # two matches on values held by two rows: 1 - 1/4
    assert minimum == 50.0


def test_categorical_hidden_rate_closed_form() -> None:
    original = pd.DataFrame({"c": ["a", "b", "c", "d"], "x": [1.0, 2.0, 3.0, 4.0]})
    avatars = pd.DataFrame({"c": ["a", "a", "c", "z"], "x": [1.0, 2.0, 3.0, 4.0]})
    tables = align_tables(original, avatars)
    # Row 0: own avatar holds "a" with one other avatar -> 1/2; row 2: unique match -> 1.
    assert categorical_hidden_rate(tables, ["c"]) == pytest.approx(100 * (1 - 1.5 / 4))
    assert categorical_hidden_rate(tables, []) is None


def test_correlation_protection_rate_counts_single_matches() -> None:
    original = pd.DataFrame({"sex": ["F", "M", "M", "F"], "age": [30, 50, 50, 70]})
    avatars = pd.DataFrame({"sex": ["F", "M", "F", "F"], "age": [30, 70, 71, 70]})
    tables = align_tables(original, avatars)
    rate, counts = correlation_protection_rate(tables, ["sex", "age"], hidden_rate=0.0)
    # Unique originals: (F,30) and (F,70); (F,30) has one match, (F,70) has two (70 and 71).
    assert counts == {"unique_originals": 2, "single_matches": 1}
    assert rate == pytest.approx(100 * (1 - 1 / 4))


def test_inference_metrics_report_error_scores(mixed: pd.DataFrame) -> None:
    result = privacy_metrics(
        mixed, mixed.copy(), known_variables=["age", "weight"], target="city", compute_attacks=False
    )
    assert result["inference_categorical"] == pytest.approx(0.0, abs=1.0)
    assert result["inference_continuous"] is None
    numeric = privacy_metrics(
        mixed,
        _noisy(mixed),
        known_variables=["sex", "city"],
        target="weight",
        compute_attacks=False,
    )
    assert numeric["inference_continuous"] > 0
    assert numeric["inference_categorical"] is None


def test_closest_rate_without_holdout_uses_the_other_originals(mixed: pd.DataFrame) -> None:
    result = privacy_metrics(mixed, mixed.copy(), compute_attacks=False, quantile_threshold=10)
    assert result["details"]["closest_rate_reference"] == "original_leave_one_out"
    assert result["details"]["closest_rate_distance_threshold"] > 0
    assert result["closest_rate"] < 10  # copies sit closer than any other real record does


def test_details_report_what_the_tie_rule_does_on_duplicate_rows() -> None:
    # Three groups of identical rows, each avatar a copy of its own original: only the tie rule
    # hides anyone (the lowest index of a group is found, the others are not).
    original = pd.DataFrame({"a": ["x"] * 6 + ["y"] * 3 + ["z"] * 1, "b": [1.0] * 10})
    original.loc[9, "b"] = 2.0
    result = privacy_metrics(original, original.copy(), compute_attacks=False)
    details = result["details"]
    assert details["hidden_rate_tie_rule"] == "lowest_index"
    assert result["hidden_rate"] == pytest.approx(100 * 7 / 10)  # 5 + 2 hidden by the rule
    assert details["hidden_rate_tied_share"] == pytest.approx(90.0)
    assert details["hidden_rate_if_ties_found"] == 0.0
    # Random tie-breaking: 5/6 of the first group, 2/3 of the second, the lone row found.
    assert details["hidden_rate_if_ties_random"] == pytest.approx(100 * (5 + 2) / 10)
