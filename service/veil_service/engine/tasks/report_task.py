"""The report task: technical PDF and PIA DOCX of one table, plus the metrics summary figure."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from veil_service.engine.forked_map import available_cores
from veil_service.engine.reports import (
    REPORT_TYPES,
    PiaContext,
    ReportContext,
    TableFeatures,
    TableSummary,
    build_pia_report,
    build_report_figures,
    build_technical_report,
    check_language,
)
from veil_service.engine.tasks.context import TaskContext


def write_reports(
    ctx: TaskContext,
    original: pd.DataFrame,
    avatars: pd.DataFrame,
    privacy: Any,
    signal: Any,
    projections: tuple[pd.DataFrame | None, pd.DataFrame | None] = (None, None),
) -> dict[str, Any]:
    """Build both reports in the run's language and write them as ``report:basic|pia``.

    ``projections`` are the standard job's coordinates of the originals and the avatars: the
    report's projection and contribution figures are then the ones the run's pages show.
    """
    table = str(ctx.params.get("table_name", "table"))
    language = str(ctx.params.get("language", "en"))
    check_language(language)
    computations = privacy if isinstance(privacy, list) else [privacy]
    privacy = computations[0]
    signal = signal[0] if isinstance(signal, list) else signal
    pia = PiaContext(**(ctx.params.get("pia") or {}))
    ctx.progress(0.1, "figures")
    figures = build_report_figures(
        original,
        avatars,
        original_projections=projections[0],
        avatar_projections=projections[1],
        privacy=privacy,
        signal=signal,
        table_name=table,
        language=language,
        pia=pia,
        seed=int(ctx.params.get("seed") or 0),
        workers=available_cores(),
    )
    for figure in figures:
        if figure.kind == "metrics_summary":
            ctx.write_bytes(
                f"figures:{figure.kind}:{figure.index}",
                figure.html.encode("utf-8"),
                "text/html",
                ".html",
            )
        if figure.png is not None:  # the images the reports embed (Results.REPORT_IMAGES)
            ctx.write_bytes(
                f"report_images:{figure.kind}:{figure.index}", figure.png, "image/png", ".png"
            )
    context = ReportContext(
        run_name=str(ctx.params.get("run_name") or table),
        tables=(TableSummary.from_frames(table, original, avatars),),
        parameters={
            table: dict(ctx.params.get("avatarization") or {}),
            "seed": ctx.params.get("seed"),
        },
        privacy={table: privacy},
        signal={table: signal},
        pia=pia,
        figures={table: figures},
        generated_at=datetime.now(UTC),
        features={table: _features(ctx, computations[1:])},
    )
    ctx.progress(0.5, "technical report")
    ctx.write_bytes(
        "report:basic", build_technical_report(context, language), REPORT_TYPES["basic"], ".pdf"
    )
    ctx.progress(0.8, "PIA report")
    ctx.write_bytes("report:pia", build_pia_report(context, language), REPORT_TYPES["pia"], ".docx")
    ctx.progress(1.0, "done")
    return {"language": language}


def _features(ctx: TaskContext, barycentre_metrics: list[dict[str, Any]]) -> TableFeatures:
    """The table's features for the reports: its parameters, its pseudonymization, the privacy
    loss the dispatcher recorded on the standard job, the augmentation's barycentre metrics, and
    the privacy-targeted search of the run's advice job (input ``advice``, when there is one)."""
    from veil_service.engine_contract.avatar_features import generator_of

    parameters = dict(ctx.params.get("avatarization") or {})
    search = None
    if "advice" in ctx.inputs:  # the run's advice job searched parameters for this table
        search = json.loads(ctx.input_path("advice").read_text()).get("privacy_search")
    return TableFeatures(
        generator=generator_of(parameters),
        parameters=parameters,
        privacy_loss=ctx.params.get("privacy_loss"),
        pseudonymized=dict(ctx.params.get("pseudonymized_columns") or {}),
        augmentation_metrics={
            str((m.get("metadata") or {}).get("computation_type", "")): m
            for m in barycentre_metrics
        },
        privacy_search=search,
    )
