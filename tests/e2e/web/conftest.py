"""Fixtures of the browser tests: Chromium, one context per user, screenshots."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from support import ServerThread, TestUser
from web_browser import CHROMIUM, DESKTOP, LAUNCH_ARGS, Shots


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Headless Debian Chromium (``make test`` installs it; this fails, never skips, without)."""
    assert CHROMIUM.exists(), (
        f"no browser at {CHROMIUM}: `make test` installs Debian's chromium "
        "(apt-get install chromium), or set VEIL_CHROMIUM."
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Shots:
    """Where this run's screenshots go (outside the repository).

    Under pytest-xdist (``make test``) each worker keeps its own subfolder (``gw0``, ``gw1``):
    the tests of this module may run on both, and neither may clear the other's shots.
    """
    chosen = os.environ.get("VEIL_WEB_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.getbasetemp() / "web-screenshots"
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        folder = folder / worker
    for stale in folder.glob("[0-9][0-9]_*.png"):  # a previous run's, so none is mistaken
        stale.unlink()
    return Shots(folder)


@pytest.fixture()
def signed_in(chromium: Browser, veil_server: ServerThread) -> Iterator[Callable[[TestUser], Page]]:
    """A new browser page signed in as a user (through the login form, with their API key)."""
    contexts = []
    base = f"http://localhost:{veil_server.server.web_port}"

    def open_page(who: TestUser) -> Page:
        context = chromium.new_context(
            viewport=DESKTOP, base_url=base, accept_downloads=True, locale="en-GB"
        )
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto("/login")
        page.fill("#api_key", who.api_key)
        with page.expect_navigation(url=re.compile(r"/runs$")):
            page.press("#api_key", "Enter")
        page.console_errors = errors  # type: ignore[attr-defined]
        return page

    yield open_page
    for context in contexts:
        context.close()
