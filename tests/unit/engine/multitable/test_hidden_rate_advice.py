"""Per-table k aimed at a matched hidden rate (engine/multitable/hidden_rate_advice.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from linked_data import hospital
from linked_fixtures import sensors
from veil_service.engine.metrics import privacy_metrics
from veil_service.engine.multitable import (
    Link,
    Schema,
    TableKeys,
    TableParameters,
    avatarize_tables,
)
from veil_service.engine.multitable.hidden_rate_advice import (
    HELD_OUT_OFFSET,
    MAX_CONFIRMATIONS,
    NEIGHBOUR_ENTRIES,
    KTrial,
    _plan_table,
    advise_linked_k,
    confirm_choice,
    k_candidates,
    k_limit,
    seeds_for,
    series_features,
)
from veil_service.engine.multitable.matched_measures import (
    ReleaseMeasures,
    fresh_sample_hidden_rate,
    matched_hidden_rate,
    matched_measures,
    matched_pairs,
    table_fidelity,
)
from veil_service.engine.timeseries import TimeSeriesParameters
from veil_service.errors import InvalidArgumentError

SCHEMA = Schema(
    (TableKeys("patient", "p_id"), TableKeys("visit", "visit_id", ("p_id",))),
    (Link("patient", "p_id", "visit", "p_id"),),
)


def tables() -> dict[str, pd.DataFrame]:
    return hospital(120, 3.0, seed=4)


def parameters(k: int = 5) -> dict[str, TableParameters]:
    return {"patient": TableParameters({"k": k}), "visit": TableParameters({"k": 5})}


def test_matched_pairs_find_a_shuffled_copy_row_for_row() -> None:
    original = tables()["patient"][["age", "sex", "income"]]
    shuffled = original.sample(frac=1.0, random_state=1).reset_index(drop=True)
    pairs = matched_pairs(original, shuffled)
    pd.testing.assert_frame_equal(pairs, original.reset_index(drop=True))
    # Every original is its own pair's nearest record: nothing is hidden.
    assert matched_hidden_rate(original, shuffled) == 0.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_lean_measures_give_the_full_metrics_values(seed: int) -> None:
    # The search aligns a release once and computes the hidden rate alone; the figures must be
    # those of privacy_metrics on the matched pairs, to the bit, here with modalities the
    # synthetic rows have and the originals lack (codes the originals' projection ignores) and
    # missing values.
    rng = np.random.default_rng(seed)
    patients = tables()["patient"][["age", "sex", "income"]]
    original = patients.sample(100, random_state=seed).reset_index(drop=True)
    synthetic = patients.sample(100, random_state=seed + 10).reset_index(drop=True)
    synthetic["income"] = synthetic["income"] * rng.uniform(0.9, 1.1, len(synthetic))
    synthetic.loc[:4, "sex"] = "unknown"
    synthetic.loc[5:9, "age"] = np.nan
    pairs = matched_pairs(original, synthetic)
    full = privacy_metrics(original, pairs, compute_attacks=False, threads=1)["hidden_rate"]
    assert 0.0 < full < 100.0
    assert matched_hidden_rate(original, synthetic) == full
    assert matched_measures(original, synthetic) == (full, table_fidelity(original, synthetic))
    # Many releases of one original, its pairing and hidden-rate projections fitted and the
    # original aligned once (at the first release, or beforehand by prepare()): the same
    # values, to the bit.
    measures = ReleaseMeasures(original)
    prepared = ReleaseMeasures(original)
    prepared.prepare()
    for release in (synthetic, original.sample(frac=1.0, random_state=seed), pairs):
        expected = (matched_hidden_rate(original, release), table_fidelity(original, release))
        assert measures(release) == expected
        assert prepared(release) == expected


def test_matched_hidden_rate_grows_with_the_distance_from_the_originals() -> None:
    rng = np.random.default_rng(0)
    original = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    near = (original + rng.normal(scale=0.01, size=original.shape)).sample(frac=1.0)
    fresh = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    # A barely moved copy is found record for record; a new sample of the same population is
    # paired with records that are often nearer to another original.
    assert matched_hidden_rate(original, near) < 5.0
    assert matched_hidden_rate(original, fresh) > 40.0


def test_fresh_sample_reference_is_seeded_and_between_the_extremes() -> None:
    original = tables()["patient"][["age", "sex", "income"]]
    first = fresh_sample_hidden_rate(original, splits=3, seed=2)
    assert first == fresh_sample_hidden_rate(original, splits=3, seed=2)
    assert 0.0 < first[0] < 100.0
    assert first[1] >= 0.0


def test_seeds_grow_as_the_table_shrinks() -> None:
    # Enough runs for 1,000 rows' worth of pairs, between 3 and 10.
    assert [seeds_for(n) for n in (50, 130, 300, 961, 100_000)] == [10, 8, 4, 3, 3]


def test_k_candidates_grow_geometrically_to_the_rows_less_one() -> None:
    grid = [5, 6, 8, 10, 12, 15, 19, 24, 30, 38, 48, 60, 75, 94, 118, 129]
    assert k_candidates(5, 130) == grid
    assert k_candidates(40, 41) == [40]


def test_k_candidates_stop_where_a_trial_would_hold_too_many_neighbours() -> None:
    """A large table's grid stops at NEIGHBOUR_ENTRIES / rows, not its rows less one: 3,322
    planes went up to k 3,321 (11 M neighbours a run) and 16,595 flights would have gone to
    16,594; small tables keep their whole grid."""
    assert k_limit(130) == 129
    assert k_limit(1_414) == 1_413
    assert k_limit(3_322) == NEIGHBOUR_ENTRIES // 3_322 == 602
    assert k_candidates(10, 16_595)[-1] == NEIGHBOUR_ENTRIES // 16_595 == 120
    assert max(k_candidates(20, 100_000)) == 20  # the given k is always tried
    for rows in (300, 3_322, 16_595, 100_000):
        assert max(k_candidates(5, rows)) * rows <= max(NEIGHBOUR_ENTRIES, 5 * rows)


def test_a_reachable_target_gets_the_most_faithful_trial_that_meets_it() -> None:
    frames = tables()
    advice = advise_linked_k(
        SCHEMA, frames, parameters(), {"patient": 55.0}, tables=["patient"], seeds=3
    )
    found = advice.tables["patient"]
    assert found.met and found.target_source == "stated"
    # What the advice promises is the chosen setting's mean on held-out seeds.
    assert found.confirmation is not None and found.rate == found.confirmation.rate >= 55.0
    # Both noise settings were searched; of every trial meeting the target the one whose
    # avatars keep the patients' variables best (column shapes and pair trends) and that holds
    # on held-out seeds is kept: every more faithful one was checked and fell short there.
    assert {t.coupled_noise for t in found.trials} == {False, True}
    # A trial meets when its mean rate less one standard error over the seeds reaches 55.
    meeting = [t for t in found.trials if t.rate - t.rate_error >= 55.0]
    assert found.chosen in meeting and found.chosen.margin(55.0, {}) >= 0
    better = [t for t in meeting if t.fidelity > found.chosen.fidelity]
    assert len(found.held_out) == len(better) + 1
    assert all(h.margin(55.0, {}) < 0 for h in found.held_out[:-1])
    assert found.confirmation.margin(55.0, {}) >= 0
    assert all(0.0 < t.fidelity <= 1.0 and len(t.fidelities) == 3 for t in found.trials)
    # Per noise, the scan halved down to a k that meets next to one that misses.
    for coupled in (False, True):
        tried = sorted(t.k for t in found.trials if t.coupled_noise == coupled)
        first = min((t.k for t in meeting if t.coupled_noise == coupled), default=None)
        if first is not None and first > tried[0]:
            grid = k_candidates(5, len(frames["patient"]))
            assert grid[grid.index(first) - 1] in tried
    assert advice.parameters["patient"].avatarization["k"] == found.k
    assert advice.parameters["patient"].avatarization["coupled_noise"] == found.coupled_noise
    assert advice.parameters["visit"].avatarization["k"] == 5
    # Each trial is the mean of three seeded linked runs, so the search repeats exactly.
    again = advise_linked_k(
        SCHEMA, frames, parameters(), {"patient": 55.0}, tables=["patient"], seeds=3
    )
    assert again.tables["patient"] == found


def test_a_target_met_everywhere_keeps_the_most_faithful_k() -> None:
    only = advise_linked_k(
        SCHEMA, tables(), parameters(7), {"patient": 0.0}, seeds=1, noises=(False,)
    )
    found = only.tables["patient"]
    # Every k meets a target of 0: the coarse scan goes all the way up, the most faithful
    # k is kept (with per-variable noise the start), and its grid neighbours were tried.
    grid = k_candidates(7, len(tables()["patient"]))
    tried = [t.k for t in found.trials]
    assert tried[:2] == [grid[0], grid[3]] and grid[1] in tried
    assert found.k == 7 and found.met and not found.coupled_noise
    assert found.chosen.fidelity == max(t.fidelity for t in found.trials)


def test_an_unreachable_target_returns_the_nearest_k_and_says_so() -> None:
    frames = tables()
    advice = advise_linked_k(
        SCHEMA, frames, parameters(30), {"patient": 100.0}, tables=["patient"], seeds=1
    )
    found = advice.tables["patient"]
    assert not found.met
    # The coarse scan went up to the rows less one, then tried the grid neighbours of the
    # nearest coarse k; the k kept is the one that came nearest.
    grid = k_candidates(30, len(frames["patient"]))
    coarse = [grid[i] for i in sorted({*range(0, len(grid), 3), len(grid) - 1})]
    for coupled in (False, True):
        tried = [t.k for t in found.trials if t.coupled_noise == coupled]
        assert tried[: len(coarse)] == coarse
        assert len(coarse) < len(tried) <= len(coarse) + 4 and set(tried) <= set(grid)
    # One seed: no spread to pool, so only the nearest is re-measured on held-out seeds and
    # kept.
    assert found.chosen.rate == max(t.rate for t in found.trials) < 100.0
    assert [(h.k, h.coupled_noise) for h in found.held_out] == [(found.k, found.coupled_noise)]
    three = advise_linked_k(
        SCHEMA, frames, parameters(30), {"patient": 100.0}, tables=["patient"], seeds=3
    ).tables["patient"]
    assert not three.met

    # Nothing met on the search's seeds: the nearest and the most faithful trials within two
    # standard errors of a difference (variance pooled over the trials) were re-measured on
    # held-out seeds, and the most faithful within one of the best held-out rate is kept.
    def difference_error(trials: list[KTrial]) -> float:
        pooled = np.mean([np.var(t.rates, ddof=1) for t in trials])
        return float(np.sqrt(2 * pooled / 3))

    nearest = max(three.trials, key=lambda t: (t.rate, -t.k))
    floor = nearest.rate - 2 * difference_error(list(three.trials))
    checked = [(h.k, h.coupled_noise) for h in three.held_out]
    assert (nearest.k, nearest.coupled_noise) in checked
    assert 1 <= len(checked) <= MAX_CONFIRMATIONS
    shortlisted = [t for t in three.trials if (t.k, t.coupled_noise) in checked]
    assert all(t.rate >= floor for t in shortlisted)
    left_out = [t for t in three.trials if t.rate >= floor and t not in shortlisted]
    assert len(shortlisted) == MAX_CONFIRMATIONS or not left_out
    assert all(
        t.fidelity <= min(s.fidelity for s in shortlisted if s is not nearest) for t in left_out
    )
    best = max(h.rate for h in three.held_out)
    close = [h for h in three.held_out if h.rate >= best - difference_error(list(three.held_out))]
    kept = three.confirmation
    assert kept is not None and kept in close
    assert kept.fidelity == max(h.fidelity for h in close)
    assert three.rate == kept.rate


def _trial(k: int, rates: tuple[float, ...], fidelity: float, coupled: bool = False) -> KTrial:
    return KTrial(k, rates, coupled_noise=coupled, fidelities=(fidelity,) * len(rates))


def test_the_choice_must_hold_on_seeds_the_search_did_not_use() -> None:
    # Tutorial 3's patients (docs/benchmarks.md, 2026-12-05): per-variable k 48 passed HMA's
    # 61.5 on the search's seeds 0-7 (62.7 with a lucky standard error of 0.5) and gave 58-60 on
    # every other block of seeds; coupled k 118 was as faithful and held (62.5-64.4).
    lucky = _trial(48, (62.0, 62.4, 62.7, 63.0, 63.4), 0.876)
    steady = _trial(118, (63.0, 63.8, 64.4, 65.0, 65.8), 0.875, coupled=True)
    short = _trial(24, (55.0, 56.0, 57.0), 0.905)
    trials = [short, lucky, steady]
    # The old choice, the most faithful trial that meets on the search's own seeds, is k 48.
    meeting = [t for t in trials if t.margin(61.5, {}) >= 0]
    assert max(meeting, key=lambda t: t.fidelity) is lucky
    held = {
        (48, False): _trial(48, (58.5, 59.5, 60.0, 60.5, 61.5), 0.879),
        (118, True): _trial(118, (62.5, 63.0, 63.6, 64.0, 64.5), 0.879, coupled=True),
    }
    checked: list[KTrial] = []

    def rerun(trial: KTrial) -> KTrial:
        checked.append(trial)
        return held[(trial.k, trial.coupled_noise)]

    chosen, checks, met = confirm_choice(trials, 61.5, {}, rerun)
    # k 48 falls short on held-out seeds; coupled k 118 holds there and is kept, and its
    # held-out figure (not the search's) is what the advice reports.
    assert chosen is steady and met
    assert checked == [lucky, steady]
    assert checks == [held[(48, False)], held[(118, True)]]


def test_a_setting_that_holds_by_a_hair_is_not_kept() -> None:
    # The fixtures' patients aimed at 55: k 24 gave 55.0 on held-out seeds and 53.3 on seeds
    # 100-109. On held-out seeds too a setting must reach the target beyond one standard error.
    hair = _trial(24, (56.0, 56.3, 56.6), 0.905)
    wide = _trial(129, (57.0, 57.1, 57.2), 0.888, coupled=True)
    again = {
        24: _trial(24, (54.0, 55.0, 56.0), 0.905),
        129: _trial(129, (62.0, 62.8, 63.6), 0.888, coupled=True),
    }
    chosen, checks, met = confirm_choice([hair, wide], 55.0, {}, lambda t: again[t.k])
    assert checks[0].rate == 55.0 and checks[0].margin(55.0, {}) < 0
    assert chosen is wide and met and checks == [again[24], again[129]]


def test_out_of_reach_a_gain_within_the_noise_is_not_paid_for_in_fidelity() -> None:
    # The fixtures' visits against HMA's 95.47 (2026-12-05, 4 seeds, one visit 0.33 points):
    # every setting scores 95.0-95.4, and which is highest changes with the seeds.
    v = 95.0 + 1 / 3
    w = 95.0 + 2 / 3
    search = [
        _trial(15, (95.0, 95.0, 95.0, w), 0.955),
        _trial(30, (95.0, 95.0, 95.0, v), 0.951),
        _trial(60, (95.0, 95.0, v, w), 0.912),
        _trial(185, (95.0, 95.0, v, w), 0.873),
        _trial(231, (v, v, v, w), 0.894),
        _trial(15, (95.0, 95.0, 95.0, v), 0.963, coupled=True),
        _trial(19, (95.0, 95.0, 95.0, w), 0.9625, coupled=True),
        _trial(24, (95.0, 95.0, v, w), 0.948, coupled=True),
        _trial(231, (95.0, 95.0, v, v), 0.947, coupled=True),
    ]
    target = 95.47
    assert all(t.margin(target, {}) < 0 for t in search)
    # The old choice: the nearest on the search's own seeds, and the most faithful within one
    # of its standard errors there: k 231 alone (95.42, fidelity 0.894).
    nearest = max(search, key=lambda t: t.margin(target, {}))
    old = max(
        (t for t in search if t.rate >= nearest.rate - nearest.rate_error),
        key=lambda t: t.fidelity,
    )
    assert (old.k, old.coupled_noise) == (231, False)
    # On held-out seeds k 231 keeps its lead, 95.25 against 95.08: the lift is real (seeds
    # 100-109: 95.37 against 95.03-95.13 at k 5-15), but it is smaller than one visit
    # (0.33 points) and made of dropped rare rows (joint (day, exam) TVD 0.144 against 0.031).
    held = {
        (15, True): _trial(15, (95.0, 95.0, 95.0, v), 0.962, coupled=True),
        (19, True): _trial(19, (95.0, 95.0, 95.0, v), 0.961, coupled=True),
        (15, False): _trial(15, (95.0, 95.0, 95.0, v), 0.961),
        (30, False): _trial(30, (95.0, 95.0, 95.0, v), 0.937),
        (231, False): _trial(231, (95.0, v, v, v), 0.894),
    }
    checked: list[tuple[int, bool]] = []

    def rerun(trial: KTrial) -> KTrial:
        checked.append((trial.k, trial.coupled_noise))
        return held[(trial.k, trial.coupled_noise)]

    chosen, checks, met = confirm_choice(search, target, {}, rerun, resolution=100 / 300)
    # Re-measured: the nearest (k 231) and the four most faithful within two standard errors
    # of a difference (0.19 each, pooled) or one visit of its 95.42.
    assert checked == [(15, True), (19, True), (15, False), (30, False), (231, False)]
    assert checks == [held[c] for c in checked]
    # Within one visit of the best held-out rate, the most faithful there is kept.
    assert not met and (chosen.k, chosen.coupled_noise) == (15, True) and chosen in search
    # The noise alone would not have stopped it: the held-out spread is small (one standard
    # error of a difference 0.12), and without the one-row resolution k 231 is kept.
    checked.clear()
    alone, _, _ = confirm_choice(search, target, {}, rerun)
    assert (alone.k, alone.coupled_noise) == (231, False)
    # Against HMA's other fit, 95.20, k 231 alone meets on the search's seeds (95.42 less
    # 0.08) and misses on held-out seeds (95.25 less 0.08). The old rule chose among the
    # settings checked, k 231 alone; now the shortlist is checked too, and coupled k 15 kept.
    checked.clear()
    chosen, checks, met = confirm_choice(search, 95.2, {}, rerun, resolution=100 / 300)
    assert [t for t in search if t.margin(95.2, {}) >= 0] == [search[4]]
    assert checked == [(231, False), (15, True), (19, True), (15, False), (30, False)]
    assert not met and (chosen.k, chosen.coupled_noise) == (15, True)


def test_out_of_reach_a_gain_beyond_the_noise_is_still_taken() -> None:
    # The fixtures' doctors against HMA's 75.2 (10 seeds): k 48 comes nearest (76.8, 75.0 held
    # out); the most faithful settings are 20 points below, and are not kept.
    def spread(mean: float) -> tuple[float, ...]:
        return tuple(mean + d for d in (-12.0, -8.0, -4.0, -2.0, 0.0, 0.0, 2.0, 4.0, 8.0, 12.0))

    search = [
        _trial(3, spread(50.6), 0.923, coupled=True),
        _trial(6, spread(59.8), 0.918, coupled=True),
        _trial(15, spread(68.2), 0.852),
        _trial(48, spread(76.8), 0.822),
        _trial(49, spread(71.2), 0.833),
        _trial(49, spread(70.6), 0.813, coupled=True),
    ]
    held = {
        (48, False): _trial(48, spread(75.0), 0.823),
        (49, False): _trial(49, spread(74.6), 0.805),
        (49, True): _trial(49, spread(66.0), 0.825, coupled=True),
    }
    checked: list[tuple[int, bool]] = []

    def rerun(trial: KTrial) -> KTrial:
        checked.append((trial.k, trial.coupled_noise))
        return held[(trial.k, trial.coupled_noise)]

    chosen, _, met = confirm_choice(search, 75.2, {}, rerun)
    # Within two standard errors of a difference (2 x 3.2) of 76.8: k 49 both ways. On held-out
    # seeds k 48 and k 49 are within the noise and k 48 keeps the doctors better there.
    assert checked == [(49, False), (48, False), (49, True)]
    assert not met and (chosen.k, chosen.coupled_noise) == (48, False)


def test_when_nothing_holds_on_held_out_seeds_the_nearest_there_is_kept_unmet() -> None:
    trials = [
        _trial(10 + i, (70.0 + i, 70.2 + i, 70.4 + i), 0.9 - i / 100)
        for i in range(MAX_CONFIRMATIONS + 2)
    ]
    # Every trial meets 65 on the search's seeds; on held-out seeds none does, and only the
    # MAX_CONFIRMATIONS most faithful are checked.
    checked: list[int] = []

    def rerun(trial: KTrial) -> KTrial:
        checked.append(trial.k)
        near = 64.0 if trial.k == 12 else 60.0
        return _trial(trial.k, (near - 0.5, near, near + 0.5), trial.fidelity)

    chosen, checks, met = confirm_choice(trials, 65.0, {}, rerun)
    # Then the nearest on the search's seeds (k 16, alone within the noise of its 76.2).
    assert checked == [10 + i for i in range(MAX_CONFIRMATIONS)] + [16]
    assert not met and chosen is trials[2] and len(checks) == MAX_CONFIRMATIONS + 1


def test_the_held_out_seeds_are_apart_from_the_searchs() -> None:
    frames = tables()
    advice = advise_linked_k(
        SCHEMA, frames, parameters(), {"patient": 50.0}, tables=["patient"], seeds=2, seed=7
    )
    found = advice.tables["patient"]
    confirmed = found.confirmation
    assert confirmed is not None and len(confirmed.rates) == 2
    # The held-out figure is the advised setting's own rate on seeds 7 + HELD_OUT_OFFSET on.
    values = [c for c in frames["patient"].columns if c != "p_id"]
    rates = []
    for seed in (7 + HELD_OUT_OFFSET, 8 + HELD_OUT_OFFSET):
        run = avatarize_tables(SCHEMA, frames, advice.parameters, seed=seed)
        avatars = run.tables["patient"].unshuffled[values]
        rates.append(matched_hidden_rate(frames["patient"][values], avatars))
    assert confirmed.rates == pytest.approx(tuple(rates))
    assert confirmed.rates != found.chosen.rates
    assert found.met == (found.chosen.margin(50.0, {}) >= 0 and confirmed.margin(50.0, {}) >= 0)


def test_side_by_side_the_search_finds_what_it_finds_one_piece_after_another() -> None:
    # Both tables avatarize alone (no series, no processors): their searches with each noise,
    # then their held-out checks, run as forked pieces (engine/forked_map.py) with the values
    # of one process, trial for trial.
    frames = tables()
    targets = {"patient": 55.0, "visit": 80.0}
    serial = advise_linked_k(SCHEMA, frames, parameters(), targets, seeds=2, workers=1)
    forked = advise_linked_k(SCHEMA, frames, parameters(), targets, seeds=2, workers=2)
    assert forked == serial
    assert all(len(found.held_out) >= 1 for found in forked.tables.values())


def test_without_a_target_each_table_aims_at_its_fresh_sample_reference() -> None:
    frames = tables()
    advice = advise_linked_k(SCHEMA, frames, parameters(), seeds=1)
    assert set(advice.tables) == {"patient", "visit"}
    for name, found in advice.tables.items():
        assert found.target_source == "fresh_sample"
        values = [c for c in frames[name].columns if c not in SCHEMA.table(name).key_columns]
        assert found.target == pytest.approx(fresh_sample_hidden_rate(frames[name][values])[0])


def test_a_table_with_series_is_searched_with_its_series() -> None:
    schema, frames = sensors()
    params = {"vanilla": TableParameters({"k": 10})}
    params |= {
        c: TableParameters(time_series=TimeSeriesParameters()) for c in ("sensor1", "sensor2")
    }
    # Each series aims by default at its own fresh-sample reference, measured on the curves of
    # the individuals (what the linked privacy metrics measure a series by).
    advice = advise_linked_k(schema, frames, params, {"vanilla": 0.0}, seeds=1, noises=(False,))
    found = advice.tables["vanilla"]
    curves = series_features(schema, "vanilla", frames, frames, {})
    assert set(found.series_targets) == {"sensor1", "sensor2"}
    for child, (features, same) in curves.items():
        pd.testing.assert_frame_equal(features, same)
        assert any(column.endswith("@0") for column in features.columns)
        assert found.series_targets[child] == pytest.approx(fresh_sample_hidden_rate(features)[0])
    trial = found.trials[0]
    assert set(trial.series_rates) == {"sensor1", "sensor2"}
    assert all(len(rates) == 1 for rates in trial.series_rates.values())
    confirmed = found.confirmation
    assert confirmed is not None and set(confirmed.series_rates) == {"sensor1", "sensor2"}
    assert found.met == (
        found.chosen.margin(0.0, found.series_targets) >= 0
        and confirmed.margin(0.0, found.series_targets) >= 0
    )
    # The table's own target (0) is met at the first k; a series target out of reach is not,
    # and it alone makes the search go on (from k 60, to keep it short) and fail.
    stated = {"vanilla": 0.0, "sensor1": 99.9}
    params["vanilla"] = TableParameters({"k": 60})
    hard = advise_linked_k(schema, frames, params, stated, seeds=1, noises=(False,))
    hard = hard.tables["vanilla"]
    assert hard.series_targets["sensor1"] == 99.9 and not hard.met
    assert len(hard.trials) > 1
    assert all(t.rate >= 0.0 and t.series_rate("sensor1") < 99.9 for t in hard.trials)


def test_bad_requests_name_the_field() -> None:
    frames = tables()
    with pytest.raises(InvalidArgumentError, match="'nurse' cannot be searched") as info:
        advise_linked_k(SCHEMA, frames, parameters(), tables=["nurse"])
    assert info.value.field == "tables"
    with pytest.raises(InvalidArgumentError, match=r"must be in \[0, 100\]") as info:
        advise_linked_k(SCHEMA, frames, parameters(), {"patient": 120.0})
    assert info.value.field == "targets[patient]"
    no_k = {"patient": TableParameters({}), "visit": TableParameters({"k": 5})}
    with pytest.raises(InvalidArgumentError, match="no k to start") as info:
        advise_linked_k(SCHEMA, frames, no_k, tables=["patient"])
    assert info.value.field == "parameters[patient].k"
    with pytest.raises(InvalidArgumentError, match="at least one coupled_noise") as info:
        advise_linked_k(SCHEMA, frames, parameters(), noises=())
    assert info.value.field == "noises"
    schema, series_frames = sensors()
    with pytest.raises(InvalidArgumentError, match="time series"):
        advise_linked_k(schema, series_frames, {}, tables=["sensor1"])


def test_numeric_codes_avatarized_as_categories_are_measured_as_categories() -> None:
    # As the metrics jobs measure them: a rate read with the codes as numbers would judge the
    # avatars in another space than the one they were made in.
    frames = tables()
    stage = np.random.default_rng(0).integers(1, 5, len(frames["patient"]))
    frames["patient"] = frames["patient"].assign(stage=stage)
    params = {
        **parameters(),
        "patient": TableParameters({"k": 5, "categorical_columns": ["stage"]}),
    }
    plan = _plan_table(SCHEMA, frames, params, "patient", None, {}, 3, 0)
    assert isinstance(plan.original["stage"].dtype, pd.CategoricalDtype)
    assert plan.original["age"].dtype == np.float64
    measured = frames["patient"][["age", "sex", "income", "stage"]].astype({"stage": "category"})
    assert plan.target == fresh_sample_hidden_rate(measured, seed=0)[0]
    as_numbers = _plan_table(SCHEMA, frames, parameters(), "patient", None, {}, 3, 0)
    assert as_numbers.original["stage"].dtype == stage.dtype
