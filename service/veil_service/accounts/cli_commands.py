"""``veil admin`` subcommands for users beyond bootstrap/create-user/create-api-key."""

from __future__ import annotations

from typing import Any


def register(admin_sub: Any) -> None:
    """Add this module's subcommands to the ``veil admin`` parser."""
