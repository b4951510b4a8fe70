"""Engine tasks of runs after the release: privacy and signal metrics, report, advice (the
standard job's release is engine/tasks/standard.py).

Each task reads its inputs from the TaskContext, calls one algorithm package, and writes named
results that the dispatcher files under the Octopize result kinds (``privacy_metrics``,
``signal_metrics``, ``figures:<plot kind>:<i>``, ``report:basic``, ``report:pia``, ``advice``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from veil_service.engine.forked_map import available_cores
from veil_service.engine.tasks.context import TaskContext
from veil_service.engine.tasks.dtypes import dates_as_datetimes, match_dtypes
from veil_service.engine_contract.advice_notes import english
from veil_service.errors import InvalidArgumentError

HTML = "text/html"


def apply_column_types(
    frame: pd.DataFrame, types: dict[str, str]
) -> tuple[pd.DataFrame, list[str]]:
    """Cast columns to their declared avatar_yaml types (and date columns to datetimes, which
    the algorithms read).

    Returns:
        The cast frame, and the numeric columns declared categorical (the avatarization then
        treats their codes as modalities, not quantities).

    Raises:
        InvalidArgumentError: a declared column is missing or cannot be cast.
    """
    frame = dates_as_datetimes(frame).copy()
    categorical_numeric: list[str] = []
    for column, kind in types.items():
        if column not in frame.columns:
            raise InvalidArgumentError(
                f"types names column {column!r}, which the table does not have; columns: "
                f"{list(frame.columns)[:20]}.",
                field=f"types[{column}]",
            )
        series = frame[column]
        try:
            if kind == "category":
                if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
                    categorical_numeric.append(column)
                else:
                    frame[column] = series.astype("object")
            elif kind == "int":
                frame[column] = pd.to_numeric(series).astype(
                    "Int64" if series.isna().any() else "int64"
                )
            elif kind == "float":
                frame[column] = pd.to_numeric(series).astype("float64")
            elif kind == "bool":
                frame[column] = series.astype("boolean" if series.isna().any() else "bool")
            elif kind == "datetime":
                frame[column] = pd.to_datetime(series)
            elif kind == "datetime_tz":
                frame[column] = pd.to_datetime(series, utc=True)
        except (ValueError, TypeError) as exc:
            raise InvalidArgumentError(
                f"column {column!r} cannot be read as {kind}: {str(exc)[:200]}. Fix the data or "
                "declare another type.",
                field=f"types[{column}]",
            ) from None
    return frame, categorical_numeric


def _read_original(ctx: TaskContext, max_rows: int | None = None) -> tuple[pd.DataFrame, list[str]]:
    frame = ctx.read_table("original", max_rows)
    return apply_column_types(frame, ctx.params.get("column_types") or {})


def _table_name(ctx: TaskContext) -> str:
    return str(ctx.params.get("table_name", "table"))


@dataclass(frozen=True)
class PlainRelease:
    """The avatar method's release of one table, as the standard job records it.

    Attributes:
        shuffled: The avatars, rows shuffled, with the uploaded table's dtypes.
        unshuffled: SENSITIVE: row ``i`` is the avatar of original row ``i``.
        result: What :func:`avatarize` returned (projections, pseudonymized columns).
        work: The table avatarized (declared types applied, set-aside columns removed).
        warnings: What the caller should know.
    """

    shuffled: pd.DataFrame
    unshuffled: pd.DataFrame
    result: Any
    work: pd.DataFrame
    warnings: list[str]


def release_plain(
    uploaded: pd.DataFrame,
    column_types: dict[str, str],
    avatarization: dict[str, Any],
    *,
    seed: int | None,
    table_name: str,
    progress: Any = None,
) -> PlainRelease:
    """Avatarize ``uploaded`` with the plain avatar method: declared types applied, constant
    and empty columns set aside and released unchanged (see
    :mod:`veil_service.engine.avatarize.constant_columns`), the original's dtypes given back.

    Used by the standard job on one process and by each Dask partition
    (``engine.dask_partitions``), so both release a table the same way.
    """
    from veil_service.engine.avatarize import avatarize
    from veil_service.engine.avatarize import constant_columns as aside_columns

    frame, categorical = apply_column_types(uploaded, column_types)
    aside = aside_columns.find_set_aside(frame)
    work = aside_columns.without(frame, aside, table_name)
    params = dict(avatarization)
    params.setdefault("categorical_columns", categorical)
    for key in ("categorical_columns", "exclude_variable_names"):
        params[key] = aside_columns.prune_names(params.get(key), aside)
    params["column_weights"] = aside_columns.prune_weights(params.get("column_weights"), aside)
    result = avatarize(work, seed=seed, progress=progress, **params)
    shuffled = match_dtypes(aside_columns.restore(result.avatars, uploaded, aside), uploaded)
    unshuffled = match_dtypes(aside_columns.restore(result.unshuffled, uploaded, aside), uploaded)
    return PlainRelease(
        shuffled, unshuffled, result, work, [*aside.warnings(table_name), *result.warnings]
    )


def run_avatarize(ctx: TaskContext) -> dict[str, Any]:
    """Avatarize input ``original`` with ``params["avatarization"]`` (:func:`release_plain`)."""
    ctx.progress(0.0, "preparing")
    release = release_plain(
        ctx.read_table("original"),
        ctx.params.get("column_types") or {},
        dict(ctx.params.get("avatarization") or {}),
        seed=ctx.params.get("seed"),
        table_name=_table_name(ctx),
        progress=lambda f, p: ctx.progress(0.9 * f, p),
    )
    result = release.result
    ctx.progress(0.9, "writing results")
    ctx.write_table("shuffled", release.shuffled)
    ctx.write_table("unshuffled", release.unshuffled)
    ctx.write_table("original_projections", result.original_projections)
    ctx.write_table("avatar_projections", result.avatar_projections)
    if ctx.params.get("compute_figures", True):
        # An identifier's figure would plot real names against pseudonyms: none is drawn.
        hidden = list(result.pseudonymized_columns)
        _write_figures(
            ctx,
            release.work.drop(columns=hidden),
            result.unshuffled.drop(columns=hidden),
            result.original_projections,
            result.avatar_projections,
            None,
            None,
        )
    ctx.progress(1.0, "done")
    return {
        "rows": len(release.shuffled),
        "columns": release.shuffled.shape[1],
        "warnings": release.warnings,
    }


def _write_figures(
    ctx: TaskContext,
    original: pd.DataFrame,
    avatars: pd.DataFrame,
    original_projections: pd.DataFrame | None,
    avatar_projections: pd.DataFrame | None,
    privacy: dict[str, Any] | None,
    signal: dict[str, Any] | None,
    only: set[str] | None = None,
) -> None:
    from veil_service.engine.metrics.tables import as_declared_categories

    try:
        from veil_service.engine.reports import build_figures
    except ImportError:  # pragma: no cover - reports package absent from a slim engine image
        return
    kwargs: dict[str, Any] = {
        "original_projections": original_projections,
        "avatar_projections": avatar_projections,
        "privacy": privacy,
        "signal": signal,
        "table_name": ctx.params.get("table_name", "table"),
        "language": ctx.params.get("language", "en"),
        # The run's seed, as the report job's: both draw the same sample of a large projection.
        "seed": int(ctx.params.get("seed") or 0),
        "with_png": False,
        "workers": available_cores(),
    }
    if ctx.params.get("max_distribution_plots") is not None:
        kwargs["max_distribution_plots"] = ctx.params["max_distribution_plots"]
    original, avatars = as_declared_categories(
        [original, avatars], declared_categorical(ctx, original)
    )
    ctx.progress(0.92, "figures")
    for figure in build_figures(original, avatars, **kwargs):
        if only is not None and figure.kind not in only:
            continue
        if figure.kind == "metrics_summary" and privacy is None and signal is None:
            continue  # a summary of metrics no job has computed yet would show nothing
        ctx.write_bytes(
            f"figures:{figure.kind}:{figure.index}", figure.html.encode("utf-8"), HTML, ".html"
        )


def _read_pair(
    ctx: TaskContext, max_rows: int | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The originals and the unshuffled avatars with their declared types applied, and the
    numeric columns declared categorical: the metrics and the reports measure those as
    modalities (``as_declared_categories``), as the avatarization treated them, once the
    identifier rule (which reads the declared list and the numbers) has run."""
    original, declared = _read_original(ctx, max_rows)
    avatars = ctx.read_table("avatars", max_rows)
    types = ctx.params.get("column_types") or {}
    if types:
        avatars, _ = apply_column_types(
            avatars, {c: t for c, t in types.items() if c in avatars.columns}
        )
    return original, avatars, declared


def declared_categorical(ctx: TaskContext, frame: pd.DataFrame) -> list[str]:
    """The numeric columns of ``frame`` the run declares categorical (its ``column_types``)."""
    types = ctx.params.get("column_types") or {}
    _, declared = apply_column_types(
        frame.head(0), {c: t for c, t in types.items() if c in frame.columns}
    )
    return declared


def _metric_params(ctx: TaskContext, section: str) -> dict[str, Any]:
    params = dict(ctx.params.get(section) or {})
    params.setdefault("table_name", ctx.params.get("table_name", "table"))
    if ctx.params.get("seed") is not None:
        params.setdefault("seed", ctx.params["seed"])
    avatarization = ctx.params.get("avatarization") or {}
    if "ncp" not in params and avatarization.get("ncp") is not None:
        params["ncp"] = avatarization["ncp"]
    # The column the avatarization decoded without noise is the one analysts model: the
    # utility model's label, unless the metrics name another (or the attacker knows it).
    named = avatarization.get("target_column")
    if named and not params.get("target") and named not in (params.get("known_variables") or ()):
        params["target"] = named
    return params


def _run_metrics(ctx: TaskContext, section: str) -> dict[str, Any]:
    """Compute one metrics family (``privacy_metrics`` or ``signal_metrics``) and write it.

    Constant and empty columns are left out: an avatar "matches" them by construction, and they
    say nothing about any row. The metadata lists them.
    """
    from veil_service.engine import metrics
    from veil_service.engine.avatarize import constant_columns as aside_columns
    from veil_service.engine.metrics.tables import as_declared_categories
    from veil_service.engine.tasks.measured_pair import measured_pair
    from veil_service.engine.tasks.release_metrics import computations, labelled

    compute = getattr(metrics, section)
    original, avatars, declared = _read_pair(ctx)
    identifiers = _pseudonymized_identifiers(ctx, original, aside_columns.find_set_aside(original))
    original, avatars = as_declared_categories([original, avatars], declared)
    pair = measured_pair(
        original, avatars, _metric_params(ctx, section), identifiers, _table_name(ctx)
    )
    original, avatars, params, warnings = pair.original, pair.avatars, pair.params, pair.warnings
    aside_names = pair.set_aside
    ctx.progress(0.05, section.replace("_", " "))
    results: list[dict[str, Any]] = []
    for computation in computations(ctx, original, avatars, section):
        result: dict[str, Any] = labelled(
            compute(computation.original, computation.avatars, **params), computation
        )
        metadata = result.setdefault("metadata", {})
        metadata["set_aside_columns"] = [str(c) for c in aside_names]
        metadata["pseudonymized_identifier_columns"] = [str(c) for c in identifiers]
        metadata["warnings"] = [*warnings, *(metadata.get("warnings") or [])]
        results.append(result)
    first = results[0]
    ctx.write_json(section, first if len(results) == 1 else results)
    if section == "signal_metrics" and ctx.params.get("metrics_only_figures"):
        _write_figures(ctx, original, avatars, None, None, None, None)
    ctx.progress(1.0, "done")
    return {
        "metrics": len(first),
        "warnings": first["metadata"]["warnings"],
        "meta_metric": meta_metric(first, section),
    }


def _pseudonymized_identifiers(ctx: TaskContext, original: pd.DataFrame, aside: Any) -> list[Any]:
    """The identifier-like columns the standard job released as pseudonyms (the avatar method's
    rule, engine/avatarize/identifier_columns.py, on the table it avatarized): a pseudonym is
    nobody's value, so comparing it with the original says nothing. None for uploaded avatars
    or another generator's."""
    from veil_service.engine.avatarize.identifier_columns import find_identifiers
    from veil_service.engine_contract import avatar_features

    avatarization = ctx.params.get("avatarization") or {}
    if not ctx.params.get("avatars_from_standard"):
        return []
    if avatar_features.generator_of(avatarization) != avatar_features.AVATAR:
        return []
    work = original.drop(columns=[c for c in aside.names if c in original.columns])
    categorical = avatarization.get("categorical_columns") or declared_categorical(ctx, original)
    return list(
        find_identifiers(work, avatarization.get("exclude_variable_names") or (), categorical)
    )


def meta_metric(result: dict[str, Any], section: str) -> float | None:
    """The one number a summary shows for a table (docs/metrics.md, "Meta metrics"): the hidden
    rate for privacy, ``100 x (1 - hellinger_mean)`` for signal."""
    from veil_service.engine.multitable.metrics import meta_metric as linked_meta_metric

    return linked_meta_metric(result, "privacy" if section == "privacy_metrics" else "signal")


def run_privacy_metrics(ctx: TaskContext) -> dict[str, Any]:
    """Privacy metrics of ``original`` against the unshuffled ``avatars``."""
    return _run_metrics(ctx, "privacy_metrics")


def run_signal_metrics(ctx: TaskContext) -> dict[str, Any]:
    """Signal metrics of ``original`` against the unshuffled ``avatars``."""
    return _run_metrics(ctx, "signal_metrics")


def run_report(ctx: TaskContext) -> dict[str, Any]:
    """Technical report (PDF) and PIA report (DOCX) from the metrics of one table.

    A table the standard job avatarized in Dask partitions (``partition_rows`` set by the
    server): the metrics are the aggregates over partitions, and the figures are drawn from the
    first partition only (its originals and their avatars are the first rows of both tables),
    so the report never holds the whole table; the summary says so.
    """
    from veil_service.engine.avatarize import constant_columns as aside_columns
    from veil_service.engine.metrics.tables import as_declared_categories
    from veil_service.engine.tasks.release_metrics import computations
    from veil_service.engine.tasks.report_task import write_reports
    from veil_service.engine_contract import partitioned

    first_partition = ctx.params.get(partitioned.ROWS_PARAM)
    rows = None if first_partition is None else int(first_partition)
    original, avatars, declared = _read_pair(ctx, rows)
    # Identifiers released as pseudonyms stay out of the reports: their figures would show the
    # real names (and compare them with pseudonyms).
    hidden = _pseudonymized_identifiers(ctx, original, aside_columns.find_set_aside(original))
    original = original.drop(columns=hidden)
    avatars = avatars.drop(columns=[c for c in hidden if c in avatars.columns])
    original, avatars = as_declared_categories([original, avatars], declared)
    standalone = computations(ctx, original, avatars, "signal_metrics")[0]
    privacy = json.loads(ctx.input_path("privacy_metrics").read_text())
    signal = json.loads(ctx.input_path("signal_metrics").read_text())
    summary = write_reports(
        ctx,
        standalone.original,
        standalone.avatars,
        privacy,
        signal,
        _standard_projections(ctx, len(standalone.original)),
    )
    if rows is not None:
        summary.setdefault("warnings", []).append(
            f"table {_table_name(ctx)!r} was avatarized in Dask partitions: the report's "
            "metrics are the worst and the mean over partitions, its figures show the first "
            f"partition ({len(original)} rows)."
        )
    return summary


def _standard_projections(
    ctx: TaskContext, original_rows: int
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The standard job's FAMD coordinates, when the server passed them and they describe the
    report's originals row for row (the contribution figure reads them against the columns);
    otherwise none, and the figures project the tables themselves, as for uploaded avatars."""
    if "original_projections" not in ctx.inputs or "avatar_projections" not in ctx.inputs:
        return None, None
    original_projections = ctx.read_table("original_projections")
    if len(original_projections) != original_rows:
        return None, None
    return original_projections, ctx.read_table("avatar_projections")


def run_advice(ctx: TaskContext) -> dict[str, Any]:
    """Parameter advice for input ``original``: parameters, a reason for each, flagged columns."""
    frame, categorical = _read_original(ctx)
    keys = [c for c in ctx.params.get("key_columns") or [] if c in frame.columns]
    frame = frame.drop(columns=keys)  # keys and time columns are never avatarized as data
    categorical = [c for c in categorical if c not in keys]
    ctx.progress(0.1, "advice")
    payload = rule_advice(frame, categorical, str(ctx.params.get("table_name", "")))
    if ctx.params.get("privacy_targets") is not None:
        search = _privacy_search(ctx, frame, categorical, payload["parameters"])
        payload["notes"].append(search.pop("reason"))
        payload["structured_notes"].append(search.pop("reason_parts"))
        payload.update(search)
    ctx.write_json("advice", payload)
    ctx.progress(1.0, "done")
    return {"table_name": ctx.params.get("table_name", "")}


def rule_advice(frame: pd.DataFrame, categorical: list[str], table_name: str) -> dict[str, Any]:
    """The rule-based advice of a table without its keys, as the ``advice`` result holds it:
    ``parameters``, one note per recommendation and flag, ``flagged_columns``."""
    from veil_service.engine.advice import advise

    advice = advise(frame, categorical_columns=categorical)
    recommendations = {
        "k": advice.k,
        "ncp": advice.ncp,
        "imputation_method": advice.imputation_method,
        "use_categorical_reduction": advice.use_categorical_reduction,
    }
    structured = [rec.note(name) for name, rec in recommendations.items()] + [
        flag.note() for flag in advice.flags
    ]
    return {
        "table_name": table_name,
        "parameters": advice.parameters(),
        "notes": [english(parts) for parts in structured],
        "structured_notes": structured,
        "flagged_columns": [flag.column for flag in advice.flags],
        "exclude_variable_names": list(advice.exclude_variable_names),
    }


def _privacy_search(
    ctx: TaskContext, frame: pd.DataFrame, categorical: list[str], rules: dict[str, Any]
) -> dict[str, Any]:
    """The privacy-targeted search (engine/privacy_advice.py) from the rule-based parameters:
    its choice replaces k, ncp and the knobs; its trials and curve go with the advice."""
    from veil_service.engine.privacy_advice import advise_privacy
    from veil_service.engine.reports.advice_curve import advice_curve_svg

    base = {
        key: rules[key]
        for key in ("imputation_method", "use_categorical_reduction", "exclude_variable_names")
        if rules.get(key) is not None
    }
    if base.get("exclude_variable_names"):
        base["exclude_variables_method"] = rules.get("exclude_variables_method", "row_order")
    named = ctx.params.get("target_column")
    if named and named in frame.columns and named not in (base.get("exclude_variable_names") or ()):
        base["target_column"] = named  # every trial decodes it as the run will
    search = advise_privacy(
        frame,
        privacy_targets=ctx.params["privacy_targets"],
        categorical_columns=categorical,
        target=ctx.params.get("target") or None,
        ncp=int(rules.get("ncp", 5)),
        base_parameters=base,
        seed=int(ctx.params.get("seed") or 0),
        progress=lambda done: ctx.progress(0.15 + 0.8 * done, "privacy search"),
    )
    found = search.as_dict()
    parameters = {**rules, **search.parameters}
    return {
        "parameters": parameters,
        "privacy_search": found,
        "curve_svg": advice_curve_svg(found, str(ctx.params.get("language") or "en")),
        "reason": search.reason,
        "reason_parts": list(search.why),
    }
