"""Every page of the web application applies the access rule of an RPC, and only that rule."""

from __future__ import annotations

from starlette.routing import Mount, Route
from veil_service.auth.rules import RULES, Access
from veil_service.web.app import routes

PUBLIC_PAGES = {("/login", "GET"), ("/login", "POST")}


def test_every_route_names_an_rpc_that_has_a_rule() -> None:
    unnamed = []
    for route in routes():
        if isinstance(route, Mount):
            assert route.path == "/static", "only static files are served without a rule"
            continue
        assert isinstance(route, Route)
        rpc = getattr(route.endpoint, "rpc", None)
        if rpc not in RULES:
            unnamed.append(route.path)
    assert unnamed == []


def test_only_the_sign_in_pages_are_public_and_admin_pages_need_the_admin_rule() -> None:
    for route in routes():
        if not isinstance(route, Route):
            continue
        rule = RULES[route.endpoint.rpc]  # type: ignore[attr-defined]
        for method in route.methods or ():
            if method == "HEAD":
                continue
            if (route.path, method) in PUBLIC_PAGES:
                assert rule is Access.PUBLIC
            else:
                assert rule is not Access.PUBLIC, route.path
            if route.path.startswith("/admin"):
                assert rule is Access.ADMIN, route.path
