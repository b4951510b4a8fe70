"""Time-series avatarization: series aligned, projected (FPCA or flatten), rebuilt.

A time-series table is a child of an individual-level table, linked with ``time_series``;
:mod:`veil_service.engine.multitable` drives it. Plain numpy and pandas.
"""

from veil_service.engine.timeseries.parameters import (
    ALIGNMENT_METHODS,
    PROJECTION_TYPES,
    UNALIGNMENT_STRATEGIES,
    TimeSeriesParameters,
)
from veil_service.engine.timeseries.series import SeriesModel, fit_series

__all__ = [
    "ALIGNMENT_METHODS",
    "PROJECTION_TYPES",
    "UNALIGNMENT_STRATEGIES",
    "SeriesModel",
    "TimeSeriesParameters",
    "fit_series",
]
