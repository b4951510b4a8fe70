"""The web application's browser defences: CSRF, cross-site posts, headers, sandboxed figures,
and the access rules of the gRPC API applied to every page."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from support import FIXTURES, ServerThread, TestUser, create_user
from veil_client import Manager
from veil_client.models import JobKind
from web_support import WebSession


@dataclass(frozen=True)
class FinishedRun:
    """A run of another user, with its avatarization finished."""

    owner: TestUser
    server_url: str
    run_id: str
    result_ids: dict[str, str]


@pytest.fixture(scope="module")
def finished_run(veil_server: ServerThread) -> FinishedRun:
    owner = create_user(veil_server)
    runner = Manager(base_url=veil_server.url, api_key=owner.api_key).create_runner("web_sec")
    runner.add_table("wbcd", FIXTURES / "tables" / "wbcd.csv")
    runner.set_parameters("wbcd", k=15)
    runner.run(jobs_to_run=[JobKind.standard])
    runner.shuffled("wbcd")  # waits for the job
    results = runner.api.list_results(run_id=runner.set_name)
    ids = {f"{r.kind}:{r.subkind}": r.id for r in results}
    return FinishedRun(owner, veil_server.url, runner.set_name, ids)


def test_every_page_sends_a_strict_content_security_policy(
    user: TestUser, web: Callable[..., WebSession]
) -> None:
    session = web(user)
    for path in ("/login", "/runs", "/runs/new", "/account", "/static/veil.css"):
        headers = session.get(path).headers
        policy = headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src 'self'" in policy
        assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"


def test_pages_load_nothing_from_elsewhere(user: TestUser, web: Callable[..., WebSession]) -> None:
    session = web(user)
    for path in ("/login", "/runs", "/runs/new", "/account"):
        text = session.get(path).text
        assert re.findall(r'(?:src|href|action)="(?!/[^/])[^"#?]', text) == [], path


def test_a_post_without_the_csrf_token_changes_nothing(
    veil_server: ServerThread, user: TestUser, web: Callable[..., WebSession]
) -> None:
    session = web(user)
    session.get("/account")
    refused = session.post("/account/keys", {"name": "sneaky", "expiration_days": "30"}, csrf="")
    assert refused.status_code == 403
    forged = session.post(
        "/account/keys", {"name": "sneaky", "expiration_days": "30"}, csrf="0" * 64
    )
    assert forged.status_code == 403
    assert "sneaky" not in session.get("/account").text


def test_a_cross_site_post_is_refused_even_with_the_token(
    user: TestUser, web: Callable[..., WebSession]
) -> None:
    session = web(user)
    session.get("/account")
    for headers in ({"origin": "https://evil.example"}, {"sec-fetch-site": "cross-site"}):
        response = session.post(
            "/account/keys", {"name": "cross", "expiration_days": "30"}, headers=headers
        )
        assert response.status_code == 403
    assert "cross" not in session.get("/account").text


def test_the_login_form_needs_its_pre_login_token(
    user: TestUser, web: Callable[..., WebSession]
) -> None:
    session = web()
    session.get("/login")
    response = session.post(
        "/login", {"method": "api_key", "api_key": user.api_key, "next": "/runs"}, csrf="x"
    )
    assert response.status_code == 403


def test_another_users_run_is_404_on_every_page(
    finished_run: FinishedRun, user: TestUser, web: Callable[..., WebSession]
) -> None:
    session = web(user)
    run = finished_run.run_id
    shuffled = finished_run.result_ids["shuffled:"]
    figure = next(v for k, v in finished_run.result_ids.items() if k.startswith("figures:"))
    for path in (
        f"/runs/{run}",
        f"/runs/{run}/setup",
        f"/runs/{run}/yaml",
        f"/runs/{run}/events",
        f"/results/{shuffled}",
        f"/results/{shuffled}?format=csv",
        f"/runs/{run}/figures/{figure}",
        f"/runs/{run}/figures/{figure}/document",
    ):
        response = session.get(path)
        assert response.status_code == 404, path
        assert finished_run.owner.username not in response.text
    owner = web(finished_run.owner)
    assert owner.get(f"/runs/{run}").status_code == 200


def test_figures_are_sandboxed_documents(
    finished_run: FinishedRun, web: Callable[..., WebSession]
) -> None:
    session = web(finished_run.owner)
    key = next(k for k in finished_run.result_ids if k.startswith("figures:3d_projection"))
    path = f"/runs/{finished_run.run_id}/figures/{finished_run.result_ids[key]}"
    document = session.get(path + "/document")
    assert document.status_code == 200 and "<canvas" in document.text
    # The very bytes the Python client renders (Runner.render_plot fetches the same result).
    api = Manager(base_url=finished_run.server_url, api_key=finished_run.owner.api_key).runs_api
    _, client_bytes = api.download_result(finished_run.result_ids[key])
    assert document.content == client_bytes
    policy = document.headers["content-security-policy"]
    assert "sandbox allow-scripts" in policy and "allow-same-origin" not in policy
    assert "default-src 'none'" in policy and "frame-ancestors 'self'" in policy
    frame_page = session.get(path).text
    assert 'sandbox="allow-scripts"' in frame_page


def test_a_distribution_figure_page_names_its_column(
    finished_run: FinishedRun, web: Callable[..., WebSession]
) -> None:
    session = web(finished_run.owner)
    run_page = session.get(f"/runs/{finished_run.run_id}").text
    link = re.search(
        rf'<a href="(/runs/{finished_run.run_id}/figures/[0-9a-f-]+)">Distribution of (\w+)</a>',
        run_page,
    )
    assert link is not None
    page = session.get(link.group(1)).text
    # The title, heading and frame name the column, as the link did (one figure per column).
    column = link.group(2)
    assert f"<title>Distribution of {column} · Veil</title>" in page
    assert re.search(rf"<h1>Distribution of {column} <span", page)
    assert f'title="Distribution of {column}"' in page


def test_the_avatars_download_as_csv_and_arrow(
    finished_run: FinishedRun, web: Callable[..., WebSession]
) -> None:
    session = web(finished_run.owner)
    shuffled = finished_run.result_ids["shuffled:"]
    csv = session.get(f"/results/{shuffled}?format=csv")
    assert csv.status_code == 200
    assert csv.headers["content-disposition"] == 'attachment; filename="wbcd.shuffled.csv"'
    lines = csv.text.strip().splitlines()
    assert len(lines) == 684 and lines[0].startswith('"Clump_Thickness"')
    arrow = session.get(f"/results/{shuffled}")
    assert arrow.content[:4] == b"\xff\xff\xff\xff"  # an Arrow IPC stream's first message
