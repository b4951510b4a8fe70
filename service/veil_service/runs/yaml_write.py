"""Write a :class:`RunConfig` as the Octopize ``avatar_yaml`` multi-document format.

The output follows ``Config.get_yaml()`` of avatar_yaml 0.1.45 (documents in its order, keys in
its dataclass order, ``None`` omitted, documents joined by ``"\\n---\\n"``), so a configuration
exported from Veil reads like one exported from Octopize and loads back into Veil unchanged:
``read_config(write_config(c))`` reproduces ``c``.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

import yaml

from veil_service.engine_contract import avatar_features
from veil_service.runs.config import RunConfig, TableConfig
from veil_service.runs.yaml_keys import (
    ADVICE,
    METADATA,
    PARAMETERS,
    PRIVACY,
    REPORT,
    SCHEMA,
    SIGNAL,
)

RESULTS_VOLUME = "results"
"""The results volume the Octopize client names (the web application writes ``output``)."""


def _client_version() -> str:
    try:
        return metadata.version("veil")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0.0.0"


def _prune(value: Any) -> Any:
    """Drop ``None`` values from mappings, as avatar_yaml's ``to_yaml`` does."""
    if isinstance(value, dict):
        return {key: _prune(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_prune(item) for item in value]
    return value


def _document(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"kind": kind, "metadata": {"name": name}, "spec": spec}


def _results(config: RunConfig, path: str) -> dict[str, Any]:
    return {
        "volume": RESULTS_VOLUME,
        "path": path,
        "max_distribution_plots": config.max_distribution_plots,
    }


def _metadata(config: RunConfig, display_name: str) -> dict[str, Any]:
    pia = config.pia
    document = _document(
        METADATA,
        f"avatar-metadata-{display_name}",
        {
            "display_name": display_name,
            "pia_metadata": {
                "datarecipient": pia.data_recipient,
                "data_type": pia.data_type,
                "datasubject": pia.data_subject,
                "sensitivity_level": pia.sensitivity_level,
            },
        },
    )
    document["annotations"] = {
        "client_type": "python",
        "client_version": _client_version(),
        **config.annotations,
    }
    return document


def _columns(table: TableConfig) -> list[dict[str, Any]]:
    """Typed columns in their order, untyped identifiers placed so that reading the columns back
    lists the identifiers in their order, then an untyped primary key."""
    fields = list(table.column_types)
    previous = -1
    for identifier in table.identifiers:
        if identifier in fields:
            previous = fields.index(identifier)
        else:
            previous += 1
            fields.insert(previous, identifier)
    if table.primary_key and table.primary_key not in fields:
        fields.append(table.primary_key)
    fields += [name for name in table.pseudonymized_columns if name not in fields]
    if table.time_series_time and table.time_series_time not in fields:
        fields.insert(0, table.time_series_time)
    return [
        {
            "field": field,
            "type": table.column_types.get(field),
            "identifier": True if field in table.identifiers else None,
            "primary_key": True if field == table.primary_key else None,
            "time_series_time": True if field == table.time_series_time else None,
            "pseudonymization": table.pseudonymized_columns.get(field),
        }
        for field in fields
    ]


def _schema(config: RunConfig) -> dict[str, Any]:
    tables = []
    for table in config.tables:
        links = [
            {
                "field": link.parent_field,
                "to": {"table": link.child_table, "field": link.child_field},
                "method": link.method,
            }
            for link in config.links
            if link.parent_table == table.name
        ]
        tables.append(
            {
                "name": table.name,
                "data": {"volume": "input", "file": f"{table.name}.parquet"},
                "individual_level": table.individual_level,
                "columns": _columns(table) or None,
                "links": links or None,
            }
        )
    return _document(SCHEMA, "schema", {"tables": tables})


def _avatar_schema(config: RunConfig) -> dict[str, Any]:
    return _document(
        SCHEMA,
        "schema_avatarized",
        {
            "tables": [
                {"name": table.name, "avatars_data": {"auto": True}} for table in config.tables
            ],
            "schema_ref": "schema",
        },
    )


def _imputation(parameters: dict[str, Any] | None) -> dict[str, Any] | None:
    """The imputation block; Octopize writes ``return_data_imputed: false`` whenever present."""
    if not parameters:
        return None
    values = {
        key: parameters.get(f"imputation_{key}") for key in ("method", "k", "training_fraction")
    }
    returned = bool(parameters.get("imputation_return_data_imputed"))
    if all(value is None for value in values.values()) and not returned:
        return None
    return {**values, "return_data_imputed": returned}


_OWN_KEYS = {
    avatar_features.AVATAR: {"k": "k"},
    avatar_features.OPEN_DP: {
        "epsilon": "open_dp_epsilon",
        "preprocess_budget_ratio": "preprocess_budget_ratio",
    },
    avatar_features.FAST_DP: {
        "epsilon": "fast_dp_epsilon",
        "mechanism": "mechanism",
        "gmm_n_components": "gmm_n_components",
        "histogram_n_bins": "histogram_n_bins",
        "bounds_percentile": "bounds_percentile",
    },
}
_BLOCKS = {
    avatar_features.AVATAR: "avatarization",
    avatar_features.OPEN_DP: "avatarization_open_dp",
    avatar_features.FAST_DP: "avatarization_fast_dp",
}


def _augmentation(parameters: dict[str, Any]) -> dict[str, Any] | None:
    if parameters.get("data_augmentation_strategy") is None:
        return None
    return {
        "augmentation_strategy": parameters["data_augmentation_strategy"],
        "target_column": parameters.get("data_augmentation_target_column"),
        "should_anonymize_original_table": parameters.get(
            "data_augmentation_should_anonymize_original_table"
        ),
    }


def _avatarization(parameters: dict[str, Any]) -> dict[str, Any]:
    generator = avatar_features.generator_of(parameters)
    names = parameters.get("exclude_variable_names")
    method = parameters.get("exclude_variables_method")
    exclude = (
        None
        if names is None and method is None
        else {"variable_names": names, "replacement_strategy": method}
    )
    return {
        **{key: parameters.get(name) for key, name in _OWN_KEYS[generator].items()},
        "ncp": parameters.get("ncp"),
        "use_categorical_reduction": parameters.get("use_categorical_reduction"),
        "column_weights": parameters.get("column_weights"),
        "exclude_variables": exclude,
        "imputation": _imputation(parameters),
        "data_augmentation": _augmentation(parameters),
        "avatarization_processors_parameters": parameters.get("processors"),
        "max_rows_per_batch": parameters.get("max_rows_per_batch"),
        "max_weight": parameters.get("max_weight"),
        "local_noise": parameters.get("local_noise"),
        "redraw_unique_copies": parameters.get("redraw_unique_copies"),
        "coupled_noise": parameters.get("coupled_noise"),
        "target_column": parameters.get("target_column"),
    }


def _time_series(config: RunConfig) -> dict[str, Any] | None:
    """Each time-series table's projection and alignment (Octopize's ``time_series`` block)."""
    blocks = {}
    for table in config.tables:
        if table.time_series is None:
            continue
        values = table.time_series
        projection = {"projection_type": values.get("projection_type"), "nf": values.get("nf")}
        alignment = {
            "nb_points": values.get("nb_points"),
            "method": values.get("method"),
            "unalignment": values.get("unalignment"),
        }
        blocks[table.name] = {
            "projection": projection if any(v is not None for v in projection.values()) else None,
            "alignment": alignment if any(v is not None for v in alignment.values()) else None,
        }
    return blocks or None


def _standard(config: RunConfig) -> dict[str, Any]:
    blocks: dict[str, dict[str, Any]] = {block: {} for block in _BLOCKS.values()}
    for table in config.tables:
        if table.avatarization is not None:
            block = _BLOCKS[avatar_features.generator_of(table.avatarization)]
            blocks[block][table.name] = _avatarization(table.avatarization)
    return _document(
        PARAMETERS,
        "standard",
        {
            "schema": "schema",
            **{block: tables or None for block, tables in blocks.items()},
            "time_series": _time_series(config),
            "results": _results(config, "standard"),
            "seed": config.seed,
            "compute_figures": None if config.compute_figures else False,
        },
    )


def _privacy_block(table: TableConfig) -> dict[str, Any]:
    values = table.privacy_metrics
    return {
        "ncp": values.get("ncp"),
        "use_categorical_reduction": values.get("use_categorical_reduction"),
        "known_variables": values.get("known_variables"),
        "target": values.get("target"),
        "quantile_threshold": values.get("quantile_threshold"),
        "imputation": _imputation(table.avatarization),
        "column_weights": values.get("column_weights"),
        "exclude_variables": _metrics_exclusion(values),
    }


def _metrics_exclusion(values: dict[str, Any]) -> dict[str, Any] | None:
    names = values.get("exclude_variable_names")
    return {"variable_names": names} if names else None


def _signal_block(table: TableConfig) -> dict[str, Any]:
    values = table.signal_metrics
    return {
        "ncp": values.get("ncp"),
        "use_categorical_reduction": values.get("use_categorical_reduction"),
        "imputation": _imputation(table.avatarization),
        "column_weights": values.get("column_weights"),
        "target": values.get("target"),
        "exclude_variables": _metrics_exclusion(values),
    }


def _metrics(config: RunConfig, kind: str, name: str, standard: bool) -> dict[str, Any]:
    block = _privacy_block if kind == PRIVACY else _signal_block
    tables = {table.name: entry for table in config.tables if (entry := _prune(block(table)))}
    return _document(
        kind,
        name,
        {
            "schema": "schema_avatarized",
            "avatarization_ref": "standard" if standard else None,
            "time_series": _time_series(config),
            name: tables or None,
            "results": _results(config, name),
            "seed": config.seed,
            # Without a standard document, the privacy one carries the run-wide figures switch.
            "compute_figures": False
            if not (standard or config.compute_figures or kind != PRIVACY)
            else None,
        },
    )


def _reports(config: RunConfig) -> list[dict[str, Any]]:
    return [
        _document(
            REPORT,
            name,
            {
                "report_type": report_type,
                "output_format": output_format,
                "language": config.report_language,
                "results": {"volume": RESULTS_VOLUME, "path": name},
            },
        )
        for name, report_type, output_format in (
            ("report", "basic", "pdf"),
            ("report_pia", "pia", "docx"),
        )
    ]


def _advice(config: RunConfig) -> dict[str, Any] | None:
    """Octopize's parameters advice document, with Veil's per-table ``advice_parameters``
    (the privacy-targeted search); only written when a table has advice parameters."""
    tables = {table.name: dict(table.advice) for table in config.tables if table.advice}
    if not tables:
        return None
    return _document(
        ADVICE,
        "advice_parameters",
        {
            "schema": "schema",
            "advice": {"advisor_type": ["parameters"]},
            "advice_parameters": tables,
            "results": {"volume": RESULTS_VOLUME, "path": "advice"},
        },
    )


def write_config(config: RunConfig, display_name: str) -> str:
    """Render ``config``; see :func:`veil_service.runs.yaml_io.config_to_yaml`."""
    standard = any(
        table.avatarization is not None or table.time_series is not None for table in config.tables
    )
    documents = [_metadata(config, display_name), _schema(config), _avatar_schema(config)]
    advice = _advice(config)
    if advice is not None:
        documents.append(advice)
    if standard:
        documents.append(_standard(config))
    documents += [
        _metrics(config, PRIVACY, "privacy_metrics", standard),
        _metrics(config, SIGNAL, "signal_metrics", standard),
        *_reports(config),
    ]
    return "\n---\n".join(
        yaml.safe_dump(
            _prune(document), sort_keys=False, allow_unicode=True, default_flow_style=False
        )
        for document in documents
    )
