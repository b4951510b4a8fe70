"""One table's release in the standard job: pseudonymized columns set aside, server-side
processors, the generator (avatar method, Open DP or Fast DP), data augmentation, processors
undone, pseudonyms put back, rows shuffled.

Where each pseudonym comes from:

* avatar method (with or without augmentation): every output row descends from one original
  (its avatar, or a fresh avatar of it), and gets the pseudonym of that original's value, so a
  consistent strategy keeps linking an individual's rows, and a foreign key its parent;
* DP generators: no output row descends from an original, so every row gets a fresh pseudonym
  drawn independently of the data (anything else would leak originals through the
  identifiers and void the DP guarantee); there is no mapping to keep.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from veil_service.engine.augmentation import AugmentedTable, augment
from veil_service.engine.augmentation.rounds import avatarize_round
from veil_service.engine.avatarize import avatarize, constant_columns
from veil_service.engine.avatarize.identifier_columns import find_identifiers
from veil_service.engine.dp_avatar import fast_dp_avatarize, open_dp_avatarize
from veil_service.engine.processors import (
    InterRecordRangeDifference,
    ProcessorChain,
    RelativeDifference,
    ServerProcessor,
)
from veil_service.engine.pseudonymize import (
    ColumnMapping,
    check_strategies,
    pseudonymize_table,
)
from veil_service.engine.release.parameters import ReleaseParameters
from veil_service.engine.reports.projection import famd_like_projection
from veil_service.engine_contract import avatar_features
from veil_service.engine_contract.avatar_features import ProcessorSpec, RelativeDifferenceSpec
from veil_service.errors import InvalidArgumentError

IntArray = npt.NDArray[np.int64]
ProgressCallback = Callable[[float, str], None]
#: Components of the projections computed for generators that do not project (DP, augmentation).
_PROJECTION_COMPONENTS = 5
_DEFAULT_K = 20


@dataclass
class Release:
    """What the standard job releases for one table.

    Attributes:
        avatars: The output rows, shuffled.
        unshuffled: SENSITIVE. The output rows before shuffling: with the avatar method, first one
            row per original in the original's order, then any extra rows.
        sources: SENSITIVE. For each row of ``unshuffled``, the position of the original it
            descends from; None for DP generators (no row descends from one original).
        n_original: Rows of the original table.
        original_projections: Coordinates of the originals.
        avatar_projections: Coordinates of ``unshuffled``'s rows, same space.
        privacy_loss: For DP generators: ``generator``, ``epsilon``, ``delta``, ``end_to_end``,
            ``accountant`` and the per-step details.
        mappings: SENSITIVE. Column -> consistent pseudonym mapping (original -> pseudonym).
        details: What the generator and the augmentation report (steps, bounds, extra rows...).
    """

    avatars: pd.DataFrame
    unshuffled: pd.DataFrame
    sources: IntArray | None
    n_original: int
    original_projections: pd.DataFrame
    avatar_projections: pd.DataFrame
    privacy_loss: dict[str, Any] | None = None
    mappings: dict[str, ColumnMapping] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


def _processor(spec: ProcessorSpec) -> ServerProcessor:
    if isinstance(spec, RelativeDifferenceSpec):
        return RelativeDifference(spec.target, spec.references, spec.scaling_unit)
    return InterRecordRangeDifference(
        spec.id_variable, spec.target_start_variable, spec.target_end_variable
    )


def release_table(
    frame: pd.DataFrame,
    params: ReleaseParameters,
    *,
    secret: bytes | None = None,
    table_name: str = "table",
    progress: ProgressCallback | None = None,
) -> Release:
    """Release one table (see the module docstring).

    Args:
        frame: The original table, typed.
        params: What to do.
        secret: The run's pseudonymization key (required when columns are pseudonymized).
        table_name: The table's name (namespaces its pseudonym mappings).
        progress: Called with (fraction in [0, 1], phase).

    Raises:
        InvalidArgumentError: a parameter names a column the table lacks, or the generator
            refuses the table.
    """
    report = progress or (lambda fraction, phase: None)
    frame = frame.reset_index(drop=True)
    check_strategies(params.pseudonymized, list(frame.columns), table_name=table_name)
    if params.pseudonymized and secret is None:
        raise ValueError("pseudonymized columns need the run's secret")
    identifiers = [c for c in frame.columns if c in params.pseudonymized]
    data = frame.drop(columns=identifiers)
    if params.generator != avatar_features.AVATAR:
        refuse_identifiers(data, params, table_name)
    chain = ProcessorChain([_processor(spec) for spec in params.processors])
    prepared = chain.preprocess(data)
    aside, work, params = _set_aside(prepared, params, table_name)
    rng = np.random.default_rng(params.seed)
    seeds = [int(s) for s in rng.integers(0, 2**31 - 1, size=3)]
    generated, sources, projections, loss, details = _generate(work, params, seeds[0], report)
    report(0.9, "postprocessing")
    generated = constant_columns.restore(generated.reset_index(drop=True), prepared, aside)
    said = aside.warnings(table_name)
    if said:
        details = {**details, "warnings": [*said, *details.get("warnings", [])]}
    generated = chain.postprocess(generated)
    generated = _restore_dtypes(generated, data)
    original_projections, avatar_projections = projections or famd_like_projection(
        data, generated, n_components=_PROJECTION_COMPONENTS, seed=seeds[1]
    )
    mappings: dict[str, ColumnMapping] = {}
    if identifiers:
        report(0.93, "pseudonymization")
        generated, mappings = _pseudonymize(
            frame[identifiers], generated, sources, params, secret or b"", table_name
        )
    unshuffled = generated[list(frame.columns)]
    order = np.random.default_rng(seeds[2]).permutation(len(unshuffled))
    return Release(
        avatars=unshuffled.iloc[order].reset_index(drop=True),
        unshuffled=unshuffled,
        sources=sources,
        n_original=len(frame),
        original_projections=original_projections.reset_index(drop=True),
        avatar_projections=avatar_projections.reset_index(drop=True),
        privacy_loss=loss,
        mappings=mappings,
        details=details,
    )


def refuse_identifiers(data: pd.DataFrame, params: ReleaseParameters, table_name: str) -> None:
    """Refuse an identifier-like column (the avatar method's rule, ``identifier_columns``) left
    to a DP generator.

    Fast DP samples a categorical column's values from its noisy counts: a column of names or
    patient numbers came back with the real values (measured: 300 of 300 output rows carried a
    real name at ε=5). Open DP's thresholded counts release no value held by one row, but the
    column still takes its share of ε for nothing. The avatar method replaces such a column by
    pseudonyms on its own; a DP generator cannot: choosing the column reads the private rows
    (one row more or less changes its share of distinct values), which no ε accounts for. So the
    owner decides, with ``pseudonymized_columns`` (each output row gets a fresh pseudonym, drawn
    independently of the data) or ``columns_to_drop``.

    Raises:
        InvalidArgumentError: naming the column, the evidence and both fixes.
    """
    found = find_identifiers(data, (), params.categorical_columns)
    if not found:
        return
    name, evidence = next(iter(found.items()))
    others = [str(c) for c in found if c != name]
    also = f" (and {', '.join(repr(c) for c in others)})" if others else ""
    parameter = (
        "open_dp_epsilon" if params.generator == avatar_features.OPEN_DP else "fast_dp_epsilon"
    )
    raise InvalidArgumentError(
        f"column {str(name)!r}{also} of table {table_name!r} looks like an identifier "
        f"({evidence.describe()}): a DP generator ({parameter}) must not release it, and cannot "
        "replace it by pseudonyms on its own (choosing it reads the private rows). List it in "
        "pseudonymized_columns (every output row then gets a fresh pseudonym, drawn "
        "independently of the data), or drop it (columns_to_drop).",
        field="pseudonymized_columns",
    )


def _set_aside(
    prepared: pd.DataFrame, params: ReleaseParameters, table_name: str
) -> tuple[constant_columns.SetAside, pd.DataFrame, ReleaseParameters]:
    """The constant and empty columns set aside (none for Open DP), the table without them, and
    the parameters without the names of those columns.

    Open DP models every column: whether a column holds one value is a fact about the private
    rows (one row more could change it), so neither the decision nor the value it would release
    unchanged is differentially private. Its noisy counts release such a column instead.

    Raises:
        InvalidArgumentError: nothing is left to generate, or the augmentation's target column
            is set aside (one class: nothing to balance).
    """
    if params.generator == avatar_features.OPEN_DP:
        return constant_columns.SetAside(tuple(prepared.columns), (), ()), prepared, params
    aside = constant_columns.find_set_aside(prepared)
    if not aside.names:
        return aside, prepared, params
    work = constant_columns.without(prepared, aside, table_name)
    augmentation = params.augmentation
    if augmentation is not None and augmentation.target_column in aside.names:
        kind = (
            "has one value in every row"
            if augmentation.target_column in aside.constant
            else ("has no value in any row")
        )
        raise InvalidArgumentError(
            f"data_augmentation_target_column: column {augmentation.target_column!r} of table "
            f"{table_name!r} {kind}: there is no class to balance. Name a column with several "
            "classes, or give a multiplier (e.g. 2) as data_augmentation_strategy.",
            field="avatarization.data_augmentation_target_column",
        )
    avatar = dict(params.avatar)
    if "exclude_variable_names" in avatar:
        avatar["exclude_variable_names"] = constant_columns.prune_names(
            avatar["exclude_variable_names"], aside
        )
    if "column_weights" in avatar:
        avatar["column_weights"] = constant_columns.prune_weights(avatar["column_weights"], aside)
    if avatar.get("target_column") in aside.names:
        del avatar["target_column"]  # released unchanged: there is no noise to leave out
    categorical = tuple(constant_columns.prune_names(list(params.categorical_columns), aside) or ())
    pruned = dataclasses.replace(params, avatar=avatar, categorical_columns=categorical)
    for name in ("open_dp", "fast_dp"):
        generator = getattr(params, name)
        if generator is not None and hasattr(generator, "categorical_columns"):
            pruned = dataclasses.replace(
                pruned,
                **{name: dataclasses.replace(generator, categorical_columns=categorical)},
            )
    return aside, work, pruned


_Generated = tuple[
    pd.DataFrame,
    IntArray | None,
    tuple[pd.DataFrame, pd.DataFrame] | None,
    dict[str, Any] | None,
    dict[str, Any],
]


def _generate(
    table: pd.DataFrame, params: ReleaseParameters, seed: int, report: ProgressCallback
) -> _Generated:
    """(rows, sources, projections, privacy loss, details) of the chosen generator."""
    augmentation = params.augmentation
    multiplier = 1.0
    if augmentation is not None and isinstance(augmentation.strategy, int | float):
        multiplier = float(augmentation.strategy)
    if params.generator == avatar_features.OPEN_DP:
        assert params.open_dp is not None
        open_dp = dataclasses.replace(params.open_dp, row_multiplier=multiplier)
        result = open_dp_avatarize(table, open_dp, lambda f, p: report(0.85 * f, p))
        loss = {
            "generator": "open_dp",
            "epsilon": result.epsilon,
            "delta": result.delta,
            "end_to_end": True,
            "accountant": result.accountant,
            "steps": [[name, eps, delta] for name, (eps, delta) in result.steps],
        }
        details = {
            "pairs": [list(pair) for pair in result.pairs],
            "released_categories": result.released_categories,
            "public_columns": result.public_columns,
            "row_multiplier": multiplier,
        }
        return result.avatars, None, None, loss, details
    if params.generator == avatar_features.FAST_DP:
        assert params.fast_dp is not None
        fast_dp = dataclasses.replace(params.fast_dp, row_multiplier=multiplier)
        fast = fast_dp_avatarize(table, fast_dp, lambda f, p: report(0.85 * f, p))
        loss = {
            "generator": "fast_dp",
            "epsilon": fast.epsilon,
            "delta": 0.0,
            "end_to_end": False,
            "accountant": "OpenDP Laplace measurements, ε added up (basic composition); the "
            "clipping bounds are percentiles of the data, read without noise",
            "steps": [[name, eps, 0.0] for name, eps in fast.steps],
        }
        details = {
            "mechanism": fast_dp.mechanism,
            "bounds": {name: list(bounds) for name, bounds in fast.bounds.items()},
            "bounds_percentile": fast_dp.bounds_percentile,
            "row_multiplier": multiplier,
        }
        return fast.avatars, None, None, loss, details
    options = dict(params.avatar)
    categorical = [c for c in params.categorical_columns if c in table.columns]
    target_column = augmentation.target_column if augmentation is not None else None
    if target_column is not None and target_column in table.columns:
        # The target is a class column: its avatars must be classes, never an average of two.
        categorical = list(dict.fromkeys([*categorical, target_column]))

    def avatars_of(frame: pd.DataFrame, round_seed: int) -> pd.DataFrame:
        weights = options.get("column_weights") or {}
        rest = {key: value for key, value in options.items() if key != "column_weights"}
        return avatarize_round(frame, round_seed, rest, categorical, weights).unshuffled

    if augmentation is not None:
        report(0.05, "data augmentation")
        grown: AugmentedTable = augment(
            table, augmentation, avatars_of, k=int(options.get("k", _DEFAULT_K)), seed=seed
        )
        details = {
            "extra_rows": {str(k): v for k, v in grown.extra_per_class.items()},
            "target_column": augmentation.target_column,
            "should_anonymize_original_table": augmentation.should_anonymize_original_table,
        }
        # Each round of the avatar method released these as pseudonyms: the figures leave them
        # out (they would show the real values on the original's side).
        identifiers = find_identifiers(
            table, options.get("exclude_variable_names") or (), categorical
        )
        if identifiers:
            details["pseudonymized_identifier_columns"] = [str(c) for c in identifiers]
        return grown.unshuffled, grown.sources, None, None, details
    avatars = avatarize(
        table,
        seed=seed,
        categorical_columns=categorical,
        progress=lambda f, p: report(0.85 * f, p),
        **options,
    )
    projections = (avatars.original_projections, avatars.avatar_projections)
    said: dict[str, Any] = {"warnings": list(avatars.warnings)} if avatars.warnings else {}
    if avatars.pseudonymized_columns:
        said["pseudonymized_identifier_columns"] = [str(c) for c in avatars.pseudonymized_columns]
    return avatars.unshuffled, np.arange(len(table), dtype=np.int64), projections, None, said


def _restore_dtypes(generated: pd.DataFrame, original: pd.DataFrame) -> pd.DataFrame:
    """The original's dtypes where the generated values allow them without loss (a processor
    may make an integer column's values fractional: they stay floats then, since rounding them
    would break the relation the processor keeps)."""
    out = generated.copy()
    for name in original.columns:
        if name not in out.columns or out[name].dtype == original[name].dtype:
            continue
        values = out[name]
        if pd.api.types.is_integer_dtype(original[name].dtype) and pd.api.types.is_float_dtype(
            values.dtype
        ):
            present = values.dropna().to_numpy()
            if not np.allclose(present, np.round(present)):
                continue
            values = values.round()
        target = original[name].dtype
        if isinstance(target, pd.CategoricalDtype) and not set(values.dropna()) <= set(
            target.categories
        ):
            continue  # pseudonyms of an identifier: the original categories would void them
        try:
            out[name] = values.astype(target)
        except (TypeError, ValueError):
            continue
    return out


def _pseudonymize(
    identifiers: pd.DataFrame,
    generated: pd.DataFrame,
    sources: IntArray | None,
    params: ReleaseParameters,
    secret: bytes,
    table_name: str,
) -> tuple[pd.DataFrame, dict[str, ColumnMapping]]:
    """Put the pseudonymized columns back (see the module docstring)."""
    columns = list(identifiers.columns)
    if sources is not None:
        values = identifiers.iloc[sources].reset_index(drop=True)
        strategies = params.pseudonymized
    else:
        # DP: one fresh pseudonym per row, drawn from a placeholder per row, never from data.
        values = pd.DataFrame(
            {c: [f"row-{i}" for i in range(len(generated))] for c in columns}, dtype=object
        )
        strategies = {
            column: dataclasses.replace(strategy, consistent=False)
            for column, strategy in params.pseudonymized.items()
        }
    rows = pd.concat([generated.reset_index(drop=True), values], axis=1)
    result = pseudonymize_table(rows, strategies, secret=secret, table_name=table_name)
    mappings = result.mappings if sources is not None else {}
    return result.table, mappings
