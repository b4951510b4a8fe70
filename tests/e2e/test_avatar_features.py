"""Issue 15 through the real client and a real server (port 0, SQLite, engine child): DP
generators with their privacy loss on the job and in the reports, server-side processors,
pseudonymization with its mapping kept on the server, the YAML files, and bad input refused before
anything runs. Data augmentation (its metrics, figure and report section) runs verbatim as
Tutorial 6 in test_octopize_tutorials_avatar_features.py."""

from __future__ import annotations

import io
import math
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pypdf import PdfReader
from support import FIXTURES, ServerThread, TestUser, create_user, octopize_fixtures
from veil_client import (
    FakeDataStrategy,
    HashSha256Strategy,
    InvalidArgument,
    Manager,
    NotFound,
    PiiType,
    SpecificIdStrategy,
    Uuid4Strategy,
)
from veil_client.config import AugmentationStrategy
from veil_client.models import JobKind
from veil_client.processors import (
    InterRecordRangeDifferenceParameters,
    RelativeDifferenceParameters,
)


@pytest.fixture()
def manager(veil_server: ServerThread, user: TestUser) -> Manager:
    return Manager(base_url=veil_server.url, api_key=user.api_key)


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = octopize_fixtures(tmp_path_factory.mktemp("fixtures"))
    (folder / "wbcd.csv").symlink_to(FIXTURES / "tables" / "wbcd.csv")
    return folder


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _docx_text(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read("word/document.xml").decode("utf-8")


def _report(runner: Any, tmp_path: Path, name: str, report_type: Any = None) -> bytes:
    path = tmp_path / name
    if report_type is None:
        runner.download_report(str(path))
    else:
        runner.download_report(str(path), report_type=report_type)
    return path.read_bytes()


def test_pseudonymization_is_consistent_keyed_and_kept_on_the_server(
    manager: Manager, veil_server: ServerThread, fixtures: Path, tmp_path: Path
) -> None:
    patients_df = pd.read_csv(fixtures / "pseudo_data.csv")
    runner = manager.create_runner("pseudo_single_table", seed=5)
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
            "city": HashSha256Strategy(),
        },
    )
    runner.run()
    avatars = runner.shuffled(table_name="patients")
    assert avatars.shape == patients_df.shape
    assert list(avatars.columns) == list(patients_df.columns)
    for column in ("ssn", "email", "phone", "address", "city"):
        assert not set(avatars[column]) & set(patients_df[column]), column
    assert avatars["zip_code"].astype(str).str.fullmatch(r"\d{5}").all()
    assert avatars["ssn"].str.fullmatch(r"[0-9a-f-]{36}").all()
    assert avatars["city"].str.fullmatch(r"[0-9a-f]{64}").all()
    assert avatars["ssn"].is_unique

    mappings = runner.pseudonym_mappings("patients")
    ssn = mappings[mappings["column"] == "ssn"].set_index("original")["pseudonym"]
    assert len(ssn) == patients_df["ssn"].nunique()
    unshuffled = runner.sensitive_unshuffled("patients")
    # Consistent: the avatar of original row i carries the pseudonym of row i's value.
    assert list(unshuffled["ssn"]) == [ssn[v] for v in patients_df["ssn"]]
    for column in ("first_name", "last_name"):
        # Faker draws from the same name lists the fixture was made with: compare row by row.
        assert (unshuffled[column] == patients_df[column]).mean() < 0.05, column
    cities = mappings[mappings["column"] == "city"].set_index("original")["pseudonym"]
    assert list(unshuffled["city"]) == [cities[v] for v in patients_df["city"]]
    # The metrics leave identifiers out; the report says what was pseudonymized and why.
    privacy = runner.privacy_metrics("patients")[0]
    assert "ssn" not in privacy["metadata"]["categorical_columns"]
    pdf = _pdf_text(_report(runner, tmp_path, "pseudo.pdf"))
    assert "Pseudonymization" in pdf and "HMAC-SHA256" in pdf

    # Only the owner reaches the mapping; it is gone with the run.
    results = runner.api.list_results(job_id=runner.jobs[JobKind.standard])
    mapping_id = next(r.id for r in results if r.kind == "pseudonym_mappings")
    assert "pseudonym_mappings" not in vars(runner.get_all_results())
    intruder = Manager(base_url=veil_server.url, api_key=create_user(veil_server, "user").api_key)
    with pytest.raises(NotFound):
        intruder.runs_api.download_result(mapping_id)
    manager.runs_api.delete_run(runner.set_name)
    with pytest.raises(NotFound):
        manager.runs_api.download_result(mapping_id)
    with veil_server.app.db.connect() as conn:
        from veil_service.storage import schema

        secrets = conn.execute(
            schema.run_secrets.select().where(schema.run_secrets.c.run_id == runner.set_name)
        ).all()
    assert secrets == []


def test_bad_feature_parameters_are_refused_before_anything_runs(
    manager: Manager, fixtures: Path
) -> None:
    iris = pd.read_csv(fixtures / "iris.csv")
    runner = manager.create_runner("bad_features")
    runner.add_table("iris", iris)
    for epsilon in (0, -1.0, math.nan, math.inf):
        with pytest.raises(InvalidArgument, match="open_dp_epsilon") as refused:
            runner.set_parameters("iris", open_dp_epsilon=epsilon)
        assert "ε" in refused.value.message
    with pytest.raises(InvalidArgument, match="exactly one of k"):
        runner.set_parameters("iris", k=5, open_dp_epsilon=1.0)
    with pytest.raises(InvalidArgument, match="exactly one of k"):
        runner.set_parameters("iris", open_dp_epsilon=1.0, fast_dp_epsilon=2.0)
    with pytest.raises(InvalidArgument, match="data_augmentation_target_column") as refused:
        runner.set_parameters("iris", k=5, data_augmentation_strategy=AugmentationStrategy.minority)
    assert refused.value.field.endswith("data_augmentation_target_column")
    with pytest.raises(InvalidArgument, match="has no placeholder"):
        runner.set_parameters(
            "iris", k=5, pseudonymized_columns={"variety": SpecificIdStrategy(pattern="IRIS")}
        )
    # Each refusal left the previous (empty) parameters in place, on both sides.
    assert runner.config.tables["iris"].avatarization is None
    assert manager.runs_api.get_run(runner.set_name).config.tables["iris"].avatarization is None

    runner.set_parameters(
        "iris",
        k=5,
        processors=[RelativeDifferenceParameters(target="petal.length", references=["stem"])],
    )
    with pytest.raises(InvalidArgument, match="names column 'stem'") as refused:
        runner.run(jobs_to_run=[JobKind.standard])
    assert refused.value.field == "tables[iris].avatarization.processors[0].references[0]"
    assert manager.runs_api.list_jobs(run_id=runner.set_name).items == []


def test_open_dp_records_its_privacy_loss_on_the_job_and_in_both_reports(
    manager: Manager, fixtures: Path, tmp_path: Path
) -> None:
    from veil_client.config import ReportLanguage, ReportType

    iris = pd.read_csv(fixtures / "iris.csv")
    runner = manager.create_runner("iris_open_dp", seed=3, report_language=ReportLanguage.FR)
    runner.add_table("iris", iris)
    runner.set_parameters("iris", open_dp_epsilon=3.0, preprocess_budget_ratio=0.3)
    runner.run()
    avatars = runner.shuffled("iris")
    assert list(avatars.columns) == list(iris.columns)
    assert set(avatars["variety"].dropna()) <= set(iris["variety"])
    loss = runner.privacy_loss("iris")
    assert loss is not None and loss.generator == "open_dp" and loss.end_to_end
    assert 0 < loss.epsilon <= 3.0 + 1e-9 and 0 <= loss.delta <= 1e-6
    assert "OpenDP" in loss.accountant
    privacy = runner.privacy_metrics("iris")[0]
    assert "paired at random" in privacy["metadata"]["note"]
    pdf = _pdf_text(_report(runner, tmp_path, "dp.pdf"))
    assert "Open DP" in pdf and f"ε = {loss.epsilon:.4g}" in pdf
    docx = _docx_text(_report(runner, tmp_path, "dp.docx", ReportType.PIA))
    assert "Confidentialité différentielle : Open DP" in docx


def test_tutorial_7_fast_dp_part_and_its_plain_warning(
    manager: Manager, fixtures: Path, tmp_path: Path
) -> None:
    df = pd.read_csv(fixtures / "iris.csv")
    runner_dp = manager.create_runner("iris_avat_dp")
    runner_dp.add_table("iris", data=df)
    runner_dp.set_parameters("iris", fast_dp_epsilon=5)
    runner_dp.run([JobKind.standard])
    df_dp_anonymized = runner_dp.shuffled("iris")
    assert df_dp_anonymized.shape == df.shape
    loss = runner_dp.privacy_loss("iris")
    assert loss is not None and loss.generator == "fast_dp" and not loss.end_to_end
    assert loss.epsilon == pytest.approx(5.0)
    runner = manager.create_runner("iris_fast_dp_report")
    runner.add_table("iris", data=df)
    runner.set_parameters("iris", fast_dp_epsilon=5, mechanism="gmm", gmm_n_components=3)
    runner.run()
    pdf = _pdf_text(_report(runner, tmp_path, "fast.pdf"))
    assert "NOT an end-to-end differentially private method" in pdf


def test_server_processors_keep_their_relations(manager: Manager, fixtures: Path) -> None:
    epl = pd.read_csv(fixtures / "epl.csv").drop(columns=["penalty_misses"])
    assert (epl["penalty_goals"] <= epl["penalty_attempts"]).all()
    runner = manager.create_runner("processors", seed=4)
    runner.add_table("game", epl)
    runner.set_parameters(
        "game",
        k=5,
        use_categorical_reduction=True,
        processors=[
            RelativeDifferenceParameters(target="penalty_goals", references=["penalty_attempts"])
        ],
    )
    runner.run([JobKind.standard])
    avatars = runner.shuffled("game")
    assert (avatars["penalty_goals"] <= avatars["penalty_attempts"]).all()

    projects = pd.DataFrame(
        {
            "project_id": [i // 4 for i in range(200)],
            "start_date": [(i % 4) * 30 + i // 4 for i in range(200)],
            "budget": [float(i % 17) for i in range(200)],
        }
    )
    projects["end_date"] = projects["start_date"] + 10 + projects["budget"]
    runner = manager.create_runner("inter_record", seed=4)
    runner.add_table("projects", projects)
    runner.set_parameters(
        "projects",
        k=5,
        processors=[
            InterRecordRangeDifferenceParameters(
                id_variable="project_id",
                target_start_variable="start_date",
                target_end_variable="end_date",
            )
        ],
    )
    runner.run([JobKind.standard])
    avatars = runner.sensitive_unshuffled("projects")
    assert (avatars["end_date"] >= avatars["start_date"]).all()
    for _, group in avatars.groupby("project_id", sort=False):
        starts, ends = group["start_date"].to_numpy(), group["end_date"].to_numpy()
        assert (starts[1:] >= ends[:-1]).all()


def test_dp_yaml_loads_and_runs(manager: Manager) -> None:
    runner = manager.create_runner("from_dp_yaml", seed=2)
    with pytest.warns(UserWarning, match="repeats AvatarParameters"):
        runner.from_yaml(str(FIXTURES / "avatar" / "yaml" / "dp.yaml"))
    assert runner.config.tables["iris"].avatarization == {
        "open_dp_epsilon": 3,
        "preprocess_budget_ratio": 0.3,
    }
    runner.upload_file("iris", data=str(FIXTURES / "avatar" / "fixtures" / "iris.csv"))
    runner.run(jobs_to_run=[JobKind.standard])
    assert len(runner.shuffled("iris")) > 0
    assert runner.privacy_loss("iris") is not None
