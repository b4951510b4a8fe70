"""The parameters of the DP engine tasks, as plain JSON, their codec and the dummy-data limits.

The server builds them (``veil_service.dpquery``), the engine task (``engine/tasks/dp.py``) reads
them, and the query archive stores the same request JSON. One codec on both sides keeps a request
identical wherever it travels: the cost the server charges is computed from exactly the request
the engine runs.

Task parameters::

    dp_cost   {"library", "request", "metadata"}                       -> summary {epsilon, delta}
    dp_query  {"library", "request", "metadata", "dummy": null | {nb_rows, seed}}
              input "dataset" (private mode only)                      -> summary + result files
    dp_dummy  {"metadata", "nb_rows", "seed"}                          -> result file "dummy"

The dummy-data defaults and limits live here too: the server checks requests against them
without loading pandas (kept out of its process), and the engine builds the datasets.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from typing import Any

from veil_service.engine_contract.dp_requests import (
    REQUEST_TYPES,
    DPRequest,
    OpenDPRequest,
    SmartnoiseSqlRequest,
    library_of,
)
from veil_service.errors import InvalidArgumentError

__all__ = [
    "DEFAULT_NB_ROWS",
    "DEFAULT_SEED",
    "INLINE_LIBRARIES",
    "MAX_NB_ROWS",
    "canonical_json",
    "library_of",
    "request_from_dict",
    "request_to_dict",
]

DEFAULT_NB_ROWS = 100
"""Rows of a dummy dataset when the caller gives none."""
DEFAULT_SEED = 42
"""Seed of a dummy dataset when the caller gives none."""
MAX_NB_ROWS = 1_000_000
"""Largest dummy dataset the engine builds; the server refuses more before asking."""

INLINE_LIBRARIES = frozenset({SmartnoiseSqlRequest.LIBRARY, OpenDPRequest.LIBRARY})
"""Libraries whose queries are quick and thread-safe enough to run inside the engine process
(no fork per task); model-fitting libraries keep a worker process each."""


def request_to_dict(request: DPRequest) -> dict[str, Any]:
    """A request as a JSON-ready dict (tuples become lists, mappings plain dicts)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(request):
        out[f.name] = _plain(getattr(request, f.name))
    return out


def request_from_dict(library: str, raw: Mapping[str, Any]) -> DPRequest:
    """Rebuild a request dataclass from :func:`request_to_dict` output.

    Raises:
        InvalidArgumentError: unknown library or fields.
    """
    cls = REQUEST_TYPES.get(library)
    if cls is None:
        raise InvalidArgumentError(
            f"library must be one of {', '.join(REQUEST_TYPES)}; got {library!r}.", field="library"
        )
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise InvalidArgumentError(
            f"unknown {library} request field(s): {', '.join(unknown)}.", field="request"
        )
    values: dict[str, Any] = {}
    for name, value in raw.items():
        if isinstance(value, list) and "tuple" in str(known[name].type):
            value = tuple(value)
        values[name] = value
    request: DPRequest = cls(**values)
    return request


def canonical_json(library: str, request: DPRequest) -> str:
    """Stable JSON of a request (sorted keys): the key of the cost cache and the archived text."""
    plain = request_to_dict(request)
    _check_finite(plain, "")
    return json.dumps(
        {"library": library, "request": plain},
        sort_keys=True,
        separators=(",", ":"),
        allow_nan=False,
    )


def _check_finite(value: Any, path: str) -> None:
    """Refuse NaN and infinities anywhere in a request, naming where (e.g. ``synth_params``)."""
    if isinstance(value, float) and not math.isfinite(value):
        field = path.split(".")[0] or "request"
        raise InvalidArgumentError(
            f"{path or 'request'} is {value!r}; only finite numbers are accepted.", field=field
        )
    if isinstance(value, dict):
        for key, item in value.items():
            _check_finite(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_finite(item, f"{path}[{index}]")


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
