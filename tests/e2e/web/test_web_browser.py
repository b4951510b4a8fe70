"""The web application in a real browser (Debian's Chromium driven by Playwright).

A data protection officer's path: sign in with the keyboard, upload WBCD, take the advice and
search parameters meeting privacy targets, run k=15, watch the jobs finish without reloading,
read the hidden rate against its target, download the report and the YAML, and the YAML runs
unchanged with the Python client. Then what others see: an analyst only their datasets and
budgets; a user no admin page and a 404 on another user's run. Every page is screenshotted
(desktop, and phone for the main ones) and checked for unlabelled fields.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from dp_support import grant, manager, register
from playwright.sync_api import Browser, Page
from support import FIXTURES, ServerThread, TestUser, create_user
from veil_client import Manager
from web_browser import DESKTOP, INSECURE_HOST, Shots

SEED = 42
RUNS_LIST = re.compile(r"/runs$")


def _metric(page: Page, key: str) -> float:
    text = page.inner_text(f"tr[data-metric={key}] td[data-value]")
    return float(text.replace("\u202f", "").replace(",", "."))


def _tab_to(page: Page, text: str, presses: int = 40) -> None:
    """Press Tab until the focused element reads ``text``; its focus must be visible."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == text:
            style = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
            assert style not in ("", "none"), f"{text!r} has focus but shows no outline"
            return
    raise AssertionError(f"{presses} presses of Tab never reached {text!r}")


def test_a_user_anonymizes_wbcd_and_reruns_its_yaml_with_the_client(
    veil_server: ServerThread,
    signed_in: Callable[[TestUser], Page],
    user: TestUser,
    shots: Shots,
    tmp_path: Path,
) -> None:
    wbcd = FIXTURES / "tables" / "wbcd.csv"
    page = signed_in(user)  # warms the context; this test signs in again with the keyboard
    page.context.clear_cookies()
    page.goto("/runs")
    page.wait_for_url("**/login?next=/runs")
    shots.take(page, "login")
    shots.phone(page, "login")
    # Keyboard only: the skip link comes first, then the fields in order; Enter submits.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    for _ in range(10):
        if page.evaluate("document.activeElement.id") == "api_key":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "api_key"
    page.keyboard.type(user.api_key)
    with page.expect_navigation(url=RUNS_LIST):
        page.keyboard.press("Enter")
    shots.take(page, "runs_empty")

    with page.expect_navigation(url=re.compile(r"/runs/new$")):
        _tab_to(page, "New run")
        page.keyboard.press("Enter")
    shots.take(page, "new_run")
    shots.phone(page, "new_run")
    page.set_input_files("#file", str(wbcd))
    page.fill("#display_name", "wbcd from the web")
    page.click("#upload-h ~ form button[type=submit]")
    page.wait_for_url("**/setup")
    assert "Advice:" in page.inner_text("main")
    shots.take(page, "setup_with_advice")
    # Privacy-targeted advice, from the same domain call as AdviseParameters with targets.
    page.click("details.targets > summary")
    assert page.input_value("[id='wbcd.target.singling_out']") == "10.0"  # % on the form
    page.fill("[id='wbcd.target.hidden_rate']", "85")
    # The engine tries 12 parameter sets on 3 splits of the sample: ~11 s of CPU on WBCD.
    with page.expect_navigation(url=re.compile(r"/advise$"), timeout=180_000):
        page.click("details.targets button", timeout=180_000)
    search = page.locator("section.privacy-search")
    assert search.get_attribute("data-targets-met") == "true"
    chosen = page.locator("table.trials tr.chosen td").first.text_content()
    assert page.input_value("[id='wbcd.k']") == chosen  # the chosen set is filled in
    assert page.input_value("[id='wbcd.target.hidden_rate']") == "85"
    assert page.is_visible("figure.curve img")
    shots.take(page, "setup_privacy_advice")
    shots.phone(page, "setup_privacy_advice")
    page.fill("[id='wbcd.k']", "15")
    page.fill("[id='wbcd.max_weight']", "")  # 2/k of the new k
    page.fill("[id='wbcd.local_noise']", "1")
    page.check("[id='wbcd.coupled_noise']")  # the coupled_noise knob is a checkbox
    page.fill("#seed", str(SEED))
    page.click("form.setup > button[type=submit]")
    page.wait_for_url(re.compile(r".*/runs/[0-9a-f-]{36}#jobs$"))
    run_id = page.url.split("/runs/")[1].split("#")[0]
    page.evaluate("window.stayedOnThisPage = true")
    shots.take(page, "run_started")

    # Server push: the rows change in place (no reload) until every job has finished.
    page.wait_for_function(
        "() => [...document.querySelectorAll('tr[data-job]')].every("
        "r => r.getAttribute('data-status') === 'finished')",
        timeout=240_000,
    )
    assert page.evaluate("window.stayedOnThisPage") is True
    progress = page.eval_on_selector_all(
        "progress[data-field=progress]", "bars => bars.map(bar => bar.value)"
    )
    assert progress == [1, 1, 1, 1]
    page.wait_for_selector("#live-note:not([hidden])")
    assert page.inner_text("#run-status") == "finished"  # the run's badge follows its jobs
    shots.take(page, "run_finished_live")
    page.click("#live-note a")
    page.wait_for_selector("tr[data-metric=hidden_rate]")

    hidden_rate = _metric(page, "hidden_rate")
    runner = Manager(base_url=veil_server.url, api_key=user.api_key).create_runner_from_id(run_id)
    used = runner.config.tables["wbcd"].avatarization
    assert used is not None and used["k"] == 15 and used["coupled_noise"] is True
    expected = runner.privacy_metrics("wbcd")[0]["hidden_rate"]
    assert hidden_rate == round(expected, 2)
    row = page.inner_text("tr[data-metric=hidden_rate]")
    assert ("meets target" if expected > 90 else "misses target") in row and "> 90" in row
    verdict = r"\d+ of \d+ metrics miss their target|All \d+ metrics"
    assert re.search(verdict, page.inner_text("main"))
    shots.take(page, "run_results")
    shots.phone(page, "run_results")

    with page.expect_download() as report:
        page.click("text=Technical report (PDF)")
    report_path = tmp_path / "report.pdf"
    report.value.save_as(report_path)
    assert report_path.read_bytes()[:5] == b"%PDF-"
    with page.expect_download() as pia:
        page.click("text=Privacy impact assessment (DOCX)")
    assert pia.value.suggested_filename.endswith(".docx")
    with page.expect_download() as avatars:
        page.click("text=Avatars (CSV)")
    avatars_path = tmp_path / "avatars.csv"
    avatars.value.save_as(avatars_path)
    assert len(avatars_path.read_text().splitlines()) == 684
    with page.expect_download() as yaml_download:
        page.click("text=Download the YAML configuration")
    yaml_path = tmp_path / "yaml_from_web.yaml"
    yaml_download.value.save_as(yaml_path)

    # One distribution figure per column, each link naming its column.
    assert (
        page.locator("ul.figure-links a", has_text="Distribution of Clump_Thickness").count() == 1
    )
    page.click("text=3D projection")
    page.wait_for_selector("iframe.figure")
    frame = page.frame_locator("iframe.figure")
    frame.locator("canvas").first.wait_for()
    shots.take(page, "figure_3d")

    # The seed user guide's "yaml_from_web" code, verbatim but for the import and the URL.
    manager = Manager(base_url=veil_server.url, api_key=user.api_key)
    job_name = "from_yaml_web"
    runner = manager.create_runner(job_name)
    runner.from_yaml(str(yaml_path))
    runner.upload_file("wbcd", data=str(wbcd))
    runner.run()
    assert runner.privacy_metrics("wbcd")[0]["hidden_rate"] == expected  # same seed, same avatars

    page.goto("/runs?lang=fr")
    assert "Exécutions" in page.inner_text("h1")
    shots.take(page, "runs_fr")
    shots.phone(page, "runs_fr")
    page.goto(f"/runs/{run_id}")
    assert "Taux de dissimulation" in page.inner_text("main")
    phases = page.eval_on_selector_all(
        "[data-field=phase]", "cells => cells.map(c => c.textContent)"
    )
    assert set(phases) == {"terminé"}
    shots.take(page, "run_results_fr")
    page.goto("/runs?lang=en&q=the+web")
    assert page.locator("table.list tbody tr").count() == 1
    page.goto("/account")
    shots.take(page, "account")
    shots.phone(page, "account")
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_what_analysts_users_and_admins_each_see(
    veil_server: ServerThread,
    signed_in: Callable[[TestUser], Page],
    admin: TestUser,
    shots: Shots,
) -> None:
    analyst, other = create_user(veil_server), create_user(veil_server)
    mine, theirs = register(veil_server), register(veil_server)
    grant(veil_server, analyst, mine, 4.0, 1e-4)
    grant(veil_server, other, theirs, 9.0, 1e-4)
    manager(veil_server, analyst).dp(mine).smartnoise_sql.query(
        "SELECT COUNT(*) AS n FROM df", 1.0, 1e-5
    )

    page = signed_in(analyst)
    page.click("text=DP datasets")
    assert mine in page.inner_text("main") and theirs not in page.inner_text("main")
    shots.take(page, "dp_datasets")
    page.click(f"text={mine}")
    assert page.inner_text("[data-remaining-epsilon]") == "3.0000"
    assert "SELECT COUNT(*) AS n FROM df" in page.content()
    page.click("details.answer summary")  # the released answer, as archived
    assert page.is_visible("details.answer table th:text('n')")
    shots.take(page, "dp_dataset")
    shots.phone(page, "dp_dataset")
    assert page.locator("a[href^='/admin']").count() == 0
    response = page.goto("/admin/users")
    assert response is not None and response.status == 403
    shots.take(page, "admin_refused")
    response = page.goto(f"/dp/{theirs}")
    assert response is not None and response.status == 404
    other_run = _create_run(veil_server, other)
    response = page.goto(f"/runs/{other_run}")
    assert response is not None and response.status == 404
    shots.take(page, "other_users_run_404")

    page = signed_in(admin)
    page.click("text=Administration")
    shots.take(page, "admin_users")
    shots.phone(page, "admin_users")
    page.click(f"text={analyst.username}")
    shots.take(page, "admin_user_keys")
    page.click("nav.tabs >> text=Datasets")
    shots.take(page, "admin_datasets")
    page.click(f"a[href='/admin/datasets/{mine}']")
    page.fill("#meta-text", page.input_value("#meta-text").replace("upper: 65.0", "upper: 70.0"))
    page.click("text=Save the metadata")
    page.wait_for_selector("#notice")
    assert "upper: 70.0" in page.input_value("#meta-text")
    shots.take(page, "admin_dataset_metadata")
    page.click("nav.tabs >> text=Grants and budgets")
    page.fill("#fg-user", analyst.username)
    page.click("form.filters button")
    assert mine in page.inner_text("table.list")
    shots.take(page, "admin_grants")
    page.click("nav.tabs >> text=Audit log")
    page.fill("#f-event", "login.")
    page.click("form.filters button")
    assert "login.ok" in page.inner_text("table.list")
    shots.take(page, "admin_audit")
    shots.phone(page, "admin_audit")
    assert page.console_errors == []  # type: ignore[attr-defined]


def _create_run(server: ServerThread, owner: TestUser) -> str:
    from veil_service.runs.config import RunConfig

    assert server.server.web is not None
    return server.server.web.context.runs.create_run(owner.id, "not yours", RunConfig()).record.id


def test_over_plain_http_to_a_host_name_the_login_page_says_why_it_cannot_work(
    veil_server: ServerThread, chromium: Browser, user: TestUser, shots: Shots
) -> None:
    context = chromium.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        page.goto(f"http://{INSECURE_HOST}:{veil_server.server.web_port}/login")
        assert page.evaluate("window.isSecureContext") is False
        assert page.is_visible("#insecure-note")
        shots.take(page, "login_without_tls")
        # The Secure cookies are really Secure: the browser drops them here, so no session.
        page.fill("#api_key", user.api_key)
        page.press("#api_key", "Enter")
        page.wait_for_load_state("load")
        assert not page.url.endswith("/runs")
        assert context.cookies() == []
    finally:
        context.close()


def test_a_code_stored_as_a_number_is_declared_a_category(
    signed_in: Callable[[TestUser], Page], user: TestUser, shots: Shots, tmp_path: Path
) -> None:
    # A stage 1-4 is a code, not a quantity: the user declares it before taking the advice.
    rows = ["a,b,stage"] + [
        f"{i * 0.37 % 5:.2f},{i * 0.91 % 7:.2f},{1 + i % 4}" for i in range(240)
    ]
    table = tmp_path / "cohort.csv"
    table.write_text("\n".join(rows) + "\n")
    page = signed_in(user)
    page.goto("/runs/new")
    page.set_input_files("#file", str(table))
    page.fill("#display_name", "cohort with a code")
    page.click("#upload-h ~ form button[type=submit]")
    page.wait_for_url("**/setup")
    assert "0 modalities in total" in page.inner_text("main")
    page.click("details#types-cohort > summary")
    assert page.input_value("[id='cohort.type.stage']") == ""  # as read: a number
    page.select_option("[id='cohort.type.stage']", "category")
    shots.take(page, "setup_types")
    with page.expect_navigation(url=re.compile(r"/setup#types-cohort$")):
        page.click("details#types-cohort button")
    assert page.input_value("[id='cohort.type.stage']") == "category"
    assert page.is_visible("details#types-cohort table.types")  # open: types are declared
    assert "4 modalities in total" in page.inner_text("main")
