"""The run configuration between its dataclasses (:mod:`veil_client.run_config`) and RunConfig.

Parameter blocks travel as dicts keyed by the Octopize parameter names (``k``, ``ncp``,
``exclude_variables_method``...), which is how the Runner keeps them.
"""

from __future__ import annotations

from typing import Any

from veil.v1 import runs_pb2
from veil_wire.avatar_features import (
    features_from_proto,
    fill_features,
    fill_strategy,
    strategy_from_proto,
)

from veil_client.run_config import LinkState, RunnerConfig, TableState

COLUMN_TYPES = {
    "int": runs_pb2.COLUMN_TYPE_INT,
    "bool": runs_pb2.COLUMN_TYPE_BOOL,
    "category": runs_pb2.COLUMN_TYPE_CATEGORY,
    "float": runs_pb2.COLUMN_TYPE_NUMERIC,
    "datetime": runs_pb2.COLUMN_TYPE_DATETIME,
    "datetime_tz": runs_pb2.COLUMN_TYPE_DATETIME_TZ,
}
IMPUTE = {
    "knn": runs_pb2.IMPUTE_METHOD_KNN,
    "mode": runs_pb2.IMPUTE_METHOD_MODE,
    "median": runs_pb2.IMPUTE_METHOD_MEDIAN,
    "mean": runs_pb2.IMPUTE_METHOD_MEAN,
    "fast_knn": runs_pb2.IMPUTE_METHOD_FAST_KNN,
}
EXCLUDE = {
    "row_order": runs_pb2.EXCLUDE_VARIABLES_METHOD_ROW_ORDER,
    "coordinate_similarity": runs_pb2.EXCLUDE_VARIABLES_METHOD_COORDINATE_SIMILARITY,
}
LANGUAGE = {"en": runs_pb2.REPORT_LANGUAGE_EN, "fr": runs_pb2.REPORT_LANGUAGE_FR}
PROJECTION = {"fpca": runs_pb2.PROJECTION_TYPE_FPCA, "flatten": runs_pb2.PROJECTION_TYPE_FLATTEN}
ALIGNMENT = {
    "specified": runs_pb2.ALIGNMENT_METHOD_SPECIFIED,
    "max": runs_pb2.ALIGNMENT_METHOD_MAX,
    "min": runs_pb2.ALIGNMENT_METHOD_MIN,
    "mean": runs_pb2.ALIGNMENT_METHOD_MEAN,
}
UNALIGNMENT = {
    "uniform": runs_pb2.UNALIGNMENT_STRATEGY_UNIFORM,
    "skip": runs_pb2.UNALIGNMENT_STRATEGY_SKIP,
}

_INVERSE_TYPES = {v: k for k, v in COLUMN_TYPES.items()}
_INVERSE_IMPUTE = {v: k for k, v in IMPUTE.items()}
_INVERSE_EXCLUDE = {v: k for k, v in EXCLUDE.items()}


def _value(v: Any) -> Any:
    return getattr(v, "value", v)


def to_proto(config: RunnerConfig) -> runs_pb2.RunConfig:
    """The RunConfig message of a runner's configuration.

    Raises:
        TypeError, ValueError: a parameter has a type the message cannot hold.
    """
    message = runs_pb2.RunConfig(
        report_language=LANGUAGE[_value(config.report_language)],
        compute_figures=config.compute_figures,
        pia=runs_pb2.PiaMetadata(**config.pia),
    )
    if config.seed is not None:
        message.seed = int(config.seed)
    if config.max_distribution_plots is not None:
        message.max_distribution_plots = int(config.max_distribution_plots)
    message.annotations.update(config.annotations)
    for link in config.links:
        message.links.add(
            parent_table=link.parent_table,
            child_table=link.child_table,
            parent_field=link.parent_field,
            child_field=link.child_field,
            method=_value(link.method),
        )
    for table in config.tables.values():
        t = message.tables.add(
            name=table.name,
            primary_key=table.primary_key,
            time_series_time=table.time_series_time,
        )
        if table.individual_level is not None:
            t.individual_level = table.individual_level
        for column in dict.fromkeys([*table.types, *table.foreign_keys]):
            kind = table.types.get(column)
            spec = t.columns.add(
                name=column,
                type=COLUMN_TYPES[_value(kind)] if kind else runs_pb2.COLUMN_TYPE_UNSPECIFIED,
                is_identifier=column in table.foreign_keys,
            )
            if column in table.pseudonymized_columns:
                fill_strategy(spec.pseudonymization, table.pseudonymized_columns[column])
        for column, strategy in table.pseudonymized_columns.items():
            if column not in table.types and column not in table.foreign_keys:
                fill_strategy(
                    t.columns.add(
                        name=column, is_identifier=column == table.primary_key
                    ).pseudonymization,
                    strategy,
                )
        if table.time_series is not None:
            _fill_time_series(t.time_series, table.time_series)
        if table.advice is not None:
            t.advice.SetInParent()
            t.advice.target = table.advice.get("target") or ""
            if table.advice.get("privacy_targets") is not None:
                t.advice.privacy_targets.SetInParent()
                for name, value in table.advice["privacy_targets"].items():
                    setattr(t.advice.privacy_targets, name, float(value))
        if table.avatarization is not None:
            _fill_avatarization(t.avatarization, table.avatarization)
        _fill_metrics(t.privacy_metrics, table.privacy_metrics, privacy=True)
        _fill_metrics(t.signal_metrics, table.signal_metrics, privacy=False)
    return message


def from_proto(message: runs_pb2.RunConfig, previous: RunnerConfig | None = None) -> RunnerConfig:
    """A runner's configuration from the server's RunConfig (``previous`` keeps what only the
    client knows, such as which tables came with avatar data)."""
    config = RunnerConfig(
        seed=message.seed if message.HasField("seed") else None,
        report_language={v: k for k, v in LANGUAGE.items()}.get(message.report_language, "en"),
        pia={
            "sensitivity_level": message.pia.sensitivity_level or "Undefined",
            "data_type": message.pia.data_type or "unknown",
            "data_subject": message.pia.data_subject or "unknown",
            "data_recipient": message.pia.data_recipient or "unknown",
        },
        compute_figures=message.compute_figures if message.HasField("compute_figures") else True,
        max_distribution_plots=message.max_distribution_plots
        if message.HasField("max_distribution_plots")
        else None,
        annotations=dict(message.annotations),
    )
    config.links = [
        LinkState(
            link.parent_table,
            link.parent_field,
            link.child_table,
            link.child_field,
            link.method or "linear_sum_assignment",
        )
        for link in message.links
    ]
    for t in message.tables:
        state = TableState(
            t.name,
            {c.name: _INVERSE_TYPES[c.type] for c in t.columns if c.type in _INVERSE_TYPES},
            t.primary_key,
            foreign_keys=[c.name for c in t.columns if c.is_identifier and c.name != t.primary_key],
            time_series_time=t.time_series_time,
            individual_level=t.individual_level if t.HasField("individual_level") else None,
        )
        if t.HasField("time_series"):
            state.time_series = time_series_from_proto(t.time_series)
        if t.HasField("advice"):
            state.advice = _present(
                {
                    "privacy_targets": {f.name: v for f, v in t.advice.privacy_targets.ListFields()}
                    if t.advice.HasField("privacy_targets")
                    else None,
                    "target": t.advice.target or None,
                }
            )
        if previous is not None and t.name in previous.tables:
            state.has_avatar_data = previous.tables[t.name].has_avatar_data
        state.pseudonymized_columns = {
            c.name: strategy_from_proto(c.pseudonymization)
            for c in t.columns
            if c.HasField("pseudonymization")
        }
        if t.HasField("avatarization"):
            state.avatarization = avatarization_from_proto(t.avatarization)
        p = t.privacy_metrics
        state.privacy_metrics = _present(
            {
                "ncp": p.ncp if p.HasField("ncp") else None,
                "known_variables": list(p.known_variables) or None,
                "target": p.target or None,
                "quantile_threshold": p.quantile_threshold
                if p.HasField("quantile_threshold")
                else None,
                "use_categorical_reduction": p.use_categorical_reduction
                if p.HasField("use_categorical_reduction")
                else None,
                "column_weights": dict(p.column_weights) or None,
                "exclude_variable_names": list(p.exclude_variable_names) or None,
            }
        )
        s = t.signal_metrics
        state.signal_metrics = _present(
            {
                "ncp": s.ncp if s.HasField("ncp") else None,
                "target": s.target or None,
                "use_categorical_reduction": s.use_categorical_reduction
                if s.HasField("use_categorical_reduction")
                else None,
                "column_weights": dict(s.column_weights) or None,
                "exclude_variable_names": list(s.exclude_variable_names) or None,
            }
        )
        config.tables[t.name] = state
    return config


def avatarization_from_proto(a: runs_pb2.AvatarizationParameters) -> dict[str, Any]:
    """Avatarization parameters as the Runner keeps them (unset ones left out)."""
    return _present(
        {
            "k": a.k if a.HasField("k") else None,
            "ncp": a.ncp if a.HasField("ncp") else None,
            "column_weights": dict(a.column_weights) or None,
            "use_categorical_reduction": a.use_categorical_reduction
            if a.HasField("use_categorical_reduction")
            else None,
            "exclude_variable_names": list(a.exclude_variable_names) or None,
            "exclude_variables_method": _INVERSE_EXCLUDE.get(a.exclude_variables_method),
            "imputation_method": _INVERSE_IMPUTE.get(a.imputation.method),
            "imputation_k": a.imputation.k if a.imputation.HasField("k") else None,
            "imputation_training_fraction": a.imputation.training_fraction
            if a.imputation.HasField("training_fraction")
            else None,
            "imputation_return_data_imputed": a.imputation.return_data_imputed
            if a.imputation.HasField("return_data_imputed")
            else None,
            "max_rows_per_batch": a.max_rows_per_batch
            if a.HasField("max_rows_per_batch")
            else None,
            "max_weight": a.max_weight if a.HasField("max_weight") else None,
            "local_noise": a.local_noise if a.HasField("local_noise") else None,
            "redraw_unique_copies": a.redraw_unique_copies
            if a.HasField("redraw_unique_copies")
            else None,
            "coupled_noise": a.coupled_noise if a.HasField("coupled_noise") else None,
            "target_column": a.target_column if a.HasField("target_column") else None,
            **features_from_proto(a),
        }
    )


def time_series_from_proto(ts: runs_pb2.TimeSeriesParameters) -> dict[str, Any]:
    """Time-series parameters by their stored names (unset ones left out)."""
    return _present(
        {
            "projection_type": {v: k for k, v in PROJECTION.items()}.get(ts.projection_type),
            "nf": ts.nf if ts.HasField("nf") else None,
            "method": {v: k for k, v in ALIGNMENT.items()}.get(ts.method),
            "nb_points": ts.nb_points if ts.HasField("nb_points") else None,
            "unalignment": {v: k for k, v in UNALIGNMENT.items()}.get(ts.unalignment),
        }
    )


def _fill_time_series(target: Any, values: dict[str, Any]) -> None:
    target.SetInParent()
    if values.get("projection_type"):
        target.projection_type = PROJECTION[_value(values["projection_type"])]
    if values.get("nf") is not None:
        target.nf = values["nf"]
    if values.get("method"):
        target.method = ALIGNMENT[_value(values["method"])]
    if values.get("nb_points") is not None:
        target.nb_points = values["nb_points"]
    if values.get("unalignment"):
        target.unalignment = UNALIGNMENT[_value(values["unalignment"])]


def _present(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _fill_avatarization(target: Any, values: dict[str, Any]) -> None:
    target.SetInParent()
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
        if values.get(key) is not None:
            setattr(target, key, values[key])
    for name, weight in (values.get("column_weights") or {}).items():
        target.column_weights[name] = float(weight)
    target.exclude_variable_names.extend(values.get("exclude_variable_names") or [])
    if values.get("exclude_variables_method"):
        target.exclude_variables_method = EXCLUDE[_value(values["exclude_variables_method"])]
    if values.get("imputation_method"):
        target.imputation.method = IMPUTE[_value(values["imputation_method"])]
    if values.get("imputation_k") is not None:
        target.imputation.k = values["imputation_k"]
    if values.get("imputation_training_fraction") is not None:
        target.imputation.training_fraction = values["imputation_training_fraction"]
    if values.get("imputation_return_data_imputed") is not None:
        target.imputation.return_data_imputed = values["imputation_return_data_imputed"]
    fill_features(target, values)


def _fill_metrics(target: Any, values: dict[str, Any], *, privacy: bool) -> None:
    if values.get("ncp") is not None:
        target.ncp = values["ncp"]
    if values.get("use_categorical_reduction") is not None:
        target.use_categorical_reduction = values["use_categorical_reduction"]
    for name, weight in (values.get("column_weights") or {}).items():
        target.column_weights[name] = float(weight)
    target.target = values.get("target") or ""
    target.exclude_variable_names.extend(values.get("exclude_variable_names") or [])
    if privacy:
        target.known_variables.extend(values.get("known_variables") or [])
        if values.get("quantile_threshold") is not None:
            target.quantile_threshold = values["quantile_threshold"]
