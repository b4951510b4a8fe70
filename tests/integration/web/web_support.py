"""A browser-like HTTP session against the real web application, for tests without a browser.

httpx keeps ``Secure`` cookies for https only; the web application sets every cookie Secure (as
it must), and browsers send them to ``http://localhost`` too. This session keeps cookies itself,
as Chromium does on localhost, so the tests speak plain HTTP to a real server on port 0.
"""

from __future__ import annotations

import re
from http.cookies import SimpleCookie
from typing import Any

import httpx

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


class WebSession:
    """An HTTP client with a cookie jar that also keeps Secure cookies on localhost."""

    def __init__(self, port: int) -> None:
        self.base = f"http://localhost:{port}"
        self.client = httpx.Client(base_url=self.base, timeout=60)
        self.cookies: dict[str, str] = {}
        self.last_csrf = ""

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()

    def _keep(self, response: httpx.Response) -> httpx.Response:
        for header in response.headers.get_list("set-cookie"):
            cookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0" or morsel.value == "":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        found = (
            CSRF_RE.search(response.text)
            if "text/html" in response.headers.get("content-type", "")
            else None
        )
        if found:
            self.last_csrf = found.group(1)
        return response

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = dict(extra or {})
        if self.cookies:
            headers["cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return headers

    def get(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        """GET without following redirects."""
        return self._keep(self.client.get(path, headers=self._headers(headers)))

    def post(
        self,
        path: str,
        data: dict[str, Any] | None = None,
        *,
        files: Any = None,
        csrf: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """POST a form with the CSRF token of the last page read (unless ``csrf`` is given)."""
        form = dict(data or {})
        form.setdefault("csrf_token", self.last_csrf if csrf is None else csrf)
        return self._keep(
            self.client.post(path, data=form, files=files, headers=self._headers(headers))
        )

    def login_with_key(self, api_key: str) -> httpx.Response:
        """Sign in with an API key through the login form."""
        self.get("/login")
        return self.post("/login", {"method": "api_key", "api_key": api_key, "next": "/runs"})

    def login_with_password(self, username: str, password: str) -> httpx.Response:
        """Sign in with a password through the login form."""
        self.get("/login")
        return self.post(
            "/login",
            {"method": "password", "username": username, "password": password, "next": "/runs"},
        )
