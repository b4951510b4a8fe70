"""Data augmentation of a linked table: extra individuals, each with its own rebuilt series.

Octopize's ``ts.yaml`` augments the individual-level table of a time-series run (``minority``
on ``income``). In a linked run an extra row is an extra *individual*: it needs everything an
individual has in the other tables. Veil grows a table only where that follows from the row
itself:

* the table is a top table (no parent: an extra row needs no parent drawn for it), and
* each of its children is linked by ``time_series``: a series is part of its individual's
  numbers (the FPCA or FLATTEN scores avatarized with the row), so an extra individual's series
  is rebuilt from its own scores exactly as a first avatar's is.

A table with a plain child table would need a child family drawn and assigned for each extra
row (how many children, which ones) with no original family behind it; a table with a parent
would need a parent for each extra row. Both are refused before any job, naming the table.

The extra rows come from :func:`veil_service.engine.augmentation.augment` (fresh avatars of the
class's originals from new random weights, never copies), run on the table as the linked
pipeline avatarizes it (its variables with its series' numbers). The lineage (the original each
row descends from) goes to the metrics jobs, which measure the first avatar of each original
(``standalone``) and the extra exposure of originals with several descendants
(``barycentered``, ``class_balancing_barycenter``), as in a single-table run.

Plain pandas/numpy: no gRPC, protobuf or database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from veil_service.engine.augmentation import AugmentationParameters, AugmentedTable, augment
from veil_service.engine.augmentation.rounds import DEFAULT_K, avatarize_round
from veil_service.engine.avatarize import AvatarizationResult
from veil_service.engine_contract.avatar_features import AUGMENTATION_KEYS
from veil_service.engine_contract.linked_tables import TIME_SERIES, Schema
from veil_service.errors import InvalidArgumentError

STRATEGY_KEY, TARGET_KEY, ANONYMIZE_KEY = AUGMENTATION_KEYS


def augmentation_of(name: str, params: Mapping[str, Any]) -> AugmentationParameters | None:
    """The table's augmentation, or None when it asks none.

    Raises:
        InvalidArgumentError: a bad strategy, naming the table and the parameter.
    """
    strategy = params.get(STRATEGY_KEY)
    if strategy in (None, "", [], {}):
        return None
    try:
        return AugmentationParameters(
            strategy,
            target_column=params.get(TARGET_KEY),
            should_anonymize_original_table=bool(params.get(ANONYMIZE_KEY, True)),
        )
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(
            f"table {name!r}: {exc.message}", field=f"tables[{name}].{exc.field or STRATEGY_KEY}"
        ) from None


def refusal(schema: Schema, name: str) -> str | None:
    """Why table ``name`` cannot be augmented in this linked run (None: it can)."""
    if schema.parents(name):
        parents = sorted({link.parent_table for link in schema.parents(name)})
        return (
            f"table {name!r} has parent table(s) {parents}: each extra row would need a parent "
            "drawn for it. Augmentation applies to a top table whose children are all time "
            "series; augment the top table instead."
        )
    plain = sorted(link.child_table for link in schema.children(name) if link.method != TIME_SERIES)
    if plain:
        return (
            f"table {name!r} has child table(s) {plain} linked by assignment: each extra row "
            "would need a family of children drawn for it, with no original family behind it. "
            "Augmentation applies to a top table whose children are all time series (an extra "
            "individual's series is rebuilt from its own numbers)."
        )
    return None


def augment_linked_table(
    work: pd.DataFrame,
    augmentation: AugmentationParameters,
    *,
    table_name: str,
    column_weights: Mapping[str, float],
    categorical_columns: list[str],
    avatar_parameters: Mapping[str, Any],
    seed: int,
    progress: Callable[[float, str], None],
) -> tuple[AvatarizationResult, AugmentedTable]:
    """Avatarize ``work`` (the table as the linked pipeline sees it) and grow it.

    Args:
        work: The table's variables with its series' numbers.
        augmentation: The strategy.
        table_name: For error messages.
        column_weights: The pipeline's weights (series blocks, the user's).
        categorical_columns: Categorical columns of ``work``.
        avatar_parameters: The avatar method's other parameters (``k``, ``ncp``...).
        seed: Seed of every draw.
        progress: Called with (fraction, phase) of the first avatarization.

    Returns:
        The first avatarization (projections and warnings for the report) and the grown table
        (row ``i < len(work)`` the avatar of original ``i``, then the extra rows).

    Raises:
        InvalidArgumentError: the target column is not a column of the table, or a class is too
            small to grow, naming the table.
    """
    target = augmentation.target_column
    categorical = list(categorical_columns)
    if target is not None and target in work.columns and target not in categorical:
        # The class column must stay a class: its avatars are never an average of two classes.
        categorical.append(target)
    first: list[AvatarizationResult] = []

    def avatars_of(frame: pd.DataFrame, round_seed: int) -> pd.DataFrame:
        result = avatarize_round(
            frame,
            round_seed,
            avatar_parameters,
            categorical,
            column_weights,
            progress=progress if not first else None,
        )
        if not first:
            first.append(result)
        return result.unshuffled

    try:
        grown = augment(
            work,
            augmentation,
            avatars_of,
            k=int(avatar_parameters.get("k", DEFAULT_K)),
            seed=seed,
        )
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(
            f"table {table_name!r}: {exc.message}",
            field=f"tables[{table_name}].{exc.field or STRATEGY_KEY}",
        ) from None
    return first[0], grown
