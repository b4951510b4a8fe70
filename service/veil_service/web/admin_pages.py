"""Administration of accounts (admins only): users (create, disable, enable again, roles), their
API keys, the audit log.

Each route names its AdminService RPC, whose rule admits admins only; the handlers call the
accounts domain functions the AdminService servicer calls (``accounts.administration``,
``api_keys``, ``audit``), so every act is audited the same way whichever edge did it.
"""

from __future__ import annotations

import asyncio
import calendar
import time

import sqlalchemy as sa
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from veil_service.accounts import administration, api_keys, audit, users
from veil_service.errors import InvalidArgumentError, NotFoundError, VeilServiceError
from veil_service.storage.db_calls import db_call
from veil_service.web.errors import http_status
from veil_service.web.forms import form_int
from veil_service.web.page import Page, guarded

USERS_PAGE_SIZE = 50
EVENTS_PAGE_SIZE = 50
ALL_KEYS_LIMIT = 500


def _render_users(
    page: Page, *, error: str = "", status: int = 200, notice: str = "", typed: bool = False
) -> Response:
    """The users page; with ``typed`` (a refused creation), its form shows again the username,
    email and role typed (never the password)."""
    number = max(1, form_int(page.request.query_params.get("page", ""), "page", default=1))
    with page.ctx.app.db.connect() as conn:
        found = users.list_users(
            conn, limit=USERS_PAGE_SIZE + 1, offset=(number - 1) * USERS_PAGE_SIZE
        )
    return page.render(
        "admin_users.html",
        status=status,
        section="admin",
        tab="users",
        users=found[:USERS_PAGE_SIZE],
        number=number,
        has_next=len(found) > USERS_PAGE_SIZE,
        roles=users.ROLES,
        values={k: page.text(k) for k in ("username", "email", "role")} if typed else {},
        error=error,
        notice=notice or page.request.query_params.get("notice", ""),
    )


@guarded("AdminService/ListUsers")
def users_page(page: Page) -> Response:
    """Every user, with forms to create one, disable one or change a role."""
    return _render_users(page)


@guarded("AdminService/CreateUser")
async def create_user_submit(page: Page) -> Response:
    """Create a user; without a password, they get an email to set one."""
    try:
        user, token = await asyncio.to_thread(
            administration.create_user,
            page.ctx.app.db,
            username=page.text("username"),
            email=page.text("email"),
            role=page.text("role") or "user",
            password=str(page.form.get("password") or ""),
            actor_id=page.user_id,
            peer=page.peer,
        )
    except VeilServiceError as exc:
        return await db_call(
            _render_users, page, error=page.t.error(exc), status=http_status(exc), typed=True
        )
    administration.invite(page.ctx.app.mailer, user, token)
    return page.redirect(f"/admin/users/{user.id}")


@guarded("AdminService/DisableUser")
def disable_user_submit(page: Page) -> Response:
    """Disable a user (their keys and sessions end with it)."""
    try:
        with page.ctx.app.db.begin() as conn:
            administration.disable_user(
                conn, user=page.request.path_params["user"], actor_id=page.user_id, peer=page.peer
            )
    except VeilServiceError as exc:
        if exc.code_name == "NOT_FOUND":
            raise
        return _render_users(page, error=page.t.error(exc), status=http_status(exc))
    return page.redirect("/admin/users")


@guarded("AdminService/EnableUser")
def enable_user_submit(page: Page) -> Response:
    """Enable a disabled user again (their old keys and sessions stay revoked)."""
    with page.ctx.app.db.begin() as conn:
        administration.enable_user(
            conn, user=page.request.path_params["user"], actor_id=page.user_id, peer=page.peer
        )
    return page.redirect("/admin/users")


@guarded("AdminService/SetUserRole")
def set_role_submit(page: Page) -> Response:
    """Change a user's role."""
    try:
        with page.ctx.app.db.begin() as conn:
            administration.set_role(
                conn,
                user=page.request.path_params["user"],
                role=page.text("role"),
                actor_id=page.user_id,
                peer=page.peer,
            )
    except VeilServiceError as exc:
        if exc.code_name == "NOT_FOUND":
            raise
        return _render_users(page, error=page.t.error(exc), status=http_status(exc))
    return page.redirect("/admin/users")


@guarded("AdminService/ListUserApiKeys")
def user_page(page: Page) -> Response:
    """One user and their API keys (to revoke)."""
    with page.ctx.app.db.connect() as conn:
        user = users.find_user(conn, page.request.path_params["user"])
        keys = api_keys.list_api_keys(
            conn, user_id=user.id, include_inactive=True, limit=ALL_KEYS_LIMIT, offset=0
        )
    return page.render(
        "admin_user.html",
        section="admin",
        tab="users",
        user=user,
        keys=keys,
        now=time.time(),
        revoke_base="/admin/keys",
    )


@guarded("AdminService/RevokeUserApiKey")
def revoke_key_submit(page: Page) -> Response:
    """Revoke another user's API key."""
    with page.ctx.app.db.begin() as conn:
        record = api_keys.revoke_api_key(
            conn,
            key_id=page.request.path_params["key_id"],
            user_id=None,
            actor_id=page.user_id,
            peer=page.peer,
        )
    return page.redirect(f"/admin/users/{record.user_id}")


def _username(conn: sa.Connection, user_id: str) -> str:
    try:
        return users.find_user(conn, user_id).username
    except NotFoundError:
        return user_id


def _day(text: str, field: str, *, end: bool = False) -> float | None:
    """A ``YYYY-MM-DD`` date as epoch seconds (UTC midnight; the next one for an end date)."""
    if not text:
        return None
    try:
        day = time.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise InvalidArgumentError(f"{field} must be a date (YYYY-MM-DD).", field=field) from None
    return float(calendar.timegm(day) + (86_400 if end else 0))


@guarded("AdminService/ListAuditEvents")
def audit_page(page: Page) -> Response:
    """The audit log, newest first, filtered by user, event and dates."""
    params = page.request.query_params
    filters = {
        "user": params.get("user", "").strip()[:256],
        "event": params.get("event", "").strip()[:128],
        "since": params.get("since", "").strip(),
        "until": params.get("until", "").strip(),
    }
    number = max(1, form_int(params.get("page", ""), "page", default=1))
    with page.ctx.app.db.connect() as conn:
        subject = users.find_user(conn, filters["user"]) if filters["user"] else None
        events = audit.list_events(
            conn,
            user_id=subject.id if subject else "",
            event_prefix=filters["event"],
            since=_day(filters["since"], "since"),
            until=_day(filters["until"], "until", end=True),
            limit=EVENTS_PAGE_SIZE + 1,
            offset=(number - 1) * EVENTS_PAGE_SIZE,
        )
        ids = {e.user_id for e in events} | {e.actor_id for e in events}
        names = {u: _username(conn, u) for u in ids if u}
    return page.render(
        "admin_audit.html",
        section="admin",
        tab="audit",
        events=events[:EVENTS_PAGE_SIZE],
        names=names,
        filters=filters,
        number=number,
        has_next=len(events) > EVENTS_PAGE_SIZE,
    )


def routes() -> list[BaseRoute]:
    """The account administration pages."""
    get, post = ["GET"], ["POST"]
    return [
        Route("/admin", users_page, methods=get),
        Route("/admin/users", users_page, methods=get),
        Route("/admin/users", create_user_submit, methods=post),
        Route("/admin/users/{user}", user_page, methods=get),
        Route("/admin/users/{user}/disable", disable_user_submit, methods=post),
        Route("/admin/users/{user}/enable", enable_user_submit, methods=post),
        Route("/admin/users/{user}/role", set_role_submit, methods=post),
        Route("/admin/keys/{key_id}/revoke", revoke_key_submit, methods=post),
        Route("/admin/audit", audit_page, methods=get),
    ]
