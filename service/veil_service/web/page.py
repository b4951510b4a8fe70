"""One request to a page: who asks, in which language, and how to answer (render, redirect).

Every page handler is wrapped by :func:`guarded` with the RPC it stands for. The wrapper reads
the session cookie and calls ``auth.authorize`` with that RPC's name, so a page admits exactly
the callers its RPC admits; it then checks the CSRF token of a POST, runs the handler, and turns
a domain error into the matching HTTP answer (``errors.http_status``).

The web application shares the gRPC server's event loop, so no page waits for the database on
it (a query behind a write lock would stall every RPC): the session lookup runs on the database
threads (``storage.db_calls``), and so does a handler written as a plain function (``def``: it
reads and writes the database and renders, nothing to await). A handler that awaits (uploads,
engine work, server push) is a coroutine and puts its own database calls there with ``db_call``.
"""

from __future__ import annotations

import inspect
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast
from urllib.parse import quote, urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from veil_service.auth.principal import Principal
from veil_service.auth.recheck import Authorization
from veil_service.errors import (
    InvalidArgumentError,
    UnauthenticatedError,
    VeilServiceError,
)
from veil_service.logs import bind_request
from veil_service.storage.db_calls import db_call
from veil_service.web import security
from veil_service.web.context import WebContext
from veil_service.web.errors import http_status
from veil_service.web.i18n import Translator, choose_language

log = logging.getLogger("veil.web")

T = TypeVar("T")

RPC_PREFIX = "/veil.v1."
MAX_FORM_FIELDS = 2_000
MAX_FORM_FIELD_BYTES = 1 << 20


@dataclass
class Page:
    """A request being answered.

    Attributes:
        request: The Starlette request.
        ctx: The web application's context.
        principal: The signed-in caller (None on public pages when signed out).
        t: Messages in the page's language.
        form: The posted form (empty for GET).
        cookies: Cookies to set on the answer (name -> value).
        access: The caller's session cookie and the page's RPC, to check again while a
            streamed answer is sent (``auth.recheck``).
    """

    request: Request
    ctx: WebContext
    principal: Principal | None
    t: Translator
    form: FormData = field(default_factory=FormData)
    cookies: dict[str, str] = field(default_factory=dict)
    access: Authorization | None = None

    @property
    def user_id(self) -> str:
        """The caller's user id (pages behind an authenticated RPC always have one)."""
        if self.principal is None:
            raise UnauthenticatedError("sign in first.")
        return self.principal.user_id

    @property
    def peer(self) -> str:
        """The client's address, in gRPC's peer notation (for throttling and audit)."""
        client = self.request.client
        host = client.host if client else "unknown"
        return f"ipv6:[{host}]:0" if ":" in host else f"ipv4:{host}:0"

    @property
    def csrf_token(self) -> str:
        """The token the page's forms carry."""
        return security.expected_csrf_token(self.request) or self.cookies.get(
            security.PRELOGIN_COOKIE, ""
        )

    def rechecked(self, items: AsyncIterator[T]) -> AsyncIterator[T]:
        """A streamed answer's items, with the session checked again while they are sent
        (``auth.recheck``): the stream raises UnauthenticatedError once the session ended.
        """
        if self.access is None:
            raise UnauthenticatedError("sign in first.")
        return self.access.rechecked(items)

    def text(self, name: str, default: str = "") -> str:
        """A posted text field, stripped."""
        value = self.form.get(name, default)
        return value.strip() if isinstance(value, str) else default

    def render(self, template: str, status: int = 200, **values: Any) -> Response:
        """Render a template with the page's common values."""
        values.setdefault("error", "")
        values.setdefault("section", "")
        body = self.ctx.templates.get_template(template).render(
            page=self, t=self.t, lang=self.t.language, principal=self.principal, **values
        )
        return self.finish(HTMLResponse(body, status_code=status))

    def language_href(self, language: str) -> str:
        """The header's link to this page in ``language``.

        A page read by GET keeps its address and query (a search, a page number) with ``lang``
        set. A page answering a POST (a refused form shown again) is at an address that only
        takes POST: the link goes to the page holding the form, the nearest parent address
        with a GET page (``/account/keys`` -> ``/account``, ``/runs/<id>/start`` ->
        ``/runs/<id>``), else the same address when its route also answers GET (``/runs/new``).
        """
        request = self.request
        if request.method in ("GET", "HEAD"):
            query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
            return f"{request.url.path}?{urlencode([*query, ('lang', language)])}"
        return f"{_form_page(request)}?{urlencode([('lang', language)])}"

    def redirect(self, url: str) -> Response:
        """See-other redirect (after a POST, so a reload does not post again)."""
        return self.finish(RedirectResponse(url, status_code=303))

    def finish(self, response: Response) -> Response:
        """Set the cookies this request decided on."""
        for name, value in self.cookies.items():
            if name == security.PRELOGIN_COOKIE:
                security.set_prelogin_cookie(response, value)
            elif name == security.LANGUAGE_COOKIE:
                response.set_cookie(
                    name, value, max_age=365 * 86400, path="/", secure=True, samesite="lax"
                )
        return response


def _get_routes(request: Request) -> list[Route]:
    return [
        r
        for r in getattr(request.app, "routes", [])
        if isinstance(r, Route) and r.methods and "GET" in r.methods
    ]


def _form_page(request: Request) -> str:
    """The GET page of a posted form's address (see ``Page.language_href``)."""
    path = request.url.path
    routes = _get_routes(request)
    posted = next(
        (
            r
            for r in getattr(request.app, "routes", [])
            if isinstance(r, Route)
            and r.methods
            and "POST" in r.methods
            and r.path_regex.match(path)
        ),
        None,
    )
    if posted is not None and any(r.path == posted.path for r in routes):
        return path
    parts = path.rstrip("/").split("/")
    for end in range(len(parts) - 1, 0, -1):
        parent = "/".join(parts[:end]) or "/"
        if any(r.path_regex.match(parent) for r in routes):
            return parent
    return "/"


Handler = Callable[[Page], Awaitable[Response]] | Callable[[Page], Response]
Endpoint = Callable[[Request], Awaitable[Response]]


def guarded(rpc: str) -> Callable[[Handler], Endpoint]:
    """Wrap a page handler with the access rule of ``rpc`` (``"RunsService/ListRuns"``)."""
    method = RPC_PREFIX + rpc

    def wrap(handler: Handler) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            return await _answer(request, method, handler)

        endpoint.rpc = method  # type: ignore[attr-defined]  # walked by the rules test
        endpoint.__name__ = handler.__name__
        endpoint.__doc__ = handler.__doc__
        return endpoint

    return wrap


async def _answer(request: Request, method: str, handler: Handler) -> Response:
    ctx: WebContext = request.app.state.ctx
    began = time.monotonic()
    language, switched = choose_language(request)
    page = Page(request, ctx, None, Translator(language))
    if switched:
        page.cookies[security.LANGUAGE_COOKIE] = language
    status = 500
    try:
        page.access = Authorization(
            ctx.app.db, method, request.cookies.get(security.SESSION_COOKIE) or None
        )
        page.principal = await page.access.check()
        bind_request(str(uuid.uuid4()), page.principal.user_id if page.principal else "")
        if request.method == "POST":
            security.check_same_origin(request)
            page.form = await _read_form(request, ctx)
            security.check_csrf(request, page.text(security.CSRF_FIELD))
        elif not security.expected_csrf_token(request):
            page.cookies[security.PRELOGIN_COOKIE] = security.new_prelogin_token()
        response = await _run(handler, page)
        status = response.status_code
        return response
    except UnauthenticatedError:
        status = 303
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        response = RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        if request.cookies.get(security.SESSION_COOKIE):
            security.clear_session_cookie(response)
        return response
    except VeilServiceError as exc:
        status = http_status(exc)
        return page.render("error.html", status=status, error=exc)
    finally:
        await page.form.close()  # uploaded files' spooled temp files
        log.info(
            "web",
            extra={
                "method": request.method,
                "route": _route_path(request),
                "rpc": method,
                "status": status,
                "duration_ms": round((time.monotonic() - began) * 1000, 1),
            },
        )


async def _run(handler: Handler, page: Page) -> Response:
    """A coroutine handler on the loop; a plain one on the database threads."""
    if inspect.iscoroutinefunction(handler):
        return await cast(Callable[[Page], Awaitable[Response]], handler)(page)
    return await db_call(cast(Callable[[Page], Response], handler), page)


async def _read_form(request: Request, ctx: WebContext) -> FormData:
    limit = ctx.app.settings.web_max_upload_mib << 20
    length = request.headers.get("content-length")
    if length is None or not length.isdigit():
        raise InvalidArgumentError("the form has no length; send it from Veil's pages.")
    if int(length) > limit:
        raise InvalidArgumentError(
            f"the upload is {int(length) / (1 << 20):,.0f} MiB; this server accepts up to "
            f"{ctx.app.settings.web_max_upload_mib:,} MiB from the web (use the Python client "
            "for larger tables).",
            field="file",
        )
    return await request.form(
        max_files=4, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FORM_FIELD_BYTES
    )


def _route_path(request: Request) -> str:
    route = request.scope.get("route")
    return str(getattr(route, "path", request.url.path))
