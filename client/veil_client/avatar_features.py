"""``set_parameters``' DP, data augmentation, processors and pseudonymization arguments.

The names are Octopize's (reference/avatar_client.md section 3.3): ``open_dp_epsilon``,
``fast_dp_epsilon``, ``data_augmentation_strategy`` / ``_target_column`` /
``_should_anonymize_original_table``, ``processors``, ``pseudonymized_columns``. Veil also takes
the DP generators' options that Octopize offers only through avatar_yaml
(``preprocess_budget_ratio``, ``mechanism``, ``gmm_n_components``, ``histogram_n_bins``,
``bounds_percentile``). Types are checked here, before anything reaches the wire; the server
checks ranges, and the columns against the data, when the configuration is set and when jobs
start.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

from veil_client.errors import InvalidArgument
from veil_client.pseudonymization import PseudonymizationStrategy
from veil_client.run_config import TableState
from veil_client.server_processors import AvatarizationProcessorParameters
from veil_client.server_processors import from_dict as processor_from_dict

GENERATOR_OPTIONS = {
    "open_dp_epsilon": ("preprocess_budget_ratio",),
    "fast_dp_epsilon": ("mechanism", "gmm_n_components", "histogram_n_bins", "bounds_percentile"),
}
AUGMENTATION = (
    "data_augmentation_strategy",
    "data_augmentation_target_column",
    "data_augmentation_should_anonymize_original_table",
)
NAMES = (
    *GENERATOR_OPTIONS,
    *(option for options in GENERATOR_OPTIONS.values() for option in options),
    *AUGMENTATION,
    "processors",
    "pseudonymized_columns",
)
"""Every argument this module handles."""
MECHANISMS = ("gaussian", "gmm", "histogram")
CLASS_STRATEGIES = ("minority", "not_majority")
KINDS = ("FAKER", "HASH_SHA256", "UUID4", "CONSTANT", "INTEGER", "SPECIFIC_ID")
PROJECTION = (
    "ncp",
    "use_categorical_reduction",
    "column_weights",
    "exclude_variable_names",
    "exclude_variables_method",
    "imputation_method",
    "imputation_k",
    "imputation_training_fraction",
    "imputation_return_data_imputed",
    "max_rows_per_batch",
)
"""The avatar method's parameters, which a DP generator does not take (the metrics keep them)."""


def _value(v: Any) -> Any:
    return getattr(v, "value", v)


def _real(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidArgument(f"{name} must be a number; got {value!r}.", field=name)
    return float(value)


def _integer(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidArgument(f"{name} must be an integer; got {value!r}.", field=name)
    return int(value)


def generator_key(k: Any, values: Mapping[str, Any]) -> str | None:
    """``k``, ``open_dp_epsilon``, ``fast_dp_epsilon`` or None: the one generator asked for.

    Raises:
        ValueError: several are set (Octopize's rule: one generator per table).
    """
    chosen = [
        name
        for name, value in (("k", k), *((key, values.get(key)) for key in GENERATOR_OPTIONS))
        if value is not None
    ]
    if len(chosen) > 1:
        raise InvalidArgument(
            f"{' and '.join(chosen)} are both set: a table uses one generator, so pass exactly "
            "one of k (avatar method), open_dp_epsilon (end-to-end DP) and fast_dp_epsilon.",
            field=chosen[1],
        )
    return chosen[0] if chosen else None


def normalized(values: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments of :data:`NAMES` as plain values (enums, numpy scalars, parameter objects
    and strategies to the avatar_yaml field maps), types checked.

    Raises:
        InvalidArgument: a value of the wrong type, naming the argument.
    """
    out: dict[str, Any] = {}
    for name in (
        "open_dp_epsilon",
        "fast_dp_epsilon",
        "preprocess_budget_ratio",
        "bounds_percentile",
    ):
        out[name] = _real(name, values.get(name))
    for name in ("gmm_n_components", "histogram_n_bins"):
        out[name] = _integer(name, values.get(name))
    mechanism = _value(values.get("mechanism"))
    if mechanism is not None and mechanism not in MECHANISMS:
        raise InvalidArgument(
            f"mechanism must be one of {list(MECHANISMS)}; got {mechanism!r}.", field="mechanism"
        )
    out["mechanism"] = mechanism
    out["data_augmentation_strategy"] = _strategy(values.get("data_augmentation_strategy"))
    target = values.get("data_augmentation_target_column")
    if target is not None and not isinstance(target, str):
        raise InvalidArgument(
            f"data_augmentation_target_column must be a column name; got {target!r}.",
            field="data_augmentation_target_column",
        )
    out["data_augmentation_target_column"] = target
    keep = values.get("data_augmentation_should_anonymize_original_table")
    if keep is not None and not isinstance(keep, bool):
        raise InvalidArgument(
            "data_augmentation_should_anonymize_original_table must be True or False; got "
            f"{keep!r}.",
            field="data_augmentation_should_anonymize_original_table",
        )
    out["data_augmentation_should_anonymize_original_table"] = keep
    out["processors"] = _processors(values.get("processors"))
    out["pseudonymized_columns"] = _pseudonymized(values.get("pseudonymized_columns"))
    return out


def _strategy(value: Any) -> Any:
    value = _value(value)
    if isinstance(value, str) and value not in CLASS_STRATEGIES:
        raise InvalidArgument(
            f"data_augmentation_strategy must be a multiplier, AugmentationStrategy.minority, "
            f"AugmentationStrategy.not_majority or a dict of modality to share; got {value!r}.",
            field="data_augmentation_strategy",
        )
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return {
            str(_value(k)): _real(f"data_augmentation_strategy[{k!r}]", v) for k, v in value.items()
        }
    number = _real("data_augmentation_strategy", value)
    assert number is not None
    if not math.isfinite(number):
        raise InvalidArgument(
            f"data_augmentation_strategy must be finite; got {value!r}.",
            field="data_augmentation_strategy",
        )
    return number


def _processors(value: Any) -> list[dict[str, Any]] | None:
    if value is None:
        return None
    if isinstance(value, AvatarizationProcessorParameters | Mapping | str) or not isinstance(
        value, list | tuple
    ):
        raise InvalidArgument(
            "processors must be a list of RelativeDifferenceParameters or "
            f"InterRecordRangeDifferenceParameters; got {value!r}.",
            field="processors",
        )
    out = []
    for i, item in enumerate(value):
        if isinstance(item, AvatarizationProcessorParameters):
            out.append(item.to_dict())
        elif isinstance(item, Mapping):
            out.append(dict(item))
        else:
            raise InvalidArgument(
                f"processors[{i}] must be RelativeDifferenceParameters or "
                f"InterRecordRangeDifferenceParameters; got {item!r}. Client-side processors "
                "(ProportionProcessor...) run on your machine: call their preprocess before "
                "add_table and their postprocess on the avatars.",
                field=f"processors[{i}]",
            )
    return out


def _pseudonymized(value: Any) -> dict[str, dict[str, Any]] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidArgument(
            f"pseudonymized_columns must map column names to strategies; got {value!r}.",
            field="pseudonymized_columns",
        )
    out = {}
    for column, strategy in value.items():
        if isinstance(strategy, PseudonymizationStrategy):
            out[str(column)] = strategy.to_dict()
        elif isinstance(strategy, Mapping) and str(strategy.get("kind", "")).upper() in KINDS:
            out[str(column)] = {key: _value(v) for key, v in strategy.items()}
        else:
            raise InvalidArgument(
                f"pseudonymized_columns[{column!r}] must be a strategy such as Uuid4Strategy() "
                f"or FakeDataStrategy(pii_type=PiiType.EMAIL); got {strategy!r}.",
                field=f"pseudonymized_columns[{column}]",
            )
    return out


def apply(
    state: TableState, values: dict[str, Any], avatarization: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The table's avatarization block with the features added, and its pseudonymization set.

    Args:
        state: The table; its ``pseudonymized_columns`` are replaced.
        values: :func:`normalized` arguments.
        avatarization: The avatar method's block (``k`` and the projection parameters), or None
            when ``k`` is not set.

    Returns:
        The block to keep: the avatar method's with the features, a DP generator's (its
        options and the features; no projection parameters), or None when no generator is set.
    """
    state.pseudonymized_columns = dict(values.get("pseudonymized_columns") or {})
    generator = next((key for key in GENERATOR_OPTIONS if values.get(key) is not None), None)
    if generator is not None:
        block: dict[str, Any] = {generator: values[generator]}
        for option in GENERATOR_OPTIONS[generator]:
            block[option] = values.get(option)
    elif avatarization is not None:
        block = dict(avatarization)
        for options in GENERATOR_OPTIONS.values():
            for option in options:
                block[option] = values.get(option)
    else:
        return None
    for name in (*AUGMENTATION, "processors"):
        block[name] = values.get(name)
    return {key: value for key, value in block.items() if value is not None}


def current(state: TableState) -> dict[str, Any]:
    """The table's feature arguments, as ``set_parameters`` takes them (``update_parameters``)."""
    values: dict[str, Any] = {
        key: value
        for key, value in (state.avatarization or {}).items()
        if key in NAMES and key != "processors"
    }
    processors = (state.avatarization or {}).get("processors")
    if processors:
        values["processors"] = [processor_from_dict(p) for p in processors]
    if state.pseudonymized_columns:
        values["pseudonymized_columns"] = dict(state.pseudonymized_columns)
    return values
