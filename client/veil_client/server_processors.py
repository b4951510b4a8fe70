"""Server-side processors' parameters, with avatar_yaml's names.

Passed as ``runner.set_parameters(table, k=5, processors=[RelativeDifferenceParameters(
target="penalty_goals", references=["penalty_attempts"])])``: the engine applies each one's
preprocessing in list order before generating, and its postprocessing in reverse order after,
so that the relation holds in the avatars (``penalty_goals <= penalty_attempts``, each record's
end after its start). avatar_yaml writes them as plain field maps, without a type tag.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class AvatarizationProcessorParameters:
    """Base of the server-side processors' parameters."""

    def to_dict(self) -> dict[str, Any]:
        """The avatar_yaml field map (None fields left out)."""
        return {
            name: list(value) if isinstance(value, tuple) else value
            for name, value in vars(self).items()
            if value is not None
        }


@dataclass(frozen=True)
class RelativeDifferenceParameters(AvatarizationProcessorParameters):
    """Keep ``target`` on the same side of ``sum(references)`` as in the original.

    Attributes:
        target: Column generated as a difference to the references.
        references: Columns whose sum the target is compared to.
        scaling_unit: Divide the difference by this (> 0), e.g. 1000 for metres to kilometres.
    """

    target: str
    references: list[str] = field(default_factory=list)
    scaling_unit: float | None = None


@dataclass(frozen=True)
class InterRecordRangeDifferenceParameters(AvatarizationProcessorParameters):
    """Keep each record's end after its start, and an individual's records in order.

    Attributes:
        id_variable: Column identifying whose records are chained.
        target_start_variable: Start column (numbers or datetimes).
        target_end_variable: End column.
    """

    id_variable: str
    target_start_variable: str
    target_end_variable: str


def from_dict(fields: dict[str, Any]) -> AvatarizationProcessorParameters:
    """The parameters object of an avatar_yaml field map (no type tag: told by its fields)."""
    if "target" in fields:
        return RelativeDifferenceParameters(
            fields["target"], list(fields.get("references") or []), fields.get("scaling_unit")
        )
    return InterRecordRangeDifferenceParameters(
        fields["id_variable"], fields["target_start_variable"], fields["target_end_variable"]
    )
