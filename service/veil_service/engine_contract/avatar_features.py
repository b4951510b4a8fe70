"""The avatarization features beyond ``k``: the generator (avatar method, Open DP, Fast DP), data
augmentation and server-side processors, as a run's configuration stores them.

The names are Octopize's ``set_parameters`` names (reference/avatar_client.md section 3.3), kept
flat in a table's avatarization parameters::

    {"open_dp_epsilon": 1.0, "preprocess_budget_ratio": 0.3,
     "data_augmentation_strategy": "minority", "data_augmentation_target_column": "income",
     "processors": [{"target": "capital-gain", "references": ["capital-loss"]}]}

Both sides check them here: the runs domain when a configuration is set (no data needed) and when
jobs start (against the stored table's columns), so a bad parameter is refused before any job
exists; the engine again when it builds its objects. Plain Python: no pandas.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from veil_service.errors import InvalidArgumentError

AVATAR, OPEN_DP, FAST_DP = "avatar", "open_dp", "fast_dp"
GENERATOR_KEYS: Final = {
    AVATAR: ("k",),
    OPEN_DP: ("open_dp_epsilon", "preprocess_budget_ratio"),
    FAST_DP: (
        "fast_dp_epsilon",
        "mechanism",
        "gmm_n_components",
        "histogram_n_bins",
        "bounds_percentile",
    ),
}
"""Each generator's own parameters; the first one selects it (exactly one may be set)."""
SELECTORS: Final = {keys[0]: name for name, keys in GENERATOR_KEYS.items()}
AUGMENTATION_KEYS: Final = (
    "data_augmentation_strategy",
    "data_augmentation_target_column",
    "data_augmentation_should_anonymize_original_table",
)
PROCESSORS_KEY: Final = "processors"
FEATURE_KEYS: Final = (
    *(key for keys in GENERATOR_KEYS.values() for key in keys if key != "k"),
    *AUGMENTATION_KEYS,
    PROCESSORS_KEY,
)
"""Keys this module owns in a table's avatarization parameters (``k`` is the base method's)."""
PROJECTION_KEYS: Final = (
    "ncp",
    "use_categorical_reduction",
    "column_weights",
    "exclude_variable_names",
    "exclude_variables_method",
    "imputation_method",
    "imputation_k",
    "imputation_training_fraction",
    "max_rows_per_batch",
)
"""The avatar method's projection and neighbour parameters: the DP generators have neither."""

PSEUDONYM_SECRET_PARAM: Final = "pseudonym_secret"
"""Standard task parameter: the run's pseudonymization key, hex (never stored with the job)."""
LINEAGE_RESULT: Final = "lineage"
"""Standard job result of an augmented table (SENSITIVE): the original each output row descends
from; the metrics jobs take it as an input of that name."""
PSEUDONYM_MAPPINGS_RESULT: Final = "pseudonym_mappings"
"""Standard job result (SENSITIVE): original value -> pseudonym of each consistent column."""

FAST_DP_MECHANISMS: Final = ("gaussian", "gmm", "histogram")
CLASS_STRATEGIES: Final = ("minority", "not_majority")
MAX_MULTIPLIER: Final = 50.0
"""Largest augmentation multiplier (a 50x table is already mostly generated rows)."""
DEFAULT_PREPROCESS_BUDGET_RATIO: Final = 0.3
MAX_EPSILON: Final = 1000.0
"""Largest ε accepted: beyond it the noise is negligible and the 'DP' label would mislead."""


def _fail(path: str, message: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"{path}: {message}", field=path)


def _number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float)


def check_epsilon(name: str, value: Any) -> float:
    """A finite privacy budget ε in (0, 1000] (unitless, natural log base).

    Raises:
        InvalidArgumentError: ``value`` is not a number, not finite, not above 0 or too large.
    """
    if not _number(value):
        raise InvalidArgumentError(
            f"{name} must be a number (the privacy budget ε); got {value!r}.", field=name
        )
    if not math.isfinite(value) or value <= 0 or value > MAX_EPSILON:
        raise InvalidArgumentError(
            f"{name} must be a finite number above 0 and at most {MAX_EPSILON:g} (the privacy "
            f"budget ε; smaller is more private, 1 is a common choice); got {value!r}.",
            field=name,
        )
    return float(value)


def generator_of(params: Mapping[str, Any], path: str = "avatarization") -> str:
    """Which generator a table's parameters select: ``avatar``, ``open_dp`` or ``fast_dp``.

    Parameters without any of ``k``, ``open_dp_epsilon`` and ``fast_dp_epsilon`` select the
    avatar method with its default k.

    Raises:
        InvalidArgumentError: several of them are set.
    """
    chosen = [key for key in SELECTORS if params.get(key) is not None]
    if len(chosen) == 1:
        return SELECTORS[chosen[0]]
    if not chosen:
        return AVATAR
    raise _fail(
        f"{path}.{chosen[1]}",
        f"{' and '.join(chosen)} are both set; a table uses one generator: keep only one of "
        "k, open_dp_epsilon and fast_dp_epsilon.",
    )


def _check_int(path: str, value: Any, low: int, high: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _fail(path, f"must be an integer from {low} to {high}; got {value!r}.")


def check_generator(path: str, params: Mapping[str, Any]) -> str:
    """Check the generator's parameters (and that no other generator's are set).

    Returns:
        The generator's name.

    Raises:
        InvalidArgumentError: naming the parameter and the accepted values.
    """
    generator = generator_of(params, path)
    for other, keys in GENERATOR_KEYS.items():
        if other == generator:
            continue
        stray = [key for key in keys if params.get(key) is not None]
        if stray:
            raise _fail(
                f"{path}.{stray[0]}",
                f"belongs to {keys[0]}, but this table's generator is "
                f"{GENERATOR_KEYS[generator][0]}; remove it.",
            )
    if generator != AVATAR:
        projection = [key for key in PROJECTION_KEYS if params.get(key) is not None]
        if projection:
            raise _fail(
                f"{path}.{projection[0]}",
                f"applies to the avatar method (k) only: {GENERATOR_KEYS[generator][0]} "
                "neither projects the data nor looks for neighbours. Remove it (the metrics "
                "take their own ncp).",
            )
    if generator == OPEN_DP:
        check_epsilon(f"{path}.open_dp_epsilon", params["open_dp_epsilon"])
        ratio = params.get("preprocess_budget_ratio")
        if ratio is not None and (not _number(ratio) or not 0 < ratio < 1):
            raise _fail(
                f"{path}.preprocess_budget_ratio",
                "must be a number strictly between 0 and 1 (the share of ε spent describing "
                f"the columns; default {DEFAULT_PREPROCESS_BUDGET_RATIO}); got {ratio!r}.",
            )
    elif generator == FAST_DP:
        check_epsilon(f"{path}.fast_dp_epsilon", params["fast_dp_epsilon"])
        mechanism = params.get("mechanism")
        if mechanism is not None and mechanism not in FAST_DP_MECHANISMS:
            raise _fail(
                f"{path}.mechanism",
                f"must be one of {list(FAST_DP_MECHANISMS)}; got {mechanism!r}.",
            )
        _check_int(f"{path}.gmm_n_components", params.get("gmm_n_components"), 1, 50)
        _check_int(f"{path}.histogram_n_bins", params.get("histogram_n_bins"), 2, 256)
        percentile = params.get("bounds_percentile")
        if percentile is not None and (not _number(percentile) or not 0 <= percentile < 50):
            raise _fail(
                f"{path}.bounds_percentile",
                f"must be a number in [0, 50) (default 5); got {percentile!r}.",
            )
        for key, needed in (("gmm_n_components", "gmm"), ("histogram_n_bins", "histogram")):
            if params.get(key) is not None and (mechanism or "gaussian") != needed:
                raise _fail(
                    f"{path}.{key}",
                    f"applies to mechanism {needed!r} only; this table's mechanism is "
                    f"{mechanism or 'gaussian'!r}.",
                )
    return generator


def check_augmentation(path: str, params: Mapping[str, Any]) -> None:
    """Check ``data_augmentation_*``: the strategy's shape, and the target column it needs.

    Raises:
        InvalidArgumentError: a bad strategy, or a class strategy without target column.
    """
    strategy = params.get("data_augmentation_strategy")
    target = params.get("data_augmentation_target_column")
    keep = params.get("data_augmentation_should_anonymize_original_table")
    field = f"{path}.data_augmentation_strategy"
    if strategy is None:
        for key in AUGMENTATION_KEYS[1:]:
            if params.get(key) is not None:
                raise _fail(
                    f"{path}.{key}",
                    "is set but data_augmentation_strategy is not; set the strategy too "
                    "(a multiplier such as 3, 'minority', 'not_majority' or modality shares).",
                )
        return
    if isinstance(strategy, bool):
        raise _fail(field, f"must be a number, a strategy name or shares; got {strategy!r}.")
    if _number(strategy):
        if not math.isfinite(strategy) or not 1 < strategy <= MAX_MULTIPLIER:
            raise _fail(
                field,
                f"as a multiplier must be a number in (1, {MAX_MULTIPLIER:g}] (3 gives three "
                f"times the rows); got {strategy!r}.",
            )
    elif isinstance(strategy, str):
        if strategy not in CLASS_STRATEGIES:
            raise _fail(
                field,
                f"must be a number > 1, one of {list(CLASS_STRATEGIES)} or a map of modality "
                f"to share; got {strategy!r}.",
            )
    elif isinstance(strategy, Mapping):
        if not strategy:
            raise _fail(field, "the map of modality to share is empty.")
        for modality, share in strategy.items():
            if not _number(share) or not 0 < share <= 1:
                raise _fail(f"{field}[{modality}]", f"must be a share in (0, 1]; got {share!r}.")
        total = sum(strategy.values())
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise _fail(field, f"shares must add up to 1; they add up to {total:g}.")
    else:
        raise _fail(field, f"must be a number, a strategy name or shares; got {strategy!r}.")
    if target is not None and (not isinstance(target, str) or not target):
        raise _fail(
            f"{path}.data_augmentation_target_column", f"must be a column name; got {target!r}."
        )
    if not _number(strategy) and not target:
        raise _fail(
            f"{path}.data_augmentation_target_column",
            f"is required with data_augmentation_strategy={strategy!r}: name the class column "
            "to balance.",
        )
    if keep is not None and not isinstance(keep, bool):
        raise _fail(
            f"{path}.data_augmentation_should_anonymize_original_table",
            f"must be true or false; got {keep!r}.",
        )


@dataclass(frozen=True)
class RelativeDifferenceSpec:
    """``RelativeDifferenceParameters(target, references, scaling_unit=None)``."""

    target: str
    references: tuple[str, ...]
    scaling_unit: float | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        """Columns the processor reads."""
        return (self.target, *self.references)

    def field_map(self) -> dict[str, Any]:
        """The avatar_yaml field map (no type tag)."""
        fields: dict[str, Any] = {"target": self.target, "references": list(self.references)}
        if self.scaling_unit is not None:
            fields["scaling_unit"] = self.scaling_unit
        return fields


@dataclass(frozen=True)
class InterRecordRangeDifferenceSpec:
    """``InterRecordRangeDifferenceParameters(id_variable, target_start_variable,
    target_end_variable)``."""

    id_variable: str
    target_start_variable: str
    target_end_variable: str

    @property
    def columns(self) -> tuple[str, ...]:
        """Columns the processor reads."""
        return (self.id_variable, self.target_start_variable, self.target_end_variable)

    def field_map(self) -> dict[str, Any]:
        """The avatar_yaml field map (no type tag)."""
        return {
            "id_variable": self.id_variable,
            "target_start_variable": self.target_start_variable,
            "target_end_variable": self.target_end_variable,
        }


ProcessorSpec = RelativeDifferenceSpec | InterRecordRangeDifferenceSpec
_RELATIVE = frozenset({"target", "references", "scaling_unit"})
_INTER_RECORD = frozenset({"id_variable", "target_start_variable", "target_end_variable"})


def _column(path: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise _fail(path, f"must be a column name; got {value!r}.")
    return value


def parse_processor(path: str, entry: Any) -> ProcessorSpec:
    """One processor from its field map (avatar_yaml writes them without a type tag).

    Raises:
        InvalidArgumentError: the fields match no processor, or one is bad.
    """
    if not isinstance(entry, Mapping):
        raise _fail(path, f"must be a map of fields; got {type(entry).__name__}.")
    keys = {key for key, value in entry.items() if value is not None}
    if keys and keys <= _RELATIVE and {"target", "references"} <= keys:
        references = entry["references"]
        if isinstance(references, str) or not isinstance(references, Sequence) or not references:
            raise _fail(
                f"{path}.references", f"must be a non-empty list of columns; got {references!r}."
            )
        spec = RelativeDifferenceSpec(
            _column(f"{path}.target", entry["target"]),
            tuple(_column(f"{path}.references[{i}]", r) for i, r in enumerate(references)),
            entry.get("scaling_unit"),
        )
        if spec.target in spec.references:
            raise _fail(
                f"{path}.target",
                f"{spec.target!r} is also one of its references; name different columns.",
            )
        unit = spec.scaling_unit
        if unit is not None and (not _number(unit) or not math.isfinite(unit) or unit <= 0):
            raise _fail(f"{path}.scaling_unit", f"must be a number above 0; got {unit!r}.")
        return spec
    if keys == _INTER_RECORD:
        spec_ir = InterRecordRangeDifferenceSpec(
            *(
                _column(f"{path}.{key}", entry[key])
                for key in ("id_variable", "target_start_variable", "target_end_variable")
            )
        )
        if spec_ir.target_start_variable == spec_ir.target_end_variable:
            raise _fail(
                f"{path}.target_end_variable",
                "names the same column as target_start_variable; name the end column.",
            )
        return spec_ir
    raise _fail(
        path,
        f"fields {sorted(keys)} make no known processor. Use "
        "RelativeDifferenceParameters(target, references, scaling_unit=None) or "
        "InterRecordRangeDifferenceParameters(id_variable, target_start_variable, "
        "target_end_variable).",
    )


def parse_processors(path: str, entries: Any) -> list[ProcessorSpec]:
    """Every processor of a table, in list order (the preprocessing order).

    Raises:
        InvalidArgumentError: ``entries`` is not a list, or one entry is bad.
    """
    if entries is None:
        return []
    if isinstance(entries, str | bytes | Mapping) or not isinstance(entries, Sequence):
        raise _fail(path, f"must be a list of processor parameters; got {entries!r}.")
    return [parse_processor(f"{path}[{i}]", entry) for i, entry in enumerate(entries)]


def check_features(path: str, params: Mapping[str, Any]) -> str:
    """Check a table's generator, augmentation and processors parameters (no data needed).

    Returns:
        The generator's name.
    """
    generator = check_generator(path, params)
    check_augmentation(path, params)
    strategy = params.get("data_augmentation_strategy")
    if generator != AVATAR and strategy is not None and not _number(strategy):
        raise _fail(
            f"{path}.data_augmentation_strategy",
            "with a DP generator, augmentation draws more rows from the DP model: give a "
            f"multiplier (e.g. 2). {strategy!r} needs the avatar method (k), which grows each "
            "class from its own individuals.",
        )
    parse_processors(f"{path}.processors", params.get(PROCESSORS_KEY))
    return generator


def named_columns(
    params: Mapping[str, Any], pseudonymized: Iterable[str] = ()
) -> list[tuple[str, str]]:
    """(parameter path, column) of every column the features name, to check against a table.

    Paths are relative to the table: ``avatarization.processors[0].target``,
    ``pseudonymized_columns[ssn]``.
    """
    named = [
        (f"avatarization.processors[{i}].{role}", column)
        for i, spec in enumerate(parse_processors("processors", params.get(PROCESSORS_KEY)))
        for role, column in zip(_roles(spec), spec.columns, strict=True)
    ]
    target = params.get("data_augmentation_target_column")
    if target:
        named.append(("avatarization.data_augmentation_target_column", target))
    if params.get("target_column"):
        named.append(("avatarization.target_column", params["target_column"]))
    weights = params.get("column_weights")
    if isinstance(weights, Mapping):
        named.extend((f"avatarization.column_weights[{c}]", str(c)) for c in weights)
    excluded = params.get("exclude_variable_names")
    if isinstance(excluded, list | tuple):
        named.extend(
            (f"avatarization.exclude_variable_names[{i}]", str(c)) for i, c in enumerate(excluded)
        )
    named.extend((f"pseudonymized_columns[{column}]", column) for column in pseudonymized)
    return named


def _roles(spec: ProcessorSpec) -> list[str]:
    if isinstance(spec, RelativeDifferenceSpec):
        return ["target", *(f"references[{i}]" for i in range(len(spec.references)))]
    return ["id_variable", "target_start_variable", "target_end_variable"]


def check_columns(
    path: str,
    params: Mapping[str, Any],
    columns: Sequence[str],
    *,
    table_name: str,
    pseudonymized: Iterable[str] = (),
) -> None:
    """Refuse features naming a column the table does not have.

    Args:
        path: The table's path in the configuration (``tables[adult]``).
        params: The table's avatarization parameters.
        columns: The table's columns.
        table_name: The table's name, for the message.
        pseudonymized: Columns the table's pseudonymization names.

    Raises:
        InvalidArgumentError: naming the parameter, the column and the table's columns.
    """
    present = set(columns)
    for where, column in named_columns(params, pseudonymized):
        if column not in present:
            shown = ", ".join(list(columns)[:30])
            raise _fail(
                f"{path}.{where}",
                f"names column {column!r}, which table {table_name!r} does not have; its "
                f"columns are: {shown}.",
            )
