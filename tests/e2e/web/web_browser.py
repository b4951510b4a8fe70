"""Driving Debian's Chromium with Playwright, and keeping screenshots of the pages.

Playwright cannot download browsers here, so it drives the system's ``/usr/bin/chromium``
(``make test`` installs Debian's package when it is missing). Screenshots go to
``$VEIL_WEB_SCREENSHOTS`` when set, else to ``web-screenshots/`` in pytest's temporary folder:
never into the repository.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

CHROMIUM = Path(os.environ.get("VEIL_CHROMIUM", "/usr/bin/chromium"))
INSECURE_HOST = "veil-without-tls.test"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    # A name that is not localhost, for the loopback server: plain HTTP to it is not a secure
    # context, as for a server reached by its host name without TLS.
    f"--host-resolver-rules=MAP {INSECURE_HOST} 127.0.0.1",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

UNLABELLED_FIELDS = """() => [...document.querySelectorAll(
    'input:not([type=hidden]), select, textarea, button')]
  .filter((e) => e.offsetParent !== null)
  .filter((e) => e.tagName === 'BUTTON'
      ? !(e.textContent.trim() || e.getAttribute('aria-label'))
      : !((e.labels && e.labels.length) || e.getAttribute('aria-label')))
  .map((e) => e.name || e.id || e.outerHTML.slice(0, 60))"""

OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"

WIDER_THAN_VIEWPORT = """() => [...document.querySelectorAll('body *')]
  .filter((e) => !e.parentElement.closest('.scroll'))
  .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5
       || e.scrollWidth > window.innerWidth + 0.5)
  .map((e) => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')
       + ' ' + (e.textContent || '').trim().slice(0, 40))
  .slice(0, 8)"""


class Shots:
    """Named full-page screenshots of the pages a test visits, each checked for labels."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.taken: list[Path] = []

    def take(self, page: Page, name: str, **options: Any) -> Path:
        """Screenshot the page (full page), after checking every field and button is labelled."""
        page.wait_for_load_state("load")
        unlabelled = page.evaluate(UNLABELLED_FIELDS)
        assert unlabelled == [], f"{name}: fields without a label: {unlabelled}"
        path = self.folder / f"{len(self.taken) + 1:02d}_{name}.png"
        page.screenshot(path=str(path), full_page=True, **options)
        self.taken.append(path)
        return path

    def phone(self, page: Page, name: str) -> Path:
        """Screenshot at a phone's width, checking nothing sticks out sideways."""
        page.set_viewport_size(PHONE)
        try:
            overflow = page.evaluate(OVERFLOW)
            wide = page.evaluate(WIDER_THAN_VIEWPORT) if overflow > 0 else []
            assert overflow <= 0, f"{name}: the page is {overflow} px wider than a phone: {wide}"
            return self.take(page, f"{name}_phone")
        finally:
            page.set_viewport_size(DESKTOP)
