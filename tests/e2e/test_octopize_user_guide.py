"""Every code example of the Octopize user guide (../shared/reference/seed_user_guide.md), run
against a real Veil server through the real client, with only its import lines changed.

Each ``GUIDE_*`` string is a code block of the guide as published (a test checks that it is);
:mod:`octopize_port` swaps the ``avatars``/``avatar_yaml`` imports for Veil's and runs it. Where
the guide's code relies on what earlier sections did (a ``runner`` that ran, a run named
``runner_name``), the test does those steps first, in plain test code. The only other
substitutions are the guide's placeholders (``"token-received-by-mail"``, a UUID to fill in) and
``Manager(...)``'s elided arguments; the server address reaches ``Manager()`` through
``VEIL_URL`` and the key through ``AVATAR_API_KEY``, as the guide's scripts read it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from integration.smtp_inbox import Mailbox, shared_mail_server, token_in
from octopize_port import octopize_workdir, run, show_figures_inline
from support import FIXTURES, ServerThread, TestUser, create_user
from veil_client import Manager, Runner
from veil_client.models import JobKind, JobStatus

PASSWORD = "Octopize-porting-2026"

GUIDE_FORGOTTEN_PASSWORD = """\
from avatars.client import Manager

manager = Manager()
manager.forgotten_password("yourmail@mail.com")
"""

GUIDE_RESET_PASSWORD = """\
from avatars.client import Manager

manager = Manager()
manager.reset_password("yourmail@mail.com", "new_password", "new_password", "token-received-by-mail")
"""

GUIDE_AUTHENTICATE = """\
import os
from avatars.manager import Manager

manager = Manager()
manager.authenticate(
    username=os.environ.get("AVATAR_USERNAME"),
    password=os.environ.get("AVATAR_PASSWORD"),
)
# ⚠️ A DeprecationWarning will be emitted. See below for how to create an API key.
"""

GUIDE_API_KEY = """\
import os
from avatars.manager import Manager

manager = Manager(api_key=os.environ.get("AVATAR_API_KEY"))
# Ready to use immediately.
"""

GUIDE_CREATE_KEY_STEP_1 = """\
import os
from avatars.manager import Manager

manager = Manager()
manager.authenticate(
    username=os.environ.get("AVATAR_USERNAME"),
    password=os.environ.get("AVATAR_PASSWORD"),
    should_verify_compatibility=False,
)
"""

GUIDE_CREATE_KEY_STEP_2 = """\
from avatars.models import CreateApiKeyRequest, ExpirationDays

api_key_response = manager.auth_client.api_keys.create_api_key(
    CreateApiKeyRequest(
        name="my-key", expiration_days=ExpirationDays.integer_365
    )
)
# ⚠️  Save this value — it is shown only once and cannot be retrieved
# later! If you lose it, you can simply create a new API key by
# repeating steps 1 and 2.
print(api_key_response.get('api_key').get('plaintext'))
"""

GUIDE_CREATE_KEY_STEP_4 = """\
import os
from avatars.manager import Manager

manager = Manager(api_key=os.environ.get("AVATAR_API_KEY"))
# No authenticate() call needed — the manager is ready to use.
"""

GUIDE_FIRST_AVATARIZATION = """\
import secrets
runner = manager.create_runner(set_name=f"test_wbcd_{secrets.token_hex(4)}")
runner.add_table("wbcd", "fixtures/wbcd.csv") # upload the data
runner.set_parameters("wbcd", k=15) # choose parameters
runner.run() # execute the avatarization
"""

GUIDE_JOB_STATUS = """\
job=runner.get_job(JobKind.standard)
print(job.status)  # JobStatus.FAILURE
print(job.exception)
"""

GUIDE_ASYNCHRONOUS_CALLS = """\
from avatars.models import JobKind
job = runner.run(
    jobs_to_run=[
        JobKind.standard,
        JobKind.privacy_metrics,
        JobKind.signal_metrics
    ]
)

print(job)
# Take a coffee break, close the script, come back in 3 minutes

finished_job = runner.get_all_results()

print(finished_job)  # JobStatus.success
"""

GUIDE_LAST_JOBS = """\
manager.get_last_jobs(count = 10) # get the last 10 jobs
"""

GUIDE_LAST_RESULTS = """\
manager.get_last_results(count = 10) # get the last 10 results
"""

GUIDE_RELOAD_BY_NAME = """\
runner = manager.create_runner_from_name("runner_name")
df = runner.shuffled("wbcd")
metrics = runner.privacy_metrics("wbcd")
"""

GUIDE_RELOAD_BY_ID = """\
runner = manager.create_runner_from_id(
    "550e8400-e29b-41d4-a716-446655440000"
)
df = runner.shuffled("wbcd")
"""

GUIDE_FIND_IDS_BY_NAME = """\
results = manager.find_ids_by_name("runner_name")
for set_name_id, jobs in results:
    print(set_name_id, [j.kind for j in jobs])

runner = manager.create_runner_from_id(results[5][0])
df = runner.shuffled("wbcd")
"""

GUIDE_RERUN = """\
runner = manager.create_runner_from_name("my_dataset")
df = runner.shuffled("wbcd")  # access old results

# To re-run :
runner.run(ignore_warnings=True)
# UserWarning: This runner already has results for set_name
# 'abc-123...'
# To access previous results later:
#   manager.create_runner_from_id('abc-123...')
"""

GUIDE_DELETE_FROM_RUNNER = """\
runner.run()
runner.delete()  # all jobs
runner.delete(
    [JobKind.standard, JobKind.privacy_metrics]
)  # multiple jobs
"""

GUIDE_DELETE_BY_NAME = """\
manager.delete_job("my_dataset")
"""

GUIDE_FROM_YAML = """\
job_name = "from_yaml_" + secrets.token_hex(4)
runner = manager.create_runner(job_name)
runner.from_yaml("fixtures/yaml_from_web.yaml")
# If needed, upload your data for each table.
# Data could have been deleted from the server if the job was launched
# a certain amount of time ago.
runner.upload_file("iris", data="fixtures/iris.csv")
runner.run()
"""

GUIDE_TYPES = """\
from avatar_yaml.models.schema import ColumnType
runner.add_table(
    "wbcd",
    data="fixtures/wbcd.csv",
    types={"Clump_Thickness": ColumnType.CATEGORY}
)
"""

GUIDE_TYPES_WITH_PANDAS = """\
df = pd.read_csv("fixtures/wbcd.csv")
df["Clump_Thickness"]=df["Clump_Thickness"].astype("string")
runner.add_table("wbcd", data=df)
"""

GUIDE_DIFFERENTIAL_PRIVACY = """\
runner.set_parameters("wbcd", open_dp_epsilon=10)
"""

GUIDE_METRICS_ONLY = """\
job_name = "only_metrics" + secrets.token_hex(4)
runner = manager.create_runner(job_name)
# Original and anonymized data should be in the same order
runner.add_table(
    "iris",
    data="fixtures/iris.csv",
    avatar_data="fixtures/iris_avatarized.csv"
)
runner.set_parameters("iris", k=10)
runner.run(
    jobs_to_run=[JobKind.privacy_metrics, JobKind.signal_metrics]
)
"""

GUIDE_RENDER_PLOT = """\
runner.render_plot("iris", PlotKind.PROJECTION_3D)
"""

GUIDE_RENDER_PLOT_IN_BROWSER = """\
runner.render_plot("iris", PlotKind.PROJECTION_3D, open_in_browser=True)
"""

GUIDE_PIA_RUNNER = """\
from avatar_yaml.models.avatar_metadata import (
    SensitivityLevel,
    DataType,
    DataSubject,
    DataRecipient
)

runner = manager.create_runner(
    set_name="test_pia_report",
    pia_data_recipient=DataRecipient.OPENDATA,
    pia_data_type=DataType.HEALTH,
    pia_data_subject=DataSubject.PATIENTS,
    pia_sensitivity_level=SensitivityLevel.HIGH,
)
"""

GUIDE_PIA_DOWNLOAD = """\
from avatar_yaml.models.parameters import ReportType
runner.download_report("pia_report.docx", report_type=ReportType.PIA)
"""

GUIDE_REPORT_LANGUAGE = """\
from avatars import Manager
from avatar_yaml.models.parameters import ReportLanguage

manager = Manager(...)
runner = manager.create_runner(
    name="my_job",
    report_language=ReportLanguage.FR  # or ReportLanguage.EN
)
"""

SNIPPETS = {name: value for name, value in globals().items() if name.startswith("GUIDE_")}


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def test_every_snippet_is_the_guides_text() -> None:
    guide_path = FIXTURES / "avatar" / "reference" / "seed_user_guide.md"
    assert guide_path.is_file(), f"the Octopize user guide is expected at {guide_path}"
    guide = _lines(guide_path.read_text())
    for name, snippet in SNIPPETS.items():
        lines = _lines(snippet)
        found = any(guide[i : i + len(lines)] == lines for i in range(len(guide)))
        assert found, f"{name} is not a code block of the user guide, verbatim"


@pytest.fixture()
def guide_env(
    veil_server: ServerThread,
    user: TestUser,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Path]:
    """The reader's environment: the server's address and their key in the environment, the
    guide's ``fixtures/`` beside the working directory, no browser to open."""
    monkeypatch.setenv("VEIL_URL", veil_server.url)
    monkeypatch.setenv("AVATAR_API_KEY", user.api_key)
    monkeypatch.setenv("BROWSER", "true")
    show_figures_inline(monkeypatch)
    with octopize_workdir(tmp_path) as workdir:
        yield workdir


def _manager(user: TestUser, server: ServerThread) -> Manager:
    return Manager(base_url=server.url, api_key=user.api_key)


def _ran_wbcd(manager: Manager, name: str, jobs: list[JobKind]) -> Runner:
    runner = manager.create_runner(name)
    runner.add_table("wbcd", "fixtures/wbcd.csv")
    runner.set_parameters("wbcd", k=15)
    runner.run(jobs_to_run=jobs)
    return runner


def test_reset_password_by_email(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, mailbox = shared_mail_server(request, tmp_path_factory)
    person = create_user(server, "user", password=PASSWORD)
    with server.app.db.begin() as conn:  # the guide's address is the reader's own
        from veil_service.storage import schema

        conn.execute(
            schema.users.update()
            .where(schema.users.c.id == person.id)
            .values(email="yourmail@mail.com")
        )
    monkeypatch.setenv("VEIL_URL", server.url)
    before = len(mailbox.to("yourmail@mail.com"))
    run(GUIDE_FORGOTTEN_PASSWORD)
    token = token_in(mailbox.wait_for("yourmail@mail.com", before + 1)[-1])
    run(
        GUIDE_RESET_PASSWORD,
        # Veil refuses weak passwords: the guide's placeholder password becomes a strong one.
        placeholders={"token-received-by-mail": token, '"new_password"': '"Brand-new-Passw0rd"'},
    )
    manager = Manager(base_url=server.url)
    with pytest.deprecated_call():
        manager.authenticate(person.username, "Brand-new-Passw0rd")
    assert manager.whoami()["user"]["email"] == "yourmail@mail.com"
    assert isinstance(mailbox, Mailbox)


def test_password_login_then_an_api_key(
    veil_server: ServerThread, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    person = create_user(veil_server, "user", password=PASSWORD)
    monkeypatch.setenv("VEIL_URL", veil_server.url)
    monkeypatch.setenv("AVATAR_USERNAME", person.username)
    monkeypatch.setenv("AVATAR_PASSWORD", PASSWORD)
    with pytest.deprecated_call(match="API key"):
        session = run(GUIDE_AUTHENTICATE)["manager"]
    assert session.whoami()["credential_kind"] == "session"

    with pytest.deprecated_call():
        namespace = run(GUIDE_CREATE_KEY_STEP_1)
    run(GUIDE_CREATE_KEY_STEP_2, namespace)
    plaintext = capsys.readouterr().out.strip().splitlines()[-1]
    assert plaintext == namespace["api_key_response"]["api_key"]["plaintext"]

    monkeypatch.setenv("AVATAR_API_KEY", plaintext)
    for snippet in (GUIDE_API_KEY, GUIDE_CREATE_KEY_STEP_4):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no deprecation with a key
            keyed = run(snippet)["manager"]
        identity = keyed.whoami()
        assert identity["credential_kind"] == "api_key"
        assert identity["user"]["id"] == person.id


def test_first_avatarization_status_and_asynchronous_results(
    guide_env: Path, veil_server: ServerThread, user: TestUser, capsys: pytest.CaptureFixture[str]
) -> None:
    namespace = {"manager": _manager(user, veil_server), "JobKind": JobKind}
    run(GUIDE_FIRST_AVATARIZATION, namespace)
    runner = namespace["runner"]
    assert runner.shuffled("wbcd").shape == (683, 10)
    runner.get_all_results()  # waits for every job
    assert runner.statuses() == {
        "standard": JobStatus.finished,
        "signal_metrics": JobStatus.finished,
        "privacy_metrics": JobStatus.finished,
        "report": JobStatus.finished,
        "report_pia": JobStatus.finished,
    }

    run(GUIDE_JOB_STATUS, namespace)
    assert capsys.readouterr().out.splitlines()[0] == "finished"

    with pytest.warns(UserWarning, match="already has results"):  # the same runner, again
        run(GUIDE_ASYNCHRONOUS_CALLS, namespace)
    results = namespace["finished_job"]
    assert namespace["job"] is None
    assert results.shuffled["wbcd"].shape == (683, 10)
    assert results.privacy_metrics["wbcd"][0]["hidden_rate"] > 0

    run(GUIDE_LAST_JOBS, namespace)
    last = namespace["manager"].get_last_jobs(count=10)
    assert len(last) == 7  # four jobs, then three
    run(GUIDE_LAST_RESULTS, namespace)
    assert len(namespace["manager"].get_last_results(count=10)) == 7


def test_reload_by_name_by_id_and_versions(
    guide_env: Path, veil_server: ServerThread, user: TestUser, capsys: pytest.CaptureFixture[str]
) -> None:
    manager = _manager(user, veil_server)
    versions = [_ran_wbcd(manager, "runner_name", [JobKind.standard]).set_name for _ in range(5)]
    newest = _ran_wbcd(manager, "runner_name", [JobKind.standard, JobKind.privacy_metrics])
    namespace: dict[str, Any] = {"manager": manager}

    run(GUIDE_RELOAD_BY_NAME, namespace)
    assert namespace["runner"].set_name == newest.set_name
    assert namespace["df"].shape == (683, 10)
    assert namespace["metrics"][0]["hidden_rate"] > 0

    run(
        GUIDE_RELOAD_BY_ID,
        namespace,
        placeholders={"550e8400-e29b-41d4-a716-446655440000": versions[2]},
    )
    assert namespace["runner"].set_name == versions[2]

    run(GUIDE_FIND_IDS_BY_NAME, namespace)
    printed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in printed] == [newest.set_name, *reversed(versions)]
    assert namespace["runner"].set_name == versions[0]  # results[5]: the sixth newest
    pd.testing.assert_frame_equal(
        namespace["df"], manager.create_runner_from_id(versions[0]).shuffled("wbcd")
    )


def test_rerun_delete_and_delete_by_name(
    guide_env: Path, veil_server: ServerThread, user: TestUser
) -> None:
    manager = _manager(user, veil_server)
    first = _ran_wbcd(manager, "my_dataset", [JobKind.standard])
    namespace: dict[str, Any] = {"manager": manager, "JobKind": JobKind}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # ignore_warnings=True: nothing to warn about
        run(GUIDE_RERUN, namespace)
    runner = namespace["runner"]
    assert runner.set_name != first.set_name
    runner.get_all_results()
    assert runner.get_status(JobKind.report) == JobStatus.finished

    with pytest.warns(UserWarning, match="already has results"):  # the guide's runner.run()
        run(GUIDE_DELETE_FROM_RUNNER, namespace)
    assert runner.jobs == {}

    # The reloaded runner reran as "my_dataset-v1" (Octopize's naming), leaving one run of the
    # name; a second one makes delete_job("my_dataset") ambiguous.
    assert runner.display_name == "my_dataset-v1"
    assert [run_id for run_id, _ in manager.find_ids_by_name("my_dataset")] == [first.set_name]
    _ran_wbcd(manager, "my_dataset", [JobKind.standard])
    with pytest.raises(ValueError, match=r"several runs are named 'my_dataset'"):
        run(GUIDE_DELETE_BY_NAME, namespace)
    for run_id, _ in manager.find_ids_by_name("my_dataset")[1:]:
        manager.delete_job_by_id(run_id)
    run(GUIDE_DELETE_BY_NAME, namespace)
    assert manager.find_ids_by_name("my_dataset") == []


def test_launch_from_the_web_yaml(
    guide_env: Path, veil_server: ServerThread, user: TestUser
) -> None:
    import secrets

    namespace = {"manager": _manager(user, veil_server), "secrets": secrets}
    run(GUIDE_FROM_YAML, namespace)
    runner = namespace["runner"]
    assert runner.shuffled("iris").shape == (150, 5)
    runner.get_all_results()
    assert runner.get_status(JobKind.report) == JobStatus.finished


def test_change_variable_types(guide_env: Path, veil_server: ServerThread, user: TestUser) -> None:
    manager = _manager(user, veil_server)
    for snippet in (GUIDE_TYPES, GUIDE_TYPES_WITH_PANDAS):
        runner = manager.create_runner("types")
        namespace = {"runner": runner, "pd": pd}
        run(snippet, namespace)
        assert runner.config.tables["wbcd"].types["Clump_Thickness"] == "category"
        runner.set_parameters("wbcd", k=15)
        runner.run(jobs_to_run=[JobKind.standard])
        original = pd.read_csv("fixtures/wbcd.csv")
        avatars = runner.shuffled("wbcd")
        assert set(avatars["Clump_Thickness"].astype(int)) <= set(original["Clump_Thickness"])


def test_differential_privacy_avatarization(
    guide_env: Path, veil_server: ServerThread, user: TestUser
) -> None:
    runner = _manager(user, veil_server).create_runner("dp")
    runner.add_table("wbcd", "fixtures/wbcd.csv")
    run(GUIDE_DIFFERENTIAL_PRIVACY, {"runner": runner})
    assert runner.config.tables["wbcd"].avatarization == {"open_dp_epsilon": 10.0}
    runner.run(jobs_to_run=[JobKind.standard])
    avatars = runner.shuffled("wbcd")
    assert list(avatars.columns) == list(pd.read_csv("fixtures/wbcd.csv").columns)
    loss = runner.privacy_loss("wbcd")
    assert loss is not None and loss.end_to_end and loss.epsilon <= 10.0 + 1e-9


def test_metrics_only_and_plots(guide_env: Path, veil_server: ServerThread, user: TestUser) -> None:
    import secrets

    from veil_client.constants import PlotKind

    namespace = {
        "manager": _manager(user, veil_server),
        "secrets": secrets,
        "JobKind": JobKind,
        "PlotKind": PlotKind,
    }
    run(GUIDE_METRICS_ONLY, namespace)
    runner = namespace["runner"]
    # iris_avatarized.csv is iris.csv: nothing is hidden, distributions match exactly.
    assert runner.privacy_metrics("iris")[0]["hidden_rate"] < 10
    assert runner.signal_metrics("iris")[0]["hellinger_mean"] < 1e-6
    run(GUIDE_RENDER_PLOT, namespace)
    assert list(Path.cwd().glob("*.html")) == []  # shown inline, as Octopize's: no file
    run(GUIDE_RENDER_PLOT_IN_BROWSER, namespace)
    written = sorted(Path.cwd().glob("iris_3d_projection_*.html"))
    assert written and "<" in written[0].read_text()


def test_pia_report_and_language(
    guide_env: Path, veil_server: ServerThread, user: TestUser
) -> None:
    namespace: dict[str, Any] = {"manager": _manager(user, veil_server)}
    run(GUIDE_PIA_RUNNER, namespace)
    runner = namespace["runner"]
    runner.add_table("wbcd", "fixtures/wbcd.csv")
    runner.set_parameters("wbcd", k=15)
    runner.run()
    run(GUIDE_PIA_DOWNLOAD, namespace)
    assert Path("pia_report.docx").read_bytes().startswith(b"PK")
    assert runner.config.pia == {
        "sensitivity_level": "High",
        "data_type": "health",
        "data_subject": "patients",
        "data_recipient": "opendata",
    }

    run(GUIDE_REPORT_LANGUAGE, namespace, placeholders={"Manager(...)": "Manager()"})
    runner = namespace["runner"]
    assert runner.display_name == "my_job" and runner.config.report_language == "fr"
