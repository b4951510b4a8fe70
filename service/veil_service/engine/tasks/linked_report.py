"""The report task of a multi-table run: one technical PDF and one PIA DOCX over every table.

Inputs: ``original@<table>``, ``avatars@<table>`` and the JSON results of the metrics jobs
``privacy_metrics@<table>`` and ``signal_metrics@<table>`` (a list per table, one result per
computation type). The reports cover every table (its verdict rests on its weakest computation
type, and each type is listed) and every link (method, child counts, and a link that kept the
original structure flagged as a privacy breach).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from veil_service.engine.tasks.context import TaskContext
from veil_service.engine.tasks.linked_jobs import LinkedRun
from veil_service.engine_contract.linked_tables import TIME_SERIES, Link, Schema, table_ref

if TYPE_CHECKING:
    from veil_service.engine.reports import LinkSummary
    from veil_service.engine.reports.features import TableFeatures


def headline(results: Sequence[Mapping[str, Any]], kind: str) -> Mapping[str, Any]:
    """The result a table's verdict rests on: ``standalone`` when computed, else the weakest.

    A child table has no standalone privacy result (its rows are not individuals); its weakest
    individual-level result (lowest hidden rate) is the one a reader must see.
    """
    for result in results:
        if (result.get("metadata") or {}).get("computation_type") == "standalone":
            return result
    if kind == "privacy":
        return min(results, key=lambda r: float(r.get("hidden_rate", 100.0)))
    return results[0]


def _read_json(ctx: TaskContext, name: str) -> Any:
    return json.loads(ctx.input_path(name).read_text())


def link_summary(
    schema: Schema,
    link: Link,
    originals: Mapping[str, pd.DataFrame],
    avatars: Mapping[str, pd.DataFrame],
    signal: Mapping[str, Sequence[Mapping[str, Any]]],
) -> LinkSummary:
    """What the reports show of a link, from the signal metrics' child-count figures."""
    from veil_service.engine.reports import LinkSummary

    rows = (len(originals[link.child_table]), len(avatars[link.child_table]))
    per_parent: tuple[float, float] | None = None
    childless: tuple[float, float] | None = None
    distance: float | None = None
    if link.method == TIME_SERIES:
        # From the tables themselves: the signal metrics count readings per series, which
        # leaves out the individuals without one (a panel's people never read: wage_panel with
        # 2 of 545 showed "—" here, and 6.40 readings per series as children per parent).
        parents = (originals[link.parent_table], avatars[link.parent_table])
        children = (originals[link.child_table], avatars[link.child_table])
        if all(len(p) for p in parents):
            per_parent = (
                len(children[0]) / len(parents[0]),
                len(children[1]) / len(parents[1]),
            )
            childless = (
                100.0
                * float(
                    (~parents[0][link.parent_field].isin(children[0][link.child_field])).mean()
                ),
                100.0
                * float(
                    (~parents[1][link.parent_field].isin(children[1][link.child_field])).mean()
                ),
            )
    else:
        from veil_service.engine.multitable.metrics import child_reference

        reference = child_reference(schema, link)
        top = next(
            (
                r
                for r in signal.get(link.parent_table, ())
                if (r.get("metadata") or {}).get("computation_type") == "to_top_enriched"
                and (r.get("metadata") or {}).get("reference") == reference
            ),
            {},
        )
        if "child_count_mean_original" in top:
            per_parent = (top["child_count_mean_original"], top["child_count_mean_avatar"])
            childless = (top["childless_share_original"], top["childless_share_avatar"])
            distance = top["child_count_hellinger"]
    return LinkSummary(
        link.parent_table,
        link.parent_field,
        link.child_table,
        link.child_field,
        link.method,
        child_rows=rows,
        children_per_parent=per_parent,
        childless_share=childless,
        count_distance=distance,
    )


def run_linked_report(ctx: TaskContext) -> dict[str, Any]:
    """Build both reports in the run's language over every table and link."""
    from veil_service.engine.forked_map import available_cores
    from veil_service.engine.multitable.pipeline import value_columns
    from veil_service.engine.reports import (
        REPORT_TYPES,
        PiaContext,
        ReportContext,
        TableSummary,
        build_pia_report,
        build_report_figures,
        build_technical_report,
        check_language,
    )
    from veil_service.engine.timeseries.series import projection_parameters

    run = LinkedRun.from_context(ctx)
    language = str(run.params.get("language", "en"))
    check_language(language)
    originals, avatars, _, _ = run.read_pair(ctx)
    pia = PiaContext(**(run.params.get("pia") or {}))
    privacy_results = {
        name: _read_json(ctx, table_ref("privacy_metrics", name)) for name in run.names()
    }
    signal_results = {
        name: _read_json(ctx, table_ref("signal_metrics", name)) for name in run.names()
    }
    privacy: dict[str, Mapping[str, Any]] = {}
    signal: dict[str, Mapping[str, Any]] = {}
    figures: dict[str, Any] = {}
    summaries = []
    parameters: dict[str, Any] = {"seed": run.params.get("seed")}
    names = run.names()
    for position, name in enumerate(names):
        ctx.progress(0.05 + 0.4 * position / len(names), f"{name}: figures")
        columns = value_columns(run.schema, name, originals[name])
        original, avatar = originals[name][columns], avatars[name][columns]
        summaries.append(TableSummary.from_frames(name, original, avatar))
        privacy[name] = headline(privacy_results[name], "privacy")
        signal[name] = headline(signal_results[name], "signal")
        parameters[name] = dict(
            run.setting(name, "avatarization") or run.setting(name, "time_series") or {}
        )
        if run.schema.is_time_series(name):
            # The nf the series were projected with: left unset it is the default lowered to
            # what the table gives, which the stored settings do not say.
            link = run.schema.parents(name)[0]
            counts = originals[name][link.child_field].value_counts().to_numpy()
            used = projection_parameters(name, run.series(name), counts)
            parameters[name].update(
                projection_type=used.projection_type, nf=used.nf, method=used.method
            )
        if not run.schema.is_time_series(name):
            original_projections, avatar_projections = _standard_projections(
                ctx, name, len(original)
            )
            figures[name] = build_report_figures(
                original.reset_index(drop=True),
                avatar.reset_index(drop=True),
                original_projections=original_projections,
                avatar_projections=avatar_projections,
                privacy=dict(privacy[name]),
                signal=dict(signal[name]),
                table_name=name,
                language=language,
                pia=pia,
                seed=int(run.params.get("seed") or 0),
                workers=available_cores(),
            )
    context = ReportContext(
        run_name=str(run.params.get("run_name") or "run"),
        tables=tuple(summaries),
        parameters=parameters,
        privacy=privacy,
        signal=signal,
        pia=pia,
        figures=figures,
        generated_at=datetime.now(UTC),
        links=tuple(
            link_summary(run.schema, link, originals, avatars, signal_results)
            for link in run.schema.links
        ),
        computations=privacy_results,
        features={name: _features(run, name, privacy_results[name]) for name in names},
    )
    ctx.progress(0.5, "technical report")
    ctx.write_bytes(
        "report:basic", build_technical_report(context, language), REPORT_TYPES["basic"], ".pdf"
    )
    ctx.progress(0.8, "PIA report")
    ctx.write_bytes("report:pia", build_pia_report(context, language), REPORT_TYPES["pia"], ".docx")
    ctx.progress(1.0, "done")
    return {
        "language": language,
        "tables": len(summaries),
        "breached_links": [link.label() for link in context.links if link.sensitive],
    }


def _standard_projections(
    ctx: TaskContext, name: str, original_rows: int
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The standard job's coordinates of a table, when the server passed them and they
    describe its originals row for row (else the figures project the table themselves)."""
    refs = (table_ref("original_projections", name), table_ref("avatar_projections", name))
    if not all(ref in ctx.inputs for ref in refs):
        return None, None
    original_projections = ctx.read_table(refs[0])
    if len(original_projections) != original_rows:
        return None, None
    return original_projections, ctx.read_table(refs[1])


def _features(run: LinkedRun, name: str, privacy: Sequence[Mapping[str, Any]]) -> TableFeatures:
    """A linked table's features for the reports, as a single-table report has them: its
    processors, augmentation (with the barycentre metrics of its extra rows) and
    pseudonymization."""
    from veil_service.engine.reports.features import TableFeatures

    barycentres = {"barycentered", "class_balancing_barycenter"}
    return TableFeatures(
        parameters=dict(run.setting(name, "avatarization") or {}),
        pseudonymized=dict(run.setting(name, "pseudonymized_columns") or {}),
        augmentation_metrics={
            str(kind): result
            for result in privacy
            if (kind := (result.get("metadata") or {}).get("computation_type")) in barycentres
        },
    )
