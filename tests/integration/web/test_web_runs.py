"""The runs pages over a real server: search and paging, a bad upload that stores nothing, a run
launched from a YAML file and its table, and a job cancelled from its run's page."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
from support import ServerThread, assert_eventually, create_user
from veil_client import Manager
from veil_client.models import JobKind
from veil_service.runs.config import RunConfig
from web_support import WebSession

RUN_ROWS = re.compile(r'<td><a href="/runs/([0-9a-f-]{36})">')


def _table(tmp_path: Path, rows: int = 200) -> Path:
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(rng.normal(size=(rows, 5)), columns=list("abcde"))
    frame["group"] = rng.choice(["x", "y", "z"], size=rows)
    path = tmp_path / "patients.csv"
    frame.to_csv(path, index=False)
    return path


def _new_run(
    session: WebSession, display_name: str, filename: str, data: bytes, media: str = "text/csv"
) -> httpx.Response:
    """Upload a table from the new-run form (after opening it, as a browser does)."""
    session.get("/runs/new")
    return session.post(
        "/runs/new", {"display_name": display_name}, files={"file": (filename, data, media)}
    )


def _run_ids(html: str) -> list[str]:
    return RUN_ROWS.findall(html)


def test_the_runs_list_searches_by_name_and_pages_by_twenty(
    veil_server: ServerThread, web: Callable[..., WebSession]
) -> None:
    owner = create_user(veil_server)
    assert veil_server.server.web is not None
    runs = veil_server.server.web.context.runs
    for i in range(23):
        runs.create_run(owner.id, f"cohort-{i:02d}", RunConfig())
    runs.create_run(owner.id, "registry extract", RunConfig())
    session = web(owner)

    first = session.get("/runs?q=cohort")
    assert first.status_code == 200
    assert len(_run_ids(first.text)) == 20
    assert 'href="/runs?q=cohort&amp;page=2"' in first.text
    second = session.get("/runs?q=cohort&page=2")
    assert len(_run_ids(second.text)) == 3
    assert set(_run_ids(first.text)).isdisjoint(_run_ids(second.text))
    only = session.get("/runs?q=registry")
    assert len(_run_ids(only.text)) == 1 and "registry extract" in only.text
    assert len(_run_ids(session.get("/runs?q=nothing-like-this").text)) == 0
    # Another user's search never reaches these runs.
    assert _run_ids(web(create_user(veil_server)).get("/runs?q=cohort").text) == []


def test_a_file_that_is_not_a_table_is_refused_and_stores_nothing(
    veil_server: ServerThread, web: Callable[..., WebSession], tmp_path: Path
) -> None:
    owner = create_user(veil_server)
    session = web(owner)
    refused = _new_run(
        session, "spreadsheet", "cohort.xlsx", b"PK\x03\x04 not a csv", "application/octet-stream"
    )
    assert refused.status_code == 400
    assert "neither CSV nor Parquet" in refused.text and 'role="alert"' in refused.text
    assert 'value="spreadsheet"' in refused.text  # the form keeps what was typed
    broken = session.post(
        "/runs/new",
        {"display_name": "broken"},
        files={"file": ("cohort.csv", b"a,b\n1,2\n3,4,5,6\n", "text/csv")},
    )
    assert broken.status_code == 400 and "cohort.csv" in broken.text
    manager = Manager(base_url=veil_server.url, api_key=owner.api_key)
    assert manager.find_ids_by_name("spreadsheet") == []
    assert manager.find_ids_by_name("broken") == []


def test_a_yaml_file_and_its_table_launch_the_same_run(
    veil_server: ServerThread, web: Callable[..., WebSession], tmp_path: Path
) -> None:
    owner = create_user(veil_server)
    table = _table(tmp_path)
    manager = Manager(base_url=veil_server.url, api_key=owner.api_key)
    runner = manager.create_runner("configured in python")
    runner.add_table("patients", str(table))
    runner.set_parameters("patients", k=7, ncp=2)
    yaml_path = tmp_path / "run.yaml"
    runner.get_yaml(str(yaml_path))

    session = web(owner)
    session.get("/runs/new")
    launched = session.post(
        "/runs/yaml",
        {"yaml_display_name": "launched from the web"},
        files=[
            ("yaml", ("run.yaml", yaml_path.read_bytes(), "application/yaml")),
            ("data", ("patients.csv", table.read_bytes(), "text/csv")),
        ],
    )
    assert launched.status_code == 303, launched.text
    run_id = launched.headers["location"].split("/runs/")[1].split("?")[0].split("#")[0]
    page = session.get(f"/runs/{run_id}")
    assert page.status_code == 200 and "launched from the web" in page.text
    assert re.search(r"<dt>k \(neighbours\)</dt><dd>7</dd>", page.text)
    assert re.search(r"<dt>Dimensions \(ncp\)</dt><dd>2</dd>", page.text)

    launched_runner = manager.create_runner_from_id(run_id)
    assert_eventually(lambda: launched_runner.get_status(JobKind.standard) == "finished", 180)
    assert len(launched_runner.shuffled("patients")) == 200


def test_a_yaml_without_its_table_is_refused_and_leaves_no_run(
    veil_server: ServerThread, web: Callable[..., WebSession], tmp_path: Path
) -> None:
    owner = create_user(veil_server)
    table = _table(tmp_path)
    runner = Manager(base_url=veil_server.url, api_key=owner.api_key).create_runner("source")
    runner.add_table("patients", str(table))
    runner.set_parameters("patients", k=7)
    yaml_path = tmp_path / "run.yaml"
    runner.get_yaml(str(yaml_path))
    session = web(owner)
    session.get("/runs/new")
    refused = session.post(
        "/runs/yaml",
        {"yaml_display_name": "missing table"},
        files=[
            ("yaml", ("run.yaml", yaml_path.read_bytes(), "application/yaml")),
            ("data", ("other.csv", b"a,b\n1,2\n", "text/csv")),
            ("data", ("third.csv", b"a,b\n1,2\n", "text/csv")),
        ],
    )
    assert refused.status_code == 400
    assert "upload patients.csv" in refused.text
    assert (
        Manager(base_url=veil_server.url, api_key=owner.api_key).find_ids_by_name("missing table")
        == []
    )


def test_a_waiting_job_is_cancelled_from_its_run_page(
    veil_server: ServerThread, web: Callable[..., WebSession], tmp_path: Path
) -> None:
    owner = create_user(veil_server)
    runner = Manager(base_url=veil_server.url, api_key=owner.api_key).create_runner("to cancel")
    runner.add_table("patients", str(_table(tmp_path, rows=3000)))
    runner.set_parameters("patients", k=7)
    runner.run(jobs_to_run=[JobKind.standard, JobKind.privacy_metrics])
    run_id = runner.set_name
    session = web(owner)
    page = session.get(f"/runs/{run_id}")
    job_ids = dict(re.findall(r'data-job="([0-9a-f-]{36})" data-status="(\w+)"', page.text))
    privacy = next(
        job.id for job in runner.api.list_jobs(run_id=run_id, kinds=[JobKind.privacy_metrics]).items
    )
    assert privacy in job_ids and f'action="/jobs/{privacy}/cancel"' in page.text

    cancelled = session.post(f"/jobs/{privacy}/cancel")
    assert cancelled.status_code == 303
    assert cancelled.headers["location"] == f"/runs/{run_id}#jobs"
    after = session.get(f"/runs/{run_id}").text
    assert f'data-job="{privacy}" data-status="cancelled"' in after
    assert f'action="/jobs/{privacy}/cancel"' not in after
    # Another user can neither see nor cancel it.
    stranger = web(create_user(veil_server))
    stranger.get("/runs")
    assert stranger.post(f"/jobs/{privacy}/cancel").status_code == 404


def test_a_parquet_upload_gets_advice_on_its_setup_page(
    veil_server: ServerThread, web: Callable[..., WebSession], tmp_path: Path
) -> None:
    owner = create_user(veil_server)
    parquet = tmp_path / "visits.parquet"
    pd.read_csv(_table(tmp_path)).to_parquet(parquet)
    session = web(owner)
    created = _new_run(
        session, "from parquet", "visits.parquet", parquet.read_bytes(), "application/octet-stream"
    )
    assert created.status_code == 303, created.text
    setup = session.get(created.headers["location"])
    assert setup.status_code == 200
    assert "Table visits (200 rows, 6 columns)" in setup.text
    assert re.search(r'id="visits\.k"[^>]* value="\d+"', setup.text)  # filled by the advice


def test_privacy_targets_and_knobs_are_checked_by_the_domain_naming_the_field(
    veil_server: ServerThread, web: Callable[..., WebSession], tmp_path: Path
) -> None:
    owner = create_user(veil_server)
    session = web(owner)
    created = _new_run(session, "targets", "patients.csv", _table(tmp_path).read_bytes())
    run_path = created.headers["location"].removesuffix("/setup")
    setup = session.get(created.headers["location"]).text
    # The targets form starts at issue 21's defaults, the risks in % as the run page shows them.
    assert re.search(r'id="patients\.target\.singling_out"[^>]* value="10\.0"', setup)
    # The utility target is a score lost (not a %), checked with a column to predict.
    assert re.search(r'id="patients\.target\.utility_loss"[^>]* value="0\.03"', setup)
    assert "Utility loss, maximum (score lost, with a column to predict)" in setup
    assert 'form="advise-1"' in setup and 'action="' + run_path + '/advise"' in setup
    refused = session.post(
        f"{run_path}/advise", {"table": "patients", "patients.target.inference": "200"}
    )
    assert refused.status_code == 400
    assert "privacy_targets.inference must be between 0.0 and 1.0" in refused.text
    assert "divided by 100" in refused.text
    assert re.search(r'id="patients\.target\.inference"[^>]* value="200"', refused.text)
    lossy = session.post(
        f"{run_path}/advise", {"table": "patients", "patients.target.utility_loss": "3"}
    )
    assert lossy.status_code == 400
    assert "privacy_targets.utility_loss must be between 0.0 and 1.0" in lossy.text
    assert "divided by 100" not in lossy.text
    wrong_column = session.post(
        f"{run_path}/advise", {"table": "patients", "patients.utility_target": "salary"}
    )
    assert wrong_column.status_code == 400 and "salary" in wrong_column.text
    # A knob out of range is refused by the domain's check, and nothing starts.
    bad_weight = session.post(
        f"{run_path}/start",
        {"patients.k": "20", "patients.max_weight": "0.01", "job.standard": "on"},
    )
    error = re.search(r'id="form-error">([^<]*)<', bad_weight.text)
    assert bad_weight.status_code == 400 and error is not None
    assert "avatarization.max_weight: must be a number between 1/k" in error.group(1)
    # Coupled noise is a checkbox (off unless the advice chose it); with the noise off it is
    # refused naming the field, and nothing starts.
    assert re.search(r'id="patients\.coupled_noise"[^>]* type="checkbox" aria', setup)
    bad_coupling = session.post(
        f"{run_path}/start",
        {
            "patients.k": "20",
            "patients.local_noise": "0",
            "patients.coupled_noise": "on",
            "job.standard": "on",
        },
    )
    error = re.search(r'id="form-error">([^<]*)<', bad_coupling.text)
    assert bad_coupling.status_code == 400 and error is not None
    assert "avatarization.coupled_noise: shapes the local noise" in error.group(1)
    # The named target column is one of the table's columns; another name is refused.
    assert re.search(r'<select id="patients\.target_column"', setup)
    bad_target = session.post(
        f"{run_path}/start",
        {"patients.k": "20", "patients.target_column": "salary", "job.standard": "on"},
    )
    error = re.search(r'id="form-error">([^<]*)<', bad_target.text)
    assert bad_target.status_code == 400 and error is not None
    assert "avatarization.target_column: names column" in error.group(1)
    manager = Manager(base_url=veil_server.url, api_key=owner.api_key)
    assert manager.get_jobs_by_id(run_path.rsplit("/", 1)[1]) == []
    stranger = web(create_user(veil_server))
    stranger.get("/runs")
    assert stranger.post(f"{run_path}/advise", {"table": "patients"}).status_code == 404


def test_column_types_are_declared_from_the_browser_and_the_advice_counts_them(
    veil_server: ServerThread, web: Callable[..., WebSession], tmp_path: Path
) -> None:
    owner = create_user(veil_server)
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    frame["stage"] = rng.integers(1, 5, 300)  # a code stored as a number
    path = tmp_path / "cohort.csv"
    frame.to_csv(path, index=False)
    session = web(owner)
    created = _new_run(session, "types", "cohort.csv", path.read_bytes())
    run_path = created.headers["location"].removesuffix("/setup")
    run_id = run_path.rsplit("/", 1)[1]
    setup = session.get(created.headers["location"]).text
    assert re.search(
        r'<select id="cohort\.type\.stage" name="cohort\.type\.stage" form="types-1"', setup
    )
    assert 'action="' + run_path + '/types"' in setup
    # Read as a number, the code is no modality in the advice's notes.
    assert "0 modalities in total" in setup
    saved = session.post(f"{run_path}/types", {"table": "cohort", "cohort.type.stage": "category"})
    assert saved.status_code == 303 and saved.headers["location"].endswith("/setup#types-cohort")
    assert veil_server.server.web is not None
    runs = veil_server.server.web.context.runs
    table = runs.get_run(owner.id, run_id).config.find("cohort")
    assert table is not None and table.column_types == {"stage": "category"}
    again = session.get(saved.headers["location"].split("#")[0]).text
    assert re.search(r'<option value="category" selected>', again)
    # The advice now counts the code's four modalities.
    assert "4 modalities in total" in again
    # A kind avatar_yaml does not have is refused naming the field; nothing is saved.
    refused = session.post(f"{run_path}/types", {"table": "cohort", "cohort.type.stage": "text"})
    error = re.search(r'id="form-error">([^<]*)<', refused.text)
    assert refused.status_code == 400 and error is not None
    assert "types[stage]" in error.group(1)
    table = runs.get_run(owner.id, run_id).config.find("cohort")
    assert table is not None and table.column_types == {"stage": "category"}
    # Another user cannot touch the run's types.
    stranger = web(create_user(veil_server))
    stranger.get("/runs")
    assert stranger.post(f"{run_path}/types", {"table": "cohort"}).status_code == 404


def test_declaring_types_keeps_the_parameters_already_saved(
    veil_server: ServerThread, web: Callable[..., WebSession], tmp_path: Path
) -> None:
    owner = create_user(veil_server)
    session = web(owner)
    created = _new_run(session, "saved", "patients.csv", _table(tmp_path).read_bytes())
    run_path = created.headers["location"].removesuffix("/setup")
    run_id = run_path.rsplit("/", 1)[1]
    assert veil_server.server.web is not None
    runs = veil_server.server.web.context.runs
    config = runs.get_run(owner.id, run_id).config
    config.table("patients").avatarization = {"k": 7, "ncp": 3}
    runs.set_config(owner.id, run_id, config)
    saved = session.post(
        f"{run_path}/types", {"table": "patients", "patients.type.group": "category"}
    )
    assert saved.status_code == 303
    table = runs.get_run(owner.id, run_id).config.find("patients")
    assert table is not None and table.column_types == {"group": "category"}
    assert table.avatarization == {"k": 7, "ncp": 3}
    page = session.get(saved.headers["location"].split("#")[0]).text
    assert re.search(r'id="patients\.k"[^>]* value="7"', page)
