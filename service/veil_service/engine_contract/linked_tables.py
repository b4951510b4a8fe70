"""The shape of a multi-table run: tables with their keys, and the links between them.

Plain Python, no pandas, in the contract package: the runs domain checks a configuration with it
(no data yet) and the engine checks the run it is given (``engine.multitable``).
They are avatar_yaml's (reference/avatar_client.md sections 3.2 and 7; avatar_method.md 1.12):

* a primary key is neither a foreign key nor the time column; the time column is no foreign key;
* a link lives on the parent, its parent field is the parent's primary key, its child field one of
  the child's foreign keys, and both tables exist;
* links draw no cycle, and each foreign key is linked once;
* tables without parents ("top" tables) are individual-level (one row per physical person);
* a time-series link (``time_series``) goes to a child that names its time column, and a child
  with a time column is linked by ``time_series`` to exactly one parent.

Every breach is an :class:`InvalidArgumentError` naming the tables and fields and the fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from veil_service.errors import InvalidArgumentError

LINEAR_SUM_ASSIGNMENT = "linear_sum_assignment"
MINIMUM_DISTANCE_ASSIGNMENT = "minimum_distance_assignment"
SENSITIVE_ORIGINAL_ORDER_ASSIGNMENT = "sensitive_original_order_assignment"
TIME_SERIES = "time_series"
LINK_METHODS = (
    LINEAR_SUM_ASSIGNMENT,
    MINIMUM_DISTANCE_ASSIGNMENT,
    SENSITIVE_ORIGINAL_ORDER_ASSIGNMENT,
    TIME_SERIES,
)
"""Octopize's ``LinkMethod`` values; the first is the default."""


@dataclass(frozen=True)
class TableKeys:
    """The key columns of a table.

    Attributes:
        name: Table name.
        primary_key: Column whose values identify a row (unique, never missing); None if absent.
        foreign_keys: Columns holding a parent's primary key (one per parent).
        time_series_time: Time column of a time-series table.
        individual_level: Each row is a distinct physical person. None: inferred (true for a
            table without parents, false for a child).
    """

    name: str
    primary_key: str | None = None
    foreign_keys: tuple[str, ...] = ()
    time_series_time: str | None = None
    individual_level: bool | None = None

    @property
    def key_columns(self) -> list[str]:
        """Primary and foreign keys: identifiers that are never avatarized as data."""
        keys = [self.primary_key] if self.primary_key else []
        return keys + [fk for fk in self.foreign_keys if fk not in keys]


@dataclass(frozen=True)
class Link:
    """A parent-to-child link: each child row belongs to one parent row.

    Attributes:
        parent_table: The parent table (e.g. ``patient``).
        parent_field: The parent's primary key (``p_id``).
        child_table: The child table (``visit``).
        child_field: The child's foreign key holding the parent's key (``patient_id``).
        method: How avatar children are assigned to avatar parents (:data:`LINK_METHODS`).
    """

    parent_table: str
    parent_field: str
    child_table: str
    child_field: str
    method: str = LINEAR_SUM_ASSIGNMENT

    def label(self) -> str:
        """``patient.p_id -> visit.patient_id``, for messages."""
        return f"{self.parent_table}.{self.parent_field} -> {self.child_table}.{self.child_field}"


@dataclass(frozen=True)
class Schema:
    """Tables and links of a run (see the module docstring for the rules)."""

    tables: tuple[TableKeys, ...]
    links: tuple[Link, ...] = field(default_factory=tuple)

    def table(self, name: str) -> TableKeys:
        """The keys of table ``name``.

        Raises:
            InvalidArgumentError: no such table.
        """
        for table in self.tables:
            if table.name == name:
                return table
        raise InvalidArgumentError(
            f"no table {name!r}; tables: {[t.name for t in self.tables]}.", field="table_name"
        )

    def parents(self, name: str) -> list[Link]:
        """Links to the parents of table ``name``, in declaration order."""
        return [link for link in self.links if link.child_table == name]

    def children(self, name: str) -> list[Link]:
        """Links to the children of table ``name``, in declaration order."""
        return [link for link in self.links if link.parent_table == name]

    def summary_prefix(self, link: Link) -> str:
        """Prefix of the columns summarising ``link``'s child in its parent (``visit.``).

        A parent linked twice to one child (a flight's origin and destination airports) gets
        the foreign key in the prefix (``flight.origin.``).
        """
        twins = [
            other
            for other in self.children(link.parent_table)
            if other.child_table == link.child_table
        ]
        if len(twins) > 1:
            return f"{link.child_table}.{link.child_field}."
        return f"{link.child_table}."

    def broadcast_prefix(self, link: Link) -> str:
        """Prefix of the parent's columns broadcast to ``link``'s child (``patient.``)."""
        twins = [
            other
            for other in self.parents(link.child_table)
            if other.parent_table == link.parent_table
        ]
        if len(twins) > 1:
            return f"{link.parent_table}.{link.child_field}."
        return f"{link.parent_table}."

    def is_individual_level(self, name: str) -> bool:
        """Whether rows of ``name`` are individuals (declared, else: it has no parent)."""
        declared = self.table(name).individual_level
        return declared if declared is not None else not self.parents(name)

    def is_time_series(self, name: str) -> bool:
        """Whether ``name`` is a time-series table (linked to its parent by ``time_series``)."""
        return any(link.method == TIME_SERIES for link in self.parents(name))

    def order(self) -> list[str]:
        """Table names, every parent before its children (declaration order otherwise).

        Raises:
            InvalidArgumentError: the links draw a cycle.
        """
        names = [t.name for t in self.tables]
        placed: list[str] = []
        remaining = list(names)
        while remaining:
            ready = [n for n in remaining if all(p.parent_table in placed for p in self.parents(n))]
            if not ready:
                cycle = " -> ".join(_cycle(self, remaining))
                raise InvalidArgumentError(
                    f"the links draw a cycle ({cycle}); a table cannot be its own ancestor: "
                    "delete_link(...) one of them.",
                    field="links",
                )
            placed += ready
            remaining = [n for n in remaining if n not in ready]
        return placed

    def check(self, *, require_links: bool = True) -> None:
        """Apply every rule of the module docstring.

        Args:
            require_links: Also require that every foreign key is linked and that tables
                without parents are individual-level (true when a job is about to run; false
                while the user is still adding tables and links, as Tutorial 3 declares
                ``visit`` with ``individual_level=False`` before linking it).

        Raises:
            InvalidArgumentError: the first breach found, naming tables, fields and the fix.
        """
        names = [t.name for t in self.tables]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise InvalidArgumentError(f"tables {duplicates} are declared twice.", field="tables")
        for table in self.tables:
            check_table_keys(table)
        seen_fields: set[tuple[str, str]] = set()
        for link in self.links:
            self._check_link(link)
            key = (link.child_table, link.child_field)
            if key in seen_fields:
                raise InvalidArgumentError(
                    f"foreign key {link.child_table}.{link.child_field} is linked twice; one "
                    "foreign key points to one parent: delete_link(...) the extra link.",
                    field="links",
                )
            seen_fields.add(key)
        self.order()
        for table in self.tables:
            self._check_roles(table, require_links)

    def _check_link(self, link: Link) -> None:
        label = link.label()
        if link.method not in LINK_METHODS:
            raise InvalidArgumentError(
                f"link {label}: unknown method {link.method!r}; use one of {list(LINK_METHODS)}.",
                field="links.method",
            )
        known = {t.name for t in self.tables}
        for role, name in (("parent", link.parent_table), ("child", link.child_table)):
            if name not in known:
                raise InvalidArgumentError(
                    f"link {label}: {role} table {name!r} does not exist; tables: "
                    f"{sorted(known)}. add_table({name!r}, ...) first.",
                    field=f"links.{role}_table",
                )
        if link.parent_table == link.child_table:
            raise InvalidArgumentError(
                f"link {label}: a table cannot be its own parent.", field="links.child_table"
            )
        parent = self.table(link.parent_table)
        child = self.table(link.child_table)
        if parent.primary_key is None:
            raise InvalidArgumentError(
                f"link {label}: parent table {parent.name!r} has no primary key; "
                f"add_table({parent.name!r}, ..., primary_key={link.parent_field!r}).",
                field="links.parent_field",
            )
        if link.parent_field != parent.primary_key:
            raise InvalidArgumentError(
                f"link {label}: the parent field must be the primary key {parent.primary_key!r} "
                f"of table {parent.name!r}, not {link.parent_field!r}.",
                field="links.parent_field",
            )
        if link.child_field not in child.foreign_keys:
            raise InvalidArgumentError(
                f"link {label}: {link.child_field!r} is not a foreign key of {child.name!r} "
                f"(foreign keys: {list(child.foreign_keys)}); declare it with "
                f"add_table({child.name!r}, ..., foreign_keys=[{link.child_field!r}]).",
                field="links.child_field",
            )
        if link.method == TIME_SERIES and child.time_series_time is None:
            raise InvalidArgumentError(
                f"link {label}: a time_series link needs the child's time column; "
                f"add_table({child.name!r}, ..., time_series_time=...).",
                field="links.method",
            )

    def _check_roles(self, table: TableKeys, require_links: bool) -> None:
        parents = self.parents(table.name)
        if require_links and not parents and table.individual_level is False:
            raise InvalidArgumentError(
                f"table {table.name!r} has no parent, so it must be individual-level (one row per "
                "person): set individual_level=True or link it to its parent table.",
                field=f"tables[{table.name}].individual_level",
            )
        series_links = [p for p in parents if p.method == TIME_SERIES]
        if table.time_series_time is not None and parents and len(series_links) != len(parents):
            raise InvalidArgumentError(
                f"table {table.name!r} has a time column {table.time_series_time!r}, so its link "
                "to its parent must use method=LinkMethod.TIME_SERIES.",
                field="links.method",
            )
        if len(series_links) > 1:
            raise InvalidArgumentError(
                f"time-series table {table.name!r} is linked to {len(series_links)} parents; a "
                "series belongs to one individual: keep one time_series link.",
                field="links",
            )
        if series_links and self.children(table.name):
            raise InvalidArgumentError(
                f"time-series table {table.name!r} cannot be a parent; link its children to the "
                f"individual-level table {series_links[0].parent_table!r} instead.",
                field="links",
            )
        if require_links:
            linked = {p.child_field for p in parents}
            unlinked = [fk for fk in table.foreign_keys if fk not in linked]
            if unlinked:
                raise InvalidArgumentError(
                    f"foreign key(s) {unlinked} of table {table.name!r} have no link; add_link("
                    f"parent_table_name=..., parent_field=..., child_table_name={table.name!r}, "
                    f"child_field={unlinked[0]!r}) or remove them from foreign_keys.",
                    field=f"tables[{table.name}].foreign_keys",
                )


def check_table_keys(table: TableKeys) -> None:
    """avatar_yaml's checks of one table's keys (``add_table`` runs them).

    Raises:
        InvalidArgumentError: PK among the FKs, PK used as time column, time column among FKs,
            a foreign key listed twice.
    """
    base = f"tables[{table.name}]"
    if table.primary_key is not None and table.primary_key in table.foreign_keys:
        raise InvalidArgumentError(
            f"table {table.name!r}: primary key {table.primary_key!r} is also listed as a foreign "
            "key; a column is one or the other.",
            field=f"{base}.foreign_keys",
        )
    if table.time_series_time is not None:
        if table.time_series_time == table.primary_key:
            raise InvalidArgumentError(
                f"table {table.name!r}: time column {table.time_series_time!r} cannot be the "
                "primary key.",
                field=f"{base}.time_series_time",
            )
        if table.time_series_time in table.foreign_keys:
            raise InvalidArgumentError(
                f"table {table.name!r}: time column {table.time_series_time!r} cannot be a "
                "foreign key.",
                field=f"{base}.time_series_time",
            )
    repeated = sorted({fk for fk in table.foreign_keys if table.foreign_keys.count(fk) > 1})
    if repeated:
        raise InvalidArgumentError(
            f"table {table.name!r}: foreign key(s) {repeated} listed twice.",
            field=f"{base}.foreign_keys",
        )


def _cycle(schema: Schema, candidates: Iterable[str]) -> list[str]:
    """One cycle among ``candidates`` (tables that could not be ordered), for the message."""
    remaining = set(candidates)
    start = sorted(remaining)[0]
    path = [start]
    current = start
    while True:
        parent = next(
            p.parent_table for p in schema.parents(current) if p.parent_table in remaining
        )
        if parent in path:
            return [*path[path.index(parent) :], parent][::-1]
        path.append(parent)
        current = parent


def descendants(schema: Schema, name: str) -> Sequence[str]:
    """Tables below ``name`` (children, grandchildren...), nearest first."""
    found: list[str] = []
    frontier = [link.child_table for link in schema.children(name)]
    while frontier:
        table = frontier.pop(0)
        if table not in found:
            found.append(table)
            frontier += [link.child_table for link in schema.children(table)]
    return found


def schema_to_dict(schema: Schema) -> dict[str, Any]:
    """The schema as JSON-able data (the engine tasks' ``schema`` parameter)."""
    return {
        "tables": [
            {
                "name": t.name,
                "primary_key": t.primary_key,
                "foreign_keys": list(t.foreign_keys),
                "time_series_time": t.time_series_time,
                "individual_level": t.individual_level,
            }
            for t in schema.tables
        ],
        "links": [
            {
                "parent_table": link.parent_table,
                "parent_field": link.parent_field,
                "child_table": link.child_table,
                "child_field": link.child_field,
                "method": link.method,
            }
            for link in schema.links
        ],
    }


def schema_from_dict(data: Mapping[str, Any]) -> Schema:
    """Inverse of :func:`schema_to_dict`.

    Raises:
        InvalidArgumentError: the data is not a schema's.
    """
    try:
        return Schema(
            tables=tuple(
                TableKeys(
                    str(t["name"]),
                    primary_key=t.get("primary_key"),
                    foreign_keys=tuple(t.get("foreign_keys") or ()),
                    time_series_time=t.get("time_series_time"),
                    individual_level=t.get("individual_level"),
                )
                for t in data["tables"]
            ),
            links=tuple(Link(**link) for link in data.get("links") or ()),
        )
    except (KeyError, TypeError) as exc:
        raise InvalidArgumentError(f"malformed schema: {exc}.", field="schema") from None


def table_ref(name: str, table: str) -> str:
    """A linked task's input or result for one table: ``original@patient``,
    ``figures:raw_series:0@sensor1`` (table names cannot hold ``@``)."""
    return f"{name}@{table}"


def split_table_ref(ref: str) -> tuple[str, str | None]:
    """Inverse of :func:`table_ref`: ``(name, table)``, table None for a run-level name."""
    name, at, table = ref.partition("@")
    return name, (table if at else None)
