"""What the metrics compare: the original and its avatars without the columns that say nothing.

Shared by the metrics jobs on one process (``engine.tasks.avatar_jobs``) and by each partition
of the Dask partition path (``engine.dask_partitions``), so both measure the same columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

NAME_LISTS = ("known_variables", "exclude_variable_names", "categorical_hidden_rate_variables")
"""Metric parameters that name columns, pruned with the columns left out."""


@dataclass(frozen=True)
class MeasuredPair:
    """The tables the metrics compare and the parameters that fit them.

    Attributes:
        original / avatars: Without the identifiers and the set-aside columns.
        params: The metric parameters, pruned of the columns left out.
        set_aside: Constant and empty columns left out (an avatar "matches" them by
            construction, and they say nothing about any row).
        identifiers: Columns released as pseudonyms, left out (a pseudonym is nobody's value).
        warnings: What the caller should know.
    """

    original: pd.DataFrame
    avatars: pd.DataFrame
    params: dict[str, Any]
    set_aside: tuple[Any, ...]
    identifiers: list[Any]
    warnings: list[str]


def _without(params: dict[str, Any], columns: set[Any]) -> dict[str, Any]:
    out = dict(params)
    for key in NAME_LISTS:
        out[key] = [c for c in out.get(key) or [] if c not in columns] or None
    if out.get("column_weights"):
        out["column_weights"] = {c: w for c, w in out["column_weights"].items() if c not in columns}
    return out


def measured_pair(
    original: pd.DataFrame,
    avatars: pd.DataFrame,
    params: dict[str, Any],
    identifiers: list[Any],
    table_name: str,
) -> MeasuredPair:
    """Leave the ``identifiers`` and the constant or empty columns out of both tables and of
    the parameters (a target left out is dropped, with a warning when it had one value)."""
    from veil_service.engine.avatarize import constant_columns as aside_columns

    aside = aside_columns.find_set_aside(original)
    warnings = aside.warnings(table_name)
    if identifiers:
        original = original.drop(columns=identifiers)
        avatars = avatars.drop(columns=[c for c in identifiers if c in avatars.columns])
        params = _without(params, set(identifiers))
        if params.get("target") in identifiers:
            params["target"] = None
    if aside.names:
        original = aside_columns.without(original, aside, table_name)
        avatars = avatars.drop(columns=[c for c in aside.names if c in avatars.columns])
        params = _without(params, set(aside.names))
        params["column_weights"] = aside_columns.prune_weights(params.get("column_weights"), aside)
        if params.get("target") in aside.names:
            warnings.append(
                f"table {table_name!r}: target {params['target']!r} has a single value: "
                "there is nothing to infer, so the inference metrics were not computed."
            )
            params["target"] = None
    return MeasuredPair(original, avatars, params, aside.names, list(identifiers), warnings)
