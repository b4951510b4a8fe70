"""Which jobs a run queues and what each waits for (runs/jobs.py ``plan``)."""

from __future__ import annotations

from veil_service.arrow_tables import ColumnDescription
from veil_service.runs.config import RunConfig, TableConfig
from veil_service.runs.jobs import plan
from veil_service.runs.tables import StoredTable

TABLE = StoredTable(
    "t1", "r1", "adult", "original", 10, (ColumnDescription("age", "int64", False),), 1, "0" * 64,
    "x", 0.0,
)  # fmt: skip
CONFIG = RunConfig(tables=[TableConfig("adult", avatarization={"k": 5})])
ALL = ["advice", "standard", "signal_metrics", "privacy_metrics", "report"]


def test_a_report_run_with_the_advice_waits_for_it() -> None:
    # The report shows the advice's privacy-targeted search, so it starts after the advice.
    steps = dict(plan(ALL, CONFIG, [TABLE], set()))
    assert list(steps) == ALL
    assert steps["report"] == ["privacy_metrics", "signal_metrics", "advice"]
    assert steps["advice"] == [] and steps["standard"] == []


def test_a_report_run_without_the_advice_does_not_wait_for_one() -> None:
    steps = dict(plan(ALL[1:], CONFIG, [TABLE], set()))
    assert steps["report"] == ["privacy_metrics", "signal_metrics"]
