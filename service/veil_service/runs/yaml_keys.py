"""The vocabulary of the avatar_yaml format: document kinds, accepted keys, feature names,
and where each Veil parameter lives in the YAML (to point a range error at the right line).

Kept apart from the reader and the writer because both use it: the reader to reject unknown
keys (listing these as the accepted ones), the writer to emit keys in the same Octopize order.
Source: avatar_yaml 0.1.45 as described in ``avatar_client.md`` section 7.
"""

from __future__ import annotations

import re

METADATA, VOLUME, SCHEMA = "AvatarMetadata", "AvatarVolume", "AvatarSchema"
PARAMETERS, PRIVACY, SIGNAL = (
    "AvatarParameters",
    "AvatarPrivacyMetricsParameters",
    "AvatarSignalMetricsParameters",
)
REPORT, ADVICE = "AvatarReportParameters", "AvatarAdviceParameters"
DATABASE_KINDS = (
    "AvatarSchemaDiscoveryParameters",
    "AvatarExtractParameters",
    "AvatarDatabase",
    "AvatarSharedEntity",
    "AvatarRegenerateParameters",
    "AvatarReferenceParameters",
)
KINDS = (METADATA, VOLUME, SCHEMA, PARAMETERS, PRIVACY, SIGNAL, REPORT, ADVICE, *DATABASE_KINDS)

# Accepted keys, in the order Octopize writes them (the writer reuses these orders).
DOCUMENT_KEYS = ("kind", "metadata", "spec", "annotations")
METADATA_KEYS = ("name",)
AVATAR_METADATA_KEYS = ("display_name", "pia_metadata")
PIA_KEYS = ("datarecipient", "data_type", "datasubject", "sensitivity_level")
SCHEMA_KEYS = ("tables", "schema_ref", "check_links_between_tables")
TABLE_KEYS = ("name", "data", "individual_level", "columns", "links")
AVATAR_TABLE_KEYS = ("name", "avatars_data")
DATA_KEYS = ("volume", "file", "auto")
COLUMN_KEYS = (
    "field",
    "type",
    "value_type",
    "identifier",
    "primary_key",
    "time_series_time",
    "pseudonymization",
    "drop",
)
LINK_KEYS = ("field", "to", "method")
LINK_TO_KEYS = ("table", "field")
LINK_METHODS = (
    "linear_sum_assignment",
    "minimum_distance_assignment",
    "sensitive_original_order_assignment",
    "time_series",
)
PARAMETERS_KEYS = (
    "schema",
    "avatarization",
    "avatarization_open_dp",
    "avatarization_fast_dp",
    "avatarization_dp",
    "time_series",
    "results",
    "seed",
    "compute_figures",
    "input",
)
_COMMON = (
    "ncp",
    "use_categorical_reduction",
    "column_weights",
    "exclude_variables",
    "imputation",
    "data_augmentation",
    "avatarization_processors_parameters",
)
# Veil extensions: ``max_rows_per_batch`` (batching of large tables) and the privacy knobs
# ``max_weight``, ``local_noise``, ``redraw_unique_copies``, ``coupled_noise``, and the named
# ``target_column`` decoded without that noise (docs/avatarization.md).
PRIVACY_KNOBS = (
    "max_weight",
    "local_noise",
    "redraw_unique_copies",
    "coupled_noise",
    "target_column",
)
AVATARIZATION_KEYS = ("k", *_COMMON, "max_rows_per_batch", *PRIVACY_KNOBS)
OPEN_DP_KEYS = ("epsilon", "preprocess_budget_ratio", *_COMMON)
FAST_DP_KEYS = (
    "epsilon",
    "mechanism",
    "gmm_n_components",
    "histogram_n_bins",
    "bounds_percentile",
    *_COMMON,
)
OPEN_DP_NAMES = {"epsilon": "open_dp_epsilon", "preprocess_budget_ratio": "preprocess_budget_ratio"}
FAST_DP_NAMES = {
    "epsilon": "fast_dp_epsilon",
    **{key: key for key in FAST_DP_KEYS[1:5]},
}
"""A DP block's own keys -> the ``set_parameters`` names Veil stores."""
TIME_SERIES_KEYS = ("projection", "alignment", "exclude_variables")
PROJECTION_KEYS = ("projection_type", "nf")
ALIGNMENT_KEYS = ("nb_points", "method", "unalignment")
EXCLUDE_KEYS = ("variable_names", "replacement_strategy")
IMPUTATION_KEYS = ("method", "k", "training_fraction", "return_data_imputed")
AUGMENTATION_KEYS = ("augmentation_strategy", "target_column", "should_anonymize_original_table")
AUGMENTATION_NAMES = {
    "augmentation_strategy": "data_augmentation_strategy",
    "target_column": "data_augmentation_target_column",
    "should_anonymize_original_table": "data_augmentation_should_anonymize_original_table",
}
"""``data_augmentation`` keys -> the ``set_parameters`` names Veil stores."""
RESULTS_KEYS = ("volume", "path", "format", "name_template", "max_distribution_plots")
METRICS_SPEC_KEYS = (
    "schema",
    "avatarization_ref",
    "time_series",
    "{block}",
    "results",
    "seed",
    "compute_figures",
    "input",
)
PRIVACY_BLOCK_KEYS = (
    "ncp",
    "use_categorical_reduction",
    "known_variables",
    "target",
    "quantile_threshold",
    "imputation",
    "exclude_variables",
    "column_weights",
)
OBSOLETE_PRIVACY_KEYS = (
    "closest_rate_percentage_threshold",
    "closest_rate_ratio_threshold",
    "categorical_hidden_rate_variables",
)
# ``target`` in signal metrics is a Veil extension (label of the utility model).
SIGNAL_BLOCK_KEYS = (
    "ncp",
    "use_categorical_reduction",
    "imputation",
    "column_weights",
    "exclude_variables",
    "target",
)
REPORT_KEYS = ("report_type", "output_format", "language", "results")
# ``advice_parameters`` (per table: ``privacy_targets``, ``target``) is a Veil extension: the
# privacy-targeted search of the advice job (engine/privacy_advice.py).
ADVICE_SPEC_KEYS = ("schema", "advice", "advice_parameters", "results")
ADVICE_BLOCK_KEYS = ("privacy_targets", "target")

# Unsupported features: (what it is, what happened to it).
_IGNORED = "is not supported by Veil yet and was ignored"
_IGNORED_PLURAL = "are not supported by Veil yet and were ignored"
FEATURES = {
    "series_exclusion": f"excluding variables of a time series (time_series.exclude_variables) "
    f"{_IGNORED}",
    "database": f"database runs {_IGNORED_PLURAL}",
    "column_options": f"the column options value_type and drop {_IGNORED_PLURAL}",
    "results_files": "result file overrides (results.format, results.name_template) are ignored: "
    "Veil results are downloaded through the client",
    "obsolete": "obsolete privacy parameters (removed in the Octopize client 1.0.9) were ignored",
}

_YAML_NAMES = {
    "open_dp_epsilon": "epsilon",
    "fast_dp_epsilon": "epsilon",
    "data_augmentation_strategy": "data_augmentation.augmentation_strategy",
    "data_augmentation_target_column": "data_augmentation.target_column",
    "data_augmentation_should_anonymize_original_table": (
        "data_augmentation.should_anonymize_original_table"
    ),
    "processors": "avatarization_processors_parameters",
    "exclude_variable_names": "exclude_variables.variable_names",
    "exclude_variables_method": "exclude_variables.replacement_strategy",
    "imputation_method": "imputation.method",
    "imputation_k": "imputation.k",
    "imputation_training_fraction": "imputation.training_fraction",
    "data_recipient": "datarecipient",
    "data_subject": "datasubject",
}

_SERIES_YAML = {
    "time_series_projection_type": "projection.projection_type",
    "time_series_nf": "projection.nf",
    "time_series_method": "alignment.method",
    "time_series_nb_points": "alignment.nb_points",
    "unalignment": "alignment.unalignment",
}


_DP_BLOCK = {
    **{name: "avatarization_open_dp" for name in OPEN_DP_NAMES.values()},
    **{name: "avatarization_fast_dp" for name in FAST_DP_NAMES.values()},
}


def yaml_path(field: str) -> str:
    """Where a :func:`validate` field path (``tables[iris].avatarization.k``) is in the YAML."""
    parts = re.fullmatch(r"tables\[(.*?)\]\.(\w+)(?:\.(\w+)|\[(.*?)\])?(?:[\[.].*)?", field)
    if parts:
        table, block, key, column = parts.groups()
        if block == "types":
            return f"AvatarSchema spec.tables[{table}].columns[{column}].type"
        if block in _SERIES_YAML:
            return f"{PARAMETERS} spec.time_series.{table}.{_SERIES_YAML[block]}"
        if block == "pseudonymized_columns":
            return f"AvatarSchema spec.tables[{table}].columns[{column}].pseudonymization"
        if block == "avatarization" and key in _DP_BLOCK:
            block = _DP_BLOCK[key]
        kind = {
            "avatarization": PARAMETERS,
            **{dp_block: PARAMETERS for dp_block in _DP_BLOCK.values()},
            "privacy_metrics": PRIVACY,
            "signal_metrics": SIGNAL,
            "advice": ADVICE,
        }.get(block, "")
        if block == "advice":
            block = "advice_parameters"
        return f"{kind} spec.{block}.{table}" + (f".{_YAML_NAMES.get(key, key)}" if key else "")
    if field.startswith("pia."):
        return f"AvatarMetadata spec.pia_metadata.{_YAML_NAMES.get(field[4:], field[4:])}"
    return {
        "report_language": "AvatarReportParameters spec.language",
        "seed": "spec.seed",
        "max_distribution_plots": "spec.results.max_distribution_plots",
    }.get(field, "")
