"""Signing in and out, and the caller's own API keys.

Both ways in end in a session of the ``sessions`` table, the one the gRPC Login opens: the
password is checked by ``accounts.login.login`` and an API key by
``accounts.login.login_with_api_key``, with the same throttling and audit events. The browser
only ever holds the session token, in an HttpOnly cookie.
"""

from __future__ import annotations

import asyncio
import time

from starlette.responses import Response

from veil_service.accounts import api_keys, login
from veil_service.errors import VeilServiceError
from veil_service.web import security
from veil_service.web.errors import http_status
from veil_service.web.forms import form_int
from veil_service.web.page import Page, guarded

KEYS_SHOWN = 200


def safe_next(target: str) -> str:
    """A local path to go to after login (never another site: ``//host`` or a scheme)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/runs"


@guarded("AuthService/Login")
def login_page(page: Page) -> Response:
    """The sign-in forms (API key, or password: deprecated)."""
    if page.principal is not None:
        return page.redirect("/runs")
    return page.render(
        "login.html", next=safe_next(page.request.query_params.get("next", "")), username=""
    )


@guarded("AuthService/Login")
async def login_submit(page: Page) -> Response:
    """Check the API key or password, open a session and set its cookie."""
    ctx = page.ctx
    settings = ctx.app.settings
    target = safe_next(page.text("next"))
    try:
        if page.text("method") == "password":
            record, token = await asyncio.to_thread(
                login.login,
                ctx.app.db,
                username=page.text("username"),
                password=str(page.form.get("password") or ""),
                peer=page.peer,
                policy=ctx.throttle,
                session_hours=settings.session_hours,
            )
            target += ("&" if "?" in target else "?") + "deprecated_login=1"
        else:
            record, token = await asyncio.to_thread(
                login.login_with_api_key,
                ctx.app.db,
                api_key=page.text("api_key"),
                peer=page.peer,
                policy=ctx.throttle,
                session_hours=settings.session_hours,
            )
    except VeilServiceError as exc:
        return page.render(
            "login.html",
            status=http_status(exc),
            error=page.t.error(exc),
            next=target,
            username=page.text("username"),
        )
    response = page.redirect(target)
    security.set_session_cookie(response, token, max_age=int(record.expires_at - time.time()))
    return response


@guarded("AuthService/Logout")
async def logout_submit(page: Page) -> Response:
    """End the session (audited) and forget its cookie."""
    principal = page.principal
    assert principal is not None
    await asyncio.to_thread(
        login.logout,
        page.ctx.app.db,
        user_id=principal.user_id,
        credential_kind=principal.credential_kind,
        credential_id=principal.credential_id,
        peer=page.peer,
    )
    response = page.redirect("/login")
    security.clear_session_cookie(response)
    return response


def _render_account(
    page: Page,
    *,
    created: str = "",
    status: int = 200,
    error: str = "",
    values: dict[str, str] | None = None,
) -> Response:
    """The account page; after a refused creation, ``values`` keeps what was typed (the key's
    name and expiry), as every refused form of the web does."""
    with page.ctx.app.db.connect() as conn:
        keys = api_keys.list_api_keys(
            conn, user_id=page.user_id, include_inactive=True, limit=KEYS_SHOWN, offset=0
        )
    return page.render(
        "account.html",
        status=status,
        keys=keys,
        created=created,
        error=error,
        values=values or {},
        expirations=api_keys.EXPIRATION_DAYS,
        now=time.time(),
        revoke_base="/account/keys",
    )


@guarded("AuthService/ListApiKeys")
def account_page(page: Page) -> Response:
    """The caller's API keys (never their secret, which is shown once at creation)."""
    return _render_account(page)


@guarded("AuthService/CreateApiKey")
def create_key_submit(page: Page) -> Response:
    """Create an API key and show its secret once."""
    try:
        days = form_int(page.text("expiration_days"), "expiration_days")
        with page.ctx.app.db.begin() as conn:
            _, plaintext = api_keys.create_api_key(
                conn,
                user_id=page.user_id,
                name=page.text("name"),
                expiration_days=days,
                peer=page.peer,
            )
    except VeilServiceError as exc:
        typed = {key: page.text(key) for key in ("name", "expiration_days")}
        return _render_account(page, status=http_status(exc), error=page.t.error(exc), values=typed)
    return _render_account(page, created=plaintext)


@guarded("AuthService/RevokeApiKey")
def revoke_key_submit(page: Page) -> Response:
    """Revoke one of the caller's API keys."""
    with page.ctx.app.db.begin() as conn:
        api_keys.revoke_api_key(
            conn,
            key_id=page.request.path_params["key_id"],
            user_id=page.user_id,
            actor_id=page.user_id,
            peer=page.peer,
        )
    return page.redirect("/account")
