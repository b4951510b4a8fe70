"""Open DP and Fast DP avatarization: OpenDP's accounting, stability, membership, errors."""

from __future__ import annotations

import math

import numpy as np
import opendp.prelude as dp
import pandas as pd
import pytest
from support import soak
from veil_service.engine.dp_avatar import (
    FastDPParameters,
    OpenDPParameters,
    fast_dp_avatarize,
    open_dp_avatarize,
)
from veil_service.engine.dp_avatar.ledger import (
    MEASURE,
    TABLE_DOMAIN,
    TABLE_METRIC,
    gaussian_counts,
    noisy_max,
    thresholded_counts,
)
from veil_service.errors import InvalidArgumentError

dp.enable_features("contrib")


def table(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    x = np.round(rng.normal(50, 10, n) + (group == "a") * 15)
    return pd.DataFrame({"group": group, "x": x.astype(int), "y": rng.integers(0, 5, n)})


@pytest.fixture(scope="module")
def released() -> tuple[pd.DataFrame, object]:
    df = table()
    return df, open_dp_avatarize(df, OpenDPParameters(epsilon=2.0, seed=1, model_iterations=100))


def test_privacy_loss_is_opendp_own_map_of_the_composition(released: tuple) -> None:
    _, result = released
    planned = [loss for _, loss in result.budget]
    # OpenDP itself composes the planned (rho, delta) shares to the reported zCDP map...
    composition = dp.c.make_adaptive_composition(
        TABLE_DOMAIN, TABLE_METRIC, MEASURE, d_in=1, d_mids=planned
    )
    assert composition.map(1) == pytest.approx(result.rho, rel=1e-12)
    assert sum(rho for rho, _ in planned) == pytest.approx(result.rho[0], rel=1e-12)
    # ...half of delta goes to the category thresholds (one categorical column here)...
    assert sum(d for _, d in planned) == pytest.approx(0.5e-7)
    # ...and OpenDP's own conversion at the job's delta gives the reported (epsilon, delta):
    # the request, to the bisection's precision, never above it.
    converted = dp.c.make_fix_delta(dp.c.make_zCDP_to_approxDP(composition), 1e-7).map(1)
    assert converted == pytest.approx((result.epsilon, result.delta), rel=1e-12)
    assert result.epsilon <= 2.0 and result.epsilon == pytest.approx(2.0, rel=1e-6)
    assert result.delta == pytest.approx(1e-7)
    # The classical bound rho + 2 sqrt(rho ln(1/delta)) (Bun and Steinke) on what is left of
    # delta after the thresholds is above OpenDP's tighter conversion, and of the same order.
    rho = result.rho[0]
    classical = rho + 2 * math.sqrt(rho * math.log(1 / 0.5e-7))
    assert 2.0 < classical < 2.5
    # Every release, as OpenDP maps it, stayed within its share.
    assert [name for name, _ in result.steps] == [name for name, _ in result.budget]
    for (_, (rho_step, delta)), (_, (rho_plan, delta_plan)) in zip(
        result.steps, result.budget, strict=True
    ):
        assert rho_step <= rho_plan * (1 + 1e-9) and delta <= delta_plan + 1e-18
    names = [name for name, _ in result.steps]
    assert names[0] == "rows" and "categories:group" in names
    assert {"range:x", "bins:x"} <= set(names)
    # Three columns: a spanning tree of two pairs (selected, then measured), then one extra
    # pair selected against the model of the tree and measured.
    assert names[-6:] == [
        "select:0", "select:1", "measure:0", "measure:1", "select:2", "measure:2"
    ]  # fmt: skip
    assert len(result.pairs) == 3 and len(set(result.pairs)) == 3


def test_a_named_target_column_is_a_public_star_measured_without_selection() -> None:
    df = table()
    result = open_dp_avatarize(
        df, OpenDPParameters(epsilon=2.0, seed=1, model_iterations=100, target_column="y")
    )
    planned = [loss for _, loss in result.budget]
    composition = dp.c.make_adaptive_composition(
        TABLE_DOMAIN, TABLE_METRIC, MEASURE, d_in=1, d_mids=planned
    )
    assert composition.map(1) == pytest.approx(result.rho, rel=1e-12)
    converted = dp.c.make_fix_delta(dp.c.make_zCDP_to_approxDP(composition), 1e-7).map(1)
    assert converted == pytest.approx((result.epsilon, result.delta), rel=1e-12)
    assert result.epsilon <= 2.0 and result.epsilon == pytest.approx(2.0, rel=1e-6)
    for (_, (rho_step, delta)), (_, (rho_plan, delta_plan)) in zip(
        result.steps, result.budget, strict=True
    ):
        assert rho_step <= rho_plan * (1 + 1e-9) and delta <= delta_plan + 1e-18
    # The tree is the star of y, chosen in public: its two pairs are measured with no selection
    # step (each gets its round's whole share), then the extra pair is selected and measured.
    names = [name for name, _ in result.steps]
    assert names[-4:] == ["measure:0", "measure:1", "select:2", "measure:2"]
    budget = dict(result.budget)
    assert budget["measure:0"][0] == pytest.approx(budget["select:2"][0] + budget["measure:2"][0])
    assert result.pairs[:2] == [("group", "y"), ("x", "y")]
    assert len(set(result.pairs)) == 3
    with pytest.raises(InvalidArgumentError, match="target_column") as caught:
        open_dp_avatarize(df, OpenDPParameters(epsilon=1.0, target_column="nope"))
    assert caught.value.field == "target_column"


def test_each_step_matches_the_opendp_mechanism_built_directly() -> None:
    df = table()
    counts = gaussian_counts(lambda t: [len(t)], 0.125)
    # Discrete Gaussian on integer counts: OpenDP's own make_gaussian at scale 2 gives
    # rho = 1 / (2 x 2^2) = 0.125 for an L2 sensitivity of 1.
    direct = dp.m.make_gaussian(
        dp.vector_domain(dp.atom_domain(T=int)), dp.l2_distance(T=int), scale=2.0
    )
    assert counts.measurement.map(1)[0] == pytest.approx(direct.map(1))
    assert counts.scale == pytest.approx(2.0, rel=1e-6)
    threshold = thresholded_counts(
        lambda t: {k: int(v) for k, v in t["group"].value_counts().items()}, 0.5, 1e-7
    )
    rho, delta = threshold.measurement.map(1)
    assert rho == pytest.approx(0.5) and delta <= 1e-7
    released = threshold.measurement(df)
    assert set(released) <= set(df["group"])
    # Report noisy max under zCDP: OpenDP's make_noisy_max built directly at the same scale.
    # Scores moving by 4 per row, at the Gumbel scale 8 / sqrt(8 x 0.01) (OpenDP's map for
    # scores that may move in opposite directions: rho = (2 x 4 / scale)^2 / 8).
    selection = noisy_max(lambda t: [1.0, 2.0], 0.01, sensitivity=4.0)
    direct_max = dp.m.make_noisy_max(
        dp.vector_domain(dp.atom_domain(T=float, nan=False)),
        dp.linf_distance(T=float),
        dp.zero_concentrated_divergence(),
        scale=8 / math.sqrt(0.08),
    )
    assert selection.map(1)[0] == pytest.approx(direct_max.map(4.0), rel=1e-6)
    assert selection.map(1)[0] == pytest.approx(0.01, rel=1e-6)
    assert selection(df) in (0, 1)


def test_counting_transformations_are_one_stable_on_neighbouring_tables() -> None:
    df = table()
    neighbour = df.drop(index=17)
    for count in (
        lambda t: np.bincount(t["y"], minlength=5),
        lambda t: np.bincount(t["x"].clip(0, 100), minlength=101),
    ):
        assert np.abs(count(df) - count(neighbour)).sum() <= 1
    assert abs(len(df) - len(neighbour)) <= 1


@pytest.mark.soak
# Sixteen full generations; each compiles its graphical model with jax (its cliques depend on
# the noisy pair selection): about a minute each on a machine shared by a dozen busy processes.
@pytest.mark.timeout(1800)
def test_a_unique_category_is_never_released_and_outliers_stay_bounded() -> None:
    """Membership experiment on neighbouring tables (one row with a unique category and an
    extreme value, present or absent): each event's frequency with the row is within e^ε of its
    frequency without it (plus sampling slack), and the unique category never appears.

    Each run is two full generations: ``make test`` runs one (the category check; the frequency
    bound is loose there), ``make soak`` eight."""
    base = table(300, seed=3)
    target = pd.DataFrame({"group": ["Zed"], "x": [1000], "y": [4]})
    with_row = pd.concat([base, target], ignore_index=True)
    epsilon, runs = 1.0, soak(1, 8)
    events = {True: [], False: []}
    for present, data in ((True, with_row), (False, base)):
        for seed in range(runs):
            out = open_dp_avatarize(
                data, OpenDPParameters(epsilon=epsilon, seed=seed, model_iterations=30)
            ).avatars
            assert not (out["group"] == "Zed").any()
            events[present].append(bool((out["x"] > 500).any()))
    p_with, p_without = np.mean(events[True]), np.mean(events[False])
    slack = 3 * math.sqrt(0.25 / runs)
    assert p_with <= math.exp(epsilon) * p_without + slack
    assert p_without <= math.exp(epsilon) * p_with + slack


def test_declared_public_domains_cost_no_range_or_category_budget() -> None:
    df = table()
    result = open_dp_avatarize(
        df,
        OpenDPParameters(
            epsilon=1.0,
            seed=0,
            model_iterations=50,
            public_domains={"group": ["a", "b", "c"], "x": [0, 120], "y": [0, 4]},
        ),
    )
    names = [name for name, _ in result.steps]
    assert not any(n.startswith(("range:", "categories:")) for n in names)
    # No threshold: no step spends delta; the job's delta goes to the zCDP conversion alone.
    assert all(delta == 0.0 for _, (_, delta) in result.steps)
    assert result.delta == pytest.approx(1e-7) and result.epsilon <= 1.0
    assert set(result.avatars["group"].dropna()) <= {"a", "b", "c"}
    assert result.avatars["x"].between(0, 120).all()
    assert result.public_columns == ["group", "x", "y"]


@pytest.mark.parametrize("epsilon", [0, -1.0, float("nan"), float("inf"), "1", True])
def test_bad_epsilon_is_refused_naming_the_field(epsilon: object) -> None:
    with pytest.raises(InvalidArgumentError, match="open_dp_epsilon") as caught:
        OpenDPParameters(epsilon=epsilon)  # type: ignore[arg-type]
    assert caught.value.field == "open_dp_epsilon"
    with pytest.raises(InvalidArgumentError, match="fast_dp_epsilon"):
        FastDPParameters(epsilon=epsilon)  # type: ignore[arg-type]


def test_other_bad_parameters_are_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="preprocess_budget_ratio"):
        OpenDPParameters(epsilon=1, preprocess_budget_ratio=1.0)
    with pytest.raises(InvalidArgumentError, match="mechanism must be one of"):
        FastDPParameters(epsilon=1, mechanism="laplace")
    with pytest.raises(InvalidArgumentError, match="bounds_percentile"):
        FastDPParameters(epsilon=1, bounds_percentile=50)
    with pytest.raises(InvalidArgumentError, match="gmm_n_components"):
        FastDPParameters(epsilon=1, gmm_n_components=0)
    with pytest.raises(InvalidArgumentError, match="public_domains names"):
        open_dp_avatarize(table(), OpenDPParameters(epsilon=1, public_domains={"nope": [1, 2]}))


# The ε at which each mechanism keeps the group/x relation (group a is 15 higher) in every
# draw: OpenDP's Laplace noise is not seeded (a seedable DP noise would be no DP noise), so
# the margin must hold over draws. Measured over 40 draws each (600 rows): gaussian and
# histogram keep a gap of at least 6.2 and 4.4 at ε = 5; the GMM splits ε over its
# initial fit and three EM rounds and lost the relation in 1 of 40 draws at ε = 5 (gap
# -0.1 to 7.6), none at ε = 20 (gap at least 7.3).
RELATION_EPSILON = {"gaussian": 5.0, "gmm": 20.0, "histogram": 5.0}


@pytest.mark.parametrize("mechanism", ["gaussian", "gmm", "histogram"])
def test_fast_dp_mechanisms_generate_typed_rows_and_say_they_are_not_end_to_end(
    mechanism: str,
) -> None:
    df = table()
    epsilon = RELATION_EPSILON[mechanism]
    result = fast_dp_avatarize(
        df, FastDPParameters(epsilon=epsilon, mechanism=mechanism, gmm_n_components=3, seed=0)
    )
    assert result.end_to_end_dp is False
    assert result.epsilon == pytest.approx(epsilon)
    assert list(result.avatars.columns) == list(df.columns)
    assert len(result.avatars) == len(df)
    assert result.avatars["x"].dtype == df["x"].dtype
    low, high = result.bounds["x"]
    assert (low, high) == tuple(np.percentile(df["x"], [5, 95]))
    assert result.avatars["x"].between(low, high).all()
    assert set(result.avatars["group"]) <= {"a", "b", "c"}
    # The group/x relation survives the noise at the mechanism's ε above.
    means = result.avatars.groupby("group")["x"].mean()
    assert means["a"] > means.drop("a").max()
