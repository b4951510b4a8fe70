"""Engine tasks of multi-table runs: the linked tables avatarized, measured and reported as one.

One task does every table of the run, because a table's avatars depend on its parents' and
children's (``engine.multitable``). Inputs are named ``original@<table>`` and ``avatars@<table>``
(avatars in the originals' row order, with their new keys); results ``<kind>[:<subkind>]@<table>``
for one table, or ``<kind>`` for the whole run (the dispatcher files each under its table).

Parameters (JSON): ``schema`` (``engine_contract.linked_tables.schema_to_dict``), ``tables``
(per table: ``column_types``, ``avatarization``, ``time_series``, ``privacy_metrics``,
``signal_metrics``, ``pseudonymized_columns``), ``seed``, ``compute_figures``,
``max_distribution_plots``, ``language``, and the run's ``pseudonym_secret`` when a column is
pseudonymized (``engine.multitable.pseudonyms``; the mappings come back as
``pseudonym_mappings@<table>``, SENSITIVE).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from veil_service.engine.pseudonymize import Strategy, mappings_to_frame, parse_strategies
from veil_service.engine.tasks.avatar_jobs import HTML, apply_column_types
from veil_service.engine.tasks.context import TaskContext
from veil_service.engine.tasks.dtypes import match_dtypes
from veil_service.engine_contract.advice_notes import Part, english, joined, note
from veil_service.engine_contract.avatar_features import (
    LINEAGE_RESULT,
    PSEUDONYM_MAPPINGS_RESULT,
    PSEUDONYM_SECRET_PARAM,
)
from veil_service.engine_contract.linked_tables import Schema, schema_from_dict, table_ref
from veil_service.engine_contract.time_series import TimeSeriesParameters, from_settings

if TYPE_CHECKING:  # the multi-table package loads only when a task needs it
    from veil_service.engine.multitable.metrics import LinkedTables


@dataclass(frozen=True)
class LinkedRun:
    """The task's parameters, decoded.

    Attributes:
        schema: Tables, keys and links.
        settings: Per table: ``column_types``, ``avatarization``, ``time_series``,
            ``privacy_metrics``, ``signal_metrics``.
        params: Every parameter, as sent.
    """

    schema: Schema
    settings: Mapping[str, Mapping[str, Any]]
    params: Mapping[str, Any]

    @staticmethod
    def from_context(ctx: TaskContext) -> LinkedRun:
        """Decode the task's parameters."""
        return LinkedRun(
            schema_from_dict(ctx.params.get("schema") or {}),
            dict(ctx.params.get("tables") or {}),
            ctx.params,
        )

    def names(self) -> list[str]:
        """Tables, parents before children."""
        return self.schema.order()

    def setting(self, table: str, key: str) -> Any:
        """One setting of a table (None when absent)."""
        return (self.settings.get(table) or {}).get(key)

    def series(self, table: str) -> TimeSeriesParameters:
        """A time-series table's parameters (defaults when unset)."""
        return from_settings(self.setting(table, "time_series"))

    def strategies(self, table: str) -> dict[str, Strategy]:
        """A table's pseudonymized columns and their strategies."""
        return parse_strategies(self.setting(table, "pseudonymized_columns") or {})

    def read_uploaded(self, ctx: TaskContext, role: str) -> dict[str, pd.DataFrame]:
        """Every table of a role as uploaded, with its own dtypes (the avatars are given
        them back)."""
        return {name: ctx.read_table(table_ref(role, name)) for name in self.names()}

    def read(
        self,
        ctx: TaskContext,
        role: str,
        *,
        with_identifiers: bool = False,
        uploaded: Mapping[str, pd.DataFrame] | None = None,
    ) -> tuple[dict[str, pd.DataFrame], dict[str, list[str]]]:
        """Every table of a role, cast to its declared types, and its numeric categoricals.

        Pseudonymized columns other than keys are identifiers, not data: left out unless
        ``with_identifiers``.

        Args:
            uploaded: The tables already read (:meth:`read_uploaded`), not read again.
        """
        frames: dict[str, pd.DataFrame] = {}
        categorical: dict[str, list[str]] = {}
        for name in self.names():
            frame = (
                uploaded[name] if uploaded is not None else ctx.read_table(table_ref(role, name))
            )
            if not with_identifiers:
                from veil_service.engine.multitable.pseudonyms import set_aside

                frame = set_aside(self.schema, name, frame, self.strategies(name))
            types = dict(self.setting(name, "column_types") or {})
            if role != "original":  # uploaded avatars may lack a column: the metrics say so
                types = {c: t for c, t in types.items() if c in frame.columns}
            frames[name], categorical[name] = apply_column_types(frame, types)
        return frames, categorical

    def identifier_columns(
        self, name: str, original: pd.DataFrame, categorical: Sequence[str]
    ) -> list[str]:
        """The identifier-like columns the avatar method released as pseudonyms in the table's
        avatars: its rule (engine/avatarize/identifier_columns.py) on the table's own
        variables, with the table's exclusions and categorical columns, as the linked
        avatarization applies it (a column's evidence is its own: the summaries and parent
        variables it is avatarized next to change nothing). None in a time-series table, whose
        readings the series model rebuilds."""
        from veil_service.engine.avatarize.identifier_columns import find_identifiers
        from veil_service.engine.multitable.pipeline import value_columns

        if self.schema.is_time_series(name):
            return []
        avatarization = self.setting(name, "avatarization") or {}
        declared = avatarization.get("categorical_columns") or categorical
        variables = original[value_columns(self.schema, name, original)]
        excluded = avatarization.get("exclude_variable_names") or ()
        return [str(c) for c in find_identifiers(variables, excluded, declared)]

    def read_pair(
        self, ctx: TaskContext
    ) -> tuple[
        dict[str, pd.DataFrame], dict[str, pd.DataFrame], dict[str, list[str]], dict[str, list[str]]
    ]:
        """Originals, avatars and numeric categoricals for the metrics and reports, and per
        table the identifier-like columns left out of both sides.

        Pseudonymized columns are left out (``read``); so are the identifier-like columns the
        standard job released as pseudonyms (a pseudonym is nobody's value: comparing it with
        the real one measures nothing, and a figure of it would show the real names). Uploaded
        avatars keep them: a kept identifier must show in the metrics.
        """
        originals, categorical = self.read(ctx, "original")
        avatars, _ = self.read(ctx, "avatars")
        made_here = self.params.get("avatars_from_standard") or {}
        hidden: dict[str, list[str]] = {}
        for name in self.names():
            columns = (
                self.identifier_columns(name, originals[name], categorical[name])
                if made_here.get(name)
                else []
            )
            hidden[name] = columns
            if columns:
                originals[name] = originals[name].drop(columns=columns)
                avatars[name] = avatars[name].drop(
                    columns=[c for c in columns if c in avatars[name].columns]
                )
                categorical[name] = [c for c in categorical[name] if c not in columns]
        lineages = self.lineages(ctx)
        if lineages:
            from veil_service.engine.multitable.metrics import first_avatars

            avatars = first_avatars(self.schema, avatars, lineages, originals)
        # Codes declared categorical are measured and drawn as the modalities they were
        # avatarized as (the metrics read a column's kind from its dtype).
        from veil_service.engine.metrics.tables import as_declared_categories

        for name in self.names():
            originals[name], avatars[name] = as_declared_categories(
                [originals[name], avatars[name]], categorical[name]
            )
        return originals, avatars, categorical, hidden

    def lineages(self, ctx: TaskContext) -> dict[str, np.ndarray]:
        """Per augmented table, the original each of its unshuffled avatars descends from."""
        return {
            name: ctx.read_table(table_ref(LINEAGE_RESULT, name))["source_row"].to_numpy(
                dtype=np.int64
            )
            for name in self.names()
            if table_ref(LINEAGE_RESULT, name) in ctx.inputs
        }


def run_avatarize_tables(ctx: TaskContext) -> dict[str, Any]:
    """Avatarize the linked tables; write each table's avatars, projections and figures."""
    from veil_service.engine.multitable import TableParameters, avatarize_tables
    from veil_service.engine.multitable.pseudonyms import pseudonymize_linked, set_aside
    from veil_service.engine.multitable.unused_parameters import unused_parameter_warnings

    run = LinkedRun.from_context(ctx)
    uploaded = run.read_uploaded(ctx, "original")
    full, categorical = run.read(ctx, "original", with_identifiers=True, uploaded=uploaded)
    strategies = {name: run.strategies(name) for name in run.names()}
    frames = {name: set_aside(run.schema, name, full[name], strategies[name]) for name in full}
    categorical = {
        name: [c for c in columns if c in frames[name].columns]
        for name, columns in categorical.items()
    }
    parameters = {}
    for name in run.names():
        if run.schema.is_time_series(name):
            parameters[name] = TableParameters(time_series=run.series(name))
            continue
        avatarization = dict(run.setting(name, "avatarization") or {})
        avatarization.setdefault("categorical_columns", categorical[name])
        parameters[name] = TableParameters(avatarization)
    ctx.progress(0.0, "checking tables")
    result = avatarize_tables(
        run.schema,
        frames,
        parameters,
        seed=run.params.get("seed"),
        progress=lambda f, p: ctx.progress(0.85 * f, p),
    )
    tables = result.tables
    warnings = [*unused_parameter_warnings(run.schema, run.setting), *result.warnings]
    if any(strategies.values()):
        ctx.progress(0.85, "pseudonymizing")
        secret = ctx.params.get(PSEUDONYM_SECRET_PARAM)
        if not secret:
            raise ValueError("pseudonymized columns need the run's secret")
        tables, mappings = pseudonymize_linked(
            run.schema, full, tables, strategies, secret=bytes.fromhex(secret)
        )
        for name, table_mappings in mappings.items():
            if table_mappings:
                ctx.write_table(
                    table_ref(PSEUDONYM_MAPPINGS_RESULT, name), mappings_to_frame(table_mappings)
                )
    ctx.progress(0.85, "writing results")
    for name, table in tables.items():
        # The avatars leave with the uploaded dtypes, as a single table's do: the declared
        # types the engine works in are coarser (int16 is int, a category or string is text).
        ctx.write_table(table_ref("shuffled", name), match_dtypes(table.avatars, uploaded[name]))
        ctx.write_table(
            table_ref("unshuffled", name), match_dtypes(table.unshuffled, uploaded[name])
        )
        if table.sources is not None:
            # SENSITIVE, as in a single-table run: the metrics jobs' input (on request only).
            ctx.write_table(
                table_ref(LINEAGE_RESULT, name), pd.DataFrame({"source_row": table.sources})
            )
        if table.original_projections is not None and table.avatar_projections is not None:
            ctx.write_table(table_ref("original_projections", name), table.original_projections)
            ctx.write_table(table_ref("avatar_projections", name), table.avatar_projections)
    links = [
        {
            "parent_table": r.link.parent_table,
            "parent_field": r.link.parent_field,
            "child_table": r.link.child_table,
            "child_field": r.link.child_field,
            "method": r.link.method,
            "total_distance": r.total_distance,
            "children": len(r.avatar_parent_rows),
            "childless_avatar_parents": int(
                len(result.tables[r.link.parent_table].unshuffled)
                - len(np.unique(r.avatar_parent_rows))
            ),
        }
        for r in result.links
    ]
    augmented = {
        name: table.augmentation
        for name, table in result.tables.items()
        if table.augmentation is not None
    }
    ctx.write_json("links", {"links": links, "warnings": warnings, "augmentation": augmented})
    if run.params.get("compute_figures", True):
        # Identifier-like columns came back as pseudonyms: their figures would show the real
        # values on the originals' side.
        hidden = {
            name: run.identifier_columns(name, frames[name], categorical[name]) for name in frames
        }
        shown = {name: frames[name].drop(columns=hidden[name]) for name in frames}
        avatars = {
            name: t.unshuffled.drop(columns=[c for c in hidden[name] if c in t.unshuffled])
            for name, t in result.tables.items()
        }
        projections = {
            name: (t.original_projections, t.avatar_projections)
            for name, t in result.tables.items()
        }
        _write_figures(ctx, run, shown, avatars, categorical, projections)
    ctx.progress(1.0, "done")
    return {
        "tables": {name: len(t.avatars) for name, t in tables.items()},
        "warnings": warnings,
        "augmentation": augmented,
    }


def linked_tables(
    run: LinkedRun,
    originals: Mapping[str, pd.DataFrame],
    avatars: Mapping[str, pd.DataFrame],
    categorical: Mapping[str, list[str]],
) -> LinkedTables:
    """The metrics' view of a run: originals, unshuffled avatars, schema, series parameters."""
    from veil_service.engine.multitable.metrics import LinkedTables

    return LinkedTables(
        run.schema,
        originals,
        avatars,
        categorical,
        {name: run.series(name) for name in run.names() if run.schema.is_time_series(name)},
    )


def _write_figures(
    ctx: TaskContext,
    run: LinkedRun,
    originals: Mapping[str, pd.DataFrame],
    avatars: Mapping[str, pd.DataFrame],
    categorical: Mapping[str, list[str]],
    projections: Mapping[str, tuple[pd.DataFrame | None, pd.DataFrame | None]],
) -> None:
    """Each table's figures: the single-table ones on its variables, series figures for series."""
    from veil_service.engine.forked_map import available_cores
    from veil_service.engine.metrics.tables import as_declared_categories
    from veil_service.engine.multitable.metrics import aligned_series
    from veil_service.engine.multitable.pipeline import value_columns
    from veil_service.engine.reports import build_figures
    from veil_service.engine.timeseries.plots import series_figures

    tables = linked_tables(run, originals, avatars, categorical)
    language = str(run.params.get("language") or "en")
    names = run.names()
    for position, name in enumerate(names):
        ctx.progress(0.87 + 0.12 * position / len(names), f"{name}: figures")
        columns = value_columns(run.schema, name, originals[name])
        if run.schema.is_time_series(name):
            link = run.schema.parents(name)[0]
            original, avatar, variables, _ = aligned_series(tables, link)
            time_column = run.schema.table(name).time_series_time
            assert time_column is not None
            figures = series_figures(
                name,
                variables,
                _readings(tables, link, time_column, variables, avatar=False),
                _readings(tables, link, time_column, variables, avatar=True),
                original.curves[original.has_series],
                avatar.curves[avatar.has_series],
                language=language,
                seed=int(run.params.get("seed") or 0),
            )
        else:
            kwargs: dict[str, Any] = {
                "table_name": name,
                "language": language,
                "seed": int(run.params.get("seed") or 0),
                "with_png": False,
                "workers": available_cores(),
            }
            if run.params.get("max_distribution_plots") is not None:
                kwargs["max_distribution_plots"] = run.params["max_distribution_plots"]
            original_projections, avatar_projections = projections.get(name, (None, None))
            shown_original, shown_avatars = as_declared_categories(
                [
                    originals[name][columns].reset_index(drop=True),
                    avatars[name][columns].reset_index(drop=True),
                ],
                categorical.get(name, ()),
            )
            figures = build_figures(
                shown_original,
                shown_avatars,
                original_projections=original_projections,
                avatar_projections=avatar_projections,
                privacy=None,
                signal=None,
                **kwargs,
            )
        for figure in figures:
            ctx.write_bytes(
                table_ref(f"figures:{figure.kind}:{figure.index}", name),
                figure.html.encode("utf-8"),
                HTML,
                ".html",
            )


def _readings(
    tables: LinkedTables, link: Any, time_column: str, variables: list[str], *, avatar: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(owner, time, values)`` of a series table's readings, for the raw series figure."""
    from veil_service.engine.multitable.validation import time_values

    frame = (tables.avatars if avatar else tables.originals)[link.child_table]
    owner = tables.parent_rows(link, avatar=avatar)
    time = time_values(link.child_table, time_column, frame[time_column])
    values = frame[variables].to_numpy(dtype=np.float64, na_value=np.nan)
    return owner, time, values


def _metric_parameters(
    run: LinkedRun, section: str, hidden: Mapping[str, Sequence[str]]
) -> dict[str, dict[str, Any]]:
    """Each table's metrics parameters, with the run's seed and the avatarization's ``ncp``,
    without the columns left out of the metrics (``hidden``)."""
    from veil_service.engine.metrics.parameters import accepted

    out: dict[str, dict[str, Any]] = {}
    for name in run.names():
        params = accepted(run.setting(name, section) or {})
        if run.params.get("seed") is not None:
            params.setdefault("seed", run.params["seed"])
        avatarization = run.setting(name, "avatarization") or {}
        if "ncp" not in params and avatarization.get("ncp") is not None:
            params["ncp"] = avatarization["ncp"]
        left_out = set(hidden.get(name) or ())
        if left_out:
            for key in ("known_variables", "exclude_variable_names"):
                if params.get(key):
                    params[key] = [c for c in params[key] if c not in left_out] or None
            if params.get("categorical_hidden_rate_variables"):
                params["categorical_hidden_rate_variables"] = [
                    c for c in params["categorical_hidden_rate_variables"] if c not in left_out
                ] or None
            if params.get("column_weights"):
                params["column_weights"] = {
                    c: w for c, w in params["column_weights"].items() if c not in left_out
                }
            if params.get("target") in left_out:
                params["target"] = None
        out[name] = params
    return out


def _run_linked_metrics(ctx: TaskContext, section: str) -> dict[str, Any]:
    from veil_service.engine.multitable.metrics import (
        augmented_privacy_metrics,
        linked_privacy_metrics,
        linked_signal_metrics,
        metrics_summary,
    )

    run = LinkedRun.from_context(ctx)
    originals, avatars, categorical, hidden = run.read_pair(ctx)
    ctx.progress(0.05, section.replace("_", " "))
    tables = linked_tables(run, originals, avatars, categorical)
    compute = linked_privacy_metrics if section == "privacy_metrics" else linked_signal_metrics
    parameters = _metric_parameters(run, section, hidden)
    results = compute(tables, parameters)
    lineages = run.lineages(ctx) if section == "privacy_metrics" else {}
    if lineages:
        # The augmented tables in full (extra individuals included), read once for all of them.
        full, _ = run.read(ctx, "avatars")
        for name, sources in lineages.items():
            # The extra individuals of an augmented table: each original against the
            # barycentre of its descendants (the first avatars are measured above).
            results[name] += augmented_privacy_metrics(
                tables,
                full[name].drop(columns=list(hidden.get(name) or ()), errors="ignore"),
                sources,
                name,
                {"table_name": name, **parameters.get(name, {})},
            )
    ctx.progress(0.95, "writing results")
    for name, items in results.items():
        for item in items:
            metadata = item.setdefault("metadata", {})
            metadata["pseudonymized_identifier_columns"] = list(hidden.get(name) or [])
        ctx.write_json(table_ref(section, name), items)
    kind = "privacy" if section == "privacy_metrics" else "signal"
    ctx.write_json(f"{section}_summary", metrics_summary(results, kind))
    ctx.progress(1.0, "done")
    return {"metrics": {name: len(items) for name, items in results.items()}}


def run_linked_privacy_metrics(ctx: TaskContext) -> dict[str, Any]:
    """Privacy metrics of every table under each computation type that applies to it."""
    return _run_linked_metrics(ctx, "privacy_metrics")


def run_linked_signal_metrics(ctx: TaskContext) -> dict[str, Any]:
    """Signal metrics of every table, and across links."""
    return _run_linked_metrics(ctx, "signal_metrics")


def run_check_tables(ctx: TaskContext) -> dict[str, Any]:
    """Check a linked run's tables before its jobs are queued (StartJobs waits for this).

    The same checks the avatarization starts with (``multitable.validation``), on the key and
    time columns only, read from memory-mapped inputs: keys unique and present, every foreign
    key pointing at a parent row, times readable, series of two points or more, and each
    table's ``k`` below its row count; and, for the metrics jobs named in ``metrics_jobs``
    (``privacy_metrics``, ``signal_metrics``), each table's parameters against its column
    names. Short, so it runs in the engine's short-task lane.
    """
    import pyarrow as pa
    import pyarrow.ipc as ipc

    from veil_service.engine.multitable import TableParameters
    from veil_service.engine.multitable.metric_parameters import check_metric_parameters
    from veil_service.engine.multitable.pipeline import check_parameters
    from veil_service.engine.multitable.validation import check_tables
    from veil_service.engine.timeseries.series import projection_parameters

    run = LinkedRun.from_context(ctx)
    run.schema.check(require_links=True)
    frames: dict[str, pd.DataFrame] = {}
    columns: dict[str, list[str]] = {}
    for name in run.names():
        keys = run.schema.table(name)
        wanted = [*keys.key_columns, *([keys.time_series_time] if keys.time_series_time else [])]
        with pa.memory_map(str(ctx.input_path(table_ref("original", name)))) as source:
            table = ipc.open_stream(source).read_all()
            columns[name] = list(table.column_names)
            # One data column stands for the rest: the check needs to know there is one.
            data = [c for c in table.column_names if c not in wanted][:1]
            present = [c for c in table.column_names if c in wanted] + data
            frame = table.select(present).to_pandas()
        types = run.setting(name, "column_types") or {}
        frames[name], _ = apply_column_types(
            frame, {c: t for c, t in types.items() if c in frame.columns}
        )
    check_tables(run.schema, frames, columns)
    for name in run.names():
        if run.schema.is_time_series(name):
            # nf against the grid and the series: known from the keys alone, so refused here.
            individuals = frames[name][run.schema.parents(name)[0].child_field]
            counts = individuals.value_counts().to_numpy()
            projection_parameters(name, run.series(name), counts)
        if not run.schema.is_time_series(name):
            check_parameters(
                name,
                frames[name],
                TableParameters(run.setting(name, "avatarization") or {}),
                run.schema,
            )
    # The metrics jobs the run will start: their parameters fail here, not after avatarizing.
    for section in run.params.get("metrics_jobs") or ():
        check_metric_parameters(run.schema, columns, _metric_parameters(run, section, {}))
    return {"tables": {name: len(frame) for name, frame in frames.items()}}


def run_advise_links(ctx: TaskContext) -> dict[str, Any]:
    """Propose links between the run's tables from their declared keys and values."""
    from dataclasses import asdict

    from veil_service.engine.multitable.link_advice import advise_links

    run = LinkedRun.from_context(ctx)
    ctx.progress(0.1, "reading tables")
    frames = {
        name: ctx.read_table(table_ref("original", name))
        for name in (t.name for t in run.schema.tables)
        if table_ref("original", name) in ctx.inputs
    }
    ctx.progress(0.5, "comparing keys")
    advice = advise_links(run.schema, frames)
    ctx.write_json("advice_links", asdict(advice))
    ctx.progress(1.0, "done")
    return {"links": len(advice.links), "unlinked": len(advice.unlinked_foreign_keys)}


def run_linked_advice(ctx: TaskContext) -> dict[str, Any]:
    """Parameter advice for one table of a linked run, its ``k`` searched over the linked run.

    The table's rule-based advice (``avatar_jobs.rule_advice``, on its variables without keys)
    gives every parameter and the ``k`` the search starts from; the search
    (``multitable.hidden_rate_advice.advise_linked_k``, seeds from the run's seed) then runs
    every linked table with each ``k`` tried for this one, the other tables with their stored
    parameters (or their own rule-based advice when they have no ``k`` yet), with per-variable
    and with coupled local noise, and of the trials whose matched hidden rate reaches the
    table's fresh-sample reference (or the stated ``hidden_rate_target``) keeps the most
    faithful (column shapes and pair trends). The client asks for the
    tables parents first, so a child's search runs with its parents' advised parameters. A
    time-series table gets the rule-based advice only (it takes its individuals' ``k``).
    Extra parameters: ``table_name``, ``hidden_rate_target`` (optional, %).
    """
    from veil_service.engine.multitable import TableParameters
    from veil_service.engine.multitable.hidden_rate_advice import (
        HELD_OUT_OFFSET,
        advise_linked_k,
        seeds_for,
    )
    from veil_service.engine.tasks.avatar_jobs import rule_advice

    run = LinkedRun.from_context(ctx)
    name = str(ctx.params.get("table_name", ""))
    if name not in run.names():
        raise ValueError(f"table {name!r} is not in the linked run")
    ctx.progress(0.05, "reading tables")
    frames, categorical = run.read(ctx, "original")

    def advice_of(table: str) -> dict[str, Any]:
        keys = run.schema.table(table)
        left_out = {*keys.key_columns, keys.time_series_time or ""}
        frame = frames[table].drop(columns=[c for c in frames[table] if c in left_out])
        return rule_advice(frame, [c for c in categorical[table] if c not in left_out], table)

    payload = advice_of(name)
    if run.schema.is_time_series(name):
        ctx.write_json("advice", payload)
        return {"table_name": name}
    parameters: dict[str, TableParameters] = {}
    for table in run.names():
        if run.schema.is_time_series(table):
            parameters[table] = TableParameters(time_series=run.series(table))
            continue
        stored = dict(run.setting(table, "avatarization") or {})
        if table == name:
            stored = dict(payload["parameters"])
        elif stored.get("k") is None:
            advised = advice_of(table)["parameters"]
            stored = {**advised, **{k: v for k, v in stored.items() if v is not None}}
            stored["k"] = advised["k"]
        stored.setdefault("categorical_columns", categorical[table])
        parameters[table] = TableParameters(stored)
    ctx.progress(0.15, "searching k over the linked tables")
    seed = int(run.params.get("seed") or 0)
    stated = ctx.params.get("hidden_rate_target")
    targets = None if stated is None else {name: float(stated)}
    seeds = seeds_for(len(frames[name]))
    found = advise_linked_k(
        run.schema, frames, parameters, targets, tables=[name], seeds=seeds, seed=seed
    ).tables[name]
    payload["parameters"]["k"] = found.k
    payload["parameters"]["coupled_noise"] = found.coupled_noise
    held_out_seed = seed + HELD_OUT_OFFSET
    source = note(f"linked.source.{found.target_source}")

    def trial(t: Any, series: bool) -> Part:
        return note(
            "linked.trial",
            k=t.k,
            coupled=[note("linked.trial.coupled")] if t.coupled_noise else [],
            rate=t.rate,
            series=[
                note("linked.trial.series", column=c, rate=t.series_rate(c))
                for c in found.series_targets
            ]
            if series
            else [],
        )

    noise = "coupled" if found.coupled_noise else "per_variable"
    parts = [note("linked.head", k=found.k, noise=note(f"linked.noise.{noise}"))]
    if found.met:
        parts.append(
            note(
                "linked.met",
                rate=found.chosen.rate,
                error=found.chosen.rate_error,
                seeds=seeds,
                source=source,
                target=found.target,
                held_out_seed=held_out_seed,
                held_rate=found.rate,
                held_error=found.rate_error,
                fidelity=found.chosen.fidelity,
            )
        )
    else:
        parts.append(
            note(
                "linked.not_met",
                source=source,
                target=found.target,
                held_rate=found.rate,
                held_out_seed=held_out_seed,
            )
        )
    parts += [
        note("linked.series_target", column=c, target=target)
        for c, target in found.series_targets.items()
    ]
    parts.append(
        note(
            "linked.tail",
            tried=joined([trial(t, True) for t in found.trials]),
            checked=joined([trial(t, False) for t in found.held_out]),
        )
    )
    payload["notes"].append(english(parts))
    payload["structured_notes"].append(parts)
    payload["linked_k_search"] = {
        "target": found.target,
        "target_source": found.target_source,
        "met": found.met,
        "seeds": seeds,
        "chosen_k": found.k,
        "chosen_coupled_noise": found.coupled_noise,
        "trials": [
            {
                "k": t.k,
                "coupled_noise": t.coupled_noise,
                "rates": list(t.rates),
                "rate": t.rate,
                "fidelity": t.fidelity,
                "series_rates": {c: t.series_rate(c) for c in t.series_rates},
            }
            for t in found.trials
        ],
        "series_targets": dict(found.series_targets),
        "held_out": [
            {
                "k": t.k,
                "coupled_noise": t.coupled_noise,
                "rates": list(t.rates),
                "rate": t.rate,
                "fidelity": t.fidelity,
                "series_rates": {c: t.series_rate(c) for c in t.series_rates},
            }
            for t in found.held_out
        ],
        "held_out_seed": held_out_seed,
        "held_out_rate": found.rate,
    }
    ctx.write_json("advice", payload)
    ctx.progress(1.0, "done")
    return {"table_name": name, "k": found.k, "coupled_noise": found.coupled_noise}
