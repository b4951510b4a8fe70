"""Parameters of a metric run, checked once so every metric can trust them.

The names and defaults follow the Octopize client's ``set_parameters`` (``ncp``,
``known_variables``, ``target``, ``quantile_threshold``, ``column_weights``) so a configuration
written for Octopize means the same thing here. Veil's additions (attacks, utility model) have
their own keys.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from veil_service.errors import InvalidArgumentError

DEFAULT_NCP = 5
"""Octopize's default: ``min(5, number of one-hot columns)`` components for distance metrics."""

DEFAULT_QUANTILE_THRESHOLD = 5.0
"""Octopize's default percentile of the holdout distance distribution used by ``closest_rate``."""

DEFAULT_N_ATTACKS = 500
"""Anonymeter's default number of attack attempts per attack (main, control and baseline)."""

DEFAULT_CONFIDENCE = 0.95
"""Confidence level of the Wilson intervals around the attack success rates."""

_KNOWN = {
    "table_name",
    "ncp",
    "known_variables",
    "target",
    "quantile_threshold",
    "seed",
    "column_weights",
    "holdout",
    "categorical_hidden_rate_variables",
    "n_attacks",
    "confidence_level",
    "compute_attacks",
    "compute_utility",
    "use_categorical_reduction",
    "exclude_variable_names",
}


def accepted(params: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``params`` the metrics take; a run's stored settings may hold more (the
    multi-table task passes a table's whole metrics block)."""
    return {key: value for key, value in params.items() if key in _KNOWN}


@dataclass(frozen=True)
class MetricsParameters:
    """The checked parameters of one metric run.

    Attributes:
        table_name: Name reported in the result's metadata.
        ncp: Number of projection components used by distance metrics (None: the default).
        known_variables: Columns an attacker is assumed to know (linkability and inference).
        target: The sensitive column an attacker tries to infer (and the utility model's label).
        quantile_threshold: Percentile (0-100) of the holdout distance distribution below which an
            avatar counts as too close in ``closest_rate``.
        seed: Seed of every random draw (attack sampling, utility split); runs are reproducible.
        column_weights: Weight of each variable in the projection (default 1).
        categorical_hidden_rate_variables: Categorical columns used by ``categorical_hidden_rate``
            (None: every categorical column).
        n_attacks: Attack attempts per anonymeter-style attack.
        confidence_level: Confidence of the attack risk intervals.
        compute_attacks: Whether to run the three anonymeter-style attacks.
        compute_utility: Whether to train the train-on-avatars / test-on-real model.
        use_categorical_reduction: Project many-modality categoricals as their embedding, as the
            avatarization did (distance metrics only).
        exclude_variable_names: Variables the avatarization kept out of its projection, kept
            out of the distance metrics' projection too.
    """

    table_name: str = "table"
    ncp: int | None = None
    known_variables: tuple[str, ...] = ()
    target: str | None = None
    quantile_threshold: float = DEFAULT_QUANTILE_THRESHOLD
    seed: int = 0
    column_weights: Mapping[str, float] = field(default_factory=dict)
    categorical_hidden_rate_variables: tuple[str, ...] | None = None
    n_attacks: int = DEFAULT_N_ATTACKS
    confidence_level: float = DEFAULT_CONFIDENCE
    compute_attacks: bool = True
    compute_utility: bool = True
    use_categorical_reduction: bool = False
    exclude_variable_names: tuple[str, ...] = ()

    def as_metadata(self) -> dict[str, Any]:
        """The parameters as plain JSON-ready values, for the result's metadata."""
        return {
            "ncp": self.ncp,
            "known_variables": list(self.known_variables),
            "target": self.target,
            "quantile_threshold": self.quantile_threshold,
            "seed": self.seed,
            "column_weights": dict(self.column_weights),
            "categorical_hidden_rate_variables": (
                None
                if self.categorical_hidden_rate_variables is None
                else list(self.categorical_hidden_rate_variables)
            ),
            "n_attacks": self.n_attacks,
            "confidence_level": self.confidence_level,
            "use_categorical_reduction": self.use_categorical_reduction,
            "exclude_variable_names": list(self.exclude_variable_names),
        }


def _columns_list(value: Any, name: str, columns: list[str]) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise InvalidArgumentError(
            f"{name} must be a list of column names, e.g. [{columns[0]!r}]", field=name
        )
    if len(value) == 0:
        raise InvalidArgumentError(
            f"{name} is empty: name at least one column, or omit it", field=name
        )
    unknown = [v for v in value if v not in columns]
    if unknown:
        raise InvalidArgumentError(
            f"{name} names columns that are not in the table: {unknown}; choose among {columns}",
            field=name,
        )
    if len(set(value)) != len(value):
        raise InvalidArgumentError(f"{name} lists a column twice: list each once", field=name)
    return tuple(value)


def _integer(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidArgumentError(
            f"{name} must be an integer >= {minimum}, got {value!r}", field=name
        )
    return int(value)


def parse_parameters(
    params: Mapping[str, Any], columns: list[str], categorical: list[str]
) -> MetricsParameters:
    """Check the keyword parameters of ``privacy_metrics`` / ``signal_metrics``.

    Args:
        params: The keyword arguments as given (``holdout`` is ignored here; it is a table).
        columns: The original table's columns.
        categorical: The original table's categorical columns.

    Returns:
        The checked parameters.

    Raises:
        InvalidArgumentError: An unknown parameter, or a value that names no column, is out of
            range or has the wrong type. The message names the parameter and the fix.
    """
    # None stands for "use the default" everywhere, as in the Octopize client's set_parameters.
    params = {key: value for key, value in params.items() if value is not None}
    unknown = sorted(set(params) - _KNOWN)
    if unknown:
        raise InvalidArgumentError(
            f"unknown metrics parameters {unknown}; known: {sorted(_KNOWN)}", field=unknown[0]
        )
    known: tuple[str, ...] = ()
    if params.get("known_variables") is not None:
        known = _columns_list(params["known_variables"], "known_variables", columns)
    target = params.get("target")
    if target is not None:
        if not isinstance(target, str) or target not in columns:
            raise InvalidArgumentError(
                f"target {target!r} is not a column of the table; choose among {columns}",
                field="target",
            )
        if target in known:
            raise InvalidArgumentError(
                "target must not be one of known_variables: the attacker "
                "infers it from the others; remove it from one of them",
                field="target",
            )
        if len(columns) < 2:
            raise InvalidArgumentError("a target needs at least one other column", field="target")
    ncp = params.get("ncp")
    if ncp is not None:
        ncp = _integer(ncp, "ncp", 1)
    quantile = params.get("quantile_threshold", DEFAULT_QUANTILE_THRESHOLD)
    if (
        isinstance(quantile, bool)
        or not isinstance(quantile, int | float)
        or not math.isfinite(quantile)
        or not 0 < quantile < 100
    ):
        raise InvalidArgumentError(
            f"quantile_threshold must be a percentile strictly between 0 "
            f"and 100 (default 5), got {quantile!r}",
            field="quantile_threshold",
        )
    seed = params.get("seed")
    seed = 0 if seed is None else _integer(seed, "seed", 0)
    weights = params.get("column_weights") or {}
    if not isinstance(weights, Mapping):
        raise InvalidArgumentError(
            "column_weights must map column names to positive numbers", field="column_weights"
        )
    for column, weight in weights.items():
        if column not in columns:
            raise InvalidArgumentError(
                f"column_weights names {column!r}, which is not a column", field="column_weights"
            )
        if (
            isinstance(weight, bool)
            or not isinstance(weight, int | float)
            or not math.isfinite(weight)
            or weight <= 0
        ):
            raise InvalidArgumentError(
                f"column_weights[{column!r}] must be a positive number, got {weight!r}",
                field="column_weights",
            )
    chr_vars = params.get("categorical_hidden_rate_variables")
    if chr_vars is not None:
        chr_vars = _columns_list(chr_vars, "categorical_hidden_rate_variables", columns)
        not_cat = [c for c in chr_vars if c not in categorical]
        if not_cat:
            raise InvalidArgumentError(
                f"categorical_hidden_rate_variables must be categorical columns; {not_cat} are "
                "numeric (give them the category dtype, or leave them out)",
                field="categorical_hidden_rate_variables",
            )
    confidence = params.get("confidence_level", DEFAULT_CONFIDENCE)
    if not isinstance(confidence, float) or not 0.5 <= confidence < 1:
        raise InvalidArgumentError(
            "confidence_level must be a float in [0.5, 1)", field="confidence_level"
        )
    reduction = params.get("use_categorical_reduction", False)
    if not isinstance(reduction, bool):
        raise InvalidArgumentError(
            f"use_categorical_reduction must be true or false, got {reduction!r}",
            field="use_categorical_reduction",
        )
    excluded: tuple[str, ...] = ()
    if params.get("exclude_variable_names"):
        excluded = _columns_list(
            params["exclude_variable_names"], "exclude_variable_names", columns
        )
        if len(excluded) == len(columns):
            raise InvalidArgumentError(
                "exclude_variable_names lists every column: keep at least one in the projection",
                field="exclude_variable_names",
            )
    table_name = params.get("table_name") or "table"
    if not isinstance(table_name, str):
        raise InvalidArgumentError("table_name must be a string", field="table_name")
    return MetricsParameters(
        table_name=table_name,
        ncp=ncp,
        known_variables=known,
        target=target,
        quantile_threshold=float(quantile),
        seed=seed,
        column_weights={k: float(v) for k, v in weights.items()},
        categorical_hidden_rate_variables=chr_vars,
        n_attacks=_integer(params.get("n_attacks", DEFAULT_N_ATTACKS), "n_attacks", 10),
        confidence_level=confidence,
        compute_attacks=bool(params.get("compute_attacks", True)),
        compute_utility=bool(params.get("compute_utility", True)),
        use_categorical_reduction=reduction,
        exclude_variable_names=excluded,
    )


def holdout_of(params: Mapping[str, Any]) -> pd.DataFrame | None:
    """The optional ``holdout`` table among the parameters."""
    holdout = params.get("holdout")
    if holdout is not None and not isinstance(holdout, pd.DataFrame):
        raise InvalidArgumentError(
            "holdout must be a pandas DataFrame with the original's columns, or omitted",
            field="holdout",
        )
    return holdout
