"""Browser-facing defences: security headers, cookies, CSRF tokens.

* **Content-Security-Policy**: scripts, styles, images and connections from this server only;
  no inline script or style (the templates have none), no plugin, no framing of the app, forms
  post only here. Figures (self-contained HTML the engine renders) are the one exception: they
  are served with their own policy as sandboxed documents, an opaque origin that can run their
  inline drawing script but reach no cookie, no page of the app and no network.
* **Cookies**: the session cookie is ``__Host-`` prefixed (Secure, Path=/, no Domain: no other
  host or subdomain can set or read it), HttpOnly and SameSite=Strict.
* **CSRF**: every form carries a token the server checks on each POST. Signed in, the token is
  derived from the session token (a cross-site page can read neither); before login it is a
  random ``__Host-`` cookie the form must repeat (so a foreign page cannot log a browser in as
  someone else). POSTs whose ``Origin`` or ``Sec-Fetch-Site`` says cross-site are refused first.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from veil_service.errors import PermissionDeniedError

SESSION_COOKIE = "__Host-veil-session"
PRELOGIN_COOKIE = "__Host-veil-prelogin"
LANGUAGE_COOKIE = "veil-lang"
CSRF_FIELD = "csrf_token"

APP_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
FIGURE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'unsafe-inline'; "
    "sandbox allow-scripts; frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)

COMMON_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class SecurityHeaders:
    """ASGI middleware adding the security headers to every response that lacks them.

    A response that set its own ``content-security-policy`` (a figure) keeps it, and is the only
    kind allowed to be framed (by this origin).
    """

    def __init__(self, app: ASGIApp, *, tls: bool) -> None:
        self.app = app
        self.tls = tls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[tuple[bytes, bytes]] = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                own_policy = b"content-security-policy" in present
                extra = dict(COMMON_HEADERS)
                if not own_policy:
                    extra["content-security-policy"] = APP_POLICY
                    extra["x-frame-options"] = "DENY"
                else:
                    extra["x-frame-options"] = "SAMEORIGIN"
                if b"cache-control" not in present:
                    extra["cache-control"] = "no-store"
                if self.tls:
                    extra["strict-transport-security"] = "max-age=31536000"
                headers += [
                    (k.encode(), v.encode()) for k, v in extra.items() if k.encode() not in present
                ]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def session_csrf_token(session_token: str) -> str:
    """The CSRF token of a session: a one-way function of its (secret, HttpOnly) token."""
    return hashlib.sha256(b"veil-web-csrf:" + session_token.encode()).hexdigest()


def new_prelogin_token() -> str:
    """A random pre-login CSRF token (also the value of its cookie)."""
    return secrets.token_urlsafe(32)


def expected_csrf_token(request: Request) -> str:
    """The token this browser's forms must carry (empty when it has neither cookie)."""
    session = request.cookies.get(SESSION_COOKIE, "")
    if session:
        return session_csrf_token(session)
    return request.cookies.get(PRELOGIN_COOKIE, "")


def check_same_origin(request: Request) -> None:
    """Refuse a state-changing request a browser says came from another site.

    Raises:
        PermissionDeniedError: ``Sec-Fetch-Site`` is cross-site or same-site (another host of
            the site), or ``Origin`` names another origin.
    """
    fetch_site = request.headers.get("sec-fetch-site", "")
    if fetch_site and fetch_site not in ("same-origin", "none"):
        raise PermissionDeniedError("cross-site form posts are refused; use Veil's own pages.")
    origin = request.headers.get("origin", "")
    if origin and origin != "null":
        own = f"{request.url.scheme}://{request.url.netloc}"
        if origin != own:
            raise PermissionDeniedError("cross-site form posts are refused; use Veil's own pages.")


def check_csrf(request: Request, submitted: str) -> None:
    """Check a form's CSRF token against this browser's (constant time).

    Raises:
        PermissionDeniedError: missing or wrong token (an expired page: reload it).
    """
    expected = expected_csrf_token(request)
    if not expected or not hmac.compare_digest(expected.encode(), (submitted or "").encode()):
        raise PermissionDeniedError(
            "this form has expired or did not come from Veil: reload the page and try again."
        )


def set_session_cookie(response: Response, token: str, max_age: int) -> None:
    """Give the browser its session (and forget its pre-login token)."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        path="/",
        secure=True,
        httponly=True,
        samesite="strict",
    )
    response.delete_cookie(PRELOGIN_COOKIE, path="/", secure=True, httponly=True, samesite="strict")


def clear_session_cookie(response: Response) -> None:
    """Make the browser forget its session."""
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="strict")


def set_prelogin_cookie(response: Response, token: str) -> None:
    """The pre-login CSRF cookie (one hour: a login form left open longer is reloaded)."""
    response.set_cookie(
        PRELOGIN_COOKIE,
        token,
        max_age=3600,
        path="/",
        secure=True,
        httponly=True,
        samesite="strict",
    )
