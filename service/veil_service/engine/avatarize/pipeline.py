"""The avatarization pipeline: from an original table to shuffled avatars and projections.

Steps (avatar_method.md sections 1.0 to 1.13): check parameters and table; encode columns by type;
add a missing-value indicator per column with missing values and impute temporarily; optionally
embed many-modality categoricals; split rows into batches (the first holds every modality); fit
the FAMD projection on the training batch; in each batch, find each row's k nearest other rows on
the first ``ncp`` components, draw random local weights, take the barycentre in the full coordinate
space and project it back; decode types, put missing values back, re-attach excluded variables
(identifier-like columns as pseudonyms, never their real values: see identifier_columns), and
shuffle the rows.

Determinism: every random draw derives from one ``numpy.random.SeedSequence(seed)``: one child for
the imputation donors, one for the batch split, one for the final shuffle, one per batch
(``spawn``), one for the redraws and one for the identifiers' pseudonyms, so the same table,
parameters and seed give byte-identical avatars whatever the number of worker processes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from veil_service.engine.avatarize.batch import BatchOutput, BatchTask, redraw_rows
from veil_service.engine.avatarize.batching import run_batches
from veil_service.engine.avatarize.categorical_reduction import (
    CategoricalReduction,
    invert_reduction,
)
from veil_service.engine.avatarize.column_types import (
    CodeArray,
    ColumnKind,
    ColumnSpec,
    FloatArray,
    decode_columns,
    in_column_order,
)
from veil_service.engine.avatarize.identifier_columns import IdentifierEvidence, pseudonyms
from veil_service.engine.avatarize.identifier_columns import warning as identifier_warning
from veil_service.engine.avatarize.neighbours import IndexArray
from veil_service.engine.avatarize.parameters import AvatarizationParameters
from veil_service.engine.avatarize.preparation import (
    RUN_FIELDS,
    PreparedAvatarization,
    fit_projection,
    indicator_columns,
    prepare_avatarization,
    run_seeds,
)
from veil_service.engine.avatarize.unique_rows import UniqueRows
from veil_service.engine.avatarize.validation import validate_table

ProgressCallback = Callable[[float, str], None]


@dataclass(frozen=True)
class AvatarizationResult:
    """What an avatarization gives back.

    Attributes:
        avatars: The avatars, rows shuffled and index reset: the table to release.
        unshuffled: SENSITIVE. Row i is the avatar of original row i (same index as the input);
            only for privacy metrics, never to release.
        original_projections: Originals' coordinates on the first ``max(ncp, 2)`` components
            (columns ``Dim.1``...), indexed like the input.
        avatar_projections: Avatars' coordinates in the same space (the decoded avatars projected
            again, before rounding and clipping), aligned with ``unshuffled``.
        projection_kind: ``PCA``, ``MCA`` or ``FAMD``.
        explained_variance_ratio: Share of inertia of each component of the projection.
        n_batches: Number of batches the rows were split into.
        redrawn_rows: Avatars drawn again because they equalled an original occurring once.
        unique_copies: Avatars still equal to an original occurring once (0 unless the redraws
            ran out; only counted when ``redraw_unique_copies`` is set).
        neighbours: SENSITIVE, only with ``keep_weights``: row i's neighbours (original rows).
        coefficients: Only with ``keep_weights``: the neighbours' coefficients (rows sum to one).
        warnings: What the caller should know about how its parameters were applied.
        pseudonymized_columns: Identifier-like columns released as pseudonyms (their figures and
            metrics would compare real identifiers with pseudonyms, and show the real ones).
    """

    avatars: pd.DataFrame
    unshuffled: pd.DataFrame
    original_projections: pd.DataFrame
    avatar_projections: pd.DataFrame
    projection_kind: str
    explained_variance_ratio: tuple[float, ...]
    n_batches: int
    redrawn_rows: int = 0
    unique_copies: int = 0
    neighbours: IndexArray | None = None
    coefficients: FloatArray | None = None
    warnings: tuple[str, ...] = ()
    pseudonymized_columns: tuple[Any, ...] = ()


def run_avatarization(
    df: pd.DataFrame,
    params: AvatarizationParameters,
    progress: ProgressCallback | None = None,
    *,
    keep_weights: bool = False,
) -> AvatarizationResult:
    """Avatarize ``df`` with validated ``params`` (see :func:`avatarize` for the public entry).

    ``keep_weights`` also returns each avatar's neighbours and coefficients (diagnostics and
    tests of the weighting; never released).
    """
    report = progress or _no_progress
    report(0.0, "validating")
    return run_prepared(
        prepare_avatarization(df, params), params, progress, keep_weights=keep_weights
    )


def run_prepared(
    prepared: PreparedAvatarization,
    params: AvatarizationParameters,
    progress: ProgressCallback | None = None,
    *,
    keep_weights: bool = False,
) -> AvatarizationResult:
    """Avatarize a prepared table with ``params``: the avatars ``run_avatarization`` gives
    with the same table and parameters, bit for bit.

    A search runs one preparation (engine.avatarize.preparation) with many ``k``, seeds and
    noise settings, and pays the column analysis, the encoding, the projection and the
    neighbour search once instead of at every run.

    Args:
        prepared: From :func:`prepare_avatarization` on the table.
        params: The run's parameters; they may differ from the prepared ones only in
            ``preparation.RUN_FIELDS``.
        progress: Called with (fraction done, phase).
        keep_weights: Also return each avatar's neighbours and coefficients.

    Raises:
        ValueError: ``params`` change a field the preparation depends on (a caller's error).
        InvalidArgumentError: ``k`` is not below the table's rows.
    """
    if not prepared.fits(params):
        raise ValueError(
            "these parameters differ from the prepared ones beyond "
            f"{sorted(RUN_FIELDS)}: prepare the table again with them"
        )
    report = progress or _no_progress
    df = prepared.table
    validate_table(df, params)
    imputation_seed, split_seed, shuffle_seed, batches_seed, redraw_seed, pseudonym_seed = (
        run_seeds(params.seed)
    )
    fitted = prepared.fitted or fit_projection(
        prepared, params, imputation_seed, split_seed, report
    )
    batches, model = fitted.batches, fitted.model
    model_cont, model_codes = fitted.model_continuous, fitted.model_codes
    ncp, warnings = capped_ncp(params.ncp, model.n_components)
    n_out = min(max(ncp, 2), model.n_components)
    exact_continuous, exact_codes = target_model_columns(
        params.target_column,
        prepared.specs,
        indicator_columns(prepared.specs, prepared.indicators),
        fitted.reduction,
        fitted.n_continuous,
    )
    seeds = batches_seed.spawn(len(batches))
    match = bool(prepared.excluded) and params.exclude_variables_method == "coordinate_similarity"
    # One batch alone gets every core as query threads; several batches get one process each.
    workers = params.effective_n_jobs if len(batches) == 1 else 1
    tasks = [
        BatchTask(
            model,
            model_cont[rows],
            model_codes[rows],
            params.k,
            ncp,
            n_out,
            seed,
            match,
            workers,
            max_weight=params.effective_max_weight,
            local_noise=float(params.local_noise),
            coupled_noise=params.coupled_noise,
            keep_weights=keep_weights,
            neighbours=prepared.neighbours(params.k, ncp, workers),
            exact_continuous=exact_continuous,
            exact_codes=exact_codes,
        )
        for rows, seed in zip(batches, seeds, strict=True)
    ]
    report(0.2, f"avatarizing batch 1/{len(tasks)}")

    def on_done(done: int) -> None:
        phase = "decoding" if done == len(tasks) else f"avatarizing batch {done + 1}/{len(tasks)}"
        report(0.2 + 0.7 * done / len(tasks), phase)

    outputs = run_batches(tasks, params.effective_n_jobs, on_done)
    gathered = _gather(len(df), batches, outputs, keep_weights)
    decoder = _Decoder(
        prepared.specs,
        fitted.reduction,
        fitted.n_continuous,
        indicator_columns(prepared.specs, prepared.indicators),
        prepared.work,
        params.imputation_return_data_imputed,
    )
    redrawn, left, decoded = 0, 0, None
    if params.redraw_unique_copies:
        redrawn, left, decoded = _redraw_unique_copies(
            gathered, decoder, prepared.unique_rows, tasks, batches, redraw_seed
        )
    result = _assemble(
        decoded if decoded is not None else decoder.decode(gathered),
        df,
        prepared.excluded,
        _Pseudonyms(prepared.identifiers, pseudonym_seed),
        params,
        gathered,
        shuffle_seed,
        model.kind,
        tuple(float(r) for r in model.explained_variance_ratio),
        len(batches),
    )
    report(1.0, "done")
    return replace(
        result,
        redrawn_rows=redrawn,
        unique_copies=left,
        warnings=(*warnings, *result.warnings),
    )


def capped_ncp(requested: int, dimensions: int) -> tuple[int, list[str]]:
    """``ncp`` capped at the projection's dimensions, with a warning when it had to be.

    Octopize caps a too large ``ncp`` silently; Veil caps it too (the closest space that exists)
    and says so, naming both numbers.
    """
    if requested <= dimensions:
        return requested, []
    return dimensions, [
        f"ncp={requested} is more than the {dimensions} dimensions of this table's projection: "
        f"the neighbours were searched in all {dimensions} (ncp capped at {dimensions})."
    ]


def target_model_columns(
    target: str | None,
    specs: list[ColumnSpec],
    indicator_cols: list[tuple[str, ColumnKind, int]],
    reduction: CategoricalReduction,
    n_cont: int,
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The model columns that hold the named target column: (continuous, categorical) indexes.

    A numeric target is one continuous column; a categorical one is one code column, or the
    continuous columns of its embedding when categorical reduction embedded it; its missingness
    indicator, if it has one, is a code column too (whether the target is missing is part of
    its value).
    """
    if target is None:
        return (), ()
    cont_names = [s.name for s in specs if s.kind is not ColumnKind.CATEGORICAL]
    cat_names = [s.name for s in specs if s.kind is ColumnKind.CATEGORICAL]
    # Code columns before the reduction: categoricals, then indicators; the reduction moves
    # its columns to the continuous side (after the n_cont originals, in reduction order).
    code_columns = [name == target for name in cat_names]
    code_columns += [name == target for name, _, _ in indicator_cols]
    exact_cont = [cont_names.index(target)] if target in cont_names else []
    offset = n_cont
    for j, emb in zip(reduction.reduced, reduction.embeddings, strict=True):
        if code_columns[j]:
            exact_cont += list(range(offset, offset + emb.shape[1]))
        offset += emb.shape[1]
    kept = [j for j in range(len(code_columns)) if j not in reduction.reduced]
    exact_codes = [m for m, j in enumerate(kept) if code_columns[j]]
    return tuple(exact_cont), tuple(exact_codes)


@dataclass
class _Gathered:
    """Every batch's output put back in table row order (the redraws patch it in place)."""

    continuous: FloatArray
    codes: CodeArray
    original_projections: FloatArray
    avatar_projections: FloatArray
    nearest: IndexArray
    neighbours: IndexArray | None
    coefficients: FloatArray | None


def _gather(
    n: int, batches: list[IndexArray], outputs: list[BatchOutput], keep_weights: bool
) -> _Gathered:
    first = outputs[0]
    n_out = first.original_projections.shape[1]
    k = first.neighbours.shape[1]
    gathered = _Gathered(
        continuous=np.empty((n, first.continuous.shape[1])),
        codes=np.empty((n, first.codes.shape[1]), dtype=np.int32),
        original_projections=np.empty((n, n_out)),
        avatar_projections=np.empty((n, n_out)),
        nearest=np.empty(n, dtype=np.intp),
        neighbours=np.empty((n, k), dtype=np.intp) if keep_weights else None,
        coefficients=np.empty((n, k)) if keep_weights else None,
    )
    for rows, out in zip(batches, outputs, strict=True):
        gathered.original_projections[rows] = out.original_projections
        _patch(gathered, rows, rows, out)
    return gathered


def _patch(gathered: _Gathered, batch_rows: IndexArray, rows: IndexArray, out: BatchOutput) -> None:
    """Write a batch's (or a redraw's) avatars for table ``rows``; ``batch_rows`` maps the
    batch's local indexes to table rows."""
    gathered.continuous[rows] = out.continuous
    gathered.codes[rows] = out.codes
    gathered.avatar_projections[rows] = out.avatar_projections
    if out.nearest_original.size:
        gathered.nearest[rows] = batch_rows[out.nearest_original]
    if gathered.neighbours is not None and gathered.coefficients is not None:
        gathered.neighbours[rows] = batch_rows[out.neighbours]
        gathered.coefficients[rows] = out.coefficients


@dataclass(frozen=True)
class _Decoder:
    """Turns model arrays of any rows back into the original columns and dtypes."""

    specs: list[ColumnSpec]
    reduction: CategoricalReduction
    n_cont: int
    indicator_cols: list[tuple[str, ColumnKind, int]]
    work: pd.DataFrame
    keep_imputed: bool = False

    def decode(self, gathered: _Gathered, rows: IndexArray | None = None) -> pd.DataFrame:
        """The avatars of ``rows`` (default: all) as a table of the avatarized columns."""
        model_cont = gathered.continuous if rows is None else gathered.continuous[rows]
        model_codes = gathered.codes if rows is None else gathered.codes[rows]
        cont, all_codes = invert_reduction(self.reduction, model_cont, model_codes, self.n_cont)
        cont = cont.copy()
        n_cat = all_codes.shape[1] - len(self.indicator_cols)
        codes = np.ascontiguousarray(all_codes[:, :n_cat])
        for t, (_, column_kind, j) in enumerate(self.indicator_cols):
            if self.keep_imputed:
                break  # the imputed values stay; the missingness indicators are dropped
            is_missing = all_codes[:, n_cat + t] == 1
            if column_kind is ColumnKind.CONTINUOUS:
                cont[is_missing, j] = np.nan
            else:
                codes[is_missing, j] = -1
        index = self.work.index if rows is None else self.work.index[rows]
        return decode_columns(self.specs, cont, codes, index, list(self.work.columns))


#: Rounds of redraws for avatars equal to an original occurring once; each round draws new
#: weights and noise for the rows still equal to one.
MAX_REDRAW_ROUNDS = 20


def _redraw_unique_copies(
    gathered: _Gathered,
    decoder: _Decoder,
    unique: UniqueRows,
    tasks: list[BatchTask],
    batches: list[IndexArray],
    seed: np.random.SeedSequence,
) -> tuple[int, int, pd.DataFrame | None]:
    """Draw again every avatar that equals an original row occurring once in the table.

    Such an avatar discloses that row whole (whoever knows part of it learns the rest), whatever
    the distance metrics say; an avatar equal to a row shared by several individuals does not
    single anyone out. Each round redraws the offending rows' weights and noise (same
    neighbours) in their own batch.

    Returns:
        How many redraws were made, how many avatars are still copies after the last round,
        and the decoded avatars when none was redrawn (None otherwise: they changed).
    """
    decoded = decoder.decode(gathered)
    offending = unique.copies(decoded)
    if offending.size == 0:
        return 0, 0, decoded
    n = len(decoder.work)
    batch_of = np.empty(n, dtype=np.intp)
    local_of = np.empty(n, dtype=np.intp)
    for b, rows in enumerate(batches):
        batch_of[rows] = b
        local_of[rows] = np.arange(len(rows))
    redrawn = 0
    for round_seed in seed.spawn(MAX_REDRAW_ROUNDS):
        if offending.size == 0:
            break
        redrawn += offending.size
        for b, batch_seed in enumerate(round_seed.spawn(len(tasks))):
            rows = offending[batch_of[offending] == b]
            if rows.size:
                redrawn_rows = redraw_rows(tasks[b], local_of[rows], batch_seed)
                _patch(gathered, batches[b], rows, redrawn_rows)
        offending = offending[unique.copies(decoder.decode(gathered, offending))]
    return redrawn, int(offending.size), None


@dataclass(frozen=True)
class _Pseudonyms:
    """The identifier-like columns to release as pseudonyms, and the seed of their draw."""

    columns: dict[Any, IdentifierEvidence]
    seed: np.random.SeedSequence


def _assemble(
    avatars: pd.DataFrame,
    df: pd.DataFrame,
    excluded: list[str],
    pseudonymized: _Pseudonyms,
    params: AvatarizationParameters,
    gathered: _Gathered,
    shuffle_seed: np.random.SeedSequence,
    kind: str,
    explained: tuple[float, ...],
    n_batches: int,
) -> AvatarizationResult:
    """The result from the decoded ``avatars`` (the excluded columns are added to them)."""
    n = len(df)
    said: list[str] = []
    draws = pseudonymized.seed.spawn(len(pseudonymized.columns))
    rngs = dict(zip(pseudonymized.columns, draws, strict=True))
    for name in excluded:
        if params.exclude_variables_method == "coordinate_similarity":
            rows = np.asarray(gathered.nearest)
        else:
            rows = np.arange(n)
        if name in pseudonymized.columns:
            # Never the real identifiers: pseudonyms, one per value, kept nowhere.
            rng = np.random.default_rng(rngs[name])
            # Own dtype: a category column's categories would be the real values.
            avatars[name] = pseudonyms(df[name], rows, rng).set_axis(avatars.index)
            example = avatars[name].dropna().iloc[0] if avatars[name].notna().any() else None
            said.append(identifier_warning(name, pseudonymized.columns[name], example))
            continue
        avatars[name] = df[name].to_numpy()[rows]
        avatars[name] = avatars[name].astype(df[name].dtype)
    unshuffled = in_column_order(avatars, list(df.columns))
    order = np.random.default_rng(shuffle_seed).permutation(n)
    shuffled = unshuffled.iloc[order].reset_index(drop=True)
    n_out = gathered.original_projections.shape[1]
    dims = [f"Dim.{i + 1}" for i in range(n_out)]
    return AvatarizationResult(
        avatars=shuffled,
        unshuffled=unshuffled,
        original_projections=pd.DataFrame(
            gathered.original_projections, index=df.index, columns=dims
        ),
        avatar_projections=pd.DataFrame(gathered.avatar_projections, index=df.index, columns=dims),
        projection_kind=kind,
        explained_variance_ratio=explained,
        n_batches=n_batches,
        neighbours=gathered.neighbours,
        coefficients=gathered.coefficients,
        warnings=tuple(said),
        pseudonymized_columns=tuple(pseudonymized.columns),
    )


def _no_progress(fraction: float, phase: str) -> None:
    del fraction, phase
