"""Data augmentation parameters (Octopize's ``data_augmentation_*``), validated once."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

import pandas as pd

from veil_service.errors import InvalidArgumentError

CLASS_STRATEGIES: Final = ("minority", "not_majority")
#: Largest multiplier accepted (a 50x table is already mostly avatars of avatars).
MAX_MULTIPLIER: Final = 50.0


@dataclass(frozen=True)
class AugmentationParameters:
    """How many rows to add, and to which classes.

    Attributes:
        strategy: A multiplier > 1 (3 gives three times the rows, class shares kept),
            ``minority`` (the rarest class of ``target_column`` raised to the majority's count),
            ``not_majority`` (every class raised to the majority's count), or a map
            modality -> share of the output (shares sum to 1; rows are only added).
        target_column: The class column; required by the class strategies and the map.
        should_anonymize_original_table: True (default): the output holds the avatars and the
            extra rows. False (SENSITIVE): it holds the ORIGINAL rows and the extra rows.
    """

    strategy: float | str | dict[str, float]
    target_column: str | None = None
    should_anonymize_original_table: bool = True

    def __post_init__(self) -> None:
        strategy = self.strategy
        field = "data_augmentation_strategy"
        if isinstance(strategy, bool):
            raise InvalidArgumentError(
                f"{field} must be a number > 1, 'minority', 'not_majority' or a map of "
                f"modality to share; got {strategy!r}.",
                field=field,
            )
        if isinstance(strategy, int | float):
            if not math.isfinite(strategy) or not 1 < strategy <= MAX_MULTIPLIER:
                raise InvalidArgumentError(
                    f"{field} as a multiplier must be a number in (1, {MAX_MULTIPLIER:g}] (3 "
                    f"gives three times the rows); got {strategy!r}.",
                    field=field,
                )
        elif isinstance(strategy, str):
            if strategy not in CLASS_STRATEGIES:
                raise InvalidArgumentError(
                    f"{field} must be a number > 1, one of {list(CLASS_STRATEGIES)} or a map of "
                    f"modality to share; got {strategy!r}.",
                    field=field,
                )
        elif isinstance(strategy, dict):
            if not strategy:
                raise InvalidArgumentError(f"{field} map is empty.", field=field)
            for modality, share in strategy.items():
                if (
                    isinstance(share, bool)
                    or not isinstance(share, int | float)
                    or not (0 < share <= 1)
                ):
                    raise InvalidArgumentError(
                        f"{field}[{modality!r}] must be a share in (0, 1]; got {share!r}.",
                        field=f"{field}[{modality}]",
                    )
            if not math.isclose(sum(strategy.values()), 1.0, abs_tol=1e-6):
                raise InvalidArgumentError(
                    f"{field} shares must add up to 1; they add up to {sum(strategy.values()):g}.",
                    field=field,
                )
        else:
            raise InvalidArgumentError(
                f"{field} must be a number, a strategy name or a map; got {strategy!r}.",
                field=field,
            )
        if self.needs_target and not self.target_column:
            raise InvalidArgumentError(
                f"data_augmentation_target_column is required with {field}={strategy!r}: name "
                "the class column to balance.",
                field="data_augmentation_target_column",
            )

    @property
    def needs_target(self) -> bool:
        """Class strategies and modality maps need a target column; multipliers do not."""
        return not isinstance(self.strategy, int | float)

    def extra_rows(self, target: pd.Series | None, n_rows: int) -> dict[Any, int]:
        """Rows to add per class (key ``None`` for a multiplier without target).

        Raises:
            InvalidArgumentError: a modality of the map is not in the target column.
        """
        strategy = self.strategy
        if isinstance(strategy, int | float) and not isinstance(strategy, bool):
            if target is None:
                return {None: round((strategy - 1) * n_rows)}
            counts = target.value_counts(dropna=False)
            return {k: round((strategy - 1) * int(v)) for k, v in counts.items()}
        assert target is not None
        counts = target.value_counts()
        if strategy == "minority":
            rarest = counts.idxmin()
            return {rarest: int(counts.max() - counts[rarest])}
        if strategy == "not_majority":
            return {k: int(counts.max() - v) for k, v in counts.items() if v < counts.max()}
        assert isinstance(strategy, dict)
        by_text = {str(k): k for k in counts.index}
        unknown = sorted(str(m) for m in strategy if str(m) not in by_text)
        if unknown:
            raise InvalidArgumentError(
                f"data_augmentation_strategy names modalities {unknown} that column "
                f"{self.target_column!r} does not have; it has {sorted(by_text)[:20]}.",
                field="data_augmentation_strategy",
            )
        shares = {by_text[str(m)]: float(s) for m, s in strategy.items()}
        # The smallest output holding every original row with the requested shares.
        final = max(int(counts[k]) / shares[k] for k in shares)
        extra = {k: max(0, round(shares[k] * final) - int(counts[k])) for k in shares}
        return {k: v for k, v in extra.items() if v > 0}
