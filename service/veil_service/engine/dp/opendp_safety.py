"""Safe loading of OpenDP pipelines serialized with ``opendp.prelude.serialize``.

``dp.deserialize`` rebuilds an object by importing ``opendp.<__module__>`` and calling the
function named in ``__function__`` with ``__kwargs__``: any public or private function of any
OpenDP module, with arguments of the sender's choosing. That is remote code selection, so before
deserializing we walk the JSON and accept only (module, function) pairs from an explicit
allow-list of constructors that build domains, metrics, measures, transformations, measurements
and non-interactive combinators. Everything else is refused, naming the function:

* user-defined callables (``make_user_*``, ``new_function``, ``user_domain``...), which could
  run arbitrary code or break the privacy proof;
* interactive measurements (sequential/adaptive composition, privacy filters, queryables), whose
  cost is not the single number we charge;
* the ``core`` helpers that invoke or evaluate objects;
* polars plans and expressions (``__lazyframe__``/``__expr__``/``__margin__``).

The allow-list is meant to cover the pipelines of the OpenDP documentation; extend it
deliberately, one reviewed constructor at a time.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from typing import Any

import opendp.prelude as dp
from opendp.mod import OpenDPException

from veil_service.errors import InvalidArgumentError

ALLOWED_CONSTRUCTORS: dict[str, frozenset[str]] = {
    "transformations": frozenset(
        {
            "make_split_dataframe",
            "make_split_lines",
            "make_split_records",
            "make_create_dataframe",
            "make_select_column",
            "make_subset_by",
            "make_df_cast_default",
            "make_df_is_equal",
            "make_cast",
            "make_cast_default",
            "make_cast_inherent",
            "make_clamp",
            "make_impute_constant",
            "make_impute_uniform_float",
            "make_drop_null",
            "make_is_null",
            "make_is_equal",
            "make_find",
            "make_find_bin",
            "make_index",
            "make_identity",
            "make_resize",
            "make_unordered",
            "make_ordered_random",
            "make_metric_bounded",
            "make_metric_unbounded",
            "make_count",
            "make_count_distinct",
            "make_count_by",
            "make_count_by_categories",
            "make_sum",
            "make_mean",
            "make_variance",
            "make_sum_of_squared_deviations",
            "make_bounded_float_checked_sum",
            "make_bounded_float_ordered_sum",
            "make_bounded_int_monotonic_sum",
            "make_bounded_int_ordered_sum",
            "make_bounded_int_split_sum",
            "make_sized_bounded_float_checked_sum",
            "make_sized_bounded_float_ordered_sum",
            "make_sized_bounded_int_checked_sum",
            "make_sized_bounded_int_monotonic_sum",
            "make_sized_bounded_int_ordered_sum",
            "make_sized_bounded_int_split_sum",
            "make_lipschitz_float_mul",
            "make_b_ary_tree",
            "make_consistent_b_ary_tree",
            "make_cdf",
            "make_quantiles_from_counts",
            "make_quantile_score_candidates",
        }
    ),
    "measurements": frozenset(
        {
            "make_laplace",
            "make_gaussian",
            "make_geometric",
            "make_noise",
            "make_laplace_threshold",
            "make_gaussian_threshold",
            "make_noise_threshold",
            "make_randomized_response",
            "make_randomized_response_bool",
            "make_report_noisy_max_gumbel",
            "make_noisy_max",
            "make_noisy_top_k",
            "make_private_quantile",
            "make_canonical_noise",
        }
    ),
    "combinators": frozenset(
        {
            "make_chain_tt",
            "make_chain_mt",
            "make_chain_pm",
            "make_basic_composition",
            "make_composition",
            "make_pureDP_to_zCDP",
            "make_zCDP_to_approxDP",
            "make_fix_delta",
            "make_approximate",
            "make_fixed_approxDP_to_approxDP",
            "make_population_amplification",
        }
    ),
    "core": frozenset(
        {
            "transformation_input_domain",
            "transformation_input_metric",
            "transformation_output_domain",
            "transformation_output_metric",
            "measurement_input_domain",
            "measurement_input_metric",
            "measurement_output_measure",
        }
    ),
    "domains": frozenset(
        {
            "atom_domain",
            "vector_domain",
            "option_domain",
            "map_domain",
            "bitvector_domain",
            "categorical_domain",
            "datetime_domain",
            "array_domain",
        }
    ),
    "metrics": frozenset(
        {
            "symmetric_distance",
            "insert_delete_distance",
            "change_one_distance",
            "hamming_distance",
            "absolute_distance",
            "l1_distance",
            "l2_distance",
            "linf_distance",
            "discrete_distance",
            "l01inf_distance",
            "l02inf_distance",
        }
    ),
    "measures": frozenset(
        {
            "max_divergence",
            "smoothed_max_divergence",
            "fixed_smoothed_max_divergence",
            "zero_concentrated_divergence",
            "approximate",
            "renyi_divergence",
        }
    ),
}

_FUNCTION_KEYS = frozenset({"__function__", "__module__", "__kwargs__", "__version__"})
_POLARS_FLAGS = ("__lazyframe__", "__expr__", "__margin__")
MAX_DEPTH = 2_000


def check_pipeline(pipeline_json: str) -> None:
    """Walk a serialized OpenDP object and refuse any constructor not in the allow-list.

    Raises:
        InvalidArgumentError: Not JSON, too deep, a non-allow-listed (module, function) pair, a
            polars object, or an incompatible OpenDP version. ``field`` is ``pipeline_json``.
    """
    try:
        tree = json.loads(pipeline_json)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise _bad(
            f"is not valid JSON ({type(exc).__name__}); serialize the measurement with "
            "opendp.prelude.serialize"
        ) from None
    for node in json_objects(tree):
        for flag in _POLARS_FLAGS:
            if flag in node:
                raise _bad(
                    "contains a polars plan or expression; polars pipelines are not "
                    "supported by this server's OpenDP build"
                )
        if "__function__" in node:
            _check_call(node)
        elif any(isinstance(k, str) and k.startswith("__") and k != "__tuple__" for k in node):
            raise _bad(f"contains an unknown OpenDP marker {sorted(node)[0]!r}")


def load_measurement(pipeline_json: str) -> dp.Measurement:
    """Check then deserialize a pipeline, which must be a Measurement.

    Returns:
        The measurement, ready to ``map`` (cost) and to invoke (release).

    Raises:
        InvalidArgumentError: The pipeline is refused by :func:`check_pipeline`, OpenDP cannot
            rebuild it, or it is not a Measurement (e.g. a Transformation without noise).
    """
    check_pipeline(pipeline_json)
    try:
        with warnings.catch_warnings():
            # Legacy dataframe constructors are deprecated upstream in favour of polars but are
            # what legacy pipelines are made of.
            warnings.filterwarnings(
                "ignore", message=r"Call to deprecated function", category=DeprecationWarning
            )
            # Versions are compared in _check_call; patch-level differences are harmless.
            warnings.filterwarnings(
                "ignore", message=r"OpenDP version in serialized object", category=UserWarning
            )
            obj = dp.deserialize(pipeline_json)  # type: ignore[no-untyped-call]
    except OpenDPException as exc:
        raise _bad(f"could not be rebuilt by OpenDP: {_opendp_message(exc)}") from exc
    except (TypeError, ValueError, KeyError) as exc:
        raise _bad(f"has invalid arguments for an OpenDP constructor ({exc})") from exc
    if not isinstance(obj, dp.Measurement):
        raise not_a_measurement(obj)
    return obj


def not_a_measurement(obj: object) -> InvalidArgumentError:
    """The error for a pipeline that is not an OpenDP Measurement: what it is, and the fix.

    ``obj`` is what the JSON rebuilt to (a Transformation, a JSON list, null...).
    """
    kind = (
        "null"
        if obj is None
        else "a Transformation (no noise mechanism, so it would release exact values)"
        if isinstance(obj, dp.Transformation)
        else f"a JSON {type(obj).__name__}"
    )
    return InvalidArgumentError(
        f"pipeline_json: The pipeline provided is not a measurement; it is {kind}. A "
        "measurement is an OpenDP pipeline that ends with a noise mechanism, e.g. "
        "dp.t.make_split_dataframe(...) >> ... >> dp.m.then_laplace(scale=1.0); pass the "
        "Measurement itself to the client's opendp.query, or its JSON from "
        "opendp.prelude.serialize(measurement)",
        field="pipeline_json",
    )


def _check_call(node: dict[str, Any]) -> None:
    extra = set(node) - _FUNCTION_KEYS
    if extra:
        raise _bad(f"has unexpected keys {sorted(extra)} next to __function__")
    module, function = node.get("__module__"), node.get("__function__")
    if not isinstance(module, str) or not isinstance(function, str):
        raise _bad("has a __function__ entry without string __module__ and __function__")
    if function not in ALLOWED_CONSTRUCTORS.get(module, frozenset()):
        raise _bad(
            f"uses opendp.{module}.{function}, which is not in the server's allow-list of OpenDP "
            "constructors (see docs/dp.md)"
        )
    if not isinstance(node.get("__kwargs__", {}), dict):
        raise _bad(f"has non-object __kwargs__ for {function}")
    version = node.get("__version__")
    if version is not None and not _same_minor(str(version), dp.__version__):
        raise _bad(
            f"was serialized with OpenDP {version}; this server runs OpenDP {dp.__version__}. "
            "Use the same minor version on the client"
        )


def json_objects(root: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in a parsed document, refusing nesting past ``MAX_DEPTH`` without
    recursion (a hostile document must not exhaust the stack)."""
    stack: list[tuple[Any, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _bad("is nested too deeply")
        if isinstance(node, dict):
            yield node
            stack.extend((value, depth + 1) for value in node.values())
        elif isinstance(node, list):
            stack.extend((value, depth + 1) for value in node)


def _same_minor(a: str, b: str) -> bool:
    return a.split(".")[:2] == b.split(".")[:2]


def _opendp_message(exc: OpenDPException) -> str:
    message = getattr(exc, "message", None) or str(exc)
    return " ".join(str(message).split())[:500]


def _bad(reason: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"pipeline_json {reason}", field="pipeline_json")
