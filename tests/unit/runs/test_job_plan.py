"""Which jobs a run queues and what each waits for (runs/jobs.py ``plan``)."""

from __future__ import annotations

import dataclasses

import pytest
from veil_service.arrow_tables import ColumnDescription
from veil_service.errors import FailedPreconditionError, InvalidArgumentError, Reason
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


def test_a_configured_table_without_data_is_named_before_any_job_is_queued() -> None:
    # A YAML configuration names two tables; only adult was uploaded. The jobs ran on adult
    # alone and the user learnt of iris at shuffled("iris") ("produced no shuffled result").
    config = RunConfig(
        tables=[
            TableConfig("adult", avatarization={"k": 5}),
            TableConfig("iris", avatarization={"k": 5}),
        ]
    )
    with pytest.raises(FailedPreconditionError) as caught:
        plan(ALL[1:], config, [TABLE], set())
    assert caught.value.message == (
        "table(s) ['iris'] have no data: call upload_file('iris', data) (a configuration "
        "loaded from YAML holds no data), or delete_table them."
    )
    assert caught.value.reason == Reason.NO_TABLE and caught.value.field == "table_name"


def test_a_configuration_whose_tables_have_no_data_names_them() -> None:
    # It said "the run has no table: add_table(...) first" while the YAML declared adult.
    with pytest.raises(FailedPreconditionError, match=r"upload_file\('adult', data\)"):
        plan(ALL[1:], CONFIG, [], set())


@pytest.mark.parametrize("arrow_type", ["double", "int64"])
def test_a_number_column_declared_datetime_is_refused_naming_it(arrow_type: str) -> None:
    # Read as nanoseconds after 1970, iris' 5.1 came back as 5.0 without a word.
    table = dataclasses.replace(TABLE, columns=(ColumnDescription("age", arrow_type, False),))
    config = RunConfig(
        tables=[TableConfig("adult", avatarization={"k": 5}, column_types={"age": "datetime"})]
    )
    with pytest.raises(InvalidArgumentError) as caught:
        plan(["standard"], config, [table], set())
    assert caught.value.field == "tables[adult].column_types[age]"
    assert caught.value.message.startswith(
        f"tables[adult].column_types[age]: declared datetime, but the uploaded column holds "
        f"numbers ({arrow_type})"
    )


def test_a_text_column_declared_datetime_is_left_to_the_engine_to_parse() -> None:
    table = dataclasses.replace(TABLE, columns=(ColumnDescription("age", "string", False),))
    config = RunConfig(
        tables=[TableConfig("adult", avatarization={"k": 5}, column_types={"age": "datetime"})]
    )
    assert dict(plan(["standard"], config, [table], set())) == {"standard": []}
