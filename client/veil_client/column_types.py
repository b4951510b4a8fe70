"""Column types as the Runner declares them: given by the user, checked before any upload.

A table's columns travel with a declared type (``int``, ``float``, ``bool``, ``category``,
``datetime``, ``datetime_tz``) that decides how the engine treats them: continuous, categorical,
or seconds since the epoch. The checks here run before anything is uploaded, so a typo in
``types={...}`` costs no upload and leaves the runner as it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from veil_client.config import ColumnType
from veil_client.errors import InvalidArgument

ALLOWED = tuple(t.value for t in ColumnType)
"""Every declared type the server knows, in the order error messages list them."""


def declared_types(types: Mapping[str, Any] | None) -> dict[str, str]:
    """The user's ``types={...}`` as column name -> type value, checked.

    Raises:
        InvalidArgument: ``types`` is not a dict, a key is not a column name, or a value is
            not one of the column types (the message names the column, the value and the
            allowed types).
    """
    if types is None:
        return {}
    if not isinstance(types, Mapping):
        raise InvalidArgument(
            f"types must be a dict of column name -> column type; got {types!r}.", field="types"
        )
    out: dict[str, str] = {}
    for column, kind in types.items():
        if not isinstance(column, str) or not column:
            raise InvalidArgument(
                f"types must be keyed by column names; got the key {column!r}.", field="types"
            )
        value = getattr(kind, "value", kind)
        if value not in ALLOWED:
            raise InvalidArgument(
                f"types[{column!r}] is {kind!r}, which is not a column type; use one of "
                f"{', '.join(ALLOWED)} (or veil_client.config.ColumnType).",
                field=f"types[{column}]",
            )
        out[column] = str(value)
    return out


def column_names(field: str, value: Any) -> list[str]:
    """A list of column names argument (``columns_to_drop``...), checked.

    Raises:
        InvalidArgument: not a list of non-empty strings (a bare string would be read as
            one column name per character).
    """
    if value is None:
        return []
    if not isinstance(value, list | tuple) or not all(
        isinstance(name, str) and name for name in value
    ):
        raise InvalidArgument(
            f"{field} must be a list of column names; got {value!r}.", field=field
        )
    return list(value)


def check_named_columns(named: Iterable[str], columns: Iterable[str]) -> None:
    """Refuse declared types for columns the uploaded table does not have (or drops): the job
    would fail on them long after the upload.

    Raises:
        InvalidArgument: naming the missing columns and the table's columns.
    """
    present = list(columns)
    missing = sorted(set(named) - set(present))
    if missing:
        raise InvalidArgument(
            f"types names columns the table does not have (or drops): {missing}; its columns: "
            f"{present[:20]}.",
            field="types",
        )
