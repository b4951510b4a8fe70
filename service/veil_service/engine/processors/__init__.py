"""Server-side processors: reversible transformations around the generator, in list order.

``processors`` in a table's parameters is a list of plain field maps without a type tag (as
avatar_yaml writes them): ``{target, references[, scaling_unit]}`` is a relative difference,
``{id_variable, target_start_variable, target_end_variable}`` an inter-record range difference.
:func:`parse_processors` turns it into processor objects (refusing unknown shapes, naming the
entry); :class:`ProcessorChain` runs each ``preprocess`` in list order and each ``postprocess`` in
reverse order, each seeing the table as it was before its own ``preprocess``.

Usage::

    chain = ProcessorChain(parse_processors(params["processors"]))
    table = chain.preprocess(original)
    avatars = chain.postprocess(generate(table))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd

from veil_service.engine.processors.inter_record_range import InterRecordRangeDifference
from veil_service.engine.processors.relative_difference import RelativeDifference
from veil_service.errors import InvalidArgumentError

__all__ = [
    "InterRecordRangeDifference",
    "ProcessorChain",
    "RelativeDifference",
    "ServerProcessor",
    "parse_processors",
]

_RELATIVE = {"target", "references", "scaling_unit"}
_INTER_RECORD = {"id_variable", "target_start_variable", "target_end_variable"}


class ServerProcessor(Protocol):
    """A server-side processor."""

    @property
    def columns(self) -> tuple[str, ...]:
        """Columns the processor reads."""

    def preprocess(self, df: pd.DataFrame) -> pd.DataFrame:
        """The table the generator sees."""

    def postprocess(self, source: pd.DataFrame, dest: pd.DataFrame) -> pd.DataFrame:
        """Generated rows back in the shape of ``source``."""


def parse_processors(entries: Sequence[dict[str, Any]] | None) -> list[ServerProcessor]:
    """Processor objects from their field maps, in order.

    Raises:
        InvalidArgumentError: an entry matches no processor, or has a bad field.
    """
    processors: list[ServerProcessor] = []
    for i, entry in enumerate(entries or ()):
        path = f"processors[{i}]"
        if not isinstance(entry, dict):
            raise InvalidArgumentError(
                f"{path} must be a map of fields; got {type(entry).__name__}.", field=path
            )
        keys = {k for k, v in entry.items() if v is not None}
        if keys and keys <= _RELATIVE and {"target", "references"} <= keys:
            references = entry["references"]
            if isinstance(references, str) or not isinstance(references, list | tuple):
                raise InvalidArgumentError(
                    f"{path}.references must be a list of column names; got {references!r}.",
                    field=f"{path}.references",
                )
            processors.append(
                RelativeDifference(
                    target=str(entry["target"]),
                    references=tuple(str(r) for r in references),
                    scaling_unit=entry.get("scaling_unit"),
                )
            )
        elif keys == _INTER_RECORD:
            processors.append(
                InterRecordRangeDifference(
                    id_variable=str(entry["id_variable"]),
                    target_start_variable=str(entry["target_start_variable"]),
                    target_end_variable=str(entry["target_end_variable"]),
                )
            )
        else:
            raise InvalidArgumentError(
                f"{path} with fields {sorted(keys)} is no known processor. Use "
                "RelativeDifferenceParameters(target, references, scaling_unit=None) or "
                "InterRecordRangeDifferenceParameters(id_variable, target_start_variable, "
                "target_end_variable).",
                field=path,
            )
    return processors


@dataclass
class ProcessorChain:
    """Processors applied in list order before the generator and in reverse order after it."""

    processors: list[ServerProcessor]
    _inputs: list[pd.DataFrame] = field(default_factory=list)

    def check(self, df: pd.DataFrame) -> None:
        """Run every preprocess on ``df`` (errors surface before any generation starts)."""
        self.preprocess(df)

    def preprocess(self, df: pd.DataFrame) -> pd.DataFrame:
        """``df`` through every processor's ``preprocess``, in list order."""
        self._inputs = []
        table = df
        for processor in self.processors:
            self._inputs.append(table)
            table = processor.preprocess(table)
        return table

    def postprocess(self, generated: pd.DataFrame) -> pd.DataFrame:
        """Generated rows through every ``postprocess``, in reverse order."""
        if len(self._inputs) != len(self.processors):
            raise RuntimeError("ProcessorChain.postprocess called before preprocess")
        table = generated
        for processor, source in zip(
            reversed(self.processors), reversed(self._inputs), strict=True
        ):
            table = processor.postprocess(source, table)
        return table
