"""The web application's routes: every page with the RPC whose access rule it applies.

The table below is the whole surface. Each endpoint is built by ``page.guarded(rpc)``, and
tests/unit/web/test_routes.py walks it: every route but the static files names an RPC that has
a rule in ``auth.rules``.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from veil_service.web import (
    admin_datasets_pages,
    admin_pages,
    auth_pages,
    dp_pages,
    live,
    results_pages,
    runs_new,
    runs_pages,
)
from veil_service.web.context import STATIC_DIR, WebContext
from veil_service.web.page import Page, guarded
from veil_service.web.security import SecurityHeaders

GET, POST = ["GET"], ["POST"]


@guarded("RunsService/ListRuns")
def home(page: Page) -> Response:
    """The start page is the runs list."""
    return page.redirect("/runs")


def routes() -> list[BaseRoute]:
    """Every route of the application."""
    return [
        Route("/", home, methods=GET),
        Route("/login", auth_pages.login_page, methods=GET),
        Route("/login", auth_pages.login_submit, methods=POST),
        Route("/logout", auth_pages.logout_submit, methods=POST),
        Route("/account", auth_pages.account_page, methods=GET),
        Route("/account/keys", auth_pages.create_key_submit, methods=POST),
        Route("/account/keys/{key_id}/revoke", auth_pages.revoke_key_submit, methods=POST),
        Route("/runs", runs_pages.runs_list, methods=GET),
        Route("/runs/new", runs_new.new_run_page, methods=GET),
        Route("/runs/new", runs_new.new_run_submit, methods=POST),
        Route("/runs/yaml", runs_new.yaml_submit, methods=POST),
        Route("/runs/{run_id}", runs_pages.run_page, methods=GET),
        Route("/runs/{run_id}/setup", runs_new.setup_page, methods=GET),
        Route("/runs/{run_id}/advise", runs_new.advise_submit, methods=POST),
        Route("/runs/{run_id}/start", runs_new.start_submit, methods=POST),
        Route("/runs/{run_id}/types", runs_new.types_submit, methods=POST),
        Route("/runs/{run_id}/events", live.run_events, methods=GET),
        Route("/runs/{run_id}/yaml", results_pages.download_yaml, methods=GET),
        Route("/runs/{run_id}/figures/{result_id}", results_pages.figure_page, methods=GET),
        Route(
            "/runs/{run_id}/figures/{result_id}/document",
            results_pages.figure_document,
            methods=GET,
        ),
        Route("/jobs/{job_id}/cancel", runs_pages.cancel_job_submit, methods=POST),
        Route("/results/{result_id}", results_pages.download_result, methods=GET),
        *dp_pages.routes(),
        *admin_pages.routes(),
        *admin_datasets_pages.routes(),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]


def build_app(context: WebContext) -> Starlette:
    """The ASGI application over a context."""
    app = Starlette(
        routes=routes(),
        middleware=[Middleware(SecurityHeaders, tls=context.tls)],
    )
    app.state.ctx = context
    return app
