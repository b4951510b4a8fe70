"""Placeholder: filled in by the next step."""

from __future__ import annotations

from starlette.routing import BaseRoute


def routes() -> list[BaseRoute]:
    """This module's routes."""
    return []
