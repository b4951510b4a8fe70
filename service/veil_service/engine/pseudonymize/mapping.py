"""Pseudonymize one column: consistent mappings, inherited mappings, per-row values.

A consistent strategy maps each distinct original value to one pseudonym; the mapping is returned
so the server can store it with the run (it never reaches the engine cache) and hand it to the
tables whose foreign keys point at this column, which then inherit it. Missing values stay
missing.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from veil_service.engine.pseudonymize.generators import fresh_values, keyed_hash
from veil_service.engine_contract.pseudonymization import Strategy, tokens

#: Kinds whose pseudonyms must tell distinct originals apart.
_UNIQUE_KINDS = ("UUID4", "INTEGER", "SPECIFIC_ID")


@dataclass
class ColumnMapping:
    """A consistent column's mapping: original value (normalised text) -> pseudonym.

    Attributes:
        namespace: ``table.column`` of the column that owns the mapping (a foreign key reuses its
            parent key's mapping and namespace).
        strategy: The strategy that made it.
        values: Original value -> pseudonym.
    """

    namespace: str
    strategy: Strategy
    values: dict[str, str] = field(default_factory=dict)


def normalise_key(value: Any) -> str:
    """The text a value is mapped by: ``1``, ``1.0`` and ``"1"`` are the same key."""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if (
        isinstance(value, float | np.floating)
        and math.isfinite(value)
        and float(value).is_integer()
    ):
        return str(int(value))
    if isinstance(value, np.integer):
        return str(int(value))
    return str(value)


def column_rng(secret: bytes, namespace: str) -> np.random.Generator:
    """The random stream of one column, derived from the run's secret and the column's name."""
    digest = hmac.new(secret, b"rng\x00" + namespace.encode(), hashlib.sha256).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "big"))


def pseudonymize_column(
    series: pd.Series,
    strategy: Strategy,
    *,
    secret: bytes,
    namespace: str,
    rows: pd.DataFrame,
    inherited: ColumnMapping | None = None,
) -> tuple[pd.Series, ColumnMapping | None]:
    """Pseudonyms for one column.

    Args:
        series: The original values, one per output row.
        strategy: The column's strategy (a foreign key gets its parent key's).
        secret: The run's secret (keys HASH_SHA256 and seeds every draw).
        namespace: ``table.column``; a foreign key passes its parent key's.
        rows: The output rows (for ``{{col}}`` placeholders of SPECIFIC_ID patterns).
        inherited: The parent key's mapping, for a foreign key; extended with values the parent
            did not have.

    Returns:
        The pseudonyms (missing where the original was missing), and the mapping when the
        strategy is consistent.
    """
    missing = series.isna().to_numpy()
    keys = [normalise_key(v) for v in series.to_numpy()]
    rng = column_rng(secret, namespace)
    if strategy.kind == "CONSTANT":
        return _finish(
            pd.Series([strategy.value] * len(series), index=series.index, dtype=object),
            missing,
            strategy,
            rows,
        ), None
    if strategy.kind == "HASH_SHA256":
        mapping = inherited or ColumnMapping(namespace, strategy)
        for key in sorted({k for k, m in zip(keys, missing, strict=True) if not m}):
            mapping.values.setdefault(key, keyed_hash(secret, mapping.namespace, key))
        values = [mapping.values.get(k, "") for k in keys]
        return _finish(
            pd.Series(values, index=series.index, dtype=object), missing, strategy, rows
        ), mapping
    column = namespace.rsplit(".", 1)[-1]
    unique = strategy.kind in _UNIQUE_KINDS or (
        strategy.kind == "FAKER" and strategy.high_variability
    )
    if not strategy.is_consistent:
        count = int((~missing).sum())
        if strategy.kind == "INTEGER":
            fresh = [str(v) for v in rng.permutation(count) + 1]
        else:
            fresh = fresh_values(strategy, count, rng, taken=set(), unique=unique, column=column)
        per_row = np.empty(len(series), dtype=object)
        per_row[~missing] = fresh
        return _finish(
            pd.Series(per_row, index=series.index, dtype=object), missing, strategy, rows
        ), None
    mapping = inherited or ColumnMapping(namespace, strategy)
    new_keys = sorted(
        {k for k, m in zip(keys, missing, strict=True) if not m} - set(mapping.values)
    )
    if strategy.kind == "INTEGER":
        start = 1 + max((int(v) for v in mapping.values.values()), default=0)
        fresh = [str(v) for v in rng.permutation(len(new_keys)) + start]
    else:
        fresh = fresh_values(
            strategy,
            len(new_keys),
            rng,
            taken=set(mapping.values.values()) if unique else set(),
            unique=unique,
            column=column,
        )
    mapping.values.update(zip(new_keys, fresh, strict=True))
    mapped = [mapping.values.get(k) for k in keys]
    return _finish(
        pd.Series(mapped, index=series.index, dtype=object), missing, strategy, rows
    ), mapping


def _finish(
    values: pd.Series, missing: npt.NDArray[np.bool_], strategy: Strategy, rows: pd.DataFrame
) -> pd.Series:
    if strategy.kind == "SPECIFIC_ID" and any(
        k == "column" for k, _ in tokens(strategy.pattern or "")
    ):
        filled = []
        for i, value in enumerate(values.to_numpy()):
            text = str(value)
            for kind, name in tokens(strategy.pattern or ""):
                if kind == "column":
                    text = text.replace(
                        "\x00{" + name + "}\x00", normalise_key(rows[name].iloc[i]), 1
                    )
            filled.append(text)
        values = pd.Series(filled, index=values.index, dtype=object)
    values = values.mask(pd.Series(missing, index=values.index))
    if strategy.kind == "INTEGER":
        return pd.to_numeric(values).astype("Int64" if missing.any() else "int64")
    return values.astype(object)
