"""Assignment of avatar children to avatar parents: capacities, optimality, scale."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist
from veil_service.engine.multitable.assignment import (
    apportion,
    assign_linear_sum,
    assign_minimum_distance,
    assign_original_order,
    calibrated_counts,
    total_distance,
)


def problem(n_parents: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    parents = rng.normal(size=(n_parents, d))
    capacity = rng.poisson(3, n_parents)
    children = parents[np.repeat(np.arange(n_parents), capacity)]
    children = children + rng.normal(scale=0.5, size=children.shape)
    return children[rng.permutation(len(children))], parents, capacity


def exact(children: np.ndarray, parents: np.ndarray, capacity: np.ndarray) -> float:
    slots = np.repeat(np.arange(len(parents)), capacity)
    rows, cols = linear_sum_assignment(cdist(children, parents[slots]))
    assigned = np.empty(len(children), dtype=np.intp)
    assigned[rows] = slots[cols]
    return total_distance(children, parents, assigned)


def test_apportion_is_proportional_and_exact() -> None:
    capacity = apportion(10, np.array([1.0, 1.0, 2.0, 0.0, -3.0]))
    assert capacity.sum() == 10
    assert list(capacity) == [2, 3, 5, 0, 0] or list(capacity) == [3, 2, 5, 0, 0]
    assert apportion(7, np.zeros(3)).sum() == 7
    assert apportion(0, np.array([2.0, 5.0])).sum() == 0
    rng = np.random.default_rng(0)
    assert apportion(7, np.zeros(3), rng).sum() == 7
    assert apportion(0, np.array([2.0, 5.0]), rng).sum() == 0


def test_drawn_apportion_keeps_the_shape_of_whole_counts() -> None:
    """Avatar counts 1-5 summing to 287 for 300 children (Tutorial 3's patients at k 64): the
    largest-remainder rule turns nearly every 4 into a 5, the drawn one moves a share of each
    class."""
    counts = np.repeat([1.0, 2.0, 3.0, 4.0, 5.0], [28, 64, 23, 13, 2])
    quota = counts * 300 / counts.sum()
    fixed = apportion(300, counts)
    # The defect: every 5 becomes a 6 and 11 of the 13 fours become 5 (the 13 extra children).
    assert list(np.bincount(fixed, minlength=7)) == [0, 28, 64, 23, 2, 11, 2]
    draws = np.array([apportion(300, counts, np.random.default_rng(s)) for s in range(400)])
    assert (draws.sum(axis=1) == 300).all()
    assert ((draws == np.floor(quota)) | (draws == np.ceil(quota))).all()
    # Every parent's expected capacity is its quota; a class of 4 mostly stays 4 (4.18 each).
    assert np.abs(draws.mean(axis=0) - quota).max() < 0.08
    fours = draws[:, counts == 4]
    assert 0.7 < (fours == 4).mean() < 0.9
    assert np.array_equal(
        apportion(300, counts, np.random.default_rng(5)),
        apportion(300, counts, np.random.default_rng(5)),
    )


def test_apportion_keeps_every_capacity_within_the_limit() -> None:
    """Avatar counts of 20 parents, 15 childless, adding up to 2.9 for 13 children: scaled, the
    three non-zero ones became 6, 4 and 3 (the original's most was 3); capped, the children left
    go to the others by weight, then evenly."""
    weights = np.r_[[1.26, 0.95, 0.73], np.zeros(17)]
    assert sorted(apportion(13, weights))[-3:] == [3, 4, 6]  # without a limit
    for seed in range(20):
        capacity = apportion(13, weights, np.random.default_rng(seed), limit=3)
        assert capacity.sum() == 13
        assert capacity.max() == 3
        assert list(capacity[:3]) == [3, 3, 3]
        assert (capacity[3:] <= 1).all()
    capacity = apportion(10, np.array([5.0, 1.0, 1.0, 1.0]), limit=3)
    assert list(capacity) == [3, 3, 2, 2] or list(capacity) == [3, 2, 3, 2]
    # A limit the parents cannot meet is raised to the smallest that holds every child.
    assert list(apportion(9, np.array([1.0, 0.0, 0.0]), limit=2)) == [3, 3, 3]


@pytest.mark.parametrize("n_parents", [40, 700])
def test_every_method_respects_capacities(n_parents: int) -> None:
    children, parents, capacity = problem(n_parents, 4, seed=n_parents)
    for assigned in (
        assign_linear_sum(children, parents, capacity),
        assign_minimum_distance(children, parents, capacity),
    ):
        assert np.array_equal(np.bincount(assigned, minlength=n_parents), capacity)


def test_small_problems_are_solved_exactly() -> None:
    children, parents, capacity = problem(40, 3, seed=1)
    assert len(children) <= 256
    assigned = assign_linear_sum(children, parents, capacity)
    assert total_distance(children, parents, assigned) == pytest.approx(
        exact(children, parents, capacity)
    )


def test_large_problems_stay_close_to_the_optimum_and_beat_the_greedy() -> None:
    children, parents, capacity = problem(800, 4, seed=2)
    assert len(children) > 2000
    optimum = exact(children, parents, capacity)
    refined = total_distance(children, parents, assign_linear_sum(children, parents, capacity))
    greedy = total_distance(children, parents, assign_minimum_distance(children, parents, capacity))
    assert optimum <= refined <= greedy
    assert refined <= 1.03 * optimum
    assert greedy <= 1.2 * optimum


def test_without_capacity_pressure_the_greedy_takes_the_nearest_parent() -> None:
    rng = np.random.default_rng(3)
    parents = rng.normal(size=(50, 2))
    children = rng.normal(size=(20, 2))
    nearest = cdist(children, parents).argmin(axis=1)
    capacity = np.bincount(nearest, minlength=50)
    assigned = assign_minimum_distance(children, parents, capacity)
    assert np.array_equal(assigned, nearest)


def test_original_order_maps_children_to_their_original_parents() -> None:
    original = np.array([2, 0, 0, 1])
    assert list(assign_original_order(original, np.arange(3))) == [2, 0, 0, 1]


def test_same_seed_same_assignment() -> None:
    children, parents, capacity = problem(300, 3, seed=4)
    first = assign_linear_sum(children, parents, capacity, seed=5)
    again = assign_linear_sum(children, parents, capacity, seed=5)
    assert np.array_equal(first, again)


def test_mismatched_capacities_are_a_programming_error() -> None:
    children, parents, capacity = problem(10, 2, seed=6)
    with pytest.raises(ValueError, match="capacities add up"):
        assign_linear_sum(children, parents, capacity + 1)
    with pytest.raises(ValueError, match="capacities add up"):
        assign_minimum_distance(children, parents, capacity + 1)


def test_calibrated_counts_take_the_original_distribution_in_the_avatars_order() -> None:
    """Ranked by the avatarized counts (local means, pulled toward the average), the parents
    take the original counts' quantiles: with k 1 exactly the original's distribution."""
    rng = np.random.default_rng(0)
    original = np.array([0.0] * 6 + [1.0, 2.0, 4.0, 9.0])
    avatar = np.array([0.3, 0.1, 2.5, 0.2, 0.0, 1.1, 0.4, 3.0, 0.35, 0.5])
    out = calibrated_counts(avatar, original, 1, rng)
    assert sorted(out) == sorted(original)
    assert out[7] == 9.0 and out[2] == 4.0 and out[5] == 2.0  # the largest means, the largest
    assert out[4] == 0.0 and out[1] == 0.0


def test_calibrated_counts_average_each_level_over_the_window() -> None:
    """No level is one parent's own count unless 3 parents share it: the largest count, 9,
    becomes the mean of the 3 largest; the zeros shared by six parents stay zeros."""
    original = np.array([0.0] * 6 + [1.0, 2.0, 4.0, 9.0])
    out = calibrated_counts(np.arange(10.0), original, 3, np.random.default_rng(0))
    assert out[-1] == pytest.approx(5.0)
    assert (out[:5] == 0.0).all()
    assert out.max() < original.max()
    assert np.all(np.diff(out) >= 0)


def test_calibrated_counts_map_onto_a_table_of_another_size() -> None:
    """An augmented table has more avatar parents than original ones: the quantiles apply."""
    original = np.array([0.0, 0.0, 1.0, 3.0])
    out = calibrated_counts(np.arange(8.0), original, 1, np.random.default_rng(0))
    assert list(out) == [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 3.0, 3.0]
