"""What every page shares: the server's parts, the domain services, the templates."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from pathlib import Path

import jinja2

from veil_service.accounts.throttle import ThrottlePolicy
from veil_service.context import AppContext
from veil_service.dpquery.queries import DPQueries
from veil_service.runs.service import RunsService

HERE = Path(__file__).parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"


@dataclass(frozen=True)
class WebContext:
    """The running server's parts, as the web application uses them.

    Attributes:
        app: Settings, database, blobs, engines, mail (shared with the gRPC servicers).
        runs: The runs domain (the same instance the RunsService servicer calls).
        queries: The DP queries domain (dummy datasets).
        templates: The Jinja2 environment (autoescaping on).
    """

    app: AppContext
    runs: RunsService
    queries: DPQueries
    templates: jinja2.Environment

    @property
    def throttle(self) -> ThrottlePolicy:
        """The login throttling policy (the gRPC Login's)."""
        return ThrottlePolicy.from_extra(self.app.settings.extra)

    @property
    def tls(self) -> bool:
        """Whether the web application speaks TLS itself."""
        return bool(self.app.settings.tls_cert and self.app.settings.tls_key)


def new_context(app: AppContext, runs: RunsService, queries: DPQueries) -> WebContext:
    """The context of a web application over the server's parts."""
    templates = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    templates.filters["when"] = when
    templates.filters["b64"] = b64
    templates.filters["read_as"] = read_as
    return WebContext(app, runs, queries, templates)


def when(epoch: float | None) -> str:
    """A time as ``2026-12-03 14:05 UTC`` (empty for None)."""
    if epoch is None:
        return ""
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch))


def b64(text: str) -> str:
    """Text as base64 of its UTF-8 (an SVG figure as a ``data:`` image, which the page's
    Content-Security-Policy allows and in which no script runs)."""
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def read_as(arrow_type: str) -> str:
    """The ``types.*`` message of how a column was read, from its Arrow type (``int64``:
    ``int``); empty for a type the web has no words for (the page shows the Arrow name).

    The setup page showed ``int64``, ``double``, ``string``: words of Arrow, not of the user
    who declares types in the list beside them.
    """
    name = arrow_type.lower()
    kinds = (
        (("int", "uint"), "int"),
        (("double", "float", "halffloat", "decimal"), "float"),
        (("bool",), "bool"),
        (("string", "large_string", "utf8", "large_utf8"), "text"),
        (("dictionary",), "category"),
    )
    for prefixes, kind in kinds:
        if name.startswith(prefixes):
            return kind
    if name.startswith("timestamp"):
        return "datetime_tz" if "tz=" in name else "datetime"
    if name.startswith("date"):
        return "datetime"
    return ""
