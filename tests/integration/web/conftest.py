"""Fixtures of the web tests: a signed-in browser-like session per user."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from support import ServerThread, TestUser
from web_support import WebSession


@pytest.fixture()
def web(veil_server: ServerThread) -> Iterator[Callable[[TestUser | None], WebSession]]:
    """Open sessions on the web application, signed in with a user's API key (or not)."""
    opened: list[WebSession] = []

    def open_session(who: TestUser | None = None) -> WebSession:
        session = WebSession(veil_server.server.web_port)
        opened.append(session)
        if who is not None:
            response = session.login_with_key(who.api_key)
            assert response.status_code == 303, response.text
        return session

    yield open_session
    for session in opened:
        session.close()
