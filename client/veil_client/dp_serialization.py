"""Client-side serialization of DP pipelines, and loading of the models the server returns.

The Veil engine accepts two serialized forms (see docs/dp.md):

* OpenDP measurements as the list of constructor calls that built them, in the JSON form of
  Lomas's ``opendp_logger`` (read from the call records OpenDP keeps on each object); the server
  rebuilds it from an allow-list of constructors. OpenDP's own JSON (``opendp.prelude.serialize``)
  is accepted too, but cannot carry ``then_variance`` or ``then_count_by_categories``.
* OpenDP polars queries as polars' JSON plan (``LazyFrame.serialize(format="json")``) in a small
  ``veil-opendp-polars`` envelope naming the output measure and noise scale; the server checks
  the plan's nodes before polars reads it and rebuilds the measurement from the metadata.
* diffprivlib pipelines as plain data (``veil-diffprivlib`` format 1): the step names, the
  ``diffprivlib.models`` class names and their constructor parameters as JSON values, tuples
  tagged ``{"__tuple__": [...]}``. Lomas used ``diffprivlib_logger`` (lomas.md §4.3).

Fitted models come back as skops bytes (loaded here with an explicit list of trusted types) or,
only when both the caller and the server opted in, as a pickle.

The DP libraries are optional dependencies of the client (``pip install veil[dp]``); they are
imported when a function needs them.
"""

from __future__ import annotations

import inspect
import json
import pickle
import warnings
from collections.abc import Mapping
from importlib import import_module
from typing import Any

from veil_client.errors import InvalidArgument
from veil_client.skops_import import skops_io

DIFFPRIVLIB_FORMAT = "veil-diffprivlib"
DIFFPRIVLIB_FORMAT_VERSION = 1
DIFFPRIVLIB_MODELS = (
    "DecisionTreeClassifier",
    "GaussianNB",
    "KMeans",
    "LinearRegression",
    "LogisticRegression",
    "PCA",
    "RandomForestClassifier",
    "StandardScaler",
)
# Parameters the server sets itself; they must be left at their default (None).
_SERVER_PARAMS = ("accountant", "n_jobs", "verbose")
# Types a returned diffprivlib model may contain, beyond numpy/sklearn basics skops trusts.
TRUSTED_MODEL_TYPES = (
    "diffprivlib.accountant.BudgetAccountant",
    "diffprivlib.models.forest.DecisionTreeClassifier",
    "diffprivlib.models.forest.RandomForestClassifier",
    "diffprivlib.models.k_means.KMeans",
    "diffprivlib.models.linear_regression.LinearRegression",
    "diffprivlib.models.logistic_regression.LogisticRegression",
    "diffprivlib.models.naive_bayes.GaussianNB",
    "diffprivlib.models.pca.PCA",
    "diffprivlib.models.standard_scaler.StandardScaler",
    "sklearn.pipeline.Pipeline",
    "sklearn.tree._tree.Tree",
)


def serialize_opendp_measurement(measurement: Any) -> str:
    """Serialize an OpenDP Measurement for ``dp.opendp.query``/``cost``.

    The result is the list of constructor calls that built the measurement, in the form
    ``opendp_logger`` (Lomas's client) writes: ``{"version": ..., "ast": ...}`` where ``>>`` onto a
    ``then_*`` constructor is a ``partial_chain``. It is read from the call records OpenDP keeps on
    each object, so nothing is patched and pipelines built before importing Veil work too. Unlike
    ``opendp.prelude.serialize`` it carries runtime types (``then_variance``,
    ``then_count_by_categories(MO=...)``) and does not repeat the chain's prefix at each step.

    Args:
        measurement: An ``opendp.mod.Measurement`` whose input is the dataset as a header-less
            CSV string (start with ``make_split_dataframe`` listing the metadata's columns).

    Returns:
        The JSON text; the server rebuilds it from its allow-list of constructors.

    Raises:
        InvalidArgument: Not a Measurement, or a part no constructor call describes (a Python
            function, a polars plan: send those as ``pipeline_type="polars"``).
    """
    dp = _optional("opendp.prelude", "opendp")
    if not isinstance(measurement, dp.Measurement):
        raise InvalidArgument(
            "The pipeline provided is not a measurement (Lomas's words; here a "
            f"{type(measurement).__name__}): it has no noise mechanism, so it would release exact "
            "values; chain a noise mechanism (then_laplace...)",
            field="opendp_pipeline",
        )
    return json.dumps({"version": dp.__version__, "ast": _opendp_calls(measurement, dp)})


_CHAIN_PARTS = {"make_chain_tt": "transformation1", "make_chain_mt": "measurement1"}


def _opendp_calls(obj: Any, dp: Any) -> Any:
    """The constructor-call form of ``obj`` (an OpenDP object or an argument of one)."""
    record = getattr(obj, "__opendp_dict__", None)
    if isinstance(record, dict):
        kwargs = record.get("__kwargs__", {})
        func = record["__function__"]
        if func in _CHAIN_PARTS:
            partial = _as_partial(kwargs.get(_CHAIN_PARTS[func]), kwargs.get("transformation0"), dp)
            if partial is not None:
                lhs = _opendp_calls(kwargs["transformation0"], dp)
                return {"_type": "partial_chain", "lhs": lhs, "rhs": partial}
        return {
            "_type": "constructor",
            "module": record["__module__"],
            "func": func,
            "kwargs": {key: _opendp_calls(value, dp) for key, value in kwargs.items()},
        }
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    if isinstance(obj, dp.RuntimeType | type):
        return str(dp.RuntimeType.parse(obj))
    if isinstance(obj, tuple):
        return [_opendp_calls(item, dp) for item in obj]
    if isinstance(obj, list):
        return {"_type": "list", "_items": [_opendp_calls(item, dp) for item in obj]}
    if isinstance(obj, dict) and all(isinstance(key, str) for key in obj):
        return {key: _opendp_calls(value, dp) for key, value in obj.items()}
    raise InvalidArgument(
        f"the pipeline holds a {type(obj).__module__}.{type(obj).__name__}, which no OpenDP "
        "constructor call describes (Python functions cannot be sent; send polars plans with "
        'pipeline_type="polars")',
        field="opendp_pipeline",
    )


def _as_partial(step: Any, prefix: Any, dp: Any) -> dict[str, Any] | None:
    """``then_X(...)`` when ``step`` is ``make_X`` applied to ``prefix``'s output space.

    This is how ``prefix >> dp.t.then_X(...)`` is recorded; writing it back as a partial chain
    keeps the JSON linear in the number of steps (OpenDP's own form nests the prefix three times
    per step) and is the form Lomas's ``opendp_logger`` writes.
    """
    record = getattr(step, "__opendp_dict__", None)
    if not isinstance(record, dict) or not str(record["__function__"]).startswith("make_"):
        return None
    kwargs = record.get("__kwargs__", {})
    if not (
        _is_output_of(kwargs.get("input_domain"), "transformation_output_domain", prefix)
        and _is_output_of(kwargs.get("input_metric"), "transformation_output_metric", prefix)
    ):
        return None
    module = import_module(f"opendp.{record['__module__']}")
    then_name = "then_" + str(record["__function__"]).removeprefix("make_")
    make, then = getattr(module, record["__function__"], None), getattr(module, then_name, None)
    if make is None or then is None:
        return None
    make_params = list(inspect.signature(make).parameters)
    if make_params[:2] != ["input_domain", "input_metric"]:
        return None
    if make_params[2:] != list(inspect.signature(then).parameters):
        return None
    rest = {k: v for k, v in kwargs.items() if k not in ("input_domain", "input_metric")}
    return {
        "_type": "constructor",
        "module": record["__module__"],
        "func": then_name,
        "kwargs": {key: _opendp_calls(value, dp) for key, value in rest.items()},
    }


def _is_output_of(space_part: Any, function: str, prefix: Any) -> bool:
    record = getattr(space_part, "__opendp_dict__", None)
    return (
        isinstance(record, dict)
        and record.get("__function__") == function
        and record.get("__kwargs__", {}).get("this") is prefix
    )


OPENDP_POLARS_FORMAT = "veil-opendp-polars"
_POLARS_MEASURES = {
    "MaxDivergence": "max_divergence",
    "ZeroConcentratedDivergence": "zero_concentrated_divergence",
    "Approximate(MaxDivergence)": "approximate_max_divergence",
}
_MECHANISMS = {
    None: "max_divergence",
    "laplace": "max_divergence",
    "gaussian": "zero_concentrated_divergence",
}


def is_opendp_polars(pipeline: Any) -> bool:
    """Whether ``pipeline`` is a polars LazyFrame or an OpenDP ``Context`` polars query."""
    cls = type(pipeline)
    return (cls.__module__.startswith("polars") and cls.__name__ == "LazyFrame") or (
        cls.__module__.startswith("opendp.extras.polars") and cls.__name__ == "LazyFrameQuery"
    )


def serialize_opendp_polars(pipeline: Any, mechanism: str | None = None) -> str:
    """Serialize a polars query for ``dp.opendp.query``/``cost`` (``pipeline_type="polars"``).

    Args:
        pipeline: Either a ``polars.LazyFrame`` plan using OpenDP's ``.dp`` expressions with
            every ``scale`` given (Lomas's form), or a query from an OpenDP
            ``dp.Context.compositor(data=<LazyFrame>, ...)``, whose noise scale is solved here
            from the context's privacy loss (no data is read).
        mechanism: For a bare LazyFrame: ``laplace`` (pure DP, default) or ``gaussian`` (zCDP;
            give ``fixed_delta``). Ignored for a context query, whose measure is the context's.

    Returns:
        The ``veil-opendp-polars`` envelope: the polars JSON plan, the output measure and the
        solved ``global_scale``/``threshold``. The server rebuilds and prices the measurement.

    Raises:
        InvalidArgument: Not a polars query, an unknown mechanism, or a measure the server does
            not support.
    """
    dp = _optional("opendp.prelude", "opendp[polars]")
    scale: float | None = None
    threshold: int | None = None
    if type(pipeline).__name__ == "LazyFrameQuery":
        plan = object.__getattribute__(pipeline, "polars_plan")
        query = object.__getattribute__(pipeline, "_query")
        measure = _POLARS_MEASURES.get(str(query._output_measure))
        if measure is None:
            raise _polars_error(f"output measure {query._output_measure} is not supported")
        scale, threshold = _solve_scale(dp, plan, query)
    elif is_opendp_polars(pipeline):
        plan = pipeline
        if mechanism not in _MECHANISMS:
            raise _polars_error("mechanism must be 'laplace' or 'gaussian'")
        measure = _MECHANISMS[mechanism]
    else:
        raise _polars_error(
            f"expected a polars LazyFrame or an OpenDP context query, got {type(pipeline).__name__}"
        )
    with warnings.catch_warnings():
        # polars 1.32 deprecates the JSON format, but it is the one the server can inspect
        # before deserializing (binary plans may carry pickled Python functions).
        warnings.filterwarnings(
            "ignore", message=r"'json' serialization format", category=UserWarning
        )
        plan_json = plan.serialize(format="json")
    return json.dumps(
        {
            "format": OPENDP_POLARS_FORMAT,
            "version": 1,
            "plan": json.loads(plan_json),
            "output_measure": measure,
            "global_scale": scale,
            "threshold": threshold,
        }
    )


def _solve_scale(dp: Any, plan: Any, query: Any) -> tuple[float | None, int | None]:
    """The ``global_scale`` (and threshold) OpenDP's ``LazyFrameQuery.resolve`` would pick."""
    input_domain, input_metric = query._chain
    d_in, d_out = query._d_in, query._d_out

    def make(scale: float, threshold: int | None = None) -> Any:
        return dp.m.make_private_lazyframe(
            input_domain,
            input_metric,
            query._output_measure,
            plan,
            global_scale=scale,
            threshold=threshold,
        )

    try:
        if make(0.0).check(d_in, d_out):
            return 0.0, None
    except dp.OpenDPException:
        pass
    if str(query._output_measure).startswith("Approximate"):
        scale = dp.binary_search(lambda s: make(s, 2**32 - 1).map(d_in)[0] < d_out[0], T=float)
        try:
            make(scale)
            return float(scale), None
        except dp.OpenDPException:
            pass
        threshold = dp.binary_search(lambda t: make(scale, t).map(d_in)[1] < d_out[1], T=int)
        return float(scale), int(threshold)
    return float(dp.binary_search_param(make, d_in, d_out, T=float)), None


def _polars_error(reason: str) -> InvalidArgument:
    """An InvalidArgument about the OpenDP polars pipeline."""
    return InvalidArgument(reason, field="opendp_pipeline")


def serialize_diffprivlib_pipeline(pipeline: Any) -> str:
    """Serialize a diffprivlib model or an sklearn Pipeline of diffprivlib models.

    Args:
        pipeline: ``sklearn.pipeline.Pipeline`` whose steps are ``diffprivlib.models``
            estimators, or one such estimator. Leave ``accountant`` unset; give ``bounds``
            (and ``data_norm`` where the model takes it) or the server refuses the fit with a
            PrivacyLeakWarning.

    Returns:
        The ``veil-diffprivlib`` JSON document.

    Raises:
        InvalidArgument: A step that is not an allow-listed diffprivlib model, a custom
            accountant, or a parameter value that is not plain data.
    """
    diffprivlib = _optional("diffprivlib", "diffprivlib")
    if hasattr(pipeline, "steps"):
        steps = list(pipeline.steps)
    else:
        steps = [(type(pipeline).__name__.lower(), pipeline)]
    encoded = []
    for name, estimator in steps:
        cls_name = type(estimator).__name__
        if cls_name not in DIFFPRIVLIB_MODELS or getattr(
            diffprivlib.models, cls_name, None
        ) is not type(estimator):
            raise InvalidArgument(
                f"step {name!r} is a {type(estimator).__module__}.{cls_name}; only "
                f"diffprivlib.models {', '.join(DIFFPRIVLIB_MODELS)} are accepted",
                field="pipeline",
            )
        params = {}
        defaults = type(estimator)().get_params(deep=False)
        for key, value in estimator.get_params(deep=False).items():
            if key in _SERVER_PARAMS:
                if value is not None and value != defaults.get(key):
                    raise InvalidArgument(
                        f"step {name!r} sets {key}; leave it unset, the server sets it",
                        field="pipeline",
                    )
                continue
            params[key] = _encode(value, f"step {name!r} parameter {key!r}")
        encoded.append({"name": name, "class": cls_name, "params": params})
    doc = {
        "format": DIFFPRIVLIB_FORMAT,
        "format_version": DIFFPRIVLIB_FORMAT_VERSION,
        "diffprivlib_version": getattr(diffprivlib, "__version__", "unknown"),
        "steps": encoded,
    }
    return json.dumps(doc)


def serialize_synth_constraints(constraints: Mapping[str, Any]) -> str:
    """Serialize smartnoise-synth column transformers for ``smartnoise_synth.query/cost``.

    Args:
        constraints: Column name to a ``snsynth.transform`` transformer (``MinMaxTransformer``,
            ``ChainTransformer([LabelTransformer(), OneHotEncoder()])``,
            ``AnonymizationTransformer("email")``...). Give bounds: transformers that would
            spend ε to learn them are refused.

    Returns:
        Veil's constraints JSON: ``{"col": {"class": ..., "params": {...}}}``.

    Raises:
        InvalidArgument: Not a transformer, or one that needs ε or a custom callable.
    """
    return json.dumps({name: _transformer_spec(t, name) for name, t in constraints.items()})


def _transformer_spec(transformer: Any, where: str) -> dict[str, Any]:
    cls_name = type(transformer).__name__
    if cls_name == "ChainTransformer":
        parts = [_transformer_spec(t, where) for t in transformer.transformers]
        return {"class": cls_name, "transformers": parts}
    if cls_name == "AnonymizationTransformer":
        fake = getattr(transformer.fake, "__name__", None)
        if fake is None:
            raise InvalidArgument(
                f"constraint {where}: only Faker providers by name can be sent", field="constraints"
            )
        return {"class": cls_name, "fake": fake}
    if not type(transformer).__module__.startswith("snsynth.transform"):
        raise InvalidArgument(
            f"constraint {where} is not a snsynth.transform transformer", field="constraints"
        )
    params: dict[str, Any] = {}
    for name in inspect.signature(type(transformer).__init__).parameters:
        if name in ("self", "args", "kwargs", "odometer"):
            continue
        value: Any = getattr(transformer, name, None)
        if name == "epsilon":
            if value:
                raise InvalidArgument(
                    f"constraint {where} spends epsilon; give its bounds", field="constraints"
                )
            continue
        if hasattr(value, "isoformat"):
            value = value.isoformat()
        params[name] = _encode(value, f"constraint {where} parameter {name!r}")
    return {"class": cls_name, "params": params}


def load_model(data: bytes, model_format: str, *, allow_pickle: bool = False) -> Any:
    """Rebuild a model returned by the server.

    Args:
        data: The model bytes.
        model_format: ``skops`` (loaded trusting only :data:`TRUSTED_MODEL_TYPES` and skops'
            defaults) or ``pickle``.
        allow_pickle: Must be True to load a pickle: unpickling runs code chosen by whoever made
            the bytes, so do it only for a server you trust.

    Raises:
        InvalidArgument: Unknown format, a pickle without ``allow_pickle``, or a skops file
            holding types outside the trusted list.
    """
    if model_format == "skops":
        try:
            sio = skops_io()
        except ImportError as exc:
            raise _missing("skops") from exc
        untrusted = [t for t in sio.get_untrusted_types(data=data) if t not in TRUSTED_MODEL_TYPES]
        if untrusted:
            raise InvalidArgument(
                f"the model holds types the client does not trust: {', '.join(untrusted)}",
                field="model",
            )
        return sio.loads(data, trusted=list(TRUSTED_MODEL_TYPES))
    if model_format == "pickle":
        if not allow_pickle:
            raise InvalidArgument(
                "the model is a pickle; pass allow_pickle=True to load it (only from a server "
                "you trust)",
                field="allow_pickle",
            )
        return pickle.loads(data)
    raise InvalidArgument(f"unknown model format {model_format!r}", field="model")


def _encode(value: Any, where: str) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return _encode(value.tolist(), where)
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, where) for v in value]}
    if isinstance(value, list):
        return [_encode(v, where) for v in value]
    raise InvalidArgument(
        f"{where} is a {type(value).__name__}; only numbers, strings, booleans, None, lists, "
        "tuples and numpy arrays can be sent",
        field="pipeline",
    )


def _optional(module: str, package: str) -> Any:
    try:
        return import_module(module)
    except ImportError as exc:
        raise _missing(package) from exc


def _missing(package: str) -> ImportError:
    """The error for a DP library the client's ``veil[dp]`` extra would have installed."""
    return ImportError(f"{package} is needed for this call: pip install 'veil[dp]'")
