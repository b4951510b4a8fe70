"""The safe format fitted models are returned in: skops, imported without torch."""

from __future__ import annotations

from typing import Any

from veil_wire.skops_import import skops_io


def skops_dumps(obj: Any) -> bytes:
    """``skops.io.dumps(obj)``: the safe model format returned to clients."""
    data: bytes = skops_io().dumps(obj)
    return data
