"""OpenDP pipelines rebuilt from the JSON of their constructor calls (Lomas's ``opendp_logger``).

OpenDP 0.14's own JSON (``opendp.prelude.serialize``) cannot carry some constructors Lomas users
chain every day: ``then_variance`` (its summation type ``S``) and ``then_count_by_categories``
(its output metric ``MO``) hold runtime types its encoder refuses. It also repeats the whole
prefix of a chain three times per step, so a ten-step pipeline is megabytes.

This module reads the form ``opendp_logger`` (the package ``lomas_client`` uses) writes, which is a
description of the constructor calls, not of their results::

    {"version": "0.10.0",                               # optional, informative
     "ast": {"_type": "partial_chain",                  # lhs >> rhs
             "lhs": {"_type": "constructor", "module": "transformations",
                     "func": "make_split_dataframe", "args": [...], "kwargs": {...}},
             "rhs": {"_type": "constructor", "module": "transformations",
                     "func": "then_variance", "kwargs": {}}}}

JSON arrays are tuples, ``{"_type": "list", "_items": [...]}`` are lists, runtime types are their
names (``"f64"``, ``"L1Distance<i32>"``), which OpenDP constructors parse themselves. The Veil
client writes the same form (``veil_client.dp_serialization``), so a pipeline serialized by
``lomas_client`` is accepted as it is.

Nothing is imported or called by name from the JSON without the allow-list: each ``constructor``
node must name a module of :data:`_MODULES` and a function that
``opendp_safety.ALLOWED_CONSTRUCTORS`` lists for it (``then_X`` is allowed where ``make_X`` is;
``prelude`` names resolve to the module that defines them). Nothing is unpickled, no Python
callable can be sent, and the pipeline is rebuilt by the server's OpenDP, so its privacy map (the
cost) is OpenDP's own.
"""

from __future__ import annotations

import json
import warnings
from types import ModuleType
from typing import Any

import opendp.combinators
import opendp.core
import opendp.domains
import opendp.measurements
import opendp.measures
import opendp.metrics
import opendp.prelude as dp
import opendp.transformations
from opendp.mod import OpenDPException, UnknownTypeException

from veil_service.engine.dp.opendp_cost import opendp_message
from veil_service.engine.dp.opendp_safety import (
    ALLOWED_CONSTRUCTORS,
    json_objects,
    not_a_measurement,
)
from veil_service.errors import InvalidArgumentError

FORMAT_KEY = "ast"
MAX_NODES = 5_000
_MODULES: dict[str, ModuleType] = {
    "transformations": opendp.transformations,
    "measurements": opendp.measurements,
    "combinators": opendp.combinators,
    "domains": opendp.domains,
    "metrics": opendp.metrics,
    "measures": opendp.measures,
    "core": opendp.core,
}
_NODE_KEYS = {
    "constructor": frozenset({"_type", "module", "func", "args", "kwargs"}),
    "partial_chain": frozenset({"_type", "lhs", "rhs"}),
    "list": frozenset({"_type", "_items"}),
    "type": frozenset({"_type", "name"}),
}
_NAN_HINT = (
    " (OpenDP 0.14 clamps and sums only NaN-free floats; after then_cast_default(TOA=float) add "
    "then_impute_constant(<a value inside the bounds>), which Lomas's OpenDP 0.10 did not need)"
)


def is_call_list(pipeline_json: str) -> bool:
    """Whether the text looks like the constructor-call form (a JSON object with ``ast``)."""
    head = pipeline_json.lstrip()[:4096]
    return head.startswith("{") and f'"{FORMAT_KEY}"' in head and "__function__" not in head


def rebuild(pipeline_json: str) -> Any:
    """Check every call against the allow-list, then rebuild the object with the server's OpenDP.

    Returns:
        What the calls build (a Measurement for a query; the caller checks).

    Raises:
        InvalidArgumentError: Not JSON, too deep or too large, an unknown node, a constructor
            outside the allow-list, or a call OpenDP refuses (its message, with a hint when it
            is OpenDP 0.14's NaN rule). ``field`` is ``pipeline_json``.
    """
    try:
        document = json.loads(pipeline_json)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise _bad(f"is not valid JSON ({type(exc).__name__})") from None
    if not isinstance(document, dict) or FORMAT_KEY not in document:
        raise _bad('must be an object {"ast": ...} as opendp_logger writes it')
    extra = set(document) - {FORMAT_KEY, "version"}
    if extra:
        raise _bad(f"has unexpected top-level keys {sorted(extra)}")
    tree = document[FORMAT_KEY]
    for count, node in enumerate(json_objects(tree), start=1):
        if count > MAX_NODES:
            raise _bad(f"has more than {MAX_NODES} nodes")
        _check_node(node)
    with warnings.catch_warnings():
        # Legacy dataframe constructors are deprecated upstream in favour of polars but are what
        # legacy pipelines are made of.
        warnings.filterwarnings(
            "ignore", message=r"Call to deprecated function", category=DeprecationWarning
        )
        return _decode(tree)


def load_measurement(pipeline_json: str) -> dp.Measurement:
    """Rebuild a pipeline with :func:`rebuild`; it must be a Measurement.

    Raises:
        InvalidArgumentError: As :func:`rebuild`, or the pipeline has no noise mechanism.
    """
    measurement = rebuild(pipeline_json)
    if not isinstance(measurement, dp.Measurement):
        raise not_a_measurement(measurement)
    return measurement


def resolve(module: str, func: str) -> Any:
    """The OpenDP function a ``constructor`` node names, if the allow-list has it.

    Raises:
        InvalidArgumentError: The module or the function is not allowed.
    """
    if module == "prelude":
        for name in _MODULES:
            if _allowed(name, func):
                return getattr(_MODULES[name], func)
    elif module in _MODULES and _allowed(module, func):
        return getattr(_MODULES[module], func)
    raise _bad(
        f"uses opendp.{module}.{func}, which is not in the server's allow-list of OpenDP "
        "constructors (see docs/dp.md)"
    )


def _allowed(module: str, func: str) -> bool:
    allowed = ALLOWED_CONSTRUCTORS.get(module, frozenset())
    if func in allowed:
        return True
    return func.startswith("then_") and f"make_{func.removeprefix('then_')}" in allowed


def _check_node(node: dict[str, Any]) -> None:
    kind = node.get("_type")
    if kind is None:
        bad_keys = [k for k in node if not isinstance(k, str) or k.startswith("_")]
        if bad_keys:
            raise _bad(f"has an unknown marker {bad_keys[0]!r}")
        return
    if kind not in _NODE_KEYS:
        raise _bad(f"has an unknown node type {kind!r}")
    extra = set(node) - _NODE_KEYS[kind]
    if extra:
        raise _bad(f"has unexpected keys {sorted(extra)} in a {kind!r} node")
    if kind == "constructor":
        module, func = node.get("module"), node.get("func")
        if not isinstance(module, str) or not isinstance(func, str):
            raise _bad("has a constructor without string module and func")
        resolve(module, func)
        if not isinstance(node.get("args", []), list):
            raise _bad(f"has non-array args for {func}")
        if not isinstance(node.get("kwargs", {}), dict):
            raise _bad(f"has non-object kwargs for {func}")
    elif kind == "partial_chain" and ("lhs" not in node or "rhs" not in node):
        raise _bad("has a partial_chain without lhs and rhs")
    elif kind == "list" and not isinstance(node.get("_items"), list):
        raise _bad("has a list node without _items")
    elif kind == "type" and not isinstance(node.get("name"), str):
        raise _bad("has a type node without a name")


def _decode(node: Any) -> Any:
    if isinstance(node, list):
        return tuple(_decode(item) for item in node)
    if not isinstance(node, dict):
        return node
    kind = node.get("_type")
    if kind == "list":
        return [_decode(item) for item in node["_items"]]
    if kind == "type":
        return str(node["name"])
    if kind == "partial_chain":
        lhs, rhs = _decode(node["lhs"]), _decode(node["rhs"])
        return _call(_name(node["rhs"]), lambda: lhs >> rhs)
    if kind == "constructor":
        function = resolve(node["module"], node["func"])
        args = [_decode(item) for item in node.get("args", [])]
        kwargs = {key: _decode(value) for key, value in node.get("kwargs", {}).items()}
        return _call(node["func"], lambda: function(*args, **kwargs))
    return {key: _decode(value) for key, value in node.items()}


def _name(node: Any) -> str:
    if isinstance(node, dict) and isinstance(node.get("func"), str):
        return str(node["func"])
    return ">>"


def _call(what: str, build: Any) -> Any:
    try:
        return build()
    except OpenDPException as exc:
        message = opendp_message(exc)
        hint = _NAN_HINT if "nan" in message.lower() else ""
        raise _bad(f"could not be rebuilt by OpenDP at {what}: {message}{hint}") from exc
    except (UnknownTypeException, TypeError, ValueError, KeyError, AttributeError) as exc:
        raise _bad(f"has invalid arguments for {what} ({exc})") from exc


def _bad(reason: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"pipeline_json {reason}", field="pipeline_json")
