"""A linked run's metrics parameters, checked per table with the table named in every message.

The single-table checks (:func:`veil_service.engine.metrics.parameters.parse_parameters`) name
the parameter and the column, not the table: on a linked run, where every table has its own
``known_variables`` and ``target``, "target 'patient_id' is not a column of the table" left the
user to guess which table, and came from the privacy metrics job after the avatarization had
run. :func:`check_metric_parameters` runs in the run's pre-check (the engine's ``check_tables``
task, before any job is queued) on the tables' column names alone; :func:`naming_table` puts the
table's name in front of any parameter error the metrics jobs still raise.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from veil_service.engine.metrics.parameters import parse_parameters
from veil_service.engine_contract.linked_tables import Schema
from veil_service.errors import InvalidArgumentError


@contextlib.contextmanager
def naming_table(name: str) -> Iterator[None]:
    """Re-raise an :class:`InvalidArgumentError` raised inside with ``table 'name':`` in front.

    Raises:
        InvalidArgumentError: the same message and reason, naming the table, its field under
            ``tables[name]``.
    """
    try:
        yield
    except InvalidArgumentError as exc:
        if exc.message.startswith(f"table {name!r}"):
            raise
        field = f"tables[{name}].{exc.field}" if exc.field else f"tables[{name}]"
        raise InvalidArgumentError(
            f"table {name!r}: {exc.message}", reason=exc.reason, field=field
        ) from None


def check_metric_parameters(
    schema: Schema,
    columns: Mapping[str, Sequence[str]],
    parameters: Mapping[str, Mapping[str, Any]],
) -> None:
    """Check each table's privacy or signal metrics parameters against its variables.

    A table's variables are its columns but its keys and time column (what the linked metrics
    measure): a ``target`` or a ``known_variables`` entry naming a key, or a column of another
    table, is refused. Whether ``categorical_hidden_rate_variables`` are categorical needs the
    data; the metrics job checks that. A time-series table's metrics take only ``ncp`` and
    ``seed``, so its other parameters are not checked.

    Args:
        schema: Tables and links.
        columns: Every column of each table, by name.
        parameters: One section's parameters (``privacy_metrics`` or ``signal_metrics``) per
            table.

    Raises:
        InvalidArgumentError: a parameter naming no variable of its table, or out of range;
            the message names the table.
    """
    for name in schema.order():
        if schema.is_time_series(name) or name not in columns:
            continue
        table = schema.table(name)
        keys = set(table.key_columns) | {table.time_series_time}
        variables = [c for c in columns[name] if c not in keys]
        with naming_table(name):
            parse_parameters(
                {**(parameters.get(name) or {}), "table_name": name}, variables, variables
            )
