"""``Runner.set_parameters``' arguments: checked, then turned into the table's parameter blocks.

The names are Octopize's (reference/avatar_client.md section 3.3). Checking happens here, before
anything reaches the wire, so that a misspelt or mistyped parameter is named with its fix; the
server checks ranges and columns again, against the data.
"""

from __future__ import annotations

import difflib
import numbers
import warnings
from collections.abc import Mapping
from typing import Any

from veil_client.errors import InvalidArgument
from veil_client.run_config import EXCLUDE_METHODS, IMPUTE_METHODS, TableState

KNOWN = (
    "k",
    "ncp",
    "use_categorical_reduction",
    "column_weights",
    "exclude_variable_names",
    "exclude_variable_method",
    "exclude_replacement_strategy",
    "imputation_method",
    "imputation_k",
    "imputation_training_fraction",
    "imputation_return_data_imputed",
    "known_variables",
    "target",
    "quantile_threshold",
    "max_rows_per_batch",
    "max_weight",
    "local_noise",
    "redraw_unique_copies",
    "coupled_noise",
    "target_column",
    "use_excluded_variables_in_metrics",
    "time_series_nf",
    "time_series_projection_type",
    "time_series_nb_points",
    "time_series_method",
    "time_series_unalignment",
    "open_dp_epsilon",
    "fast_dp_epsilon",
    "preprocess_budget_ratio",
    "mechanism",
    "gmm_n_components",
    "histogram_n_bins",
    "bounds_percentile",
    "data_augmentation_strategy",
    "data_augmentation_target_column",
    "data_augmentation_should_anonymize_original_table",
    "processors",
    "pseudonymized_columns",
)
"""Parameters Veil applies."""

NOT_YET: dict[str, str] = {}
"""Octopize parameters of features Veil does not offer yet, and the feature each belongs to."""

_INTEGERS = ("k", "ncp", "imputation_k", "quantile_threshold", "max_rows_per_batch")
_FRACTIONS = ("imputation_training_fraction", "max_weight", "local_noise")
_FLAGS = (
    "use_categorical_reduction",
    "redraw_unique_copies",
    "coupled_noise",
    "imputation_return_data_imputed",
    "use_excluded_variables_in_metrics",
)


def check_names(given: Mapping[str, Any]) -> None:
    """Refuse unknown parameters (with the closest known name) and parameters of features Veil
    does not offer yet (naming the feature).

    Raises:
        InvalidArgument: a name Octopize does not have either.
        NotImplementedError: a parameter of a feature Veil does not offer yet.
    """
    for name in given:
        if name in KNOWN or name in NOT_YET:
            continue
        close = difflib.get_close_matches(name, [*KNOWN, *NOT_YET], n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else f"; parameters: {', '.join(KNOWN)}."
        raise InvalidArgument(f"unknown parameter {name!r}{hint}", field=name)
    refused = sorted(n for n in given if n in NOT_YET and given[n] is not None)
    if refused:
        features = sorted({NOT_YET[n] for n in refused})
        raise NotImplementedError(
            f"{refused} {'is' if len(refused) == 1 else 'are'} not supported by Veil yet "
            f"({', '.join(features)} come{'s' if len(features) == 1 else ''} in a later release; "
            "see docs/porting_octopize.md)."
        )


def normalized(values: dict[str, Any]) -> dict[str, Any]:
    """Values with numpy scalars and enums as plain Python values, types checked.

    Raises:
        InvalidArgument: a value of the wrong type, naming the parameter and the type expected.
    """
    out = dict(values)
    for name in _INTEGERS:
        value = out.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise InvalidArgument(f"{name} must be an integer; got {value!r}.", field=name)
        out[name] = int(value)
    for name in _FRACTIONS:
        fraction = out.get(name)
        if fraction is None:
            continue
        if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real):
            raise InvalidArgument(f"{name} must be a number; got {fraction!r}.", field=name)
        out[name] = float(fraction)
    for name in _FLAGS:
        value = out.get(name)
        if value is not None and not isinstance(value, bool):
            raise InvalidArgument(f"{name} must be True or False; got {value!r}.", field=name)
    for name in ("target", "target_column"):
        if out.get(name) is not None and (not isinstance(out[name], str) or not out[name]):
            raise InvalidArgument(f"{name} must be a column name; got {out[name]!r}.", field=name)
    for name in ("exclude_variable_names", "known_variables"):
        value = out.get(name)
        if value is not None:
            if isinstance(value, str) or not isinstance(value, list | tuple):
                raise InvalidArgument(
                    f"{name} must be a list of column names; got {value!r}.", field=name
                )
            out[name] = [str(v) for v in value]
    weights = out.get("column_weights")
    if weights is not None:
        if not isinstance(weights, Mapping):
            raise InvalidArgument(
                f"column_weights must be a dict of column name to weight; got {weights!r}.",
                field="column_weights",
            )
        for column, weight in weights.items():
            if isinstance(weight, bool) or not isinstance(weight, numbers.Real):
                raise InvalidArgument(
                    f"column_weights[{column!r}] must be a number; got {weight!r}.",
                    field="column_weights",
                )
        out["column_weights"] = {str(c): float(w) for c, w in weights.items()}
    for name, allowed in (
        ("imputation_method", IMPUTE_METHODS),
        ("exclude_variable_method", EXCLUDE_METHODS),
        ("exclude_replacement_strategy", EXCLUDE_METHODS),
    ):
        value = getattr(out.get(name), "value", out.get(name))
        if value is not None and value not in allowed:
            raise InvalidArgument(
                f"{name} must be one of {sorted(allowed)}; got {value!r}.", field=name
            )
        out[name] = value
    return out


def apply(state: TableState, values: dict[str, Any]) -> None:
    """Replace every parameter block of a table with those ``values`` describe.

    ``values`` are :func:`normalized` ones. Excluded variables also stay out of the metrics'
    projection unless ``use_excluded_variables_in_metrics`` (Octopize's rule).
    """
    method = values.get("exclude_variable_method")
    if values.get("exclude_replacement_strategy") is not None:
        warnings.warn(
            "exclude_replacement_strategy is deprecated; use exclude_variable_method.",
            DeprecationWarning,
            stacklevel=3,
        )
        method = method or values["exclude_replacement_strategy"]
    if values.get("k") == 2:
        warnings.warn(
            "k=2 is the minimum allowed value; privacy is weak.", UserWarning, stacklevel=3
        )
    avatarization = {
        "k": values.get("k"),
        "ncp": values.get("ncp"),
        "use_categorical_reduction": values.get("use_categorical_reduction"),
        "column_weights": values.get("column_weights"),
        "exclude_variable_names": values.get("exclude_variable_names"),
        "exclude_variables_method": method,
        "imputation_method": values.get("imputation_method"),
        "imputation_k": values.get("imputation_k"),
        "imputation_training_fraction": values.get("imputation_training_fraction"),
        "imputation_return_data_imputed": values.get("imputation_return_data_imputed"),
        "max_rows_per_batch": values.get("max_rows_per_batch"),
        "max_weight": values.get("max_weight"),
        "local_noise": values.get("local_noise"),
        "redraw_unique_copies": values.get("redraw_unique_copies"),
        "coupled_noise": values.get("coupled_noise"),
        "target_column": values.get("target_column"),
    }
    state.avatarization = (
        {key: v for key, v in avatarization.items() if v is not None}
        if values.get("k") is not None
        else None
    )
    shared = {
        "ncp": values.get("ncp"),
        "use_categorical_reduction": values.get("use_categorical_reduction"),
        "column_weights": values.get("column_weights"),
    }
    if not values.get("use_excluded_variables_in_metrics"):
        shared["exclude_variable_names"] = values.get("exclude_variable_names")
    state.privacy_metrics = {
        key: v
        for key, v in {
            **shared,
            "known_variables": values.get("known_variables"),
            "target": values.get("target"),
            "quantile_threshold": values.get("quantile_threshold"),
        }.items()
        if v is not None
    }
    state.signal_metrics = {key: v for key, v in shared.items() if v is not None}


def current(state: TableState) -> dict[str, Any]:
    """A table's parameters as ``set_parameters`` arguments (for ``update_parameters``)."""
    values: dict[str, Any] = dict(state.avatarization or {})
    if "exclude_variables_method" in values:
        values["exclude_variable_method"] = values.pop("exclude_variables_method")
    for key in ("known_variables", "target", "quantile_threshold"):
        if key in state.privacy_metrics:
            values[key] = state.privacy_metrics[key]
    if state.avatarization is None:
        for key in ("ncp", "use_categorical_reduction", "column_weights"):
            if key in state.privacy_metrics:
                values[key] = state.privacy_metrics[key]
    if values.get("exclude_variable_names") and "exclude_variable_names" not in (
        state.privacy_metrics
    ):
        values["use_excluded_variables_in_metrics"] = True
    return values
