"""Engine task of the standard job: release one table (``engine.release``) and write its results.

Results, by name (the dispatcher files them under Octopize's result kinds): ``shuffled``,
``unshuffled``, ``original_projections``, ``avatar_projections``, ``figures:<kind>:<i>``; for an
augmented table, ``lineage`` (SENSITIVE: the original each output row descends from, which the
privacy metrics need); for pseudonymized columns with consistent strategies,
``pseudonym_mappings`` (SENSITIVE: original value -> pseudonym; the server keeps it with the run
and hands it only to the run's owner, on request). The summary carries the privacy loss of a DP
generator, for the dispatcher to record on the job.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from veil_service.engine.tasks.avatar_jobs import (
    HTML,
    _write_figures,
    apply_column_types,
    run_avatarize,
)
from veil_service.engine.tasks.context import TaskContext
from veil_service.engine.tasks.dtypes import match_dtypes
from veil_service.engine_contract import avatar_features
from veil_service.engine_contract.avatar_features import (
    LINEAGE_RESULT,
    PSEUDONYM_MAPPINGS_RESULT,
    PSEUDONYM_SECRET_PARAM,
)


def run_standard(ctx: TaskContext) -> dict[str, Any]:
    """Release input ``original`` with ``params["avatarization"]`` and
    ``params["pseudonymized_columns"]``.

    The plain avatar method (no DP generator, augmentation, processor or pseudonym) runs as
    :func:`~veil_service.engine.tasks.avatar_jobs.run_avatarize`, which also sets constant and
    empty columns aside and reports its warnings.
    """
    avatarization = ctx.params.get("avatarization") or {}
    plain = not ctx.params.get("pseudonymized_columns") and not any(
        avatarization.get(key) is not None for key in avatar_features.FEATURE_KEYS
    )
    if plain:
        return run_avatarize(ctx)
    from veil_service.engine.pseudonymize import mappings_to_frame
    from veil_service.engine.release import parse_release, release_table

    uploaded = ctx.read_table("original")
    frame, categorical = apply_column_types(uploaded, ctx.params.get("column_types") or {})
    pseudonymized = ctx.params.get("pseudonymized_columns") or {}
    params = parse_release(
        dict(ctx.params.get("avatarization") or {}),
        pseudonymized,
        categorical_columns=categorical,
        seed=ctx.params.get("seed"),
    )
    secret = ctx.params.get(PSEUDONYM_SECRET_PARAM)
    table_name = str(ctx.params.get("table_name", "table"))
    ctx.progress(0.0, "preparing")
    release = release_table(
        frame,
        params,
        secret=bytes.fromhex(secret) if secret else None,
        table_name=table_name,
        progress=lambda f, p: ctx.progress(0.9 * f, p),
    )
    ctx.progress(0.9, "writing results")
    # The uploaded dtypes back where no value changes (pseudonyms stay text, a processor's
    # fractional values are not rounded): int32, float32, categories, dates were lost here.
    ctx.write_table("shuffled", match_dtypes(release.avatars, uploaded, keep_values=True))
    ctx.write_table("unshuffled", match_dtypes(release.unshuffled, uploaded, keep_values=True))
    ctx.write_table("original_projections", release.original_projections)
    ctx.write_table("avatar_projections", release.avatar_projections)
    augmented = release.sources is not None and len(release.sources) != release.n_original
    if augmented:
        assert release.sources is not None
        ctx.write_table(LINEAGE_RESULT, pd.DataFrame({"source_row": release.sources}))
    if release.mappings:
        ctx.write_table(PSEUDONYM_MAPPINGS_RESULT, mappings_to_frame(release.mappings))
    if ctx.params.get("compute_figures", True):
        # Neither pseudonymized columns nor identifiers the avatar method replaced by pseudonyms:
        # their figures would show the real values.
        hidden = {*pseudonymized, *release.details.get("pseudonymized_identifier_columns", [])}
        kept = [c for c in frame.columns if str(c) not in hidden and c not in hidden]
        _write_figures(
            ctx,
            frame[kept],
            release.unshuffled[kept],
            release.original_projections,
            release.avatar_projections,
            None,
            None,
        )
        augmentation = params.augmentation
        if augmentation is not None and augmentation.target_column and release.sources is not None:
            _write_class_projection(ctx, frame, release, augmentation.target_column)
    ctx.progress(1.0, "done")
    summary: dict[str, Any] = {
        "rows": len(release.avatars),
        "columns": release.avatars.shape[1],
        "generator": params.generator,
        "details": release.details,
        # What the avatar method said (an identifier released as pseudonyms, a capped ncp).
        "warnings": list(release.details.get("warnings") or []),
    }
    if release.privacy_loss is not None:
        summary["privacy_loss"] = release.privacy_loss
    return summary


def _write_class_projection(
    ctx: TaskContext, frame: pd.DataFrame, release: Any, target: str
) -> None:
    from veil_service.engine.reports.plots_augmentation import class_projection_figure

    figure = class_projection_figure(
        release.original_projections,
        release.avatar_projections,
        frame[target],
        release.unshuffled[target],
        n_original=release.n_original,
        table_name=str(ctx.params.get("table_name", "table")),
        language=str(ctx.params.get("language", "en")),
        seed=int(ctx.params.get("seed") or 0),
    )
    ctx.write_bytes(
        f"figures:{figure.kind}:{figure.index}", figure.html.encode("utf-8"), HTML, ".html"
    )
