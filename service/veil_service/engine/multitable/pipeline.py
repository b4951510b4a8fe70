"""Multi-table avatarization: linked tables in, linked avatar tables out (avatar_method.md 1.12).

The order of work, for tables linked parent -> child (docs/avatarization.md, "Linked tables"):

1. Check the schema (``engine_contract.linked_tables``) and the data (:mod:`validation`) of
   every table, and each table's parameters against its rows, first: a bad table fails the run
   before any table is touched.
2. Bottom-up, summarise each child table per parent row (:mod:`aggregation`): child count, means,
   modality shares; a grandchild's count travels up through its parent's summary. Time-series
   children are aligned and projected instead (:mod:`veil_service.engine.timeseries`).
3. Top-down (parents first), avatarize each table with the single-table pipeline
   (:func:`veil_service.engine.avatarize.avatarize`) on its own variables, its children's
   summaries, its series' numbers and its parents' variables broadcast to its rows, each with its
   own parameters (``k`` per table).
4. Give each avatar child an avatar parent by the link's method (:mod:`assignment`), each avatar
   parent receiving the number of children its avatar summary says. Avatar series are rebuilt
   from their avatar individual's numbers.
5. Draw new keys: each table's avatars are shuffled and numbered by position, so a key says
   nothing about the original keys; foreign keys take their assigned parent's new key.

Plain pandas/numpy/scipy: no gRPC, protobuf or database.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from veil_service.engine.augmentation import AugmentationParameters
from veil_service.engine.avatarize import avatarize
from veil_service.engine.avatarize.parameters import AvatarizationParameters
from veil_service.engine.avatarize.pipeline import AvatarizationResult
from veil_service.engine.multitable.aggregation import (
    ChildSummary,
    broadcast_parent,
    parent_positions,
    summarise_children,
)
from veil_service.engine.multitable.assignment import (
    COUNT_LEVEL_PARENTS,
    apportion,
    assign_linear_sum,
    assign_minimum_distance,
    assign_original_order,
    calibrated_counts,
    total_distance,
)
from veil_service.engine.multitable.augmentation import (
    augment_linked_table,
    augmentation_of,
    refusal,
)
from veil_service.engine.multitable.space import fit_space
from veil_service.engine.multitable.validation import check_tables
from veil_service.engine.processors import ProcessorChain, parse_processors
from veil_service.engine.timeseries.parameters import TimeSeriesParameters
from veil_service.engine.timeseries.series import SeriesModel, fit_series
from veil_service.engine_contract.avatar_features import (
    AUGMENTATION_KEYS,
    FEATURE_KEYS,
    PROCESSORS_KEY,
    SELECTORS,
)
from veil_service.engine_contract.linked_tables import (
    MINIMUM_DISTANCE_ASSIGNMENT,
    SENSITIVE_ORIGINAL_ORDER_ASSIGNMENT,
    TIME_SERIES,
    Link,
    Schema,
)
from veil_service.errors import InvalidArgumentError

ProgressCallback = Callable[[float, str], None]

#: How the single-table pipeline's warning of a capped ncp ends (engine.avatarize.pipeline).
NCP_CAPPED = "(ncp capped at"

SENSITIVE_ORDER_WARNING = (
    "link {link} uses sensitive_original_order_assignment: avatar children keep their original "
    "parents, so the link structure of the original data is released as it is (HIGH PRIVACY "
    "BREACH). Use linear_sum_assignment or minimum_distance_assignment."
)


@dataclass(frozen=True)
class TableParameters:
    """One table's parameters.

    Attributes:
        avatarization: Keyword arguments of :func:`avatarize` (``k``, ``ncp``, ``column_weights``,
            ``categorical_columns``...); empty for a time-series table.
        time_series: Projection and alignment of a time-series table.
    """

    avatarization: Mapping[str, Any] = field(default_factory=dict)
    time_series: TimeSeriesParameters | None = None


@dataclass(frozen=True)
class TableResult:
    """One table's avatars.

    Attributes:
        name: Table name.
        avatars: The avatar table to release: rows shuffled, original columns and dtypes, new
            keys.
        unshuffled: SENSITIVE, for metrics only. Row ``i`` is the avatar of original row ``i``
            (time series: the readings of avatar individual ``i`` of the parent, in that order).
        original_projections: Originals' coordinates in the projection of the table as
            avatarized (its variables, children's summaries and parents' variables).
        avatar_projections: Avatars' coordinates in that projection.
        avatarized_columns: The columns avatarized for this table (with summaries and
            broadcast parent variables), for the report.
    """

    name: str
    avatars: pd.DataFrame
    unshuffled: pd.DataFrame
    original_projections: pd.DataFrame | None = None
    avatar_projections: pd.DataFrame | None = None
    avatarized_columns: tuple[str, ...] = ()
    order: npt.NDArray[np.intp] | None = None
    """``avatars`` is ``unshuffled.iloc[order]`` (post-processing such as pseudonymization
    needs to follow the shuffle)."""
    sources: npt.NDArray[np.int64] | None = None
    """SENSITIVE. An augmented table's lineage: the original row each ``unshuffled`` row
    descends from (rows ``0..n-1`` are the avatars of originals ``0..n-1``, then the extra
    rows). None when the table was not augmented."""
    augmentation: dict[str, Any] | None = None
    """An augmented table's extra rows per class, for the job's summary and the report."""


@dataclass(frozen=True)
class LinkResult:
    """How the avatar children of a link were given parents.

    Attributes:
        link: The link.
        original_parent_rows: Parent row of each original child row.
        avatar_parent_rows: Avatar parent row (unshuffled order) of each unshuffled avatar child
            row.
        total_distance: Sum of the distances between avatar children and their parents in the
            link space (None for time series).
    """

    link: Link
    original_parent_rows: np.ndarray
    avatar_parent_rows: np.ndarray
    total_distance: float | None


@dataclass(frozen=True)
class MultiTableResult:
    """Avatars of every table of a run, and how they were linked."""

    schema: Schema
    tables: dict[str, TableResult]
    links: list[LinkResult]
    series: dict[str, SeriesModel]
    warnings: list[str]

    def link_result(self, parent: str, child: str) -> LinkResult:
        """The result of the link ``parent`` -> ``child``."""
        return next(
            r for r in self.links if r.link.parent_table == parent and r.link.child_table == child
        )


def value_columns(schema: Schema, name: str, frame: pd.DataFrame) -> list[str]:
    """A table's variables: every column but its keys and time column."""
    table = schema.table(name)
    keys = set(table.key_columns) | {table.time_series_time}
    return [c for c in frame.columns if c not in keys]


def avatarize_tables(
    schema: Schema,
    frames: Mapping[str, pd.DataFrame],
    parameters: Mapping[str, TableParameters],
    *,
    seed: int | None = None,
    progress: ProgressCallback | None = None,
) -> MultiTableResult:
    """Avatarize linked tables (see the module docstring).

    Args:
        schema: Tables, keys and links.
        frames: The original tables, by name.
        parameters: Each table's parameters (a time-series table needs only ``time_series``).
        seed: Seed of every random draw (same tables, parameters and seed: same avatars).
            None draws fresh randomness, the production setting.
        progress: Called with (fraction done, phase).

    Returns:
        The avatar tables and the assignment of each link.

    Raises:
        InvalidArgumentError: a schema breach, bad data or a bad parameter, naming the table,
            the column and the count of rows at fault; raised before any avatarization.
    """
    report = progress or (lambda fraction, phase: None)
    report(0.0, "checking tables")
    prepared = prepare_tables(schema, frames, parameters, report)
    order, plain = schema.order(), prepared.plain
    frames, chains, columns = prepared.frames, prepared.chains, prepared.columns
    categorical, positions = prepared.categorical, prepared.positions
    series = prepared.series
    root = np.random.SeedSequence(seed)
    table_seeds = dict(zip(order, root.spawn(len(order)), strict=True))
    key_seed = root.spawn(1)[0]

    total_rows = sum(len(frames[n]) for n in plain)
    done_rows = 0
    avatar_values: dict[str, pd.DataFrame] = {}
    results: dict[str, TableResult] = {}
    counts: dict[Link, np.ndarray] = {}
    assigned: dict[Link, np.ndarray] = {}
    distances: dict[Link, float | None] = {}
    warnings: list[str] = []
    for name in plain:
        start = 0.08 + 0.85 * done_rows / total_rows
        width = 0.85 * len(frames[name]) / total_rows

        def table_progress(
            f: float, phase: str, start: float = start, width: float = width, name: str = name
        ) -> None:
            report(start + width * f, f"{name}: {phase}")

        run = avatarize_table(prepared, parameters, name, table_seeds[name], table_progress)
        result, avatar, parts = run.result, run.avatar, run.parts
        lineage, extra_rows = run.lineage, run.extra_rows
        warnings += run.warnings
        avatar_values[name] = avatar[columns[name]]
        for child_link, count_column in parts.counts.items():
            counts[child_link] = calibrated_counts(
                avatar[count_column].to_numpy(dtype=np.float64),
                run.original_counts[count_column],
                min(
                    COUNT_LEVEL_PARENTS,
                    int(parameters[name].avatarization.get("k", AvatarizationParameters().k)),
                ),
                np.random.default_rng(table_seeds[name].spawn(1)[0]),
            )
        for link in schema.parents(name):
            parent_part = avatar[parts.broadcast[link]]
            parent_part.columns = columns[link.parent_table]
            assigned[link], distances[link] = _assign(
                link,
                frames,
                columns,
                categorical,
                avatar_values[link.parent_table],
                parent_part,
                counts[link],
                positions[link],
                np.random.default_rng(table_seeds[name].spawn(1)[0]),
            )
            if link.method == SENSITIVE_ORIGINAL_ORDER_ASSIGNMENT:
                warnings.append(SENSITIVE_ORDER_WARNING.format(link=link.label()))
        for link in schema.children(name):
            if link.method == TIME_SERIES:
                model = series[link.child_table]
                owner, readings = model.rebuild(
                    avatar[model.features.columns],
                    np.random.default_rng(table_seeds[name].spawn(1)[0]) if model.gaps else None,
                )
                avatar_values[link.child_table] = readings
                assigned[link] = owner
                distances[link] = None
        results[name] = TableResult(
            name,
            avatars=pd.DataFrame(),
            unshuffled=pd.DataFrame(),
            original_projections=result.original_projections,
            avatar_projections=result.avatar_projections,
            avatarized_columns=run.avatarized_columns,
            sources=lineage,
            augmentation=extra_rows,
        )
        done_rows += len(frames[name])

    report(0.95, "drawing new keys")
    tables = _with_new_keys(schema, frames, order, avatar_values, assigned, results, key_seed)
    tables = postprocess_tables(prepared.originals, tables, chains)
    links = [
        LinkResult(link, positions[link], assigned[link], distances[link]) for link in schema.links
    ]
    report(1.0, "done")
    return MultiTableResult(schema, tables, links, series, warnings)


@dataclass(frozen=True)
class PreparedTables:
    """What every table's avatarization reads, computed once per run: the (processed) tables,
    their variables, categorical columns, link positions, series models and children's
    summaries."""

    schema: Schema
    originals: Mapping[str, pd.DataFrame]
    plain: list[str]
    frames: dict[str, pd.DataFrame]
    chains: dict[str, ProcessorChain]
    columns: dict[str, list[str]]
    categorical: dict[str, list[str]]
    positions: dict[Link, np.ndarray]
    series: dict[str, SeriesModel]
    summaries: dict[str, list[tuple[Link, ChildSummary]]]


def prepare_tables(
    schema: Schema,
    frames: Mapping[str, pd.DataFrame],
    parameters: Mapping[str, TableParameters],
    report: ProgressCallback,
) -> PreparedTables:
    """Every check made before any avatarization, then processors applied, series fitted and
    children summarised (steps 1-2 of the module docstring).

    A whole run and a search's trials (engine/multitable/table_trials.py) both start here, so
    they refuse the same input with the same error.

    Raises:
        InvalidArgumentError: a schema breach, bad data or a bad parameter, naming the table,
            the column and the count of rows at fault.
    """
    schema.check(require_links=True)
    check_tables(schema, frames)
    order = schema.order()
    plain = [n for n in order if not schema.is_time_series(n)]
    for name in plain:
        check_parameters(name, frames[name], parameters.get(name), schema)
    processed, chains = preprocess_tables(frames, parameters, plain)
    columns = {n: value_columns(schema, n, processed[n]) for n in order}
    categorical = {
        n: list(
            (parameters.get(n) or TableParameters()).avatarization.get("categorical_columns") or ()
        )
        for n in order
    }
    positions = {
        link: parent_positions(
            processed[link.parent_table][link.parent_field],
            processed[link.child_table][link.child_field],
        )
        for link in schema.links
    }
    report(0.02, "time series")
    series = _fit_series(schema, processed, parameters, columns, positions)
    report(0.05, "summarising children")
    summaries = _summaries(schema, processed, columns, categorical, positions, plain)
    return PreparedTables(
        schema, frames, plain, processed, chains, columns, categorical, positions, series, summaries
    )


@dataclass(frozen=True)
class _TableRun:
    """One table avatarized (step 3): the single-table result, the avatars of the whole work
    table (its variables, summaries, series numbers and broadcast parents; row ``i`` the avatar
    of original row ``i``), where its parts are, and what the job reports of it."""

    result: AvatarizationResult
    avatar: pd.DataFrame
    parts: _Parts
    lineage: npt.NDArray[np.int64] | None
    extra_rows: dict[str, Any] | None
    warnings: list[str]
    avatarized_columns: tuple[str, ...]
    original_counts: dict[str, np.ndarray]
    """SENSITIVE: each child-count column's original values, by original row."""


@dataclass(frozen=True)
class TableInput:
    """What the single-table pipeline is given for one linked table (step 3).

    Attributes:
        work: The table avatarized: its variables, its children's summaries, its series'
            numbers and its parents' variables broadcast, less derived constant columns.
        weights: Column weights (summaries' and series' weights, then the user's).
        options: ``avatarize``'s keyword options from the table's parameters (categorical
            columns included; not the seed, the weights or the features set aside).
        constants: Derived columns with one value, set aside and put back.
        parts: Where the children's counts and the parents' variables are in ``work``.
        augmentation: The table's data augmentation, if it asks one.
        warnings: What the job reports of the parameters set aside.
    """

    work: pd.DataFrame
    weights: dict[str, float]
    options: dict[str, Any]
    constants: dict[str, Any]
    parts: _Parts
    augmentation: AugmentationParameters | None
    warnings: list[str]


def table_input(
    prepared: PreparedTables, parameters: Mapping[str, TableParameters], name: str
) -> TableInput:
    """The work table, weights and options table ``name`` is avatarized with (step 3)."""
    warnings: list[str] = []
    columns = prepared.columns
    work, weights, cat_columns, parts = _work_table(
        prepared.schema,
        name,
        prepared.frames,
        columns,
        prepared.categorical,
        prepared.summaries,
        prepared.series,
        prepared.positions,
    )
    # A derived column with one value (every series starts at t=0) carries nothing: the
    # single-table pipeline refuses it, so it is set aside and put back as it was.
    constants = {
        c: work[c].iloc[0]
        for c in work.columns[len(columns[name]) :]
        if work[c].nunique(dropna=False) <= 1
    }
    work = work.drop(columns=list(constants))
    weights = {c: w for c, w in weights.items() if c not in constants}
    cat_columns = [c for c in cat_columns if c not in constants]
    table_params = dict((parameters.get(name) or TableParameters()).avatarization)
    user_weights = dict(table_params.pop("column_weights", None) or {})
    weights.update(user_weights)
    table_params["categorical_columns"] = cat_columns
    table_params.pop("seed", None)
    table_params.pop(PROCESSORS_KEY, None)  # applied around the pipeline
    augmentation = augmentation_of(name, table_params)
    table_params, set_aside = _avatar_method_parameters(table_params)
    if augmentation is not None:
        set_aside = [k for k in set_aside if k not in AUGMENTATION_KEYS]
    if set_aside:
        warnings.append(
            f"table {name!r}: {', '.join(set_aside)} not applied: they qualify a "
            "single-table feature (augmentation, DP generator) the table does not select"
        )
    return TableInput(work, weights, table_params, constants, parts, augmentation, warnings)


@contextlib.contextmanager
def table_errors(name: str) -> Iterator[None]:
    """Name the table in an error of its single-table avatarization."""
    try:
        yield
    except InvalidArgumentError as exc:
        if exc.field and exc.field.startswith(f"tables[{name}]"):
            raise
        raise InvalidArgumentError(
            f"table {name!r}: {exc.message}", field=f"tables[{name}].{exc.field or 'table'}"
        ) from None


def avatarize_table(
    prepared: PreparedTables,
    parameters: Mapping[str, TableParameters],
    name: str,
    table_seed: np.random.SeedSequence,
    table_progress: ProgressCallback,
) -> _TableRun:
    """Avatarize table ``name`` with its own parameters and seed (step 3)."""
    given = table_input(prepared, parameters, name)
    work, weights, table_params = given.work, given.weights, dict(given.options)
    augmentation, constants, parts = given.augmentation, given.constants, given.parts
    warnings = list(given.warnings)
    lineage: npt.NDArray[np.int64] | None = None
    extra_rows: dict[str, Any] | None = None
    with table_errors(name):
        if augmentation is None:
            result = avatarize(
                work,
                column_weights=weights,
                seed=int(table_seed.generate_state(1)[0]),
                progress=table_progress,
                **table_params,
            )
            released = result.unshuffled
        else:
            categories = table_params.pop("categorical_columns")
            result, grown = augment_linked_table(
                work,
                augmentation,
                table_name=name,
                column_weights=weights,
                categorical_columns=categories,
                avatar_parameters=table_params,
                seed=int(table_seed.generate_state(1)[0]),
                progress=table_progress,
            )
            released, lineage = grown.unshuffled, grown.sources
            extra_rows = {
                "extra_rows": {str(c): n for c, n in grown.extra_per_class.items()},
                "target_column": augmentation.target_column,
                "should_anonymize_original_table": (augmentation.should_anonymize_original_table),
            }
    # What the single-table pipeline says of how it applied the parameters belongs to the
    # job's warnings, as in a single-table run, except a default ncp capped: a linked table's
    # projection also holds its children's summaries and its parents' variables, a width the
    # user never chose (Tutorial 8's visits: 4 dimensions under the default ncp 5).
    ncp_chosen = "ncp" in table_params
    warnings += [
        f"table {name!r}: {warning}"
        for warning in result.warnings
        if ncp_chosen or NCP_CAPPED not in warning
    ]
    avatar = released.reset_index(drop=True)
    for column, value in constants.items():
        avatar[column] = value
    columns_avatarized = tuple(str(c) for c in work.columns)
    original_counts = {  # a count column every parent shares (50 children each) is a constant
        column: np.full(len(work), float(constants[column]))
        if column in constants
        else work[column].to_numpy(dtype=np.float64)
        for column in parts.counts.values()
    }
    return _TableRun(
        result, avatar, parts, lineage, extra_rows, warnings, columns_avatarized, original_counts
    )


_DP_REASON = (
    "a DP generator draws rows that descend from no original, so children have no avatar "
    "parent to follow and no privacy budget covers the children's summaries it would read."
)
UNSUPPORTED_FEATURE_KEYS: dict[str, str] = {key: _DP_REASON for key in SELECTORS if key != "k"}
"""Single-table features a linked table refuses (by the parameter that selects each), and why.
Processors apply (:func:`preprocess_tables`); data augmentation applies to a top table whose
children are all time series (:mod:`veil_service.engine.multitable.augmentation`)."""


def preprocess_tables(
    frames: Mapping[str, pd.DataFrame],
    parameters: Mapping[str, TableParameters],
    names: list[str],
) -> tuple[dict[str, pd.DataFrame], dict[str, ProcessorChain]]:
    """Each table with server-side ``processors`` through their ``preprocess``, keys included
    (an inter-record processor's individual is often the table's foreign key).

    The whole linked pipeline then runs on the processed tables: a parent summarises its
    children's processed values, as the child is avatarized; :func:`postprocess_tables` undoes
    each table's processors on its avatars once they carry their new keys.

    Raises:
        InvalidArgumentError: a processor refuses the table (a missing or non-numeric column),
            naming the table.
    """
    out = dict(frames)
    chains: dict[str, ProcessorChain] = {}
    for name in names:
        entries = (parameters.get(name) or TableParameters()).avatarization.get(PROCESSORS_KEY)
        if not entries:
            continue
        try:
            chain = ProcessorChain(parse_processors(entries))
            processed = chain.preprocess(frames[name].reset_index(drop=True))
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(
                f"table {name!r}: {exc.message}",
                field=f"tables[{name}].{exc.field or PROCESSORS_KEY}",
            ) from None
        if len(processed) != len(frames[name]):
            raise ValueError(f"table {name!r}: a processor changed the number of rows")
        out[name], chains[name] = processed, chain
    return out, chains


def postprocess_tables(
    originals: Mapping[str, pd.DataFrame],
    tables: dict[str, TableResult],
    chains: Mapping[str, ProcessorChain],
) -> dict[str, TableResult]:
    """The avatars of each table with processors put back in its original columns and dtypes
    (``postprocess`` in reverse order, on the avatars in their unshuffled order with their new
    keys), shuffled as before."""
    for name, chain in chains.items():
        result = tables[name]
        original = originals[name]
        restored = chain.postprocess(result.unshuffled.reset_index(drop=True))
        restored = restored[list(original.columns)]
        for column in original.columns:
            if restored[column].dtype != original[column].dtype:
                with contextlib.suppress(TypeError, ValueError):
                    restored[column] = restored[column].astype(original[column].dtype)
        assert result.order is not None  # _with_new_keys sets it
        shuffled = restored.iloc[result.order].reset_index(drop=True)
        tables[name] = replace(result, unshuffled=restored, avatars=shuffled)
    return tables


def check_parameters(
    name: str, frame: pd.DataFrame, params: TableParameters | None, schema: Schema
) -> None:
    """A plain table has avatarization parameters, no single-table feature a linked run cannot
    apply (:data:`UNSUPPORTED_FEATURE_KEYS`; augmentation only where
    :func:`~veil_service.engine.multitable.augmentation.refusal` allows it), and a ``k`` below
    its row count.

    Raises:
        InvalidArgumentError: naming the table and the fix.
    """
    if params is None or not params.avatarization:
        raise InvalidArgumentError(
            f"table {name!r} has no avatarization parameters: set_parameters({name!r}, k=...).",
            field=f"tables[{name}].avatarization",
        )
    for key in sorted(UNSUPPORTED_FEATURE_KEYS):
        if params.avatarization.get(key) not in (None, [], {}, ""):
            raise InvalidArgumentError(
                f"table {name!r}: {key} cannot apply in a linked run: "
                f"{UNSUPPORTED_FEATURE_KEYS[key]} Remove {key} from table {name!r} "
                "(processors do apply in a linked run), or avatarize the table on its own.",
                field=f"tables[{name}].{key}",
            )
    key = AUGMENTATION_KEYS[0]
    if params.avatarization.get(key) not in (None, [], {}, ""):
        reason = refusal(schema, name)
        if reason is not None:
            raise InvalidArgumentError(
                f"table {name!r}: {key} cannot apply in this linked run: {reason} Remove {key} "
                f"from table {name!r}, or avatarize the table on its own.",
                field=f"tables[{name}].{key}",
            )
        augmentation_of(name, params.avatarization)  # a bad strategy fails before any job
    k = params.avatarization.get("k", 20)
    if isinstance(k, int) and not isinstance(k, bool) and k >= len(frame):
        raise InvalidArgumentError(
            f"table {name!r}: k must be smaller than its number of rows ({len(frame)}); got "
            f"k={k}. Lower k for this table (each table has its own k).",
            field=f"tables[{name}].k",
        )


def _fit_series(
    schema: Schema,
    frames: Mapping[str, pd.DataFrame],
    parameters: Mapping[str, TableParameters],
    columns: Mapping[str, list[str]],
    positions: Mapping[Link, np.ndarray],
) -> dict[str, SeriesModel]:
    models: dict[str, SeriesModel] = {}
    for link in schema.links:
        if link.method != TIME_SERIES:
            continue
        name = link.child_table
        table = schema.table(name)
        assert table.time_series_time is not None
        params = (parameters.get(name) or TableParameters()).time_series or TimeSeriesParameters()
        try:
            models[name] = fit_series(
                name,
                frames[name],
                positions[link],
                len(frames[link.parent_table]),
                table.time_series_time,
                columns[name],
                params,
                prefix=f"{name}.",
            )
        except InvalidArgumentError:
            raise
    return models


def _summaries(
    schema: Schema,
    frames: Mapping[str, pd.DataFrame],
    columns: Mapping[str, list[str]],
    categorical: Mapping[str, list[str]],
    positions: Mapping[Link, np.ndarray],
    plain: list[str],
) -> dict[str, list[tuple[Link, ChildSummary]]]:
    """Each table's children summarised per row, deepest tables first."""
    summaries: dict[str, list[tuple[Link, ChildSummary]]] = {}
    sources: dict[str, pd.DataFrame] = {}
    for name in reversed(plain):
        own: list[tuple[Link, ChildSummary]] = []
        for link in schema.children(name):
            if link.method == TIME_SERIES:
                continue
            child = link.child_table
            source = sources[child]
            own.append(
                (
                    link,
                    summarise_children(
                        source,
                        positions[link],
                        len(frames[name]),
                        list(source.columns),
                        prefix=schema.summary_prefix(link),
                        categorical=categorical[child],
                    ),
                )
            )
        summaries[name] = own
        # What this table's parent sees of it: its variables and its own children's counts.
        source = frames[name][columns[name]].reset_index(drop=True)
        for _, summary in own:
            source[summary.count_column] = summary.frame[summary.count_column].to_numpy()
        sources[name] = source
    return summaries


@dataclass(frozen=True)
class _Parts:
    counts: dict[Link, str]
    broadcast: dict[Link, list[str]]


def _work_table(
    schema: Schema,
    name: str,
    frames: Mapping[str, pd.DataFrame],
    columns: Mapping[str, list[str]],
    categorical: Mapping[str, list[str]],
    summaries: Mapping[str, list[tuple[Link, ChildSummary]]],
    series: Mapping[str, SeriesModel],
    positions: Mapping[Link, np.ndarray],
) -> tuple[pd.DataFrame, dict[str, float], list[str], _Parts]:
    """The table avatarized for ``name``: its variables, summaries, series numbers, parents."""
    blocks = [frames[name][columns[name]].reset_index(drop=True)]
    weights: dict[str, float] = {}
    cat_columns = list(categorical[name])
    counts: dict[Link, str] = {}
    for link, summary in summaries[name]:
        blocks.append(summary.frame)
        weights.update(summary.weights)
        counts[link] = summary.count_column
    for link in schema.children(name):
        if link.method == TIME_SERIES:
            model = series[link.child_table]
            blocks.append(model.features)
            weights.update(model.weights)
    broadcast: dict[Link, list[str]] = {}
    for link in schema.parents(name):
        parent = link.parent_table
        prefix = schema.broadcast_prefix(link)
        part = broadcast_parent(frames[parent], positions[link], columns[parent], prefix)
        blocks.append(part)
        broadcast[link] = list(part.columns)
        cat_columns += [f"{prefix}{c}" for c in categorical[parent]]
    work = pd.concat(blocks, axis=1)
    duplicated = work.columns[work.columns.duplicated()].tolist()
    if duplicated:
        raise InvalidArgumentError(
            f"table {name!r}: column name(s) {duplicated} clash with the names Veil gives to "
            "linked tables' variables (<table>.<column>); rename them.",
            field=f"tables[{name}].columns",
        )
    return work, weights, cat_columns, _Parts(counts, broadcast)


def _assign(
    link: Link,
    frames: Mapping[str, pd.DataFrame],
    columns: Mapping[str, list[str]],
    categorical: Mapping[str, list[str]],
    avatar_parents: pd.DataFrame,
    child_parent_part: pd.DataFrame,
    avatar_counts: np.ndarray,
    original_positions: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, float | None]:
    """Give every avatar child an avatar parent by the link's method."""
    if link.method == SENSITIVE_ORIGINAL_ORDER_ASSIGNMENT:
        identity = np.arange(len(avatar_parents))
        return assign_original_order(original_positions, identity), None
    space = fit_space(
        frames[link.parent_table], columns[link.parent_table], categorical[link.parent_table]
    )
    parents = space.transform(avatar_parents)
    children = space.transform(child_parent_part)
    original_counts = np.bincount(original_positions, minlength=len(frames[link.parent_table]))
    limit = int(original_counts.max()) if len(original_counts) else None
    capacity = apportion(len(children), avatar_counts, rng, limit)
    if link.method == MINIMUM_DISTANCE_ASSIGNMENT:
        rows = assign_minimum_distance(children, parents, capacity)
    else:
        rows = assign_linear_sum(children, parents, capacity)
    return rows, total_distance(children, parents, rows)


def _new_keys(original: pd.Series, n: int) -> Any:
    """Keys 0..n-1 in the original key's kind (integers, else their text), in its dtype when
    that can hold them (an ``int32`` or ``string`` key stays one; an ``int8`` key of more
    avatars than it counts, or a categorical key, takes int64 or object)."""
    numbers = np.arange(n, dtype=np.int64)
    if pd.api.types.is_integer_dtype(original) and not pd.api.types.is_bool_dtype(original):
        keys: Any = numbers
    elif pd.api.types.is_float_dtype(original):
        keys = numbers.astype(np.float64)
    else:
        keys = numbers.astype(str).astype(object)
    if isinstance(original.dtype, pd.CategoricalDtype) or original.dtype == keys.dtype:
        return keys
    with contextlib.suppress(TypeError, ValueError, OverflowError):
        cast = pd.array(keys).astype(original.dtype)
        if n == 0 or (pd.Series(cast).astype(str).to_numpy() == keys.astype(str)).all():
            return cast
    return keys


def _with_new_keys(
    schema: Schema,
    frames: Mapping[str, pd.DataFrame],
    order: list[str],
    avatar_values: Mapping[str, pd.DataFrame],
    assigned: Mapping[Link, np.ndarray],
    partial: Mapping[str, TableResult],
    seed: np.random.SeedSequence,
) -> dict[str, TableResult]:
    """Shuffle every avatar table and number its rows; foreign keys follow their parents."""
    rng = np.random.default_rng(seed)
    position_of: dict[str, np.ndarray] = {}
    shuffled_order: dict[str, np.ndarray] = {}
    for name in order:
        n = len(avatar_values[name])
        if schema.is_time_series(name):
            link = schema.parents(name)[0]
            owner_position = position_of[link.parent_table][assigned[link]]
            time = avatar_values[name].iloc[:, 0].to_numpy()
            permutation = (
                np.lexsort((np.arange(n), time, owner_position))
                if n
                else np.zeros(0, dtype=np.intp)
            )
        else:
            permutation = rng.permutation(n)
        position = np.empty(n, dtype=np.int64)
        position[permutation] = np.arange(n)
        position_of[name] = position
        shuffled_order[name] = permutation
    tables: dict[str, TableResult] = {}
    for name in order:
        table = schema.table(name)
        original = frames[name]
        unshuffled = avatar_values[name].copy()
        keys: dict[str, Any] = {}
        if table.primary_key:
            keys[table.primary_key] = _new_keys(original[table.primary_key], len(unshuffled))[
                position_of[name]
            ]
        for link in schema.parents(name):
            parent_keys = _new_keys(
                frames[link.parent_table][link.parent_field], len(avatar_values[link.parent_table])
            )
            keys[link.child_field] = parent_keys[position_of[link.parent_table][assigned[link]]]
        for column, values in keys.items():
            unshuffled[column] = values
        unshuffled = unshuffled[[c for c in original.columns if c in unshuffled.columns]]
        avatars = unshuffled.iloc[shuffled_order[name]].reset_index(drop=True)
        previous = partial.get(name)
        tables[name] = TableResult(
            name,
            avatars=avatars,
            unshuffled=unshuffled,
            original_projections=previous.original_projections if previous else None,
            avatar_projections=previous.avatar_projections if previous else None,
            avatarized_columns=previous.avatarized_columns if previous else (),
            order=shuffled_order[name],
            sources=previous.sources if previous else None,
            augmentation=previous.augmentation if previous else None,
        )
    return tables


def _avatar_method_parameters(params: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Split a table's parameters into the avatar method's and the features set aside.

    The features are the keys the engine contract owns (``avatar_features.FEATURE_KEYS``: DP
    generators, augmentation, processors), as the standard task tells a plain run from a
    featured one; the ones that are set are returned by name so the job says it did not apply
    them.
    """
    kept = {k: v for k, v in params.items() if k not in FEATURE_KEYS}
    set_aside = sorted(
        k for k, v in params.items() if k in FEATURE_KEYS and v not in (None, [], {}, "")
    )
    return kept, set_aside
