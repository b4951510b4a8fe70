"""Linked tables the multi-table and time-series tests share: the Octopize sensors fixtures."""

from __future__ import annotations

import pandas as pd
from support import FIXTURES
from veil_service.engine.multitable import Link, Schema, TableKeys

SENSORS = FIXTURES / "avatar" / "fixtures"


def sensors() -> tuple[Schema, dict[str, pd.DataFrame]]:
    """An individual-level table with two time-series tables linked to it, and its schema."""
    frames = {
        "vanilla": pd.read_csv(SENSORS / "sensors_vanilla.csv"),
        "sensor1": pd.read_csv(SENSORS / "sensors_timeseries1.csv.gz"),
        "sensor2": pd.read_csv(SENSORS / "sensors_timeseries2.csv.gz"),
    }
    schema = Schema(
        (
            TableKeys("vanilla", "id", individual_level=True),
            TableKeys("sensor1", "primary_key", ("id",), time_series_time="t"),
            TableKeys("sensor2", "primary_key", ("id",), time_series_time="t"),
        ),
        (
            Link("vanilla", "id", "sensor1", "id", "time_series"),
            Link("vanilla", "id", "sensor2", "id", "time_series"),
        ),
    )
    return schema, frames
