"""A linked run's identifier-like column (a patient's name) comes back as pseudonyms from the avatar
method; the run's figures, metrics and reports leave it out on both sides, as a single-table run
does (before, the linked metrics compared the real names with their pseudonyms and the figures
drew the real names). Avatars the owner uploaded keep it: a kept identifier must show."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc
import pytest
from support import FIXTURES
from veil_service.engine.multitable import Link, Schema, TableKeys
from veil_service.engine.tasks.context import TaskContext
from veil_service.engine.tasks.linked_jobs import (
    run_avatarize_tables,
    run_linked_privacy_metrics,
    run_linked_signal_metrics,
)
from veil_service.engine_contract.linked_tables import schema_to_dict, table_ref

TABLES = ("patient", "visit")


def _write(path: Path, frame: pd.DataFrame) -> Path:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    with pa.OSFile(str(path), "wb") as sink, ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return path


def _params(**extra: Any) -> dict[str, Any]:
    schema = Schema(
        (
            TableKeys("patient", "p_id", individual_level=True),
            TableKeys("visit", "visit_id", ("patient_id",), individual_level=False),
        ),
        (Link("patient", "p_id", "visit", "patient_id", "linear_sum_assignment"),),
    )
    return {
        "schema": schema_to_dict(schema),
        "tables": {
            "patient": {
                "avatarization": {"k": 5},
                "privacy_metrics": {"known_variables": ["name", "age"], "target": "name"},
            },
            "visit": {"avatarization": {"k": 5}},
        },
        "seed": 0,
        "compute_figures": True,
        "max_distribution_plots": 10,
        **extra,
    }


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Originals (patients with a name each) and the avatarize task's results."""
    folder = tmp_path_factory.mktemp("linked")
    patient = pd.read_csv(FIXTURES / "avatar" / "fixtures" / "patient.csv")
    patient.insert(1, "name", [f"Patient {i:03d}" for i in range(len(patient))])
    visit = pd.read_csv(FIXTURES / "avatar" / "fixtures" / "visit.csv").drop(columns="doctor_id")
    originals = {"patient": patient, "visit": visit}
    inputs = {
        table_ref("original", name): _write(folder / f"{name}.arrows", frame)
        for name, frame in originals.items()
    }
    ctx = TaskContext(_params(), inputs, folder / "avatarize")
    summary = run_avatarize_tables(ctx)
    results = {r.name: r.path for r in ctx.results}
    return {"originals": originals, "inputs": inputs, "results": results, "summary": summary}


def _texts(paths: list[Path]) -> str:
    return "\n".join(path.read_text(errors="replace") for path in paths)


def test_the_avatars_carry_pseudonyms_and_the_figures_no_real_name(run: dict[str, Any]) -> None:
    names = set(run["originals"]["patient"]["name"])
    avatars = ipc.open_stream(pa.OSFile(str(run["results"]["unshuffled@patient"]))).read_all()
    released = set(avatars.column("name").to_pylist())
    assert released and not released & names
    assert any("'name' looks like an identifier" in w for w in run["summary"]["warnings"])
    figures = [p for n, p in run["results"].items() if n.startswith("figures:")]
    assert figures
    drawn = _texts(figures)
    assert not [name for name in names if name in drawn]


def _metrics(
    run: dict[str, Any], tmp_path: Path, section: str, from_standard: bool
) -> dict[str, list[dict[str, Any]]]:
    inputs = dict(run["inputs"])
    for name in TABLES:
        inputs[table_ref("avatars", name)] = run["results"][table_ref("unshuffled", name)]
    params = _params(avatars_from_standard={name: from_standard for name in TABLES})
    ctx = TaskContext(params, inputs, tmp_path / section)
    task = run_linked_privacy_metrics if section == "privacy_metrics" else run_linked_signal_metrics
    task(ctx)
    return {
        name: json.loads(
            next(r.path for r in ctx.results if r.name == table_ref(section, name)).read_text()
        )
        for name in TABLES
    }


def _mentions(value: Any) -> set[str]:
    """Every dict key and string anywhere in a JSON value."""
    if isinstance(value, dict):
        return {str(k) for k in value} | set().union(*(_mentions(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(set(), *(_mentions(v) for v in value))
    return {value} if isinstance(value, str) else set()


@pytest.mark.parametrize("section", ["signal_metrics", "privacy_metrics"])
def test_the_metrics_leave_the_identifier_out(
    run: dict[str, Any], tmp_path: Path, section: str
) -> None:
    results = _metrics(run, tmp_path, section, from_standard=True)
    for result in results["patient"]:
        assert result["metadata"]["pseudonymized_identifier_columns"] == ["name"]
        measured = {key: value for key, value in result.items() if key != "metadata"}
        assert "name" not in _mentions(measured)
    # Its known_variables and target named it: they lost it (the target with it).
    if section == "privacy_metrics":
        standalone = results["patient"][0]
        details = next(
            value
            for value in standalone.values()
            if isinstance(value, dict) and "column_direct_match_protection_per_column" in value
        )
        assert set(details["column_direct_match_protection_per_column"]) == {
            "gender",
            "height",
            "age",
            "weight",
        }


def test_uploaded_avatars_keep_the_identifier_in_the_metrics(
    run: dict[str, Any], tmp_path: Path
) -> None:
    results = _metrics(run, tmp_path, "signal_metrics", from_standard=False)
    measured = {key: value for key, value in results["patient"][0].items() if key != "metadata"}
    assert "name" in _mentions(measured)
    assert results["patient"][0]["metadata"]["pseudonymized_identifier_columns"] == []
