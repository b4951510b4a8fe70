"""Parameters a linked run accepts but does not use, said as warnings of the standard job.

A time-series table is avatarized through the individuals it describes (its curves become
columns of their table, at that table's k), so its own avatarization parameters are not read;
``time_series_*`` parameters set on a table without a time column are not read either; and
``time_series_nb_points`` only sets the grid with ``time_series_method=SPECIFIED``. Octopize's
client takes all of these, so they stay accepted (refusing them would break scripts that run
there), but the user is told instead of finding out from the avatars (attack round of
2026-12-07: ``k=3`` on a series table and ``time_series_nf`` on an individual table passed
without a word).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from veil_service.engine_contract.linked_tables import Schema
from veil_service.engine_contract.time_series import TimeSeriesParameters

_DEFAULT_ALIGNMENT = TimeSeriesParameters().method
"""The alignment a table without ``time_series_method`` gets (one definition: the contract's)."""


def unused_parameter_warnings(schema: Schema, setting: Callable[[str, str], Any]) -> list[str]:
    """One sentence per table whose parameters are set but not used.

    Args:
        schema: The run's tables and links.
        setting: ``setting(table, key)``: a table's stored ``avatarization`` or ``time_series``.
    """
    warnings: list[str] = []
    for name in schema.order():
        avatarization: Mapping[str, Any] = setting(name, "avatarization") or {}
        series: Mapping[str, Any] = {
            k: v for k, v in (setting(name, "time_series") or {}).items() if v is not None
        }
        if schema.is_time_series(name):
            owners = [link.parent_table for link in schema.parents(name)]
            if avatarization:
                warnings.append(
                    f"table {name!r} is a time series: its avatarization parameters "
                    f"({', '.join(sorted(avatarization))}) are not used. Its series are "
                    f"avatarized as columns of {', '.join(map(repr, owners))}, with that "
                    "table's k; set time_series_* parameters on it instead."
                )
            method = str(series.get("method", _DEFAULT_ALIGNMENT)).lower()
            if "nb_points" in series and method != "specified":
                warnings.append(
                    f"table {name!r}: time_series_nb_points={series['nb_points']} is not used "
                    f"with time_series_method={method!r}; it sets the grid only with "
                    "time_series_method=SPECIFIED."
                )
        elif series:
            warnings.append(
                f"table {name!r} has no time column (time_series_time): its time_series_* "
                f"parameters ({', '.join(sorted(series))}) are not used; set them on the "
                "time-series table."
            )
    return warnings
