"""``veil admin`` subcommands for DP datasets and grants (add-dataset, grant)."""

from __future__ import annotations

from typing import Any


def register(admin_sub: Any) -> None:
    """Add this module's subcommands to the ``veil admin`` parser."""
