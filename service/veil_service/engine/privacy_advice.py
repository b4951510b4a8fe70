"""Privacy-targeted advice: the most useful avatarization parameters that meet privacy targets.

Octopize's ``advise_parameters()`` looks at the table and proposes k and ncp from rules of thumb.
This goes further: on a sample of the table it *tries* parameter sets (k, ncp, and the knobs of
issue 21, ``max_weight``, ``local_noise`` and ``coupled_noise``), attacks each result, and keeps
the most useful one whose every privacy measure meets its target, saying which target stopped a
more useful one (the binding target) and returning everything it explored (the privacy-utility
curve). With a target column, utility has a target too (``utility_loss``, issue 21's 0.03): a set
meets every target only if it also keeps the model's score within it. Privacy comes first: when
the sets meeting every privacy target all lose more, the most useful of them is still the answer,
with ``met`` false and ``utility_loss`` as the binding target.

Each trial splits the sample into a training part (70 %), which is avatarized, and a control part
(30 %), which plays anonymeter's held-out records, and measures:

* ``hidden_rate`` and ``local_cloaking`` (Veil's distance metrics, ncp of the trial);
* ``singling_out``, ``linkability`` and ``inference`` (Veil's implementation of anonymeter's
  three attacks, control part as control; inference takes each of a few secret columns in turn,
  the ``target`` first, every other column known, and keeps the worst of those it can measure:
  a secret too rare in the control, :data:`MIN_MINORITY_ROWS`, is reported with its interval
  instead), as fractions in [0, 1];
* ``distance_ratio``: mean distance from control rows to their nearest avatar over the same for
  training rows (anonymeter's Gower-like distance): above 1, training rows sit closer to the
  avatars than new rows do, a membership signal;
* ``unique_copies``: share of avatars equal to a training row that occurs once;
* ``utility``: with a ``target``, the avatars' train-on-avatars / test-on-control score (ROC AUC,
  accuracy or R2) over the same score trained on real rows; without one, the mean of the column
  shapes and pair trends scores (docs/metrics.md).

On a small sample one split is too noisy to rank parameter sets (a control part of 200-400 rows
moves an inference risk by 0.05-0.20 from one split to the next: german_credit's search picked
half noise at k=50, inference 0.264 under anonymeter, over the defaults' 0.140). So each
parameter set is tried on several random splits of the sample, as many as needed for the
control parts to hold :data:`CONTROL_ROWS` rows together (at most :data:`MAX_SPLITS`). The three
attacks' risks are computed once from their successes pooled over the splits (per secret for
inference, then the worst secret), as anonymeter would on that many attacks; every other measure
is the mean over the splits. Averaging each split's risk instead biased the reading upward: a
risk is clipped at 0 and the worst secret is the maximum of noisy figures, so a mean of per-split
worsts carries each split's upward noise (german_credit's defaults read 0.323, pooled 0.276;
docs/benchmarks.md, "The advice's inference reading on german_credit").

When the table is larger than the sample, the answer's k is grown for the table (see
:func:`table_k`) and the answer is **checked on the table**: the grown parameters are measured
once more, every measure above, on a draw of the table (all of it up to :data:`CHECK_ROWS` rows;
70 % avatarized, the rest as control). The sample's figures are not the table's in either
direction: diamonds' answer lost 0.122 of R2 on the sample and 0.065 on the table, Adult's
0.015 on the sample and 0.027 on the table (docs/benchmarks.md, "The answer checked on the
table"), and the 0.03 utility target sits inside that gap. The check is reported beside the
sample's verdict (``table_check``), which it does not replace: it measures one set on one split,
the search compared them all on the same splits. Figures are still estimates; the privacy
metrics job on the full table is the release's own measure.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from veil_service.engine.avatarize import AvatarizationParameters, run_avatarization
from veil_service.engine.forked_map import forked_map
from veil_service.engine.metrics import attacks, privacy_metrics
from veil_service.engine.metrics.attack_risk import AttackResult, attack_risk
from veil_service.engine.metrics.signal import column_shapes, pair_trends
from veil_service.engine.metrics.tables import align_tables, as_declared_categories
from veil_service.engine.metrics.utility import utility_scores
from veil_service.engine_contract.advice_notes import Part, english, joined, note
from veil_service.engine_contract.privacy_targets import UTILITY_TARGET, PrivacyTargets
from veil_service.errors import InvalidArgumentError

#: Rows of the sample the trials run on (training + control).
DEFAULT_SAMPLE_ROWS = 3000
#: Attacks per trial and attack (anonymeter's default; fewer when the control part is smaller).
TRIAL_ATTACKS = 500
#: Secret columns the inference attack tries per trial (the target first).
INFERENCE_SECRETS = 4
#: Control rows (pooled over a trial's splits) a secret needs outside its most frequent value for
#: its inference risk to be measured. The risk divides by 1 - the control's success rate, which
#: for a secret held at one value by almost every row is about the share of the other values:
#: with M such rows the risk's 95 % interval is about +-2.8 / sqrt(M) wide (+-0.4 at 50, four
#: times the 0.10 target). german_credit's foreign_worker (96 % one value, about 25 such rows in
#: 633) read 0 / 0.60 / 0 on three splits and its interval under anonymeter reached 0.39-0.67
#: (docs/benchmarks.md, "The advice's inference reading on german_credit"): such a secret is
#: reported with its interval but not counted in the trial's worst inference.
MIN_MINORITY_ROWS = 50
#: Confidence level of the attacks' Wilson intervals (anonymeter's default).
CONFIDENCE = 0.95
#: Candidate k values (those below a quarter of the training part are kept).
K_GRID = (10, 20, 30, 50)
#: Noise levels tried with each k (with the largest weight bounded to 2/k).
NOISE_GRID = (1.0, 0.5)
#: Noise levels also tried coupled (``coupled_noise``: one random combination of the
#: neighbourhood's deviations for all variables). It is what keeps titanic's and diamonds' utility
#: within 0.03 of the real data's and makes german_credit's and wbcd's inference risk worse
#: (docs/benchmarks.md), so it is a per-table choice the search makes.
COUPLED_NOISE_GRID = (1.0,)
#: Octopize's method (unbounded weights, no noise, no redraw), also tried at each k.
PAPER_METHOD = {"max_weight": 1.0, "local_noise": 0.0, "redraw_unique_copies": False}
#: Control rows the splits of a trial should hold together (fewer splits when one holds them).
CONTROL_ROWS = 600
#: Most splits per trial (the search's cost grows with them).
MAX_SPLITS = 3
#: Share of the sample avatarized in each split (the rest is the control part).
TRAIN_SHARE = 0.7
#: Veil's default k (``AvatarizationParameters.k``): the fallback's reference set is at it.
DEFAULT_K = 20
#: Veil's default knobs (bounded weights 2/k, noise 1 per variable, unique copies redrawn).
DEFAULT_KNOBS = {"local_noise": 1.0, "redraw_unique_copies": True, "coupled_noise": False}
#: Utility (ratio to real) a fallback set may lose against the defaults' to be chosen instead.
FALLBACK_UTILITY_TOLERANCE = 0.01
#: How k grows from the sample's training part to a larger table: k x (rows / sample rows) ** this.
#: Measured on diamonds (docs/benchmarks.md, "Carrying k from the sample to the table"): at the
#: same k the whole table (18 x the sample's rows) had a higher hidden rate and cloaking, a lower
#: distance ratio and less utility lost, but about twice the inference risk (k=20: 0.159 against
#: 0.076); at k x 18 ** (1/3) = 2.6 k it had every measure at least as good as the sample's at k,
#: where keeping k / n (k x 18) would give up utility for nothing (R2 lost 0.074 at k=200).
K_GROWTH_EXPONENT = 1.0 / 3.0
#: Most rows of a table larger than the sample that the answer is checked on (training +
#: control). Measuring diamonds' 37,758 rows at k=79 took 13 s on one core, which is affordable
#: next to the search; a larger table is checked on a draw of this many rows, at the k the growth
#: rule gives for that draw's training part.
CHECK_ROWS = 50_000


@dataclass(frozen=True)
class Trial:
    """One parameter set tried on the sample, with what it measured.

    Attributes:
        parameters: The avatarization parameters tried (k, ncp, max_weight, local_noise,
            redraw_unique_copies, coupled_noise).
        measures: Each privacy measure (see the module docstring) and ``utility``, the mean
            over the splits.
        failed: The targets it misses.
        spread: Per measure, the largest minus the smallest value over the splits (0 with one
            split): how far one split's figure could be trusted.
        inference_by_secret: Each secret column's inference risk (pooled over the splits);
            ``measures["inference"]`` is the largest of those measured (see
            ``unmeasured_secrets``).
        inference_intervals: Each secret column's 95 % interval of that risk.
        unmeasured_secrets: The secrets too rare in the control to be measured (fewer than
            :data:`MIN_MINORITY_ROWS` control rows outside their most frequent value, pooled
            over the splits), with that row count: their risk and interval are reported but
            not counted in ``measures["inference"]`` (unless every secret is such).
    """

    parameters: dict[str, Any]
    measures: dict[str, float]
    failed: tuple[str, ...]
    spread: dict[str, float] = field(default_factory=dict)
    inference_by_secret: dict[str, float] = field(default_factory=dict)
    inference_intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    unmeasured_secrets: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class PrivacyAdvice:
    """The outcome of the search.

    Attributes:
        parameters: The chosen parameters (to pass to ``avatarize`` or ``set_parameters``).
        met: Whether the chosen parameters meet every target on the sample.
        binding: The target that stopped a more useful parameter set (None when the most useful
            set tried met every target).
        why: What was chosen and why, as a structured note (``engine_contract.advice_notes``,
            so a page says it in its language); ``reason`` is its English.
        trials: Every parameter set tried, in the order tried.
        targets: The targets used.
        utility_metric: What ``utility`` measures.
        sample_rows: Rows of the sample (training + control).
        splits: Random training/control splits each parameter set was measured on.
        chosen_index: Position of the chosen set in ``trials``.
        defaults_index: When no set met every target, the position of the trial with Veil's
            default knobs the fallback was judged against (see :func:`_fallback`); else None.
        table_rows: Rows of the table when it is larger than the sample (else None).
        sample_k: The chosen trial's k when ``parameters["k"]`` was grown for the larger table
            (see :func:`table_k`); else None.
        table_check: When the table is larger than the sample, the answer measured on a draw of
            the table (see the module docstring): its parameters (k for the draw's training
            part), measures and missed targets; else None.
        table_check_rows: Rows of that draw (training + control); else None.
    """

    parameters: dict[str, Any]
    met: bool
    binding: str | None
    why: tuple[Part, ...]
    trials: tuple[Trial, ...]
    targets: PrivacyTargets
    utility_metric: str
    sample_rows: int
    chosen_index: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)
    splits: int = 1
    defaults_index: int | None = None
    table_rows: int | None = None
    sample_k: int | None = None
    table_check: Trial | None = None
    table_check_rows: int | None = None

    @property
    def reason(self) -> str:
        """What was chosen and why, in English."""
        return english(self.why)

    def as_dict(self) -> dict[str, Any]:
        """Plain values (JSON) for the advice result."""
        return {
            "parameters": self.parameters,
            "met": self.met,
            "binding": self.binding,
            "reason": self.reason,
            "targets": {f.name: getattr(self.targets, f.name) for f in fields(self.targets)},
            "utility_metric": self.utility_metric,
            "sample_rows": self.sample_rows,
            "splits": self.splits,
            "chosen_index": self.chosen_index,
            "defaults_index": self.defaults_index,
            "table_rows": self.table_rows,
            "sample_k": self.sample_k,
            "min_minority_rows": MIN_MINORITY_ROWS,
            "trials": [_trial_dict(t) for t in self.trials],
            "table_check": (
                None
                if self.table_check is None
                else {
                    **_trial_dict(self.table_check),
                    "rows": self.table_check_rows,
                    "train_rows": int(TRAIN_SHARE * (self.table_check_rows or 0)),
                }
            ),
        }


def _trial_dict(trial: Trial) -> dict[str, Any]:
    """A trial's plain values (JSON)."""
    return {
        "parameters": trial.parameters,
        "measures": {k: _finite(v) for k, v in trial.measures.items()},
        "spread": {k: _finite(v) for k, v in trial.spread.items()},
        "inference_by_secret": {k: _finite(v) for k, v in trial.inference_by_secret.items()},
        "inference_intervals": {
            k: [_finite(low), _finite(high)] for k, (low, high) in trial.inference_intervals.items()
        },
        "unmeasured_secrets": dict(trial.unmeasured_secrets),
        "failed": list(trial.failed),
    }


def _finite(value: float) -> float | None:
    """JSON has no NaN: a measure that could not be computed is None."""
    return float(value) if np.isfinite(value) else None


def advise_privacy(
    df: pd.DataFrame,
    *,
    privacy_targets: Mapping[str, Any] | PrivacyTargets | None = None,
    categorical_columns: list[str] | None = None,
    target: str | None = None,
    ncp: int = 5,
    base_parameters: Mapping[str, Any] | None = None,
    sample_rows: int = DEFAULT_SAMPLE_ROWS,
    seed: int = 0,
    k_values: tuple[int, ...] = K_GRID,
    progress: Callable[[float], None] | None = None,
    splits: int | None = None,
    workers: int | None = None,
) -> PrivacyAdvice:
    """Search k, ncp and the privacy knobs for the most useful avatars meeting the targets.

    Args:
        df: The table (the columns to avatarize; identifiers already excluded).
        privacy_targets: Overrides of :class:`PrivacyTargets` (or targets).
        categorical_columns: Numeric columns to treat as categorical.
        target: Column whose prediction measures utility, and first inference secret (default:
            the ``target_column`` of ``base_parameters``, the column the avatarization decodes
            without noise).
        ncp: The ncp of the rule-based advice; ncp and twice it (at most the projection's
            dimensions) are tried.
        base_parameters: Other avatarization parameters every trial uses (imputation, a named
            ``target_column``...).
        sample_rows: Rows the trials run on.
        seed: Seed of the sample, the split, the avatars and the attacks.
        k_values: The k values to try (those below a quarter of the training part).
        progress: Called with the fraction of trials done.
        splits: Training/control splits per parameter set; None: enough for the control parts
            to hold :data:`CONTROL_ROWS` rows, at most :data:`MAX_SPLITS`.
        workers: Processes the parameter sets are measured on (default: one per available
            core; 1: here, one after the other, the same values).

    BLAS and OpenMP run on one thread: on a shared machine oversubscribed threads spin-wait
    (the utility model of one trial took 34 s instead of 0.9 s with two threads under load).

    Raises:
        InvalidArgumentError: bad targets, an unknown ``target`` or a table too small to split.
    """
    targets = (
        privacy_targets
        if isinstance(privacy_targets, PrivacyTargets)
        else PrivacyTargets.from_mapping(privacy_targets)
    )
    if target is None:
        target = (base_parameters or {}).get("target_column")
    if target is not None and target not in df.columns:
        raise InvalidArgumentError(
            f"target {target!r} is not a column of the table; columns: {list(df.columns)[:20]}.",
            field="target",
        )
    rng = np.random.default_rng(seed)
    sample = df
    if len(df) > sample_rows:
        sample = df.iloc[np.sort(rng.choice(len(df), size=sample_rows, replace=False))]
    cut = int(TRAIN_SHARE * len(sample))
    if cut < 40 or len(sample) - cut < 10:
        raise InvalidArgumentError(
            f"privacy-targeted advice needs at least 60 rows to split; got {len(sample)}.",
            field="table",
        )
    if splits is None:
        splits = min(MAX_SPLITS, -(-CONTROL_ROWS // (len(sample) - cut)))
    parts = []
    for _ in range(max(1, int(splits))):
        order = rng.permutation(len(sample))
        parts.append(
            (
                sample.iloc[np.sort(order[:cut])].reset_index(drop=True),
                sample.iloc[np.sort(order[cut:])].reset_index(drop=True),
            )
        )
    base = dict(base_parameters or {})
    base["categorical_columns"] = list(categorical_columns or ())
    grid = _grid(cut, ncp, parts[0][0], base, k_values)
    checked = len(df) > len(sample)
    # The check on the table measures one set on up to CHECK_ROWS rows: about a fifth of the work.
    share = 0.8 if checked else 1.0
    # Each parameter set is measured on its own (its own avatars, attacks and model, from the
    # same seeds whatever runs it): the sets run as forked pieces, one per core
    # (engine/forked_map.py), with the values of one process.
    with threadpool_limits(limits=1):
        trials = forked_map(
            [partial(_trial, parts, params, base, targets, target, seed) for params in grid],
            workers,
            [_cost(params) for params in grid],
            None if progress is None else lambda ended: progress(share * ended / len(grid)),
        )
    named = target is not None and base.get("target_column") == target
    advice = _choose(trials, targets, target, len(sample), len(parts), target_named=named)
    advice = _carry_to_table(advice, len(df), cut)
    if checked:
        with threadpool_limits(limits=1):
            advice = _check_on_table(advice, df, base, targets, target, seed, cut)
        if progress is not None:
            progress(1.0)
    return advice


def table_k(sample_k: int, table_rows: int, sample_train_rows: int) -> int:
    """The k for a table of ``table_rows`` rows that was chosen on ``sample_train_rows``.

    A larger table packs the same k neighbours closer together: the distance metrics and the
    utility improve but the attacks find the closer neighbours (see :data:`K_GROWTH_EXPONENT`),
    so k grows with the cube root of the size ratio, at most to a quarter of the table.
    """
    ratio = float(table_rows) / max(1, sample_train_rows)
    grown = round(sample_k * math.pow(ratio, K_GROWTH_EXPONENT))
    return max(sample_k, min(grown, max(sample_k, table_rows // 4)))


def _carry_to_table(
    advice: PrivacyAdvice, table_rows: int, sample_train_rows: int
) -> PrivacyAdvice:
    """The advice for the whole table when the trials ran on a sample of it: k grown by
    :func:`table_k`, ``max_weight`` kept at the same multiple of 1/k (2/k stays 2/k)."""
    if table_rows <= advice.sample_rows:
        return advice
    k = int(advice.parameters["k"])
    grown = table_k(k, table_rows, sample_train_rows)
    if grown == k:
        return replace(advice, table_rows=table_rows)
    parameters = _with_k(advice.parameters, grown)
    carry = note(
        "search.carry", sample_rows=sample_train_rows, table_rows=table_rows, k=k, grown=grown
    )
    return replace(
        advice,
        parameters=parameters,
        why=(*advice.why, carry),
        table_rows=table_rows,
        sample_k=k,
    )


def _with_k(parameters: Mapping[str, Any], k: int) -> dict[str, Any]:
    """``parameters`` at another k, ``max_weight`` kept at the same multiple of 1/k."""
    out = dict(parameters)
    old = int(out["k"])
    out["k"] = k
    weight = out.get("max_weight")
    if weight is not None and float(weight) < 1.0:
        out["max_weight"] = round(min(1.0, float(weight) * old / k), 6)
    return out


def _check_on_table(
    advice: PrivacyAdvice,
    df: pd.DataFrame,
    base: Mapping[str, Any],
    targets: PrivacyTargets,
    target: str | None,
    seed: int,
    sample_train_rows: int,
) -> PrivacyAdvice:
    """The answer measured on the table (a draw of :data:`CHECK_ROWS` rows when larger), its
    training part avatarized at the k the growth rule gives for it; the reason says what it
    found. Its own random stream, so the search's sample and splits are those without it."""
    rng = np.random.default_rng([seed, 1])
    draw = df
    if len(df) > CHECK_ROWS:
        draw = df.iloc[np.sort(rng.choice(len(df), size=CHECK_ROWS, replace=False))]
    order = rng.permutation(len(draw))
    cut = int(TRAIN_SHARE * len(draw))
    train = draw.iloc[np.sort(order[:cut])].reset_index(drop=True)
    control = draw.iloc[np.sort(order[cut:])].reset_index(drop=True)
    chosen = advice.trials[advice.chosen_index].parameters
    params = _with_k(chosen, table_k(int(chosen["k"]), cut, sample_train_rows))
    check = _trial([(train, control)], params, base, targets, target, seed)
    return replace(
        advice,
        table_check=check,
        table_check_rows=len(draw),
        why=(*advice.why, _check_words(check, targets, len(draw), len(df), cut)),
    )


def _figure(name: str, value: float) -> Part:
    """A measure as its target reads: the hidden rate in %, cloaking in avatars, others as
    fractions."""
    if name == "hidden_rate":
        return note("search.figure.percent", name=name, value=value)
    if name == "local_cloaking":
        return note("search.figure.count", name=name, value=value)
    return note("search.figure.fraction", name=name, value=value)


def _check_words(
    check: Trial, targets: PrivacyTargets, rows: int, table_rows: int, train_rows: int
) -> Part:
    """The check on the table in one sentence: where, at which k, and each target's figure."""
    where = (
        note("search.check.table") if rows == table_rows else note("search.check.draw", rows=rows)
    )
    figures = joined(
        [
            [_figure(name, check.measures[name])]
            + ([note("search.figure.missed")] if name in check.failed else [])
            for name in (*_HIGHER_IS_SAFER, *_LOWER_IS_SAFER, UTILITY_TARGET)
            if name in check.measures
        ]
    )
    verdict = (
        note("search.check.met")
        if not check.failed
        else note("search.check.missed", missed=", ".join(check.failed))
    )
    return note(
        "search.check",
        where=where,
        train_rows=train_rows,
        k=check.parameters["k"],
        verdict=verdict,
        figures=figures,
    )


def _grid(
    n_train: int,
    ncp: int,
    train: pd.DataFrame,
    base: Mapping[str, Any],
    k_values: tuple[int, ...],
) -> list[dict[str, Any]]:
    """Per k: Octopize's method, then bounded weights (2/k) with each noise level, then with
    each coupled noise level."""
    ks = [k for k in k_values if k < n_train // 4] or [max(2, n_train // 8)]
    width = _projection_width(train, base)
    chosen_ncp = min(ncp, width)
    grid: list[dict[str, Any]] = []
    for k in ks:
        grid.append({"k": k, "ncp": chosen_ncp, **PAPER_METHOD})
        grid += [
            {
                "k": k,
                "ncp": chosen_ncp,
                "max_weight": round(min(1.0, 2.0 / k), 6),
                "local_noise": noise,
                "redraw_unique_copies": True,
                "coupled_noise": coupled,
            }
            for noise, coupled in [
                *((noise, False) for noise in NOISE_GRID),
                *((noise, True) for noise in COUPLED_NOISE_GRID),
            ]
        ]
    return grid


def _projection_width(train: pd.DataFrame, base: Mapping[str, Any]) -> int:
    excluded = set(base.get("exclude_variable_names") or ())
    declared = set(base.get("categorical_columns") or ())
    width = 0
    for name in train.columns:
        if name in excluded:
            continue
        series = train[name]
        numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
        width += 1 if numeric and name not in declared else int(series.nunique())
        width += int(series.isna().any()) * 2
    return max(1, width)


def _cost(params: Mapping[str, Any]) -> float:
    """A parameter set's expected cost, to start the costliest first: the neighbours searched
    and weighed grow with ``k``."""
    return float(params.get("k", 0))


def _trial(
    parts: list[tuple[pd.DataFrame, pd.DataFrame]],
    params: dict[str, Any],
    base: Mapping[str, Any],
    targets: PrivacyTargets,
    target: str | None,
    seed: int,
) -> Trial:
    """One parameter set on every split (its own seed each): the attacks' risks from their
    successes pooled over the splits, every other measure the mean over the splits; the spread
    of every measure is over the splits' own figures. The worst inference leaves out the
    secrets too rare in the control to be measured (:data:`MIN_MINORITY_ROWS`), which the trial
    lists with their interval, unless every secret is such."""
    runs = [
        _measure(train, control, params, base, target, seed + position)
        for position, (train, control) in enumerate(parts)
    ]
    each = [measures for measures, _, _ in runs]
    names = [name for name in each[0] if all(name in m for m in each)]
    values = {name: np.array([m[name] for m in each], dtype=np.float64) for name in names}
    measures = {name: float(v.mean()) for name, v in values.items()}
    spread = {name: float(v.max() - v.min()) for name, v in values.items()}
    pooled = pool_results([results for _, results, _ in runs])
    secrets = [name.removeprefix(_SECRET) for name in pooled if name.startswith(_SECRET)]
    by_secret = {name: pooled[_SECRET + name].risk / 100.0 for name in secrets}
    intervals = {
        name: (pooled[_SECRET + name].risk_low / 100.0, pooled[_SECRET + name].risk_high / 100.0)
        for name in secrets
    }
    minority = {name: sum(rows.get(name, 0) for _, _, rows in runs) for name in secrets}
    unmeasured = {name: rows for name, rows in minority.items() if rows < MIN_MINORITY_ROWS}
    for name in ("singling_out", "linkability"):
        measures[name] = pooled[name].risk / 100.0
    counted = [risk for name, risk in by_secret.items() if name not in unmeasured]
    measures["inference"] = max(counted or by_secret.values(), default=0.0)
    return Trial(
        params, measures, targets.failures(measures), spread, by_secret, intervals, unmeasured
    )


_SECRET = "inference:"


def pool_attacks(runs: list[Mapping[str, AttackResult]]) -> dict[str, float]:
    """Each attack's risk (a fraction) from its successes summed over several runs.

    Every run is the same attack on another training/control split; the sums are what one run
    with all their attacks would count, so the risk is anonymeter's on that many attacks. The
    mean of the runs' risks is biased upward instead: each is clipped at 0, so a split where
    the control did better by chance counts 0, not its negative figure.

    Args:
        runs: Per run, the attacks' results by name (the same names in every run).
    """
    return {name: result.risk / 100.0 for name, result in pool_results(runs).items()}


def pool_results(runs: list[Mapping[str, AttackResult]]) -> dict[str, AttackResult]:
    """Each attack's result (risk and interval) from its successes summed over several runs
    (see :func:`pool_attacks`)."""
    out: dict[str, AttackResult] = {}
    for name in runs[0]:
        results = [run[name] for run in runs]
        controls = [r.control_successes for r in results]
        control = None if any(c is None for c in controls) else sum(c or 0.0 for c in controls)
        out[name] = attack_risk(
            sum(r.main_successes for r in results),
            sum(r.baseline_successes for r in results),
            control,
            sum(r.n_attacks for r in results),
            CONFIDENCE,
        )
    return out


def _measure(
    train: pd.DataFrame,
    control: pd.DataFrame,
    params: dict[str, Any],
    base: Mapping[str, Any],
    target: str | None,
    seed: int,
) -> tuple[dict[str, float], dict[str, AttackResult], dict[str, int]]:
    """Every measure of one parameter set on one training/control split, the attacks' results
    (``inference:<column>`` per secret) for pooling over the splits, and per secret column the
    control rows the attack used outside the secret's most frequent value."""
    settings = {**base, **params, "seed": seed, "n_jobs": 1}
    result = run_avatarization(train, AvatarizationParameters(**settings))
    excluded = list(base.get("exclude_variable_names") or ())
    kept = [c for c in train.columns if c not in excluded]
    declared = list(base.get("categorical_columns") or ())
    train, avatars, control = as_declared_categories(
        [train[kept], result.unshuffled[kept], control[kept]], declared
    )
    distance = privacy_metrics(train, avatars, ncp=params["ncp"], compute_attacks=False, seed=seed)
    measures: dict[str, float] = {
        "hidden_rate": float(distance["hidden_rate"]),
        "local_cloaking": float(distance["local_cloaking"]),
    }
    results, measures["distance_ratio"], minority = _attacks(train, avatars, control, target, seed)
    measures.update(
        {
            "singling_out": results["singling_out"].risk / 100.0,
            "linkability": results["linkability"].risk / 100.0,
            "inference": max(
                (r.risk / 100.0 for name, r in results.items() if name.startswith(_SECRET)),
                default=0.0,
            ),
        }
    )
    measures["unique_copies"] = _unique_copies(train, avatars)
    measures.update(_utility(train, avatars, control, target, seed))
    return measures, results, minority


def _attacks(
    train: pd.DataFrame,
    avatars: pd.DataFrame,
    control: pd.DataFrame,
    target: str | None,
    seed: int,
) -> tuple[dict[str, AttackResult], float, dict[str, int]]:
    """The three attacks (inference once per secret, ``inference:<column>``), the distance
    ratio on one split, and per secret the control rows attacked outside its most frequent
    value (see :data:`MIN_MINORITY_ROWS`)."""
    tables = align_tables(train, avatars, control)
    assert tables.holdout is not None
    rng = np.random.default_rng(seed)
    syn, ori, ctl = attacks.encode(tables)
    n = min(TRIAL_ATTACKS, len(ori.values), len(ctl.values))
    targets = ori.values[rng.choice(len(ori.values), size=n, replace=False)]
    controls = ctl.values[rng.choice(len(ctl.values), size=n, replace=False)]
    ranges = attacks.value_ranges([syn, ori, ctl])
    columns = np.arange(len(tables.columns))
    out = {
        "singling_out": attacks.singling_out(syn, ori, ctl, n, rng, CONFIDENCE),
        "linkability": attacks.linkability(
            syn, targets, controls, (columns[0::2], columns[1::2]), ranges, rng, CONFIDENCE
        ),
    }
    position = {c: j for j, c in enumerate(tables.columns)}
    secrets = [position[target]] if target is not None else []
    secrets += [j for j in _secret_order(tables.original) if j not in secrets]
    minority: dict[str, int] = {}
    for secret in secrets[:INFERENCE_SECRETS]:
        aux = columns[columns != secret]
        name = str(tables.columns[secret])
        out[_SECRET + name] = attacks.inference(
            syn, targets, controls, aux, secret, ranges, rng, CONFIDENCE
        )
        counts = pd.Series(controls[:, secret]).value_counts(dropna=False)
        minority[name] = int(len(controls) - counts.iloc[0]) if len(counts) else 0
    return out, _distance_ratio(syn, ori.values, ctl.values, columns, ranges), minority


def _secret_order(original: pd.DataFrame) -> list[int]:
    """Columns most worth guessing first: those with fewest distinct values (but at least 2)."""
    counts = [(int(original[c].nunique()), j) for j, c in enumerate(original.columns)]
    return [j for count, j in sorted(counts) if count >= 2]


def _distance_ratio(
    syn: attacks.Encoded,
    train: np.ndarray,
    control: np.ndarray,
    columns: np.ndarray,
    ranges: np.ndarray,
) -> float:
    """Mean distance of control rows to their nearest avatar over that of training rows.

    Rows with a missing value are left out, as the benchmark does with anonymeter's distance
    (bench/_privacy_worker.py), so that the two figures compare.
    """
    train = train[~np.isnan(train).any(axis=1)]
    control = control[~np.isnan(control).any(axis=1)]
    n = min(len(train), len(control))
    if n == 0:
        return float("nan")
    means = []
    for records in (train[:n], control[:n]):
        nearest = attacks.gower_nearest(syn, records, columns, ranges)
        means.append(_gower(syn, records, syn.values[nearest], ranges).mean())
    return float(means[1] / max(means[0], 1e-12))


def _gower(syn: attacks.Encoded, a: np.ndarray, b: np.ndarray, ranges: np.ndarray) -> np.ndarray:
    scale = np.where(syn.numeric & (ranges > 0), ranges, 1.0)
    with np.errstate(invalid="ignore"):
        numeric = np.abs(a - b) / scale
    numeric = np.where(np.isnan(numeric), 1.0, numeric)
    categorical = (a != b).astype(np.float64)
    total: np.ndarray = np.where(syn.numeric, numeric, categorical).sum(axis=1)
    return total


def _unique_copies(train: pd.DataFrame, avatars: pd.DataFrame) -> float:
    keys = pd.util.hash_pandas_object(train, index=False).to_numpy()
    values, counts = np.unique(keys, return_counts=True)
    avatar_keys = pd.util.hash_pandas_object(avatars[train.columns], index=False).to_numpy()
    return float(np.mean(np.isin(avatar_keys, values[counts == 1])))


def _utility(
    train: pd.DataFrame,
    avatars: pd.DataFrame,
    control: pd.DataFrame,
    target: str | None,
    seed: int,
) -> dict[str, float]:
    """``utility`` (higher is better) and, with a target, ``utility_loss`` (real - avatar score)
    and ``utility_real`` (the real rows' score, which places the utility target on the curve)."""
    tables = align_tables(train, avatars, control)
    if target is not None:
        scores = utility_scores(tables, target, seed)
        real, avatar = scores["ml_utility_real"], scores["ml_utility_avatar"]
        if isinstance(real, float) and isinstance(avatar, float) and real > 0:
            return {"utility": avatar / real, "utility_loss": real - avatar, "utility_real": real}
    shapes = list(column_shapes(tables).values())
    pairs = list(pair_trends(tables).values())
    return {"utility": float(np.mean(shapes + pairs))}


def _choose(
    trials: list[Trial],
    targets: PrivacyTargets,
    target: str | None,
    sample_rows: int,
    splits: int = 1,
    *,
    target_named: bool = False,
) -> PrivacyAdvice:
    metric = "ml_utility_ratio" if target is not None else "column_shapes_and_pair_trends"
    each = [note("search.splits", splits=splits)] if splits > 1 else []
    by_utility = sorted(range(len(trials)), key=lambda i: -trials[i].measures["utility"])
    passing = [i for i in by_utility if not trials[i].failed]
    private = [i for i in by_utility if not targets.privacy_failures(trials[i].failed)]
    reference: int | None = None
    if passing:
        chosen = passing[0]
        better = _more_useful(trials, by_utility, chosen)
        binding = trials[better[0]].failed[0] if better else None
        met = True
        why = [
            note(
                "search.met",
                trials=len(trials),
                rows=sample_rows,
                each=each,
                utility=_utility_words(trials[chosen]),
            ),
            note("search.met.binding", better=len(better), binding=binding)
            if binding
            else note("search.met.none_binding"),
        ]
    elif private:
        # Privacy first: the most useful set meeting every privacy target is kept even though
        # it loses more utility than asked; the answer says so instead of claiming "met".
        chosen = private[0]
        better = _more_useful(trials, by_utility, chosen)
        met = False
        binding = UTILITY_TARGET
        why = [
            note(
                "search.private",
                trials=len(trials),
                rows=sample_rows,
                each=each,
                private=len(private),
                trial=chosen + 1,
                utility=_utility_words(trials[chosen]),
                loss=targets.utility_loss,
            )
        ]
        if better:
            why.append(
                note(
                    "search.private.better",
                    better=len(better),
                    binding=trials[better[0]].failed[0],
                )
            )
        why.append(note("search.private.relax"))
        if not target_named:
            why.append(note("search.private.name_target", target=target))
        why.append(note("search.end"))
    else:
        chosen, reference = _fallback(trials, targets)
        defaults_k = trials[reference].parameters["k"]
        met = False
        missed = trials[chosen].failed
        binding = missed[0]
        closest = min(range(len(trials)), key=lambda i: targets.shortfall(trials[i].measures))
        kept = note(
            "search.fallback.defaults" if chosen == reference else "search.fallback.as_private",
            k=defaults_k,
        )
        why = [
            note(
                "search.fallback",
                trials=len(trials),
                rows=sample_rows,
                each=each,
                kept=kept,
                missed=", ".join(missed),
                binding=binding,
            )
        ]
        if closest != chosen:
            if not _no_riskier(trials[closest].measures, trials[reference].measures):
                why.append(note("search.fallback.closest_riskier", trial=closest + 1))
            else:
                why.append(
                    note(
                        "search.fallback.closest_useless",
                        trial=closest + 1,
                        tolerance=FALLBACK_UTILITY_TOLERANCE,
                    )
                )
        why.append(note("search.fallback.end"))
    why += _unmeasured_note(trials[chosen])
    return PrivacyAdvice(
        parameters=dict(trials[chosen].parameters),
        met=met,
        binding=binding,
        why=tuple(why),
        trials=tuple(trials),
        targets=targets,
        utility_metric=metric,
        sample_rows=sample_rows,
        chosen_index=chosen,
        splits=splits,
        defaults_index=reference,
    )


def _more_useful(trials: list[Trial], by_utility: list[int], chosen: int) -> list[int]:
    """The trials more useful than ``chosen``, most useful first."""
    return [
        i for i in by_utility if trials[i].measures["utility"] > trials[chosen].measures["utility"]
    ]


def _utility_words(trial: Trial) -> Part:
    """A trial's utility for the answer's reason, with the score it loses when measured."""
    utility = float(trial.measures["utility"])
    loss = trial.measures.get(UTILITY_TARGET)
    if loss is not None and np.isfinite(loss):
        return note("search.utility_loss", utility=utility, loss=float(loss))
    return note("search.utility", utility=utility)


def _unmeasured_note(trial: Trial) -> list[Part]:
    """The sentence naming the chosen trial's secrets too rare in the control to be measured,
    with their risk and interval (none when there are none): they are left out of its worst
    inference, which the reader must be told."""
    if not trial.unmeasured_secrets:
        return []
    listed = joined(
        [
            note(
                "search.secret",
                name=name,
                rows=rows,
                risk=float(trial.inference_by_secret[name]),
                low=float(trial.inference_intervals[name][0]),
                high=float(trial.inference_intervals[name][1]),
            )
            for name, rows in trial.unmeasured_secrets.items()
        ],
        "semicolon",
    )
    every = len(trial.unmeasured_secrets) == len(trial.inference_by_secret)
    code = "search.unmeasured.every" if every else "search.unmeasured.some"
    return [note(code, listed=listed, min_rows=MIN_MINORITY_ROWS)]


def _fallback(trials: list[Trial], targets: PrivacyTargets) -> tuple[int, int]:
    """The set to return when none meets every target, and the defaults' trial it is judged by.

    The set closest to the targets on the sample used to be returned, and under anonymeter on
    the whole table it was sometimes riskier than Veil's defaults (german_credit's worst
    inference 0.292 against 0.140, penguins' 0.502 against 0.267; docs/benchmarks.md): a
    sample's "closest" is noise as often as it is signal. So the fallback may only move away
    from the defaults (bounded weights 2/k, noise 1, per-variable draws, at the k nearest
    :data:`DEFAULT_K`) to a set that is **no riskier on any measure** (every risk, the distance
    ratio and unique copies at most the defaults', hidden rate and cloaking at least theirs)
    and loses at most :data:`FALLBACK_UTILITY_TOLERANCE` of their utility; among those it takes
    the one missing the fewest targets, then the closest, then the most useful. Without such a
    set the defaults are returned.

    Returns:
        The chosen trial's index and the defaults' trial's index.
    """
    reference = _defaults_trial(trials)
    base = trials[reference].measures
    candidates = [
        i
        for i, trial in enumerate(trials)
        if _no_riskier(trial.measures, base)
        and trial.measures["utility"] >= base["utility"] - FALLBACK_UTILITY_TOLERANCE
    ]
    chosen = min(
        candidates or [reference],
        key=lambda i: (
            len(trials[i].failed),
            targets.shortfall(trials[i].measures),
            -trials[i].measures["utility"],
        ),
    )
    return chosen, reference


def _defaults_trial(trials: list[Trial]) -> int:
    """Index of the trial with Veil's default knobs at the k nearest :data:`DEFAULT_K`."""
    knobs = [
        i
        for i, trial in enumerate(trials)
        if trial.parameters.get("local_noise") == DEFAULT_KNOBS["local_noise"]
        and trial.parameters.get("coupled_noise") is False
        and trial.parameters.get("redraw_unique_copies") is True
    ]
    return min(knobs, key=lambda i: (abs(trials[i].parameters["k"] - DEFAULT_K), i))


def _no_riskier(measures: Mapping[str, float], base: Mapping[str, float]) -> bool:
    """Whether ``measures`` are at least as private as ``base`` on every privacy measure (a
    measure that could not be computed, NaN, is never no riskier)."""
    for name in _LOWER_IS_SAFER:
        if not measures[name] <= base[name] + 1e-12:
            return False
    return all(measures[name] >= base[name] - 1e-12 for name in _HIGHER_IS_SAFER)


_LOWER_IS_SAFER = ("singling_out", "linkability", "inference", "distance_ratio", "unique_copies")
_HIGHER_IS_SAFER = ("hidden_rate", "local_cloaking")
