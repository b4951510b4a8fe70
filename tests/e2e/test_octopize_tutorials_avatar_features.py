"""Octopize's Tutorials 7 (its Fast DP part) and 8 (../shared/reference/avatar_client.md
section 8.1) against a real Veil server through the real client, with only their import lines
changed (``avatars`` -> ``veil_client``, ``avatar_yaml`` -> ``veil_client.config``): Fast DP
avatarization and pseudonymization (issue 15). Tutorial 6 runs in tests/e2e/test_avatar_features.py;
Tutorial 5 is not yet a test.

Each ``*_CODE`` string is the notebook's steps in order, as the notebook writes them (it reads
``../fixtures/...`` and connects with ``Manager(api_key=os.environ.get("AVATAR_API_KEY"))``; the
server's address comes from ``VEIL_URL``). The tests then check what the notebooks show, and the
constraint each feature exists for.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import FIXTURES, ServerThread, TestUser, octopize_fixtures
from veil_client.models import JobKind, JobStatus

_IMPORT = re.compile(r"^(\s*)from\s+(avatars|avatar_yaml)((?:\.[\w.]+)?)\s+import\b", re.M)
_MODULES = {"": "veil_client", ".manager": "veil_client", ".models": "veil_client.models"}
_MODULES |= {".constants": "veil_client.constants", ".processors": "veil_client.processors"}


def _veil_import(match: re.Match[str]) -> str:
    package, module = match.group(2), match.group(3)
    target = "veil_client.config" if package == "avatar_yaml" else _MODULES[module]
    return f"{match.group(1)}from {target} import"


def run(source: str, namespace: dict[str, Any] | None = None) -> dict[str, Any]:
    """Execute a notebook's code with Veil's import lines (nothing else changed)."""
    namespace = {"__name__": "__octopize__"} if namespace is None else namespace
    exec(compile(_IMPORT.sub(_veil_import, source), "<octopize>", "exec"), namespace)
    return namespace


TUTORIAL_7_CODE = """\
import os

import pandas as pd

from avatars.constants import JobKind
from avatars.manager import Manager

manager = Manager(api_key=os.environ.get("AVATAR_API_KEY"))

df = pd.read_csv("../fixtures/iris.csv")

runner = manager.create_runner("iris_avat")
runner.add_table("iris", data=df)
runner.advise_parameters()
runner.run([JobKind.standard])
df_anonymized = runner.shuffled("iris")

runner_dp = manager.create_runner("iris_avat_dp")
runner_dp.add_table("iris", data=df)
runner_dp.set_parameters("iris", fast_dp_epsilon=5)
runner_dp.run([JobKind.standard])
df_dp_anonymized = runner_dp.shuffled("iris")
"""

TUTORIAL_8_SINGLE_TABLE_CODE = """\
import os

import pandas as pd

from avatars import (
    FakeDataStrategy,
    Manager,
    PiiType,
    SpecificIdStrategy,
    Uuid4Strategy,
)

manager = Manager(
    api_key=os.environ.get("AVATAR_API_KEY")
)  # or Manager(api_key="...", base_url="https://your-server.com")
patients_df = pd.read_csv("../fixtures/pseudo_data.csv")
runner = manager.create_runner("pseudo_single_table")

runner.add_table("patients", data=patients_df, primary_key="ssn")

runner.set_parameters(
    "patients",
    k=3,
    pseudonymized_columns={
        "first_name": FakeDataStrategy(pii_type=PiiType.FIRST_NAME),
        "last_name": FakeDataStrategy(pii_type=PiiType.LAST_NAME),
        "ssn": Uuid4Strategy(),
        "email": FakeDataStrategy(pii_type=PiiType.EMAIL),
        "phone": FakeDataStrategy(pii_type=PiiType.PHONE),
        "address": FakeDataStrategy(pii_type=PiiType.ADDRESS),
        "zip_code": SpecificIdStrategy(pattern="#####"),
    },
    use_categorical_reduction=True,
)

runner.run()
pseudonymized = runner.shuffled(table_name="patients")
"""

TUTORIAL_8_MULTI_TABLE_CODE = """\
parents_df = pd.DataFrame(
    {
        "patient_id": [f"P{i:03d}" for i in range(40)],
        "email": [f"patient{i}@hospital.org" for i in range(40)],
        "first_name": ["Alice", "Bob", "Chloe", "David", "Emma"] * 8,
        "age": [20 + (i * 7) % 60 for i in range(40)],
        "weight": [50.0 + (i * 13) % 45 for i in range(40)],
    }
)
visits_df = pd.DataFrame(
    {
        "visit_id": [f"V{i:04d}" for i in range(100)],
        "patient_id": [f"P{(i * 7) % 40:03d}" for i in range(100)],
        "duration": [10 + (i * 11) % 50 for i in range(100)],
        "cost": [30.0 + (i * 17) % 120 for i in range(100)],
    }
)

runner = manager.create_runner("pseudo_multi_table")
runner.add_table("patients", parents_df, primary_key="patient_id")
runner.add_table("visits", visits_df, primary_key="visit_id", foreign_keys=["patient_id"])
runner.add_link("patients", "patient_id", "visits", "patient_id")
runner.set_parameters(
    "patients",
    k=3,
    pseudonymized_columns={
        "patient_id": Uuid4Strategy(),
        "email": FakeDataStrategy(pii_type=PiiType.EMAIL),
        "first_name": FakeDataStrategy(pii_type=PiiType.FIRST_NAME),
    },
)
runner.set_parameters("visits", k=3)
runner.run()
patients_avatars = runner.shuffled("patients")
visits_avatars = runner.shuffled("visits")
"""


# Tutorial 8 runs two avatarizations with pseudonyms: minutes on a machine shared by a dozen busy
# processes, hence the longer time limit below.


@pytest.fixture()
def notebook(
    veil_server: ServerThread, user: TestUser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """A notebook's environment: ``../fixtures``, the server's address and the reader's key."""
    monkeypatch.setenv("VEIL_URL", veil_server.url)
    monkeypatch.setenv("AVATAR_API_KEY", user.api_key)
    monkeypatch.setenv("BROWSER", "true")
    fixtures = octopize_fixtures(tmp_path / "fixtures")
    (fixtures / "wbcd.csv").symlink_to(FIXTURES / "tables" / "wbcd.csv")
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    monkeypatch.chdir(notebooks)
    yield notebooks


def test_tutorial_7_fast_dp_part(notebook: Path) -> None:
    namespace = run(TUTORIAL_7_CODE)
    df, dp = namespace["df"], namespace["df_dp_anonymized"]
    assert dp.shape == df.shape and list(dp.columns) == list(df.columns)
    assert set(dp["variety"].dropna()) <= set(df["variety"])
    loss = namespace["runner_dp"].privacy_loss("iris")
    assert loss is not None and loss.generator == "fast_dp" and not loss.end_to_end
    assert loss.epsilon == pytest.approx(5.0)
    assert namespace["runner_dp"].get_job(JobKind.standard).status == JobStatus.finished


@pytest.mark.timeout(1800)
def test_tutorial_8_pseudonymization(notebook: Path) -> None:
    namespace = run(TUTORIAL_8_SINGLE_TABLE_CODE)
    original, pseudonymized = namespace["patients_df"], namespace["pseudonymized"]
    assert len(pseudonymized) == len(original)
    for column in ("ssn", "email", "phone", "address"):
        assert not set(pseudonymized[column]) & set(original[column]), column
    # Faker draws from the same name lists the fixture was made with: compare row by row.
    avatars = namespace["runner"].sensitive_unshuffled("patients")
    for column in ("first_name", "last_name"):
        assert (avatars[column] == original[column]).mean() < 0.05, column
    assert pseudonymized["ssn"].str.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}").all()
    assert pseudonymized["ssn"].is_unique
    assert pseudonymized["zip_code"].astype(str).str.fullmatch(r"\d{5}").all()
    assert pseudonymized["email"].str.contains("@").all()

    run(TUTORIAL_8_MULTI_TABLE_CODE, namespace)
    patients, visits = namespace["patients_avatars"], namespace["visits_avatars"]
    # Foreign keys inherit their parent key's mapping: every visit points at a pseudonymized
    # patient, none at an original identifier.
    assert set(visits["patient_id"]) <= set(patients["patient_id"])
    assert not set(patients["patient_id"]) & set(namespace["parents_df"]["patient_id"])
    assert not set(patients["email"]) & set(namespace["parents_df"]["email"])
