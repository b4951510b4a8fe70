"""The language switch in every page's header shows the same page in the other language: with
its search kept, and after a refused form (a POST-only address) the page of that form, never
a "Method Not Allowed"."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from support import TestUser
from web_support import WebSession

SWITCH = re.compile(r'<a href="([^"]*)" hreflang="(en|fr)"')


def _switch(text: str) -> str:
    found = SWITCH.search(text)
    assert found is not None
    return html.unescape(found.group(1))


def test_the_language_switch_keeps_the_search_of_the_page(
    user: TestUser, web: Callable[..., WebSession]
) -> None:
    session = web(user)
    assert _switch(session.get("/runs?q=cohort&page=2").text) == "/runs?q=cohort&page=2&lang=fr"
    french = session.get("/runs?q=cohort&page=2&lang=fr").text
    assert _switch(french) == "/runs?q=cohort&page=2&lang=en"
    assert 'value="cohort"' in french and '<html lang="fr">' in french


def test_after_a_refused_form_the_switch_opens_the_forms_page(
    user: TestUser, admin: TestUser, web: Callable[..., WebSession]
) -> None:
    session = web(user)
    session.get("/account")
    refused = session.post("/account/keys", {"name": "x" * 300, "expiration_days": "30"})
    assert refused.status_code == 400
    link = _switch(refused.text)
    assert link == "/account?lang=fr"
    page = session.get(link)
    assert page.status_code == 200 and '<html lang="fr">' in page.text

    admin_session = web(admin)
    admin_session.get("/admin/datasets")
    outside = admin_session.post(
        "/admin/datasets/path", {"name": "x", "path": "/etc/passwd", "metadata": "a: 1"}
    )
    assert outside.status_code in (400, 403)
    assert _switch(outside.text) == "/admin/datasets?lang=fr"
    assert admin_session.get("/admin/datasets?lang=fr").status_code == 200


def test_a_refused_key_creation_keeps_the_name_and_expiry_typed(
    user: TestUser, web: Callable[..., WebSession]
) -> None:
    session = web(user)
    session.get("/account")
    name = "nightly export " + "x" * 200
    refused = session.post("/account/keys", {"name": name, "expiration_days": "30"})
    assert refused.status_code == 400
    assert f'value="{name}"' in refused.text
    assert '<option value="30" selected>' in refused.text
    assert '<option value="365" selected>' not in refused.text
