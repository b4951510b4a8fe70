"""Privacy-targeted advice (issue 21 item 4) on a real table: the advised parameters meet the
targets, on the search's sample and again when measured afresh on the whole table."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from support import FIXTURES
from veil_service.engine import privacy_advice
from veil_service.engine.avatarize import avatarize
from veil_service.engine.metrics import privacy_metrics
from veil_service.engine.metrics.attack_risk import attack_risk
from veil_service.engine.privacy_advice import (
    FALLBACK_UTILITY_TOLERANCE,
    K_GROWTH_EXPONENT,
    MAX_SPLITS,
    MIN_MINORITY_ROWS,
    PAPER_METHOD,
    PrivacyAdvice,
    Trial,
    _choose,
    _measure,
    _trial,
    advise_privacy,
    pool_attacks,
    table_k,
)
from veil_service.engine.reports.advice_curve import advice_curve_svg
from veil_service.engine_contract.privacy_targets import PrivacyTargets, check_privacy_targets
from veil_service.errors import InvalidArgumentError

COLUMNS = ["pclass", "survived", "sex", "age", "sibsp", "parch", "fare", "embarked"]
CATEGORICAL = ["pclass", "survived"]
#: Issue 21's targets, with singling-out and inference at what titanic can reach: with the
#: default 0.10 no parameter set tried meets inference on titanic (the anonymeter benchmark
#: measures 0.14 for the knobs at k=20, GaussianCopula 0.06), and the advice says so.
TARGETS = {"singling_out": 0.15, "inference": 0.30}


@pytest.fixture(scope="module")
def titanic() -> pd.DataFrame:
    frame = pd.read_csv(FIXTURES / "tables" / "titanic_1309.csv.gz", na_values="?")
    return frame[COLUMNS]


@pytest.fixture(scope="module")
def advice(titanic: pd.DataFrame) -> PrivacyAdvice:
    # One split (the search's first): the averaging over splits has its own, smaller test.
    return advise_privacy(
        titanic,
        privacy_targets=TARGETS,
        categorical_columns=CATEGORICAL,
        target="survived",
        seed=0,
        splits=1,
    )


def test_the_advised_parameters_meet_every_target_on_the_sample(advice: PrivacyAdvice) -> None:
    chosen = advice.trials[advice.chosen_index]
    assert advice.met
    assert chosen.failed == ()
    assert advice.parameters == chosen.parameters
    assert advice.targets == PrivacyTargets(**TARGETS)
    for name, bound in (
        ("singling_out", 0.15),
        ("linkability", 0.10),
        ("inference", 0.30),
        ("distance_ratio", 1.1),
        ("unique_copies", 0.0),
    ):
        assert chosen.measures[name] <= bound, name
    assert chosen.measures["hidden_rate"] > 90 and chosen.measures["local_cloaking"] >= 10
    # The most useful trial that meets the targets: no passing trial is more useful.
    passing = [t for t in advice.trials if not t.failed]
    assert chosen.measures["utility"] == max(t.measures["utility"] for t in passing)
    # Octopize's method at the same k misses targets: the knobs are what made the difference.
    octopize = next(
        t
        for t in advice.trials
        if t.parameters["k"] == advice.parameters["k"] and t.parameters["local_noise"] == 0
    )
    assert octopize.failed
    assert advice.parameters["local_noise"] > 0 and advice.parameters["redraw_unique_copies"]
    if advice.binding is not None:
        more_useful = [
            t for t in advice.trials if t.measures["utility"] > chosen.measures["utility"]
        ]
        assert advice.binding == more_useful[0].failed[0] or any(
            advice.binding in t.failed for t in more_useful
        )


def test_the_advised_parameters_hold_on_the_whole_table_measured_afresh(
    titanic: pd.DataFrame, advice: PrivacyAdvice
) -> None:
    # A split the search never saw (other seed), the product's own metrics and attacks.
    order = np.random.default_rng(11).permutation(len(titanic))
    cut = int(0.7 * len(titanic))
    train = titanic.iloc[np.sort(order[:cut])].reset_index(drop=True)
    control = titanic.iloc[np.sort(order[cut:])].reset_index(drop=True)
    measured = {}
    for label, params in (
        ("advised", advice.parameters),
        ("octopize", {"k": advice.parameters["k"], "ncp": 5, **PAPER_METHOD}),
    ):
        avatars = avatarize(train, categorical_columns=CATEGORICAL, seed=11, **params).unshuffled
        as_categories = {c: "category" for c in CATEGORICAL}
        measured[label] = privacy_metrics(
            train.astype(as_categories),
            avatars.astype(as_categories),
            holdout=control.astype(as_categories),
            known_variables=[c for c in COLUMNS if c != "survived"],
            target="survived",
            ncp=params["ncp"],
            seed=11,
        )
    advised, octopize = measured["advised"], measured["octopize"]
    assert advised["hidden_rate"] > 90
    assert advised["local_cloaking"] >= 10
    assert advised["singling_out_risk"] <= 100 * TARGETS["singling_out"]
    assert advised["linkability_risk"] <= 10.0
    assert advised["inference_risk"] <= 100 * TARGETS["inference"]
    assert octopize["hidden_rate"] < advised["hidden_rate"]
    assert octopize["local_cloaking"] < advised["local_cloaking"]
    assert octopize["inference_risk"] > advised["inference_risk"]


def test_the_curve_figure_shows_every_trial(advice: PrivacyAdvice) -> None:
    found = advice.as_dict()
    svg = advice_curve_svg(found)
    assert svg.startswith("<svg")
    assert "k (neighbours)" in svg and "utility" in svg
    assert len(found["trials"]) == len(advice.trials) >= 6
    assert {t["parameters"]["k"] for t in found["trials"]} >= {10, 20, 30}
    # Coupled noise is searched at every k, as its own family of the curve.
    for k in {t.parameters["k"] for t in advice.trials}:
        at_k = [t.parameters for t in advice.trials if t.parameters["k"] == k]
        assert [p.get("coupled_noise") for p in at_k] == [None, False, False, True]
    assert "bounded, coupled noise 1" in svg


@pytest.mark.parametrize(
    ("targets", "field"),
    [
        ({"hiden_rate": 90}, "privacy_targets.hiden_rate"),
        ({"inference": 1.5}, "privacy_targets.inference"),
        ({"linkability": "low"}, "privacy_targets.linkability"),
        ({"distance_ratio": 0.1}, "privacy_targets.distance_ratio"),
    ],
)
def test_bad_targets_are_refused_naming_them(targets: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        check_privacy_targets(targets)
    assert caught.value.field == field


def test_an_unknown_target_column_is_refused(titanic: pd.DataFrame) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        advise_privacy(titanic, privacy_targets={}, target="survival")
    assert caught.value.field == "target"


def test_small_samples_are_measured_on_several_splits(titanic: pd.DataFrame) -> None:
    # 300 rows: a control part of 90 rows, too few to rank parameter sets on one split; the
    # search averages each measure over MAX_SPLITS splits and records how far they spread.
    small = titanic.sample(300, random_state=0).reset_index(drop=True)
    settings = {"categorical_columns": CATEGORICAL, "target": "survived", "k_values": (10,)}
    averaged = advise_privacy(small, privacy_targets={}, **settings)
    single = advise_privacy(small, privacy_targets={}, splits=1, **settings)
    assert averaged.splits == MAX_SPLITS and single.splits == 1
    assert "3 random splits each" in averaged.reason
    assert averaged.as_dict()["splits"] == MAX_SPLITS
    for trial in single.trials:
        assert set(trial.spread.values()) == {0.0}
    # The first split is the single-split search's: the means differ from its figures, and the
    # splits disagree (the noise the averaging is for).
    assert any(
        a.measures["inference"] != s.measures["inference"]
        for a, s in zip(averaged.trials, single.trials, strict=True)
    )
    assert max(t.spread["inference"] for t in averaged.trials) > 0.02
    assert all(t.spread["utility"] >= 0 for t in averaged.trials)


def test_attack_risks_are_pooled_over_the_splits_not_averaged() -> None:
    # Two splits of the same attack: the control does better by chance on the first (its risk
    # is clipped to 0), worse on the second. Averaging the splits' risks kept the second's
    # upward noise (0.10); the 200 attacks together show no risk at all.
    first = attack_risk(50, 10, 60, 100, 0.95)
    second = attack_risk(60, 10, 50, 100, 0.95)
    assert first.risk == 0.0 and second.risk > 15.0
    pooled = pool_attacks([{"inference:sex": first}, {"inference:sex": second}])
    assert pooled == {"inference:sex": attack_risk(110, 20, 110, 200, 0.95).risk / 100.0}
    assert pooled["inference:sex"] == 0.0 < (first.risk + second.risk) / 200.0


def test_a_trials_inference_is_the_worst_secret_pooled_over_its_splits(
    titanic: pd.DataFrame,
) -> None:
    # On real avatars, three splits of 300 rows: the trial's attack figures are anonymeter's
    # formula on every split's successes together, per secret for inference, then the worst
    # secret, not the mean of each split's worst secret (the old reading, biased upward: the
    # worst of noisy figures, each clipped at 0).
    small = titanic.sample(300, random_state=1).reset_index(drop=True)
    rng = np.random.default_rng(0)
    parts = []
    for _ in range(MAX_SPLITS):
        order = rng.permutation(len(small))
        parts.append(
            (
                small.iloc[np.sort(order[:210])].reset_index(drop=True),
                small.iloc[np.sort(order[210:])].reset_index(drop=True),
            )
        )
    params = {**DEFAULT_KNOBS, "k": 10, "ncp": 5}
    base = {"categorical_columns": CATEGORICAL}
    trial = _trial(parts, params, base, PrivacyTargets(), "survived", 0)
    runs = [
        _measure(train, control, params, base, "survived", position)
        for position, (train, control) in enumerate(parts)
    ]
    secrets = [name for name in runs[0][1] if name.startswith("inference:")]
    assert secrets[0] == "inference:survived" and len(secrets) == 4
    pooled = {}
    for name in ("singling_out", "linkability", *secrets):
        results = [found[name] for _, found, _ in runs]
        pooled[name] = (
            attack_risk(
                sum(r.main_successes for r in results),
                sum(r.baseline_successes for r in results),
                sum(r.control_successes or 0.0 for r in results),
                sum(r.n_attacks for r in results),
                0.95,
            ).risk
            / 100.0
        )
    assert trial.inference_by_secret == {
        name[len("inference:") :]: pooled[name] for name in secrets
    }
    assert trial.measures["inference"] == max(pooled[name] for name in secrets)
    assert trial.measures["singling_out"] == pooled["singling_out"]
    assert trial.measures["linkability"] == pooled["linkability"]
    # Not the old reading. (Its upward bias is a tendency, not a rule on every sample: with the
    # knn imputation on the column's scale, this sample's pooled worst is the higher one.)
    old_reading = float(np.mean([measures["inference"] for measures, _, _ in runs]))
    assert trial.measures["inference"] != pytest.approx(old_reading)
    # The other measures are still the mean of the splits'.
    assert trial.measures["distance_ratio"] == pytest.approx(
        np.mean([measures["distance_ratio"] for measures, _, _ in runs])
    )


def _trial_of(k: int, knobs: dict[str, object], **measures: float) -> Trial:
    values = {
        "hidden_rate": 95.0,
        "local_cloaking": 15.0,
        "singling_out": 0.05,
        "linkability": 0.0,
        "inference": 0.05,
        "distance_ratio": 1.0,
        "unique_copies": 0.0,
        "utility": 0.95,
        **measures,
    }
    targets = PrivacyTargets()
    return Trial({"k": k, "ncp": 5, **knobs}, values, targets.failures(values))


DEFAULT_KNOBS = {
    "max_weight": 0.1,
    "local_noise": 1.0,
    "redraw_unique_copies": True,
    "coupled_noise": False,
}
HALF_NOISE = {**DEFAULT_KNOBS, "local_noise": 0.5}


def test_when_no_set_meets_the_targets_a_riskier_closest_set_is_not_chosen() -> None:
    # german_credit's case: on the sample the set closest to the targets (k=30) missed less,
    # but riskier on one measure; under anonymeter its inference was 0.292, the defaults' 0.140.
    trials = [
        _trial_of(10, PAPER_METHOD, inference=0.60, distance_ratio=2.3, utility=0.99),
        _trial_of(20, DEFAULT_KNOBS, inference=0.32, singling_out=0.23, utility=0.93),
        _trial_of(30, DEFAULT_KNOBS, inference=0.30, singling_out=0.11, distance_ratio=1.05),
        _trial_of(20, HALF_NOISE, inference=0.40, singling_out=0.20, utility=0.96),
    ]
    advice = _choose(trials, PrivacyTargets(), "credit_risk", 700, 3)
    assert not advice.met
    assert advice.defaults_index == 1 and advice.chosen_index == 1
    assert advice.parameters == trials[1].parameters
    assert advice.binding == "singling_out" == trials[1].failed[0]
    assert "Veil's default privacy knobs (k=20) are kept" in advice.reason
    assert "(trial 3) was not chosen: it is riskier than the defaults" in advice.reason
    assert advice.as_dict()["defaults_index"] == 1


def test_when_no_set_meets_the_targets_a_set_safer_on_every_measure_is_chosen() -> None:
    trials = [
        _trial_of(20, DEFAULT_KNOBS, inference=0.32, singling_out=0.23, utility=0.930),
        # Safer on every measure, misses one target instead of two, 0.005 less useful: chosen.
        _trial_of(30, DEFAULT_KNOBS, inference=0.09, singling_out=0.20, utility=0.925),
        # Safer still (meets every target but one, closer) but 0.05 less useful: not chosen.
        _trial_of(50, DEFAULT_KNOBS, inference=0.08, singling_out=0.11, utility=0.880),
        # As safe as the first but riskier on linkability: not chosen.
        _trial_of(30, HALF_NOISE, inference=0.05, singling_out=0.15, linkability=0.02),
    ]
    advice = _choose(trials, PrivacyTargets(), "survived", 916, 3)
    assert not advice.met and advice.defaults_index == 0
    assert advice.chosen_index == 1 and trials[1].failed == ("singling_out",)
    assert "at least as private as Veil's default knobs (k=20) on every measure" in advice.reason
    # The closest set (k=50) is named as not chosen, for its utility.
    assert "(trial 3) was not chosen: it loses more than 0.01 of their utility" in advice.reason
    for name in ("singling_out", "linkability", "inference", "distance_ratio", "unique_copies"):
        assert trials[1].measures[name] <= trials[0].measures[name]
    assert trials[0].measures["utility"] - trials[1].measures["utility"] <= (
        FALLBACK_UTILITY_TOLERANCE
    )


def test_a_set_meeting_every_target_is_still_the_most_useful_one_not_the_safest() -> None:
    trials = [
        _trial_of(20, DEFAULT_KNOBS, inference=0.32, utility=0.99),
        _trial_of(30, DEFAULT_KNOBS, inference=0.09, utility=0.95),
        _trial_of(50, DEFAULT_KNOBS, inference=0.05, utility=0.90),
    ]
    advice = _choose(trials, PrivacyTargets(), "survived", 916, 3)
    assert advice.met and advice.chosen_index == 1 and advice.binding == "inference"
    assert advice.defaults_index is None


def test_with_a_target_column_utility_has_a_target_too() -> None:
    targets = PrivacyTargets()
    assert targets.utility_loss == 0.03
    # Measured (a target column named): missed above 0.03, met at or below it.
    assert _trial_of(20, DEFAULT_KNOBS, utility_loss=0.031).failed == ("utility_loss",)
    assert _trial_of(20, DEFAULT_KNOBS, utility_loss=0.03).failed == ()
    # Not measured (no target column: the shapes and pair trends score): not checked.
    assert _trial_of(20, DEFAULT_KNOBS).failed == ()
    # It comes after every privacy target, and is no privacy target.
    failed = _trial_of(20, DEFAULT_KNOBS, inference=0.2, utility_loss=0.05).failed
    assert failed == ("inference", "utility_loss")
    assert targets.privacy_failures(failed) == ("inference",)
    assert (
        PrivacyTargets(utility_loss=0.06).failures(
            {**_trial_of(20, {}).measures, "utility_loss": 0.05}
        )
        == ()
    )


def test_a_set_meeting_every_target_utility_included_is_preferred() -> None:
    trials = [
        _trial_of(20, DEFAULT_KNOBS, inference=0.32, utility=0.99, utility_loss=0.008),
        _trial_of(30, DEFAULT_KNOBS, utility=0.97, utility_loss=0.024),
        _trial_of(50, DEFAULT_KNOBS, utility=0.92, utility_loss=0.064),
    ]
    advice = _choose(trials, PrivacyTargets(), "survived", 916, 3)
    assert advice.met and advice.chosen_index == 1 and advice.binding == "inference"
    assert "0.024 below the real data's score" in advice.reason


def test_privacy_comes_first_when_no_private_set_keeps_the_utility() -> None:
    # Adult's case on the whole table: the sets meeting every privacy target lose more than
    # 0.03. The most useful of them is still the answer, but not "met", and the reason says so.
    trials = [
        _trial_of(20, DEFAULT_KNOBS, inference=0.32, utility=0.99, utility_loss=0.008),
        _trial_of(50, DEFAULT_KNOBS, utility=0.95, utility_loss=0.041),
        _trial_of(50, HALF_NOISE, utility=0.96, utility_loss=0.035),
        _trial_of(30, HALF_NOISE, singling_out=0.2, utility=0.98, utility_loss=0.017),
    ]
    advice = _choose(trials, PrivacyTargets(), "income", 3000)
    assert not advice.met
    assert advice.chosen_index == 2 and advice.parameters == trials[2].parameters
    assert trials[2].failed == ("utility_loss",)
    assert advice.binding == "utility_loss"
    assert advice.defaults_index is None  # not the fallback: no privacy target is given up
    assert "the most useful of the 2 that meet every privacy target (trial 3" in advice.reason
    assert "0.035 below the real data's score" in advice.reason
    assert "The 2 more useful set(s) miss a privacy target, first 'inference'" in advice.reason
    assert "naming 'income' as the table's target_column decodes it without" in advice.reason
    named = _choose(trials, PrivacyTargets(), "income", 3000, target_named=True)
    assert named.chosen_index == 2 and "target_column" not in named.reason
    # Raising the utility target makes the same set meet every target.
    relaxed = _choose(
        [replace(t, failed=PrivacyTargets(utility_loss=0.04).failures(t.measures)) for t in trials],
        PrivacyTargets(utility_loss=0.04),
        "income",
        3000,
    )
    assert relaxed.met and relaxed.chosen_index == 2 and relaxed.binding == "inference"


def test_the_curve_and_the_report_say_privacy_came_first() -> None:
    trials = [
        _trial_of(
            20, DEFAULT_KNOBS, inference=0.32, utility=0.99, utility_loss=0.008, utility_real=0.80
        ),
        _trial_of(50, DEFAULT_KNOBS, utility=0.95, utility_loss=0.041, utility_real=0.80),
    ]
    found = _choose(trials, PrivacyTargets(), "income", 3000).as_dict()
    svg = advice_curve_svg(found)
    assert "meets every privacy target, not utility" in svg and "utility target" in svg
    french = advice_curve_svg(found, "fr")
    assert "atteint les cibles de confidentialité, pas" in french and "cible d" in french
    # Without a measured score (no target column) the utility target is not drawn.
    plain = _choose(
        [_trial_of(20, DEFAULT_KNOBS), _trial_of(30, DEFAULT_KNOBS)],
        PrivacyTargets(),
        None,
        3000,
    ).as_dict()
    assert "utility target" not in advice_curve_svg(plain)


def test_k_grows_with_the_table_when_the_trials_ran_on_a_sample() -> None:
    # 6,000 rows, trials on a 1,000-row sample (700 avatarized): k chosen there grows by the
    # cube root of 6,000 / 700 (docs/benchmarks.md, "Carrying k from the sample to the table").
    adult = pd.read_csv(FIXTURES / "tables" / "adult_6000.csv.gz")
    advice = advise_privacy(
        adult, privacy_targets={}, target="income", sample_rows=1000, k_values=(10,), splits=1
    )
    chosen = advice.trials[advice.chosen_index].parameters
    assert chosen["k"] == 10 and advice.sample_k == 10 and advice.table_rows == len(adult)
    grown = round(10 * (len(adult) / 700) ** K_GROWTH_EXPONENT)
    assert advice.parameters["k"] == grown == table_k(10, len(adult), 700) == 20
    if chosen["max_weight"] < 1:  # 2/k on the sample stays 2/k on the table
        assert advice.parameters["max_weight"] == pytest.approx(chosen["max_weight"] * 10 / 20)
    assert f"k grows from 10 to {grown}" in advice.reason
    found = advice.as_dict()
    assert found["sample_k"] == 10 and found["parameters"]["k"] == grown
    # The grown parameters run on the whole table.
    avatars = avatarize(adult, seed=0, **advice.parameters).avatars
    assert avatars.shape == adult.shape
    # And they were checked there: 70 % of the table avatarized at the k the rule gives for
    # those rows (4,200 / 700 = 6, 10 x 6^(1/3) = 18), every measure, its own misses.
    check = advice.table_check
    assert check is not None and advice.table_check_rows == len(adult)
    assert check.parameters["k"] == table_k(10, 4200, 700) == 18
    assert check.parameters["max_weight"] == pytest.approx(chosen["max_weight"] * 10 / 18)
    assert check.failed == advice.targets.failures(check.measures)
    for name in ("hidden_rate", "local_cloaking", "singling_out", "inference", "utility_loss"):
        assert np.isfinite(check.measures[name]), name
    assert "Checked on the table (4200 rows avatarized at k=18, the rest as control)" in (
        advice.reason
    )
    assert found["table_check"]["rows"] == 6000 and found["table_check"]["train_rows"] == 4200
    assert found["table_check"]["failed"] == list(check.failed)


def test_a_table_larger_than_the_check_is_checked_on_a_draw(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    adult = pd.read_csv(FIXTURES / "tables" / "adult_6000.csv.gz")
    monkeypatch.setattr(privacy_advice, "CHECK_ROWS", 2000)
    advice = advise_privacy(
        adult, privacy_targets={}, target="income", sample_rows=1000, k_values=(10,), splits=1
    )
    assert advice.table_check is not None and advice.table_check_rows == 2000
    assert advice.table_check.parameters["k"] == table_k(10, 1400, 700) == 13
    assert "Checked on a draw of 2000 of the table's rows (1400 rows avatarized at k=13" in (
        advice.reason
    )


def test_k_is_kept_when_the_table_fits_in_the_sample_and_capped_at_a_quarter(
    advice: PrivacyAdvice,
) -> None:
    assert advice.sample_k is None and advice.table_rows is None
    assert advice.table_check is None and advice.as_dict()["table_check"] is None
    assert advice.parameters == advice.trials[advice.chosen_index].parameters
    assert table_k(50, 100_000, 700) == 261
    assert table_k(50, 160, 100) == 50  # never below the sample's k
    assert table_k(30, 400, 10) == 100  # at most a quarter of the table


def test_a_secret_too_rare_in_the_control_is_shown_with_its_interval_not_counted(
    titanic: pd.DataFrame,
) -> None:
    # german_credit's foreign_worker: 96 % one value, so a split's control holds a handful of
    # the other; its risk divides by 1 - the control's success rate and swings 0 / 0.60 / 0
    # from split to split. Here titanic gets such a column (4 % "yes"): the trial must report
    # it, with its interval, and take the worst inference over the secrets it can measure.
    small = titanic.sample(300, random_state=1).reset_index(drop=True)
    small["foreign"] = np.where(np.random.default_rng(5).random(len(small)) < 0.04, "yes", "no")
    rng = np.random.default_rng(0)
    parts = []
    for _ in range(MAX_SPLITS):
        order = rng.permutation(len(small))
        parts.append(
            (
                small.iloc[np.sort(order[:210])].reset_index(drop=True),
                small.iloc[np.sort(order[210:])].reset_index(drop=True),
            )
        )
    params = {**DEFAULT_KNOBS, "k": 10, "ncp": 5}
    trial = _trial(
        parts, params, {"categorical_columns": CATEGORICAL}, PrivacyTargets(), "survived", 0
    )
    # Every control row is attacked (90 per split, fewer than the 500 attacks).
    rare = sum(int((control["foreign"] != "no").sum()) for _, control in parts)
    assert rare < MIN_MINORITY_ROWS
    assert trial.unmeasured_secrets == {"foreign": rare}
    assert set(trial.inference_by_secret) == {"survived", "sex", "foreign", "pclass"}
    rare_interval = trial.inference_intervals["foreign"]
    assert rare_interval[0] <= trial.inference_by_secret["foreign"] <= rare_interval[1]
    for name, (low, high) in trial.inference_intervals.items():
        assert 0.0 <= low <= trial.inference_by_secret[name] <= high <= 1.0
    # The worst inference is over the secrets measured; the rare one is not hidden: the answer
    # names it with its figures.
    measured = [risk for name, risk in trial.inference_by_secret.items() if name != "foreign"]
    assert trial.measures["inference"] == max(measured)
    advice = _choose([trial], PrivacyTargets(), "survived", len(small), MAX_SPLITS)
    assert f"foreign ({rare} control rows outside its most frequent value" in advice.reason
    assert "the worst inference leaves them out" in advice.reason
    found = advice.as_dict()
    assert found["min_minority_rows"] == MIN_MINORITY_ROWS
    assert found["trials"][0]["unmeasured_secrets"] == {"foreign": rare}
    assert found["trials"][0]["inference_intervals"]["foreign"] == list(rare_interval)


def test_when_no_secret_can_be_measured_the_worst_still_counts_them() -> None:
    values = {
        "hidden_rate": 95.0,
        "local_cloaking": 15.0,
        "singling_out": 0.0,
        "linkability": 0.0,
        "inference": 0.4,
        "distance_ratio": 1.0,
        "unique_copies": 0.0,
        "utility": 0.95,
    }
    trial = Trial(
        {"k": 20, "ncp": 5, **DEFAULT_KNOBS},
        values,
        PrivacyTargets().failures(values),
        inference_by_secret={"rare": 0.4},
        inference_intervals={"rare": (0.0, 0.9)},
        unmeasured_secrets={"rare": 12},
    )
    advice = _choose([trial], PrivacyTargets(), None, 300)
    assert "rare (12 control rows" in advice.reason
    assert "the worst inference still counts them" in advice.reason


def test_the_parameter_sets_measured_side_by_side_give_the_same_advice(
    titanic: pd.DataFrame,
) -> None:
    # Each parameter set runs as a forked piece (engine/forked_map.py): its avatars, attacks
    # and model come from the same seeds as in one process, so every figure is equal.
    small = titanic.sample(300, random_state=1).reset_index(drop=True)
    settings = {"categorical_columns": CATEGORICAL, "target": "survived", "k_values": (5, 10)}
    fractions: list[float] = []
    here = advise_privacy(small, privacy_targets={}, splits=1, workers=1, **settings)
    forked = advise_privacy(
        small, privacy_targets={}, splits=1, workers=2, progress=fractions.append, **settings
    )
    assert len(forked.trials) >= 4
    assert repr(forked) == repr(here)
    assert fractions == [(i + 1) / len(forked.trials) for i in range(len(forked.trials))]
