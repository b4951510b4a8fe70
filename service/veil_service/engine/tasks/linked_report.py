"""The report task of a multi-table run: one technical PDF and one PIA DOCX over every table.

Inputs: ``original@<table>``, ``avatars@<table>`` and the JSON results of the metrics jobs
``privacy_metrics@<table>`` and ``signal_metrics@<table>`` (a list per table, one result per
computation type), plus ``links`` (how the standard job assigned children) when it ran.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from veil_service.engine.tasks.context import TaskContext
from veil_service.engine.tasks.linked_jobs import LinkedRun
from veil_service.engine_contract.linked_tables import table_ref


def headline(results: Sequence[Mapping[str, Any]], kind: str) -> Mapping[str, Any]:
    """The result a table's report row shows: ``standalone`` when computed, else the weakest.

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


def run_linked_report(ctx: TaskContext) -> dict[str, Any]:
    """Build both reports in the run's language over every table and link."""
    from veil_service.engine.multitable.pipeline import value_columns
    from veil_service.engine.reports import (
        REPORT_TYPES,
        PiaContext,
        ReportContext,
        TableSummary,
        build_pia_report,
        build_technical_report,
        check_language,
    )

    run = LinkedRun.from_context(ctx)
    language = str(run.params.get("language", "en"))
    check_language(language)
    originals, _ = run.read(ctx, "original")
    avatars, _ = run.read(ctx, "avatars")
    privacy: dict[str, Mapping[str, Any]] = {}
    signal: dict[str, Mapping[str, Any]] = {}
    summaries = []
    parameters: dict[str, Any] = {"seed": run.params.get("seed")}
    for name in run.names():
        columns = value_columns(run.schema, name, originals[name])
        summaries.append(
            TableSummary.from_frames(name, originals[name][columns], avatars[name][columns])
        )
        privacy[name] = headline(_read_json(ctx, table_ref("privacy_metrics", name)), "privacy")
        signal[name] = headline(_read_json(ctx, table_ref("signal_metrics", name)), "signal")
        parameters[name] = dict(
            run.setting(name, "avatarization") or run.setting(name, "time_series") or {}
        )
    context = ReportContext(
        run_name=str(run.params.get("run_name") or "run"),
        tables=tuple(summaries),
        parameters=parameters,
        privacy=privacy,
        signal=signal,
        pia=PiaContext(**(run.params.get("pia") or {})),
        generated_at=datetime.now(UTC),
    )
    ctx.progress(0.4, "technical report")
    ctx.write_bytes(
        "report:basic", build_technical_report(context, language), REPORT_TYPES["basic"], ".pdf"
    )
    ctx.progress(0.8, "PIA report")
    ctx.write_bytes("report:pia", build_pia_report(context, language), REPORT_TYPES["pia"], ".docx")
    ctx.progress(1.0, "done")
    return {"language": language, "tables": len(summaries)}
