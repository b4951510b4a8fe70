"""The Runner's local configuration and its RunConfig message (the client's RPC edge)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from veil.v1 import runs_pb2

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


def _value(v: Any) -> Any:
    return getattr(v, "value", v)


@dataclass
class TableState:
    """One table as the runner knows it."""

    name: str
    types: dict[str, str] = field(default_factory=dict)
    primary_key: str = ""
    has_avatar_data: bool = False
    avatarization: dict[str, Any] | None = None
    privacy_metrics: dict[str, Any] = field(default_factory=dict)
    signal_metrics: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunnerConfig:
    """Everything the runner sends with SetConfig."""

    tables: dict[str, TableState] = field(default_factory=dict)
    seed: int | None = None
    report_language: str = "en"
    pia: dict[str, str] = field(
        default_factory=lambda: {
            "sensitivity_level": "Undefined",
            "data_type": "unknown",
            "data_subject": "unknown",
            "data_recipient": "unknown",
        }
    )
    compute_figures: bool = True
    max_distribution_plots: int | None = None

    def to_proto(self) -> runs_pb2.RunConfig:
        """The RunConfig message."""
        message = runs_pb2.RunConfig(
            report_language=LANGUAGE[_value(self.report_language)],
            compute_figures=self.compute_figures,
            pia=runs_pb2.PiaMetadata(**self.pia),
        )
        if self.seed is not None:
            message.seed = int(self.seed)
        if self.max_distribution_plots is not None:
            message.max_distribution_plots = int(self.max_distribution_plots)
        for table in self.tables.values():
            t = message.tables.add(name=table.name, primary_key=table.primary_key)
            for column, kind in table.types.items():
                t.columns.add(
                    name=column,
                    type=COLUMN_TYPES[_value(kind)],
                    is_identifier=column == table.primary_key,
                )
            if table.avatarization is not None:
                _fill_avatarization(t.avatarization, table.avatarization)
            _fill_metrics(t.privacy_metrics, table.privacy_metrics, privacy=True)
            _fill_metrics(t.signal_metrics, table.signal_metrics, privacy=False)
        return message

    @staticmethod
    def from_proto(
        message: runs_pb2.RunConfig, previous: RunnerConfig | None = None
    ) -> RunnerConfig:
        """Rebuild the local configuration from the server's."""
        inverse_types = {v: k for k, v in COLUMN_TYPES.items()}
        inverse_impute = {v: k for k, v in IMPUTE.items()}
        inverse_exclude = {v: k for k, v in EXCLUDE.items()}
        config = RunnerConfig(
            seed=message.seed if message.HasField("seed") else None,
            report_language={v: k for k, v in LANGUAGE.items()}.get(message.report_language, "en"),
            pia={
                "sensitivity_level": message.pia.sensitivity_level or "Undefined",
                "data_type": message.pia.data_type or "unknown",
                "data_subject": message.pia.data_subject or "unknown",
                "data_recipient": message.pia.data_recipient or "unknown",
            },
            compute_figures=message.compute_figures
            if message.HasField("compute_figures")
            else True,
            max_distribution_plots=message.max_distribution_plots
            if message.HasField("max_distribution_plots")
            else None,
        )
        for t in message.tables:
            state = TableState(
                t.name,
                {c.name: inverse_types[c.type] for c in t.columns if c.type in inverse_types},
                t.primary_key,
            )
            if previous is not None and t.name in previous.tables:
                state.has_avatar_data = previous.tables[t.name].has_avatar_data
            if t.HasField("avatarization"):
                a = t.avatarization
                raw = {
                    "k": a.k if a.HasField("k") else None,
                    "ncp": a.ncp if a.HasField("ncp") else None,
                    "column_weights": dict(a.column_weights) or None,
                    "use_categorical_reduction": a.use_categorical_reduction
                    if a.HasField("use_categorical_reduction")
                    else None,
                    "exclude_variable_names": list(a.exclude_variable_names) or None,
                    "exclude_variables_method": inverse_exclude.get(a.exclude_variables_method),
                    "imputation_method": inverse_impute.get(a.imputation.method),
                    "imputation_k": a.imputation.k if a.imputation.HasField("k") else None,
                    "imputation_training_fraction": a.imputation.training_fraction
                    if a.imputation.HasField("training_fraction")
                    else None,
                    "max_rows_per_batch": a.max_rows_per_batch
                    if a.HasField("max_rows_per_batch")
                    else None,
                }
                state.avatarization = {k: v for k, v in raw.items() if v is not None}
            p = t.privacy_metrics
            state.privacy_metrics = {
                k: v
                for k, v in {
                    "ncp": p.ncp if p.HasField("ncp") else None,
                    "known_variables": list(p.known_variables) or None,
                    "target": p.target or None,
                    "quantile_threshold": p.quantile_threshold
                    if p.HasField("quantile_threshold")
                    else None,
                }.items()
                if v is not None
            }
            s = t.signal_metrics
            state.signal_metrics = {
                k: v
                for k, v in {
                    "ncp": s.ncp if s.HasField("ncp") else None,
                    "target": s.target or None,
                }.items()
                if v is not None
            }
            config.tables[t.name] = state
        return config


def _fill_avatarization(target: Any, values: dict[str, Any]) -> None:
    target.SetInParent()
    for key in ("k", "ncp", "use_categorical_reduction", "max_rows_per_batch"):
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


def _fill_metrics(target: Any, values: dict[str, Any], *, privacy: bool) -> None:
    if values.get("ncp") is not None:
        target.ncp = values["ncp"]
    if values.get("use_categorical_reduction") is not None:
        target.use_categorical_reduction = values["use_categorical_reduction"]
    for name, weight in (values.get("column_weights") or {}).items():
        target.column_weights[name] = float(weight)
    target.target = values.get("target") or ""
    if privacy:
        target.known_variables.extend(values.get("known_variables") or [])
        if values.get("quantile_threshold") is not None:
            target.quantile_threshold = values["quantile_threshold"]
