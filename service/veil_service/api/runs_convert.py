"""Conversions between run configuration / jobs / results and their protobuf messages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from veil.v1 import common_pb2, runs_pb2
from veil_wire.avatar_features import (
    features_from_proto,
    fill_features,
    fill_strategy,
    strategy_from_proto,
)

from veil_service.api.avatar_features_convert import privacy_loss_to_proto
from veil_service.api.convert import table_info, timestamp
from veil_service.runs.config import LinkConfig, PiaConfig, RunConfig, TableConfig
from veil_service.runs.jobs import JobRecord
from veil_service.runs.results import ResultRecord
from veil_service.runs.service import Advice, LinksAdvice, RunView, TableDescription

COLUMN_TYPES = {
    runs_pb2.COLUMN_TYPE_INT: "int",
    runs_pb2.COLUMN_TYPE_BOOL: "bool",
    runs_pb2.COLUMN_TYPE_CATEGORY: "category",
    runs_pb2.COLUMN_TYPE_NUMERIC: "float",
    runs_pb2.COLUMN_TYPE_DATETIME: "datetime",
    runs_pb2.COLUMN_TYPE_DATETIME_TZ: "datetime_tz",
}
IMPUTE = {
    runs_pb2.IMPUTE_METHOD_KNN: "knn",
    runs_pb2.IMPUTE_METHOD_MODE: "mode",
    runs_pb2.IMPUTE_METHOD_MEDIAN: "median",
    runs_pb2.IMPUTE_METHOD_MEAN: "mean",
    runs_pb2.IMPUTE_METHOD_FAST_KNN: "fast_knn",
}
EXCLUDE = {
    runs_pb2.EXCLUDE_VARIABLES_METHOD_ROW_ORDER: "row_order",
    runs_pb2.EXCLUDE_VARIABLES_METHOD_COORDINATE_SIMILARITY: "coordinate_similarity",
}
LANGUAGE = {runs_pb2.REPORT_LANGUAGE_EN: "en", runs_pb2.REPORT_LANGUAGE_FR: "fr"}
PROJECTION = {runs_pb2.PROJECTION_TYPE_FPCA: "fpca", runs_pb2.PROJECTION_TYPE_FLATTEN: "flatten"}
ALIGNMENT = {
    runs_pb2.ALIGNMENT_METHOD_SPECIFIED: "specified",
    runs_pb2.ALIGNMENT_METHOD_MAX: "max",
    runs_pb2.ALIGNMENT_METHOD_MIN: "min",
    runs_pb2.ALIGNMENT_METHOD_MEAN: "mean",
}
UNALIGNMENT = {
    runs_pb2.UNALIGNMENT_STRATEGY_UNIFORM: "uniform",
    runs_pb2.UNALIGNMENT_STRATEGY_SKIP: "skip",
}
JOB_KIND = {
    runs_pb2.JOB_KIND_STANDARD: "standard",
    runs_pb2.JOB_KIND_PRIVACY_METRICS: "privacy_metrics",
    runs_pb2.JOB_KIND_SIGNAL_METRICS: "signal_metrics",
    runs_pb2.JOB_KIND_REPORT: "report",
    runs_pb2.JOB_KIND_ADVICE: "advice",
}
JOB_STATUS = {
    runs_pb2.JOB_STATUS_QUEUED: "queued",
    runs_pb2.JOB_STATUS_PENDING: "pending",
    runs_pb2.JOB_STATUS_FINISHED: "finished",
    runs_pb2.JOB_STATUS_ERROR: "error",
    runs_pb2.JOB_STATUS_PARENT_ERROR: "parent_error",
    runs_pb2.JOB_STATUS_CANCELLED: "cancelled",
}


EnumValue = TypeVar("EnumValue", bound=int)


def _inverse(mapping: dict[EnumValue, str]) -> dict[str, EnumValue]:
    return {v: k for k, v in mapping.items()}


def _opt(message: Any, name: str) -> Any:
    return getattr(message, name) if message.HasField(name) else None


def config_from_proto(message: runs_pb2.RunConfig) -> RunConfig:
    """Domain configuration of a RunConfig message."""
    tables = []
    for t in message.tables:
        avatarization = None
        if t.HasField("avatarization"):
            a = t.avatarization
            raw = {
                "k": _opt(a, "k"),
                "ncp": _opt(a, "ncp"),
                "column_weights": dict(a.column_weights) or None,
                "use_categorical_reduction": _opt(a, "use_categorical_reduction"),
                "exclude_variable_names": list(a.exclude_variable_names) or None,
                "exclude_variables_method": EXCLUDE.get(a.exclude_variables_method),
                "imputation_method": IMPUTE.get(a.imputation.method),
                "imputation_k": _opt(a.imputation, "k"),
                "imputation_training_fraction": _opt(a.imputation, "training_fraction"),
                "imputation_return_data_imputed": _opt(a.imputation, "return_data_imputed"),
                "max_rows_per_batch": _opt(a, "max_rows_per_batch"),
                "max_weight": _opt(a, "max_weight"),
                "local_noise": _opt(a, "local_noise"),
                "redraw_unique_copies": _opt(a, "redraw_unique_copies"),
                "coupled_noise": _opt(a, "coupled_noise"),
                "target_column": _opt(a, "target_column"),
                **features_from_proto(a),
            }
            avatarization = {k: v for k, v in raw.items() if v is not None}
        p = t.privacy_metrics
        privacy = {
            k: v
            for k, v in {
                "ncp": _opt(p, "ncp"),
                "known_variables": list(p.known_variables) or None,
                "target": p.target or None,
                "quantile_threshold": _opt(p, "quantile_threshold"),
                "use_categorical_reduction": _opt(p, "use_categorical_reduction"),
                "column_weights": dict(p.column_weights) or None,
                "exclude_variable_names": list(p.exclude_variable_names) or None,
            }.items()
            if v is not None
        }
        s = t.signal_metrics
        signal = {
            k: v
            for k, v in {
                "ncp": _opt(s, "ncp"),
                "use_categorical_reduction": _opt(s, "use_categorical_reduction"),
                "column_weights": dict(s.column_weights) or None,
                "target": s.target or None,
                "exclude_variable_names": list(s.exclude_variable_names) or None,
            }.items()
            if v is not None
        }
        time_series = None
        if t.HasField("time_series"):
            ts = t.time_series
            time_series = {
                k: v
                for k, v in {
                    "projection_type": PROJECTION.get(ts.projection_type),
                    "nf": _opt(ts, "nf"),
                    "method": ALIGNMENT.get(ts.method),
                    "nb_points": _opt(ts, "nb_points"),
                    "unalignment": UNALIGNMENT.get(ts.unalignment),
                }.items()
                if v is not None
            }
        tables.append(
            TableConfig(
                name=t.name,
                column_types={
                    c.name: COLUMN_TYPES[c.type] for c in t.columns if c.type in COLUMN_TYPES
                },
                identifiers=[c.name for c in t.columns if c.is_identifier],
                pseudonymized_columns={
                    c.name: strategy_from_proto(c.pseudonymization)
                    for c in t.columns
                    if c.HasField("pseudonymization")
                },
                primary_key=t.primary_key,
                avatarization=avatarization,
                privacy_metrics=privacy,
                signal_metrics=signal,
                individual_level=_opt(t, "individual_level"),
                time_series_time=t.time_series_time or None,
                time_series=time_series,
                advice=_advice_of(t),
            )
        )
    pia = message.pia
    return RunConfig(
        tables=tables,
        links=[
            LinkConfig(
                link.parent_table,
                link.child_table,
                link.parent_field,
                link.child_field,
                link.method or "linear_sum_assignment",
            )
            for link in message.links
        ],
        seed=_opt(message, "seed"),
        report_language=LANGUAGE.get(message.report_language, "en"),
        pia=PiaConfig(
            pia.sensitivity_level or "Undefined",
            pia.data_type or "unknown",
            pia.data_subject or "unknown",
            pia.data_recipient or "unknown",
        ),
        compute_figures=True
        if not message.HasField("compute_figures")
        else message.compute_figures,
        max_distribution_plots=_opt(message, "max_distribution_plots"),
        annotations=dict(message.annotations),
    )


def config_to_proto(config: RunConfig) -> runs_pb2.RunConfig:
    """RunConfig message of a domain configuration."""
    message = runs_pb2.RunConfig(
        report_language=_inverse(LANGUAGE)[config.report_language],
        compute_figures=config.compute_figures,
    )
    if config.seed is not None:
        message.seed = config.seed
    if config.max_distribution_plots is not None:
        message.max_distribution_plots = config.max_distribution_plots
    message.pia.CopyFrom(runs_pb2.PiaMetadata(**vars(config.pia)))
    message.annotations.update(config.annotations)
    for link in config.links:
        message.links.append(runs_pb2.TableLink(**vars(link)))
    for table in config.tables:
        t = message.tables.add(name=table.name, primary_key=table.primary_key)
        if table.individual_level is not None:
            t.individual_level = table.individual_level
        t.time_series_time = table.time_series_time or ""
        if table.time_series is not None:
            _fill_time_series(t.time_series, table.time_series)
        if table.advice is not None:
            t.advice.SetInParent()
            t.advice.target = table.advice.get("target") or ""
            if table.advice.get("privacy_targets") is not None:
                t.advice.privacy_targets.SetInParent()
                for name, value in table.advice["privacy_targets"].items():
                    setattr(t.advice.privacy_targets, name, float(value))
        names = list(
            dict.fromkeys([*table.column_types, *table.identifiers, *table.pseudonymized_columns])
        )
        for name in names:
            kind = table.column_types.get(name)
            column = t.columns.add(
                name=name,
                type=_inverse(COLUMN_TYPES)[kind] if kind else runs_pb2.COLUMN_TYPE_UNSPECIFIED,
                is_identifier=name in table.identifiers,
            )
            if name in table.pseudonymized_columns:
                fill_strategy(column.pseudonymization, table.pseudonymized_columns[name])
        if table.avatarization is not None:
            a = table.avatarization
            t.avatarization.SetInParent()
            for key in (
                "k",
                "ncp",
                "use_categorical_reduction",
                "max_rows_per_batch",
                "max_weight",
                "local_noise",
                "redraw_unique_copies",
                "coupled_noise",
                "target_column",
            ):
                if a.get(key) is not None:
                    setattr(t.avatarization, key, a[key])
            t.avatarization.column_weights.update(a.get("column_weights") or {})
            t.avatarization.exclude_variable_names.extend(a.get("exclude_variable_names") or [])
            if a.get("exclude_variables_method"):
                t.avatarization.exclude_variables_method = _inverse(EXCLUDE)[
                    a["exclude_variables_method"]
                ]
            if a.get("imputation_method"):
                t.avatarization.imputation.method = _inverse(IMPUTE)[a["imputation_method"]]
            if a.get("imputation_k") is not None:
                t.avatarization.imputation.k = a["imputation_k"]
            if a.get("imputation_training_fraction") is not None:
                t.avatarization.imputation.training_fraction = a["imputation_training_fraction"]
            if a.get("imputation_return_data_imputed") is not None:
                t.avatarization.imputation.return_data_imputed = a["imputation_return_data_imputed"]
            fill_features(t.avatarization, a)
        p = table.privacy_metrics
        for key in ("ncp", "quantile_threshold", "use_categorical_reduction"):
            if p.get(key) is not None:
                setattr(t.privacy_metrics, key, p[key])
        t.privacy_metrics.known_variables.extend(p.get("known_variables") or [])
        t.privacy_metrics.target = p.get("target") or ""
        t.privacy_metrics.column_weights.update(p.get("column_weights") or {})
        t.privacy_metrics.exclude_variable_names.extend(p.get("exclude_variable_names") or [])
        s = table.signal_metrics
        for key in ("ncp", "use_categorical_reduction"):
            if s.get(key) is not None:
                setattr(t.signal_metrics, key, s[key])
        t.signal_metrics.target = s.get("target") or ""
        t.signal_metrics.column_weights.update(s.get("column_weights") or {})
        t.signal_metrics.exclude_variable_names.extend(s.get("exclude_variable_names") or [])
    return message


def _fill_time_series(target: runs_pb2.TimeSeriesParameters, values: dict[str, Any]) -> None:
    target.SetInParent()
    if values.get("projection_type"):
        target.projection_type = _inverse(PROJECTION)[values["projection_type"]]
    if values.get("nf") is not None:
        target.nf = values["nf"]
    if values.get("method"):
        target.method = _inverse(ALIGNMENT)[values["method"]]
    if values.get("nb_points") is not None:
        target.nb_points = values["nb_points"]
    if values.get("unalignment"):
        target.unalignment = _inverse(UNALIGNMENT)[values["unalignment"]]


def job_to_proto(job: JobRecord) -> runs_pb2.Job:
    """Job message of a job record."""
    return runs_pb2.Job(
        id=job.id,
        run_id=job.run_id,
        kind=_inverse(JOB_KIND)[job.kind],
        status=_inverse(JOB_STATUS)[job.status],
        progress=job.progress,
        phase=job.phase,
        exception=job.exception,
        depends_on=job.depends_on,
        created_at=timestamp(job.created_at),
        started_at=timestamp(job.started_at),
        finished_at=timestamp(job.finished_at),
        display_name=job.display_name,
        attempts=job.attempts,
        warnings=job.warnings,
        phase_done=job.phase_done,
        phase_total=job.phase_total,
        privacy_losses=[privacy_loss_to_proto(loss) for loss in job.privacy_losses],
    )


def result_to_proto(result: ResultRecord) -> runs_pb2.ResultInfo:
    """ResultInfo message of a result record."""
    return runs_pb2.ResultInfo(
        id=result.id,
        job_id=result.job_id,
        kind=result.kind,
        table_name=result.table_name,
        filename=result.filename,
        media_type=result.media_type,
        size_bytes=result.size_bytes,
        sha256=result.sha256,
        subkind=result.subkind,
    )


def run_to_proto(run: RunView) -> runs_pb2.Run:
    """Run message of a run and its tables."""
    return runs_pb2.Run(
        id=run.record.id,
        display_name=run.record.display_name,
        version=run.record.version,
        created_at=timestamp(run.record.created_at),
        config=config_to_proto(run.config),
        tables=[table_info(t) for t in run.tables],
    )


def description_to_proto(description: TableDescription) -> runs_pb2.DescribeTableResponse:
    """DescribeTableResponse of a table description."""
    return runs_pb2.DescribeTableResponse(
        num_rows=description.num_rows,
        columns=[common_pb2.ColumnStatistics(**column) for column in description.columns],
    )


def advice_to_proto(advice: Advice) -> runs_pb2.AdviseParametersResponse:
    """AdviseParametersResponse of the engine's advice (domain parameter names to proto fields)."""
    params = advice.parameters
    message = runs_pb2.AdviseParametersResponse(
        notes=advice.notes, flagged_columns=advice.flagged_columns
    )
    for key in ("k", "ncp", "use_categorical_reduction", *_KNOBS):
        if params.get(key) is not None:
            setattr(message.parameters, key, params[key])
    impute = _inverse(IMPUTE).get(params.get("imputation_method", ""))
    if impute is not None:
        message.parameters.imputation.method = impute
    if params.get("exclude_variable_names"):
        message.parameters.exclude_variable_names.extend(params["exclude_variable_names"])
        message.parameters.exclude_variables_method = _inverse(EXCLUDE)[
            params.get("exclude_variables_method", "coordinate_similarity")
        ]
    linked = advice.linked_k_search
    if linked is not None:
        found = message.linked_k_search
        found.target = float(linked["target"])
        found.target_source = str(linked["target_source"])
        found.met = bool(linked["met"])
        found.seeds = int(linked["seeds"])
        found.chosen_k = int(linked["chosen_k"])
        found.chosen_coupled_noise = bool(linked.get("chosen_coupled_noise", False))
        found.series_targets.update(
            {c: float(v) for c, v in (linked.get("series_targets") or {}).items()}
        )
        for trials, trial in [
            *((found.trials, t) for t in linked["trials"]),
            *((found.held_out, t) for t in linked.get("held_out") or ()),
        ]:
            fidelity = trial.get("fidelity")
            tried = trials.add(
                k=int(trial["k"]),
                rates=trial["rates"],
                rate=float(trial["rate"]),
                coupled_noise=bool(trial.get("coupled_noise", False)),
                fidelity=float(fidelity) if fidelity is not None else 0.0,
            )
            tried.series_rates.update(
                {c: float(v) for c, v in (trial.get("series_rates") or {}).items()}
            )
        found.held_out_seed = int(linked.get("held_out_seed") or 0)
        found.held_out_rate = float(linked.get("held_out_rate") or 0.0)
    search = advice.privacy_search
    if search is not None:
        message.targets_met = bool(search["met"])
        message.binding_target = search.get("binding") or ""
        message.search_reason = str(search.get("reason") or "")
        message.chosen_trial = int(search["chosen_index"])
        message.sample_rows = int(search["sample_rows"])
        message.utility_metric = str(search["utility_metric"])
        message.curve_svg = advice.curve_svg
        for name, value in search["targets"].items():
            setattr(message.privacy_targets, name, float(value))
        for trial in search["trials"]:
            _fill_trial(message.trials.add(), trial)
        check = search.get("table_check")
        if check is not None:
            _fill_trial(message.table_check, check)
            message.table_check_rows = int(check["rows"])
    return message


def _fill_trial(message: runs_pb2.AdviceTrial, trial: Mapping[str, Any]) -> None:
    """One measured parameter set of the privacy-targeted advice into ``message``."""
    message.failed_targets.extend(trial["failed"])
    for key in ("k", "ncp", *_KNOBS):
        if trial["parameters"].get(key) is not None:
            setattr(message.parameters, key, trial["parameters"][key])
    message.measures.update({k: float(v) for k, v in trial["measures"].items() if v is not None})


#: The privacy knobs of the avatarization (engine/avatarize/parameters.py).
_KNOBS = ("max_weight", "local_noise", "redraw_unique_copies", "coupled_noise")


def privacy_targets_of(
    request: runs_pb2.AdviseParametersRequest | runs_pb2.AdviceParameters,
) -> dict[str, float] | None:
    """The message's privacy targets (set fields only), or None when none were asked for."""
    if not request.HasField("privacy_targets"):
        return None
    targets = request.privacy_targets
    return {field.name: value for field, value in targets.ListFields()}


def _advice_of(table: runs_pb2.TableConfig) -> dict[str, Any] | None:
    """A table's advice job parameters (``privacy_targets``, ``target``), or None when unset."""
    if not table.HasField("advice"):
        return None
    advice: dict[str, Any] = {"privacy_targets": privacy_targets_of(table.advice)}
    if table.advice.target:
        advice["target"] = table.advice.target
    return {k: v for k, v in advice.items() if v is not None}


def links_advice_to_proto(advice: LinksAdvice) -> runs_pb2.AdviseLinksResponse:
    """AdviseLinksResponse of the engine's links advice."""
    return runs_pb2.AdviseLinksResponse(
        links=[runs_pb2.AdvisedLink(**vars(link)) for link in advice.links],
        unlinked_foreign_keys=[
            runs_pb2.UnlinkedForeignKey(
                table=fk.table, field=fk.field, candidate_tables=fk.candidate_tables
            )
            for fk in advice.unlinked_foreign_keys
        ],
    )
