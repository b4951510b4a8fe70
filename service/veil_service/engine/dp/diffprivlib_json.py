"""Safe JSON form of diffprivlib pipelines (the format ``veil_client.dp_serialization`` writes).

Lomas ships pipelines through ``diffprivlib_logger``, which resolves class names at load time. Here
a pipeline is data, never code: a list of steps, each an allow-listed ``diffprivlib.models``
class and constructor parameters as plain JSON values (tuples tagged as ``{"__tuple__": [...]}``,
which diffprivlib needs for ``bounds``). The steps become an ``sklearn.pipeline.Pipeline``.
Non-DP scikit-learn estimators are not allowed: fitting one on private data (a ``MinMaxScaler``
learns the exact minimum and maximum) would release data without noise.

Format (``format_version`` 1)::

    {"format": "veil-diffprivlib", "format_version": 1, "diffprivlib_version": "0.6.6",
     "steps": [{"name": "scaler", "class": "StandardScaler",
                "params": {"epsilon": 0.5, "bounds": {"__tuple__": [[30, 13], [65, 23]]}}},
               {"name": "clf", "class": "LogisticRegression", "params": {"epsilon": 1.0}}]}
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from diffprivlib import models
from sklearn.pipeline import Pipeline

from veil_service.errors import InvalidArgumentError

FORMAT = "veil-diffprivlib"
FORMAT_VERSION = 1
ALLOWED_MODELS: dict[str, type] = {
    "DecisionTreeClassifier": models.DecisionTreeClassifier,
    "GaussianNB": models.GaussianNB,
    "KMeans": models.KMeans,
    "LinearRegression": models.LinearRegression,
    "LogisticRegression": models.LogisticRegression,
    "PCA": models.PCA,
    "RandomForestClassifier": models.RandomForestClassifier,
    "StandardScaler": models.StandardScaler,
}
# Set by the engine (one fresh BudgetAccountant per step) or meaningless remotely.
FORBIDDEN_PARAMS = frozenset({"accountant", "n_jobs", "verbose"})
MAX_STEPS = 20
#: The smallest ε a step may spend. Below it diffprivlib's bounded mechanisms sample by
#: rejection for ever: on 300 rows GaussianNB took 0.08 s at ε 0.01, 3.9 s at 0.001 and did
#: not end within 10 s at 0.0001 (StandardScaler at 1e-6, KMeans at 1e-9), holding an engine
#: worker until the task's time limit and charging the ε. Answers at such ε are noise anyway.
MIN_STEP_EPSILON = 0.01


@dataclass(frozen=True)
class PipelineStep:
    """One validated step: its name, allow-listed class and constructor parameters."""

    name: str
    cls: type
    params: dict[str, Any]

    @property
    def epsilon(self) -> float:
        """ε this step spends when fitted: its ``epsilon`` parameter or the class default."""
        value = self.params.get("epsilon", self.cls().get_params()["epsilon"])
        return float(value)


def parse_pipeline(pipeline_json: str) -> list[PipelineStep]:
    """Validate a serialized pipeline into steps, without building any estimator yet.

    Raises:
        InvalidArgumentError: Not the Veil format, a class outside the allow-list, an unknown or
            forbidden parameter, or a non-JSON value. ``field`` is ``pipeline_json``.
    """
    try:
        doc = json.loads(pipeline_json)
    except (json.JSONDecodeError, RecursionError):
        raise _bad(
            "is not valid JSON; serialize the pipeline with "
            "veil_client.dp_serialization.serialize_diffprivlib_pipeline"
        ) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise _bad(
            f"is not a {FORMAT} document; serialize the pipeline with "
            "veil_client.dp_serialization.serialize_diffprivlib_pipeline"
        )
    if doc.get("format_version") != FORMAT_VERSION:
        raise _bad(
            f"has format_version {doc.get('format_version')!r}; this server reads "
            f"version {FORMAT_VERSION}"
        )
    raw_steps = doc.get("steps")
    if not isinstance(raw_steps, list) or not 0 < len(raw_steps) <= MAX_STEPS:
        raise _bad(f"must have between 1 and {MAX_STEPS} steps")
    steps = [_parse_step(i, raw) for i, raw in enumerate(raw_steps)]
    names = [s.name for s in steps]
    if len(set(names)) != len(names):
        raise _bad("has duplicate step names")
    return steps


def build_pipeline(steps: list[PipelineStep], accountants: list[Any]) -> Pipeline:
    """Instantiate the steps, each with its own BudgetAccountant, as a scikit-learn Pipeline.

    Raises:
        InvalidArgumentError: diffprivlib or scikit-learn refuse a parameter value.
    """
    built = []
    for step, accountant in zip(steps, accountants, strict=True):
        try:
            estimator = step.cls(**step.params, accountant=accountant)
        except (TypeError, ValueError) as exc:
            raise _bad(f"step {step.name!r} ({step.cls.__name__}): {exc}") from exc
        built.append((step.name, estimator))
    return Pipeline(built)


def _parse_step(index: int, raw: object) -> PipelineStep:
    if not isinstance(raw, dict) or set(raw) - {"name", "class", "params"}:
        raise _bad(f"step {index} must be an object with name, class and params")
    name, cls_name, params = raw.get("name"), raw.get("class"), raw.get("params", {})
    if not isinstance(name, str) or not name or "__" in name:
        raise _bad(f"step {index} needs a non-empty name without '__'")
    if cls_name not in ALLOWED_MODELS:
        raise _bad(
            f"step {name!r} uses class {cls_name!r}, which is not allowed; use one of "
            f"{', '.join(sorted(ALLOWED_MODELS))} (diffprivlib.models)"
        )
    cls = ALLOWED_MODELS[cls_name]
    if not isinstance(params, dict):
        raise _bad(f"step {name!r} params must be an object")
    known = set(cls().get_params(deep=False))
    decoded: dict[str, Any] = {}
    for key, value in params.items():
        if key in FORBIDDEN_PARAMS:
            if value is None:
                continue
            raise _bad(f"step {name!r} sets {key!r}; leave it unset (the server sets it)")
        if key not in known:
            raise _bad(f"step {name!r} has unknown parameter {key!r} for {cls_name}")
        decoded[key] = _decode(value, f"step {name!r} parameter {key!r}")
    if "epsilon" in decoded:
        _check_step_epsilon(name, decoded["epsilon"])
    return PipelineStep(name=name, cls=cls, params=decoded)


def _check_step_epsilon(name: str, epsilon: Any) -> None:
    """A step's ε is what the budget is charged: a finite number of at least
    :data:`MIN_STEP_EPSILON`. A negative ε was priced negative and, charged, gave budget back."""
    if (
        isinstance(epsilon, bool)
        or not isinstance(epsilon, int | float)
        or not math.isfinite(epsilon)
        or epsilon < MIN_STEP_EPSILON
    ):
        raise _bad(
            f"step {name!r} parameter 'epsilon' must be a finite number of at least "
            f"{MIN_STEP_EPSILON} (got {epsilon!r}); it is the ε the step spends"
        )


def _decode(value: Any, where: str, depth: int = 0) -> Any:
    if depth > 10:
        raise _bad(f"{where} is nested too deeply")
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list):
        return [_decode(v, where, depth + 1) for v in value]
    if isinstance(value, dict):
        if set(value) == {"__tuple__"} and isinstance(value["__tuple__"], list):
            return tuple(_decode(v, where, depth + 1) for v in value["__tuple__"])
        raise _bad(f"{where} must be a JSON number, string, boolean, null, list or tuple")
    raise _bad(f"{where} has an unsupported value")


def _bad(reason: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"pipeline_json {reason}", field="pipeline_json")
