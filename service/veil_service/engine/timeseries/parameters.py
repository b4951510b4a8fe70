"""Time-series parameters: defined in the contract package, which the runs domain shares."""

from veil_service.engine_contract.time_series import (
    ALIGNMENT_METHODS,
    DEFAULT_NF,
    FLATTEN,
    FPCA,
    MAX_NB_POINTS,
    MAX_NF,
    PROJECTION_TYPES,
    UNALIGNMENT_STRATEGIES,
    TimeSeriesParameters,
    from_settings,
)

__all__ = [
    "ALIGNMENT_METHODS",
    "DEFAULT_NF",
    "FLATTEN",
    "FPCA",
    "MAX_NB_POINTS",
    "MAX_NF",
    "PROJECTION_TYPES",
    "UNALIGNMENT_STRATEGIES",
    "TimeSeriesParameters",
    "from_settings",
]
