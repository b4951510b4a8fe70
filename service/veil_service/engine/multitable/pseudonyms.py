"""Pseudonymization of a multi-table run's avatars (the output of ``engine.multitable``).

The pipeline already replaces every key with a new one (numbered by position, foreign keys
following their assigned parent), so a key strategy maps those new keys to pseudonyms, never the
originals; each foreign key inherits its parent key's mapping, so the links survive. Other
pseudonymized columns are set aside before avatarization (identifiers are not data) and put back
on the avatar of the row they came from, as in a single-table run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from veil_service.engine.pseudonymize import ColumnMapping, Strategy, pseudonymize_table
from veil_service.engine_contract.linked_tables import Schema
from veil_service.errors import InvalidArgumentError

if TYPE_CHECKING:
    from veil_service.engine.multitable.pipeline import TableResult


def key_columns(schema: Schema, name: str) -> set[str]:
    """The primary and foreign keys of a table (they stay in the data the pipeline links)."""
    keys = schema.table(name)
    return {column for column in (keys.primary_key, *keys.foreign_keys) if column}


def set_aside(
    schema: Schema, name: str, frame: pd.DataFrame, strategies: Mapping[str, Strategy]
) -> pd.DataFrame:
    """The table without its pseudonymized non-key columns (they are not avatarized)."""
    drop = [c for c in strategies if c not in key_columns(schema, name) and c in frame.columns]
    return frame.drop(columns=drop)


def pseudonymize_linked(
    schema: Schema,
    originals: Mapping[str, pd.DataFrame],
    tables: Mapping[str, TableResult],
    strategies: Mapping[str, Mapping[str, Strategy]],
    *,
    secret: bytes,
) -> tuple[dict[str, TableResult], dict[str, dict[str, ColumnMapping]]]:
    """Every table's avatars with pseudonyms, and the mappings per table (SENSITIVE).

    Args:
        schema: Tables, keys and links.
        originals: The original tables, every column (row ``i`` is the source of avatar ``i``).
        tables: The pipeline's avatars (keys already new).
        strategies: Table -> column -> strategy.
        secret: The run's secret.

    Raises:
        InvalidArgumentError: a time-series table pseudonymizes a column that is not a key (its
            readings are not one per original row).
    """
    key_mappings: dict[tuple[str, str], ColumnMapping] = {}
    out: dict[str, TableResult] = {}
    mappings: dict[str, dict[str, ColumnMapping]] = {}
    for name in schema.order():
        result = tables[name]
        own = dict(strategies.get(name) or {})
        inherited = {
            link.child_field: key_mappings[(link.parent_table, link.parent_field)]
            for link in schema.parents(name)
            if (link.parent_table, link.parent_field) in key_mappings
        }
        for column in inherited:
            own.pop(column, None)  # a foreign key follows its parent key, whatever it asks
        if not own and not inherited:
            out[name] = result
            continue
        original = originals[name]
        keys = key_columns(schema, name)
        unshuffled = result.unshuffled.copy()
        set_aside_columns = [c for c in own if c not in keys]
        if set_aside_columns and result.sources is None and len(original) != len(unshuffled):
            raise InvalidArgumentError(
                f"table {name!r}: only its keys can be pseudonymized in a time-series table "
                f"(its readings are not one per original row); got {set_aside_columns}.",
                field=f"tables[{name}].pseudonymized_columns",
            )
        # An augmented table's extra rows carry the identifiers of the original they descend
        # from (pseudonymized below, as a single-table augmented release does).
        sources = result.sources if result.sources is not None else np.arange(len(original))
        for column in set_aside_columns:
            unshuffled[column] = original[column].to_numpy()[sources]
        pseudonymized = pseudonymize_table(
            unshuffled, own, secret=secret, table_name=name, inherited=inherited
        )
        primary_key = schema.table(name).primary_key
        if primary_key and primary_key in pseudonymized.mappings:
            key_mappings[(name, primary_key)] = pseudonymized.mappings[primary_key]
        table = pseudonymized.table[[c for c in original.columns if c in pseudonymized.table]]
        order = result.order if result.order is not None else range(len(table))
        out[name] = dataclasses.replace(
            result, unshuffled=table, avatars=table.iloc[list(order)].reset_index(drop=True)
        )
        mappings[name] = pseudonymized.mappings
    return out, mappings
