"""The configuration of a run, as the service sees it (no protobuf, no YAML).

Parameter names are the Octopize ``set_parameters`` names, so they pass straight to the engine's
algorithms. ``validate`` checks types and ranges that do not need the data (k against the row
count is checked by the engine, which knows the table).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from veil_service.engine_contract import avatar_features
from veil_service.engine_contract.linked_tables import Link, Schema, TableKeys
from veil_service.engine_contract.privacy_targets import check_privacy_targets
from veil_service.engine_contract.pseudonymization import parse_strategy
from veil_service.engine_contract.time_series import from_settings
from veil_service.errors import InvalidArgumentError, Message

COLUMN_TYPES = ("int", "bool", "category", "float", "datetime", "datetime_tz")
IMPUTE_METHODS = ("knn", "mode", "median", "mean", "fast_knn")
EXCLUDE_METHODS = ("row_order", "coordinate_similarity")
LANGUAGES = ("en", "fr")
REPORT_TYPES = ("basic", "pia")
SENSITIVITY_LEVELS = ("Very High", "High", "Medium", "Low", "Very Low", "Negligible", "Undefined")
DATA_TYPES = ("unknown", "health", "hr", "mobility", "insurance", "finance", "education")
DATA_SUBJECTS = ("unknown", "patients", "employees", "clients", "users", "students")
DATA_RECIPIENTS = (
    "unknown",
    "opendata",
    "contractual_thirdparty",
    "internal",
    "outside_eu",
    "trusted_thirdparty",
)

AVATARIZATION_KEYS = (
    "k",
    "ncp",
    "column_weights",
    "use_categorical_reduction",
    "exclude_variable_names",
    "exclude_variables_method",
    "imputation_method",
    "imputation_k",
    "imputation_training_fraction",
    "imputation_return_data_imputed",
    "max_rows_per_batch",
    "max_weight",
    "local_noise",
    "redraw_unique_copies",
    "coupled_noise",
    "target_column",
    *avatar_features.FEATURE_KEYS,
)
"""Avatarization parameters: the avatar method's, then the DP generators', data augmentation's and
the server-side processors' (``engine_contract.avatar_features``)."""
PRIVACY_KEYS = (
    "ncp",
    "known_variables",
    "target",
    "quantile_threshold",
    "use_categorical_reduction",
    "column_weights",
    "exclude_variable_names",
)
SIGNAL_KEYS = (
    "ncp",
    "use_categorical_reduction",
    "column_weights",
    "target",
    "exclude_variable_names",
)
MAX_ANNOTATIONS = 64
MAX_ANNOTATION_CHARS = 1000


@dataclass
class TableConfig:
    """Configuration of one table of a run.

    Attributes:
        identifiers: avatar_yaml's ``identifier`` columns: the table's foreign keys (a primary
            key listed here too is not one; see :attr:`foreign_keys`).
        individual_level: Each row is a distinct person; None derives it from the links.
        time_series_time: Time column of a time-series table (linked by ``time_series``).
        time_series: Time-series parameters (``projection_type``, ``nf``, ``method``,
            ``nb_points``, ``unalignment``); None takes the defaults.
        advice: The advice job's parameters: ``privacy_targets`` (target name to value; set,
            the job searches for the most useful parameters meeting them) and ``target`` (the
            column whose prediction measures utility); None: rule-based advice only.
    """

    name: str
    column_types: dict[str, str] = field(default_factory=dict)
    identifiers: list[str] = field(default_factory=list)
    primary_key: str = ""
    avatarization: dict[str, Any] | None = None
    privacy_metrics: dict[str, Any] = field(default_factory=dict)
    signal_metrics: dict[str, Any] = field(default_factory=dict)
    individual_level: bool | None = None
    time_series_time: str | None = None
    time_series: dict[str, Any] | None = None
    advice: dict[str, Any] | None = None
    pseudonymized_columns: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Column -> pseudonymization strategy field map (``{"kind": "UUID4", ...}``)."""

    @property
    def foreign_keys(self) -> list[str]:
        """The columns holding a parent's key."""
        return [column for column in self.identifiers if column != self.primary_key]


@dataclass
class LinkConfig:
    """A link between two tables (multi-table runs)."""

    parent_table: str
    child_table: str
    parent_field: str
    child_field: str
    method: str = "linear_sum_assignment"


@dataclass
class PiaConfig:
    """PIA context; "unknown"/"Undefined" means the strictest targets."""

    sensitivity_level: str = "Undefined"
    data_type: str = "unknown"
    data_subject: str = "unknown"
    data_recipient: str = "unknown"


@dataclass
class RunConfig:
    """Everything a run's jobs need besides the tables' bytes."""

    tables: list[TableConfig] = field(default_factory=list)
    links: list[LinkConfig] = field(default_factory=list)
    seed: int | None = None
    report_language: str = "en"
    pia: PiaConfig = field(default_factory=PiaConfig)
    compute_figures: bool = True
    max_distribution_plots: int | None = None
    annotations: dict[str, str] = field(default_factory=dict)

    def table(self, name: str) -> TableConfig:
        """The configuration of a table (created empty if absent)."""
        for table in self.tables:
            if table.name == name:
                return table
        table = TableConfig(name)
        self.tables.append(table)
        return table

    def find(self, name: str) -> TableConfig | None:
        """The configuration of a table, or None."""
        return next((t for t in self.tables if t.name == name), None)

    @property
    def linked(self) -> bool:
        """Whether tables are linked (a multi-table run, avatarized as one)."""
        return bool(self.links)

    def schema(self) -> Schema:
        """The tables' keys and links, for avatar_yaml's checks and the engine."""
        return Schema(
            tables=tuple(
                TableKeys(
                    table.name,
                    primary_key=table.primary_key or None,
                    foreign_keys=tuple(table.foreign_keys),
                    time_series_time=table.time_series_time or None,
                    individual_level=table.individual_level,
                )
                for table in self.tables
            ),
            links=tuple(
                Link(
                    link.parent_table,
                    link.parent_field,
                    link.child_table,
                    link.child_field,
                    link.method,
                )
                for link in self.links
            ),
        )

    def key_columns(self, name: str) -> list[str]:
        """A table's primary and foreign keys and time column (never avatarized as data)."""
        table = self.find(name)
        if table is None:
            return []
        keys = [table.primary_key, *table.foreign_keys, table.time_series_time or ""]
        return [k for k in dict.fromkeys(keys) if k]

    def time_series_tables(self) -> set[str]:
        """Tables linked to their parent by ``time_series`` (they take no ``k``)."""
        return {link.child_table for link in self.links if link.method == "time_series"}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (stored in the database)."""
        return asdict(self)

    @staticmethod
    def from_dict(data: dict[str, Any]) -> RunConfig:
        """Inverse of :meth:`to_dict` (tolerates missing keys)."""
        if not data:
            return RunConfig()
        return RunConfig(
            tables=[TableConfig(**t) for t in data.get("tables", [])],
            links=[LinkConfig(**link) for link in data.get("links", [])],
            seed=data.get("seed"),
            report_language=data.get("report_language", "en"),
            pia=PiaConfig(**data.get("pia", {})),
            compute_figures=data.get("compute_figures", True),
            max_distribution_plots=data.get("max_distribution_plots"),
            annotations=dict(data.get("annotations") or {}),
        )


def _fail(
    path: str, message: str, code: Message | None = None, **params: Any
) -> InvalidArgumentError:
    """A refused parameter named by its path; ``code`` and ``params`` say it for other
    languages (``errors.Message``)."""
    return InvalidArgumentError(
        f"{path}: {message}", field=path, code=code, params={"path": path, **params}
    )


INT32_MAX = 2**31 - 1
"""The contract's integer parameters are int32: a larger value committed here could never be
sent back (GetRun, GetConfig and ListRuns answered INTERNAL; issue 19, defect 7)."""
SEED_MAX = 2**63 - 1
"""The largest seed the contract's int64 field carries."""


def _check_int(path: str, value: Any, low: int, high: int | None = None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(
            path, f"must be an integer; got {value!r}.", Message.PARAMETER_NOT_INTEGER, value=value
        )
    if value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"between {low} and {high}"
        code = Message.PARAMETER_AT_LEAST if high is None else Message.PARAMETER_BETWEEN
        raise _fail(path, f"must be {bound}; got {value}.", code, low=low, high=high, value=value)
    if value > INT32_MAX:
        raise _fail(
            path,
            f"must be at most {INT32_MAX:,}; got {value}.",
            Message.PARAMETER_TOO_LARGE,
            high=INT32_MAX,
            value=value,
        )


def _check_fraction(path: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise _fail(
            path,
            f"must be a number in (0, 1]; got {value!r}.",
            Message.PARAMETER_NOT_FRACTION,
            value=value,
        )


def _check_share(path: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise _fail(
            path,
            f"must be a number in [0, 1]; got {value!r}.",
            Message.PARAMETER_NOT_SHARE,
            value=value,
        )


def _check_max_weight(path: str, value: Any, k: Any) -> None:
    """A bound below 1/k cannot hold: k weights summing to 1 average 1/k."""
    if value is None:
        return
    neighbours = k if isinstance(k, int) and not isinstance(k, bool) and k >= 2 else 20
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 1.0 / neighbours - 1e-12 <= value <= 1
    ):
        raise _fail(
            path,
            f"must be a number between 1/k = {1.0 / neighbours:.4f} (every neighbour weighs the "
            f"same) and 1 (no bound); got {value!r}.",
            Message.PARAMETER_MAX_WEIGHT,
            low=1.0 / neighbours,
            value=value,
        )


def _check_bool(path: str, value: Any) -> None:
    if value is not None and not isinstance(value, bool):
        raise _fail(
            path, f"must be true or false; got {value!r}.", Message.PARAMETER_NOT_BOOL, value=value
        )


def _check_coupled_noise(path: str, value: Any, params: dict[str, Any]) -> None:
    """Coupling shapes the local noise: asked for with the noise off, it would do nothing."""
    _check_bool(path, value)
    if value is True and params.get("local_noise") == 0:
        raise _fail(
            path,
            "shapes the local noise, but local_noise is 0 here: set local_noise above 0 (the "
            "default is 1) or leave coupled_noise out.",
            Message.PARAMETER_COUPLED_WITHOUT_NOISE,
        )


def _check_target_column(path: str, params: dict[str, Any]) -> None:
    """A column name the avatarization decodes (the table's columns are checked with the data:
    when the parameters are set on an uploaded table, and when jobs start)."""
    value = params.get("target_column")
    if value is None:
        return
    if not isinstance(value, str) or not value:
        raise _fail(path, f"must be the name of the column analysts will model; got {value!r}.")
    if value in (params.get("exclude_variable_names") or ()):
        raise _fail(
            path,
            f"names {value!r}, which exclude_variable_names also lists: an excluded column is "
            "put back, not avatarized, so there is nothing to decode without noise. Remove it "
            "from one of the two.",
        )


def _check_advice(path: str, advice: dict[str, Any]) -> None:
    _check_keys(path, advice, ("privacy_targets", "target"))
    targets = advice.get("privacy_targets")
    if targets is not None:
        if not isinstance(targets, dict):
            raise _fail(f"{path}.privacy_targets", "must map target names to numbers.")
        try:
            check_privacy_targets(targets)
        except InvalidArgumentError as exc:
            raise _fail(f"{path}.{exc.field}", exc.message) from None
    target = advice.get("target")
    if target is not None and (not isinstance(target, str) or not target):
        raise _fail(f"{path}.target", f"must be a column name; got {target!r}.")


def _check_choice(path: str, value: Any, choices: tuple[str, ...]) -> None:
    if value is None:
        return
    if value not in choices:
        raise _fail(path, f"must be one of {list(choices)}; got {value!r}.")


def _check_names(path: str, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _fail(path, f"must be a list of column names; got {value!r}.")


def _check_weights(path: str, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        raise _fail(path, "must map column names to positive numbers.")
    for name, weight in value.items():
        # NaN and infinity are floats YAML reads (.nan, .inf): refused here, not by the job.
        if (
            isinstance(weight, bool)
            or not isinstance(weight, int | float)
            or not math.isfinite(weight)
            or weight <= 0
        ):
            raise _fail(f"{path}[{name}]", f"must be a finite positive number; got {weight!r}.")


def _check_annotations(annotations: dict[str, str]) -> None:
    if len(annotations) > MAX_ANNOTATIONS:
        raise _fail("annotations", f"at most {MAX_ANNOTATIONS} entries; got {len(annotations)}.")
    for key, value in annotations.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise _fail(f"annotations[{key}]", "keys and values must be strings.")
        if len(key) + len(value) > MAX_ANNOTATION_CHARS:
            raise _fail(
                f"annotations[{key}]",
                f"key and value must total at most {MAX_ANNOTATION_CHARS} characters.",
            )


def _check_keys(path: str, values: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise _fail(path, f"unknown parameter(s) {unknown}; allowed: {list(allowed)}.")


def named_target_column(config: RunConfig, table_name: str) -> str | None:
    """The column the table's avatarization decodes without noise (``target_column``), if any:
    the utility metrics' and the privacy-targeted advice's target when they name none."""
    table = config.find(table_name)
    value = (table.avatarization or {}).get("target_column") if table is not None else None
    return value if isinstance(value, str) and value else None


def advice_task_params(
    config: RunConfig,
    table_name: str,
    privacy_targets: dict[str, float] | None,
    target: str | None,
) -> dict[str, Any]:
    """What the engine's ``advice`` task needs of the run's configuration, the same whether the
    advice is asked for directly (AdviseParameters) or runs as a job.

    The declared column types go with it: without them a numeric column declared categorical
    (titanic's ``survived`` 0/1) was advised as a number, and the privacy search measured its
    utility as a regression (R2 about 0.35 instead of an AUC about 0.85). A named target column
    is the utility's target too, and every trial keeps it.
    """
    table = config.find(table_name)
    params: dict[str, Any] = {
        "table_name": table_name,
        "key_columns": config.key_columns(table_name),
        "column_types": dict(table.column_types) if table is not None else {},
        "seed": config.seed,
        "language": config.report_language,
    }
    if privacy_targets is not None:
        named = named_target_column(config, table_name)
        params.update(privacy_targets=privacy_targets, target=target or named, target_column=named)
    return params


def validate(config: RunConfig) -> None:
    """Check every parameter that can be checked without the data.

    Raises:
        InvalidArgumentError: naming the parameter path (``tables[iris].avatarization.k``) and
            the accepted values.
    """
    names = [t.name for t in config.tables]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise _fail("tables", f"duplicate table names {duplicates}.")
    _check_choice("report_language", config.report_language, LANGUAGES)
    _check_choice("pia.sensitivity_level", config.pia.sensitivity_level, SENSITIVITY_LEVELS)
    _check_choice("pia.data_type", config.pia.data_type, DATA_TYPES)
    _check_choice("pia.data_subject", config.pia.data_subject, DATA_SUBJECTS)
    _check_choice("pia.data_recipient", config.pia.data_recipient, DATA_RECIPIENTS)
    _check_int("max_distribution_plots", config.max_distribution_plots, 0, 1000)
    if config.seed is not None and (
        isinstance(config.seed, bool)
        or not isinstance(config.seed, int)
        or not 0 <= config.seed <= SEED_MAX
    ):
        # numpy's SeedSequence, which every draw derives from, takes no negative seed: refused
        # here, when the parameters are set, rather than by the engine once a job has started.
        raise _fail(
            "seed", f"must be an integer from 0 to {SEED_MAX} (or unset); got {config.seed!r}."
        )
    _check_annotations(config.annotations)
    for table in config.tables:
        base = f"tables[{table.name}]"
        for column, kind in table.column_types.items():
            _check_choice(f"{base}.types[{column}]", kind, COLUMN_TYPES)
        if table.avatarization is not None:
            p = table.avatarization
            path = f"{base}.avatarization"
            _check_keys(path, p, AVATARIZATION_KEYS)
            avatar_features.check_features(path, p)
            _check_int(f"{path}.k", p.get("k"), 2)
            _check_int(f"{path}.ncp", p.get("ncp"), 1)
            _check_weights(f"{path}.column_weights", p.get("column_weights"))
            _check_names(f"{path}.exclude_variable_names", p.get("exclude_variable_names"))
            _check_choice(
                f"{path}.exclude_variables_method",
                p.get("exclude_variables_method"),
                EXCLUDE_METHODS,
            )
            _check_choice(f"{path}.imputation_method", p.get("imputation_method"), IMPUTE_METHODS)
            _check_int(f"{path}.imputation_k", p.get("imputation_k"), 1)
            _check_fraction(
                f"{path}.imputation_training_fraction", p.get("imputation_training_fraction")
            )
            _check_int(f"{path}.max_rows_per_batch", p.get("max_rows_per_batch"), 100)
            _check_max_weight(f"{path}.max_weight", p.get("max_weight"), p.get("k"))
            _check_share(f"{path}.local_noise", p.get("local_noise"))
            _check_bool(f"{path}.redraw_unique_copies", p.get("redraw_unique_copies"))
            _check_coupled_noise(f"{path}.coupled_noise", p.get("coupled_noise"), p)
            _check_target_column(f"{path}.target_column", p)
            _check_bool(
                f"{path}.imputation_return_data_imputed", p.get("imputation_return_data_imputed")
            )
        for column, strategy in table.pseudonymized_columns.items():
            try:
                parse_strategy(column, strategy)
            except InvalidArgumentError as exc:
                raise InvalidArgumentError(
                    f"{base}: {exc.message}", field=f"{base}.{exc.field}"
                ) from None
        pm = table.privacy_metrics
        _check_keys(f"{base}.privacy_metrics", pm, PRIVACY_KEYS)
        _check_int(f"{base}.privacy_metrics.ncp", pm.get("ncp"), 1)
        _check_names(f"{base}.privacy_metrics.known_variables", pm.get("known_variables"))
        _check_int(
            f"{base}.privacy_metrics.quantile_threshold", pm.get("quantile_threshold"), 1, 99
        )
        _check_weights(f"{base}.privacy_metrics.column_weights", pm.get("column_weights"))
        _check_names(
            f"{base}.privacy_metrics.exclude_variable_names", pm.get("exclude_variable_names")
        )
        sm = table.signal_metrics
        _check_keys(f"{base}.signal_metrics", sm, SIGNAL_KEYS)
        _check_int(f"{base}.signal_metrics.ncp", sm.get("ncp"), 1)
        _check_weights(f"{base}.signal_metrics.column_weights", sm.get("column_weights"))
        _check_names(
            f"{base}.signal_metrics.exclude_variable_names", sm.get("exclude_variable_names")
        )
        if table.advice is not None:
            _check_advice(f"{base}.advice", table.advice)
        if table.time_series is not None:
            try:
                from_settings(table.time_series)
            except InvalidArgumentError as exc:
                raise _fail(f"{base}.{exc.field or 'time_series'}", exc.message) from None
    config.schema().check(require_links=False)
