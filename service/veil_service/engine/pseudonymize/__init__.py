"""Pseudonymization: replace direct identifiers with artificial values, consistently.

Pseudonymized columns are set aside before the generator runs (they are identifiers, not data to
avatarize) and re-attached to the generated rows with pseudonyms. Kinds: FAKER (realistic values
from the ``faker`` package), HASH_SHA256 (HMAC keyed with the run's secret), UUID4, CONSTANT,
INTEGER (unique integers, random order), SPECIFIC_ID (a pattern). Consistent strategies map each
distinct original to one pseudonym; the mappings are returned for the server to store with the
run, and a foreign key inherits its parent key's mapping.

Usage::

    result = pseudonymize_table(
        avatars_with_pii, {"ssn": parse_strategy("ssn", {"kind": "UUID4"})},
        secret=run_secret, table_name="patients",
    )
    result.table                   # pseudonyms in place of the identifiers
    result.mappings["ssn"].values  # SENSITIVE: original -> pseudonym, stays on the server
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from veil_service.engine.pseudonymize.mapping import (
    ColumnMapping,
    normalise_key,
    pseudonymize_column,
)
from veil_service.engine_contract.pseudonymization import KINDS, PII_TYPES, Strategy, parse_strategy
from veil_service.errors import InvalidArgumentError

__all__ = [
    "KINDS",
    "PII_TYPES",
    "ColumnMapping",
    "PseudonymizedTable",
    "Strategy",
    "check_strategies",
    "mappings_from_frame",
    "mappings_to_frame",
    "normalise_key",
    "parse_strategies",
    "parse_strategy",
    "pseudonymize_table",
]

#: Shortest secret accepted (bytes): HMAC-SHA256 keys shorter than this are guessable.
MIN_SECRET_BYTES = 16


@dataclass
class PseudonymizedTable:
    """The table with pseudonyms, and the mappings of its consistent columns (SENSITIVE)."""

    table: pd.DataFrame
    mappings: dict[str, ColumnMapping] = field(default_factory=dict)


def parse_strategies(specs: dict[str, dict[str, object]] | None) -> dict[str, Strategy]:
    """Column -> checked strategy, from ``pseudonymized_columns`` field maps."""
    return {column: parse_strategy(column, dict(spec)) for column, spec in (specs or {}).items()}


def check_strategies(
    strategies: dict[str, Strategy], columns: list[str], *, table_name: str
) -> None:
    """Refuse strategies that name columns the table lacks (before any work starts)."""
    for column, strategy in strategies.items():
        if column not in columns:
            raise InvalidArgumentError(
                f"pseudonymized_columns names {column!r}, which table {table_name!r} does not "
                f"have; its columns are {columns[:30]}.",
                field=f"pseudonymized_columns[{column}]",
            )
        for referenced in strategy.referenced_columns():
            if referenced not in columns:
                raise InvalidArgumentError(
                    f"pseudonymized_columns[{column}].pattern copies column {{{{{referenced}}}}}, "
                    f"which table {table_name!r} does not have.",
                    field=f"pseudonymized_columns[{column}].pattern",
                )


def pseudonymize_table(
    table: pd.DataFrame,
    strategies: dict[str, Strategy],
    *,
    secret: bytes,
    table_name: str,
    inherited: dict[str, ColumnMapping] | None = None,
) -> PseudonymizedTable:
    """Replace each listed column (and each foreign key in ``inherited``) with pseudonyms.

    Args:
        table: The output rows, with the original values in the columns to pseudonymize.
        strategies: Column -> strategy for this table's own columns.
        secret: The run's secret (at least 16 bytes).
        table_name: Name of the table (namespaces its mappings).
        inherited: Foreign key column -> its parent key's mapping; the column gets the parent's
            strategy and mapping.

    Raises:
        InvalidArgumentError: a column is missing, or a strategy cannot tell the values apart.
    """
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"the run secret must be at least {MIN_SECRET_BYTES} bytes")
    check_strategies(strategies, list(table.columns), table_name=table_name)
    out = table.copy()
    result = PseudonymizedTable(out)
    for column, mapping in (inherited or {}).items():
        if column not in table.columns:
            continue
        values, extended = pseudonymize_column(
            table[column],
            mapping.strategy,
            secret=secret,
            namespace=mapping.namespace,
            rows=out,
            inherited=mapping,
        )
        out[column] = values
        if extended is not None:
            result.mappings[column] = extended
    # Patterns copying other columns ({{col}}) run last, so they copy pseudonyms, not originals.
    ordered = sorted(strategies.items(), key=lambda item: bool(item[1].referenced_columns()))
    for column, strategy in ordered:
        if column in (inherited or {}):
            continue
        values, own = pseudonymize_column(
            table[column], strategy, secret=secret, namespace=f"{table_name}.{column}", rows=out
        )
        out[column] = values
        if own is not None:
            result.mappings[column] = own
    return result


def mappings_to_frame(mappings: dict[str, ColumnMapping]) -> pd.DataFrame:
    """Mappings as one table (column, namespace, original, pseudonym) for server-side storage."""
    rows = [
        (column, mapping.namespace, original, pseudonym)
        for column, mapping in mappings.items()
        for original, pseudonym in mapping.values.items()
    ]
    return pd.DataFrame(rows, columns=["column", "namespace", "original", "pseudonym"])


def mappings_from_frame(
    frame: pd.DataFrame, strategies: dict[str, Strategy]
) -> dict[str, ColumnMapping]:
    """Inverse of :func:`mappings_to_frame` (``strategies`` keyed by column)."""
    out: dict[str, ColumnMapping] = {}
    for (column, namespace), group in frame.groupby(["column", "namespace"], sort=False):
        mapping = ColumnMapping(str(namespace), strategies[str(column)])
        mapping.values = dict(
            zip(group["original"].astype(str), group["pseudonym"].astype(str), strict=True)
        )
        out[str(column)] = mapping
    return out
