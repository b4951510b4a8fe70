"""Per-table k aimed at a matched hidden rate (engine/multitable/hidden_rate_advice.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from linked_data import hospital
from linked_fixtures import sensors
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
    KTrial,
    advise_linked_k,
    confirm_choice,
    fresh_sample_hidden_rate,
    k_candidates,
    matched_hidden_rate,
    matched_pairs,
    seeds_for,
    series_features,
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
    # Trials within the noise of the nearest rate (one standard error) cannot be ranked by it:
    # the most faithful of them is kept (one seed: no error, the nearest itself).
    assert found.chosen.rate == max(t.rate for t in found.trials) < 100.0
    # Nothing met on the search's seeds: the nearest is re-measured on held-out seeds once.
    assert [(h.k, h.coupled_noise) for h in found.held_out] == [(found.k, found.coupled_noise)]
    three = advise_linked_k(
        SCHEMA, frames, parameters(30), {"patient": 100.0}, tables=["patient"], seeds=3
    ).tables["patient"]
    nearest = max(three.trials, key=lambda t: t.rate - t.rate_error)
    close = [t for t in three.trials if t.rate >= nearest.rate - nearest.rate_error]
    assert not three.met and three.chosen in close
    assert three.chosen.fidelity == max(t.fidelity for t in close)


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

    chosen, checks, met = confirm_choice([lucky, steady], trials, 61.5, {}, rerun)
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
    chosen, checks, met = confirm_choice([hair, wide], [hair, wide], 55.0, {}, lambda t: again[t.k])
    assert checks[0].rate == 55.0 and checks[0].margin(55.0, {}) < 0
    assert chosen is wide and met and checks == [again[24], again[129]]


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

    chosen, checks, met = confirm_choice(trials[:1], trials, 65.0, {}, rerun)
    assert checked == [10 + i for i in range(MAX_CONFIRMATIONS)]
    assert not met and chosen is trials[2] and len(checks) == MAX_CONFIRMATIONS


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
