"""Tables' keys and the links between them, as the Runner keeps them (Octopize's ``add_link``).

Edits here change the runner's local configuration only; the Runner then pushes it, and the
server applies avatar_yaml's rules (primary key not a foreign key, link on the parent, parent
field its primary key, no cycle...), naming the tables and fields of any breach. The checks made
here are the ones that need no server: argument types and enum values.
"""

from __future__ import annotations

from typing import Any

from veil_client.config import LinkMethod
from veil_client.errors import InvalidArgument
from veil_client.run_config import (
    ALIGNMENT_METHODS,
    LINK_METHODS,
    PROJECTION_TYPES,
    UNALIGNMENT_STRATEGIES,
    LinkState,
    RunnerConfig,
)

TIME_SERIES_PARAMETERS = {
    "time_series_projection_type": "projection_type",
    "time_series_nf": "nf",
    "time_series_method": "method",
    "time_series_nb_points": "nb_points",
    "time_series_unalignment": "unalignment",
}
"""``set_parameters`` name -> stored name. ``time_series_unalignment`` is Veil's name for
avatar_yaml's ``unalignment`` (Octopize's client sets it only through YAML)."""


def _value(v: Any) -> Any:
    return getattr(v, "value", v)


def _name(field: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidArgument(f"{field} must be a non-empty string; got {value!r}.", field=field)
    return value


def check_keys(
    primary_key: str | None, foreign_keys: list[str] | None, time_series_time: str | None
) -> list[str]:
    """The foreign keys as a list, after checking the key arguments' types."""
    if primary_key is not None:
        _name("primary_key", primary_key)
    if time_series_time is not None:
        _name("time_series_time", time_series_time)
    if foreign_keys is None:
        return []
    if not isinstance(foreign_keys, list | tuple):
        raise InvalidArgument(
            f"foreign_keys must be a list of column names; got {foreign_keys!r}.",
            field="foreign_keys",
        )
    return [_name("foreign_keys", key) for key in foreign_keys]


def check_key_columns(
    table_name: str,
    columns: list[str],
    primary_key: str | None,
    foreign_keys: list[str],
    time_series_time: str | None,
) -> None:
    """Refuse key arguments naming columns the uploaded table lacks, at ``add_table``.

    The run checks them too, but only when it starts: a misspelt ``primary_key`` (or one
    dropped by ``columns_to_drop``) would otherwise pass ``add_table``, ``add_link`` and
    ``set_parameters`` and fail at ``run()``, far from the mistake.

    Raises:
        InvalidArgument: naming the argument, the missing column and the table's columns.
    """
    named = [("primary_key", primary_key), ("time_series_time", time_series_time)]
    named += [("foreign_keys", key) for key in foreign_keys]
    present = set(columns)
    for argument, column in named:
        if column is not None and column not in present:
            shown = ", ".join(repr(c) for c in columns[:20]) + (" ..." if len(columns) > 20 else "")
            raise InvalidArgument(
                f"table {table_name!r} has no column {column!r} ({argument}); its columns: "
                f"{shown}. Name one of them, or keep the column out of columns_to_drop.",
                field=argument,
            )


def new_link(
    config: RunnerConfig,
    parent_table_name: str,
    parent_field: str,
    child_table_name: str,
    child_field: str,
    method: LinkMethod | str,
) -> LinkState:
    """A link to add (not yet added), its method checked.

    Raises:
        InvalidArgument: a name is not a string, the method is not a LinkMethod, or a table
            was not added.
    """
    method = _value(method)
    if method not in LINK_METHODS:
        raise InvalidArgument(
            f"method must be one of {sorted(LINK_METHODS)}; got {method!r}.", field="method"
        )
    for role, name in (
        ("parent_table_name", parent_table_name),
        ("child_table_name", child_table_name),
    ):
        if _name(role, name) not in config.tables:
            raise InvalidArgument(
                f"{role} {name!r} is not an added table; added tables: "
                f"{sorted(config.tables)}. Call add_table({name!r}, ...) first.",
                field=role,
            )
    return LinkState(
        parent_table_name,
        _name("parent_field", parent_field),
        child_table_name,
        _name("child_field", child_field),
        method,
    )


def remove_link(config: RunnerConfig, parent_table_name: str, child_table_name: str) -> LinkState:
    """Remove the first link parent -> child from ``config`` and return it.

    Raises:
        InvalidArgument: no such link.
    """
    for index, link in enumerate(config.links):
        if link.parent_table == parent_table_name and link.child_table == child_table_name:
            return config.links.pop(index)
    raise InvalidArgument(
        f"there is no link from {parent_table_name!r} to {child_table_name!r}; links: "
        f"{[f'{k.parent_table} -> {k.child_table}' for k in config.links]}.",
        field="child_table_name",
    )


def time_series_settings(values: dict[str, Any]) -> dict[str, Any] | None:
    """The stored time-series parameters of ``set_parameters``'s ``time_series_*`` arguments
    (None when none is given).

    Raises:
        InvalidArgument: a wrong type or an unknown enum value, naming the argument.
    """
    stored: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            continue
        value = _value(value)
        allowed = {
            "time_series_projection_type": PROJECTION_TYPES,
            "time_series_method": ALIGNMENT_METHODS,
            "time_series_unalignment": UNALIGNMENT_STRATEGIES,
        }.get(name)
        if allowed is not None and value not in allowed:
            raise InvalidArgument(
                f"{name} must be one of {sorted(allowed)}; got {value!r}.", field=name
            )
        if allowed is None and (isinstance(value, bool) or not isinstance(value, int)):
            raise InvalidArgument(f"{name} must be an integer; got {value!r}.", field=name)
        stored[TIME_SERIES_PARAMETERS[name]] = value
    return stored or None


def time_series_tables(config: RunnerConfig) -> set[str]:
    """Tables linked to their parent by ``time_series`` (they take no ``k``)."""
    return {
        link.child_table for link in config.links if link.method == LinkMethod.TIME_SERIES.value
    }


def parents_first(config: RunnerConfig) -> list[str]:
    """The runner's tables, each after every table it is linked under (then in added order).

    A linked table's advice is searched with its parents' parameters, so they are asked first.
    """
    ordered: list[str] = []
    remaining = list(config.tables)
    while remaining:
        ready = [
            name
            for name in remaining
            if all(
                link.parent_table in ordered or link.parent_table not in remaining
                for link in config.links
                if link.child_table == name
            )
        ] or remaining[:1]  # a cycle (the server refuses it) keeps the added order
        ordered.extend(ready)
        remaining = [name for name in remaining if name not in ready]
    return ordered
