"""Time-series parameters, with the Octopize names (``set_parameters(time_series_*)``).

In the contract package: the runs domain checks them when they are set (no data needed) and the
engine applies them (``engine.timeseries``), with one definition of what is valid.

``projection_type`` and ``nf`` say how each variable's curve becomes a few numbers; ``method`` and
``nb_points`` on which common grid the curves are compared; ``unalignment`` how avatar curves go
back to their own time axis. avatar_client.md section 3.3 and avatar_method.md 1.11.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from veil_service.errors import InvalidArgumentError

FPCA: Final = "fpca"
FLATTEN: Final = "flatten"
PROJECTION_TYPES: Final = (FPCA, FLATTEN)
ALIGNMENT_METHODS: Final = ("specified", "max", "min", "mean")
UNALIGNMENT_STRATEGIES: Final = ("uniform", "skip")

DEFAULT_NF: Final = 5
MAX_NB_POINTS: Final = 10_000
MAX_NF: Final = 1_000


@dataclass(frozen=True)
class TimeSeriesParameters:
    """How one time-series table is projected and rebuilt.

    Attributes:
        projection_type: ``fpca`` (functional principal components: ``nf`` scores per variable)
            or ``flatten`` (each variable's aligned curve read at ``nf`` evenly spaced times).
        nf: Numbers kept per variable (components or readings), >= 1. None (not set): the
            default of 5, lowered to what the table can give (a panel read in 3 years has at
            most 3 numbers per variable), instead of refusing parameters the owner never set.
        method: Length of the common grid: ``specified`` (``nb_points``), ``max``, ``min`` or
            ``mean`` of the series lengths (the default).
        nb_points: Grid length when ``method`` is ``specified`` (>= 2).
        unalignment: ``uniform`` (each avatar series gets its own synthetic number of readings,
            evenly spaced over its synthetic time span; the default) or ``skip`` (avatar series
            keep the common grid's ``nb_points`` readings over their own span).
    """

    projection_type: str = FPCA
    nf: int | None = None
    method: str = "mean"
    nb_points: int | None = None
    unalignment: str = "uniform"

    def __post_init__(self) -> None:
        if self.projection_type not in PROJECTION_TYPES:
            raise InvalidArgumentError(
                f"time_series_projection_type must be one of {list(PROJECTION_TYPES)}; got "
                f"{self.projection_type!r}.",
                field="time_series_projection_type",
            )
        if self.nf is not None:
            _positive("time_series_nf", self.nf, 1)
        if self.nf is not None and self.nf > MAX_NF:
            raise InvalidArgumentError(
                f"time_series_nf must be at most {MAX_NF}; got {self.nf}.", field="time_series_nf"
            )
        if self.method not in ALIGNMENT_METHODS:
            raise InvalidArgumentError(
                f"time_series_method must be one of {list(ALIGNMENT_METHODS)}; got "
                f"{self.method!r}.",
                field="time_series_method",
            )
        if self.nb_points is not None:
            _positive("time_series_nb_points", self.nb_points, 2)
            if self.nb_points > MAX_NB_POINTS:
                raise InvalidArgumentError(
                    f"time_series_nb_points must be at most {MAX_NB_POINTS}; got {self.nb_points}.",
                    field="time_series_nb_points",
                )
        if self.method == "specified" and self.nb_points is None:
            raise InvalidArgumentError(
                "time_series_method='specified' needs time_series_nb_points (the grid length).",
                field="time_series_nb_points",
            )
        if self.unalignment not in UNALIGNMENT_STRATEGIES:
            raise InvalidArgumentError(
                f"unalignment must be one of {list(UNALIGNMENT_STRATEGIES)}; got "
                f"{self.unalignment!r}.",
                field="unalignment",
            )


def _positive(name: str, value: object, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidArgumentError(
            f"{name} must be an integer >= {low}; got {value!r}.", field=name
        )


def from_settings(values: Mapping[str, Any] | None) -> TimeSeriesParameters:
    """Parameters from the stored settings of a table (``projection_type``, ``nf``, ``method``,
    ``nb_points``, ``unalignment``; absent keys take the defaults).

    Raises:
        InvalidArgumentError: an unknown key or a bad value, naming the ``time_series_*`` field.
    """
    values = dict(values or {})
    unknown = sorted(set(values) - set(SETTINGS))
    if unknown:
        raise InvalidArgumentError(
            f"unknown time-series parameter(s) {unknown}; allowed: {list(SETTINGS)}.",
            field="time_series",
        )
    present = {key: value for key, value in values.items() if value is not None}
    return TimeSeriesParameters(**present)


SETTINGS: Final = ("projection_type", "nf", "method", "nb_points", "unalignment")
"""The stored names of the parameters (``set_parameters`` adds the ``time_series_`` prefix to
all but ``unalignment``)."""
