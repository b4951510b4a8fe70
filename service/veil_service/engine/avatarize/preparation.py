"""What an avatarization computes before its first random draw, prepared once and reused.

A parameter search avatarizes one table many times, changing only ``k``, the seed and the noise
knobs (the linked search of engine/multitable/hidden_rate_advice.py: some 440 runs of 50-300
rows on Tutorial 3). Everything before the neighbours' weights depends on none of them: the
identifier check, the column analysis and encoding, the missing-value indicators, and, when the
seed draws nothing there, the imputation, the batch split and the FAMD fit. The neighbours
themselves depend on ``k`` and ``ncp`` but not on the seed. :func:`prepare_avatarization` does
that work once; ``pipeline.run_prepared`` runs the rest with any run parameters (the fields of
:data:`RUN_FIELDS`) and gives the same avatars, bit for bit, as ``run_avatarization`` with the
same parameters (tests/unit/engine/avatarize/test_avatarize_preparation.py).

When the fit does draw from the seed (missing values are imputed from seeded donors, or the rows
are split into several batches at random), the preparation keeps only the seed-free part and each
run fits its own projection, as ``run_avatarization`` does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from veil_service.engine.avatarize.batching import split_batches
from veil_service.engine.avatarize.categorical_reduction import (
    CategoricalReduction,
    apply_reduction,
    fit_reduction,
)
from veil_service.engine.avatarize.column_types import (
    CodeArray,
    ColumnKind,
    ColumnSpec,
    FloatArray,
    analyse_columns,
    encode_categorical,
    encode_continuous,
)
from veil_service.engine.avatarize.famd import FamdModel, encoded_width, fit_famd, project
from veil_service.engine.avatarize.identifier_columns import IdentifierEvidence, find_identifiers
from veil_service.engine.avatarize.imputation import (
    MissingIndicators,
    impute,
    indicator_codes,
    missing_indicators,
)
from veil_service.engine.avatarize.neighbours import IndexArray, nearest_neighbours
from veil_service.engine.avatarize.parameters import AvatarizationParameters
from veil_service.engine.avatarize.unique_rows import UniqueRows
from veil_service.engine.avatarize.validation import validate_projection, validate_table
from veil_service.errors import InvalidArgumentError

#: Parameters a prepared avatarization may be run with at any value: they act after the
#: projection is fitted (neighbours, weights, noise, redraws, decoding, shuffle). Every other
#: field of :class:`AvatarizationParameters` shapes the preparation and must stay as prepared.
RUN_FIELDS = frozenset(
    {
        "k",
        "ncp",
        "seed",
        "n_jobs",
        "max_weight",
        "local_noise",
        "coupled_noise",
        "redraw_unique_copies",
        "target_column",
        "exclude_variables_method",
        "imputation_return_data_imputed",
    }
)

#: A batch's neighbours: distances and row indexes (rows x k), nearest first.
Neighbours = tuple[FloatArray, IndexArray]


def parameters_from_options(options: Mapping[str, Any]) -> AvatarizationParameters:
    """The parameters ``avatarize(df, **options)`` runs with (lists given for tuple fields).

    Lets a caller that holds ``avatarize``'s keyword options (a linked table's stored
    parameters) prepare once and run many times with exactly the parameters ``avatarize`` would
    build; an unknown option raises ``TypeError`` as ``avatarize`` does.
    """
    values = dict(options)
    for name in ("exclude_variable_names", "categorical_columns"):
        values[name] = tuple(values.get(name) or ())
    values["column_weights"] = dict(values.get("column_weights") or {})
    return AvatarizationParameters(**values)


def preparation_key(params: AvatarizationParameters) -> tuple[Any, ...]:
    """The values of the fields a preparation depends on (every field but :data:`RUN_FIELDS`)."""
    return tuple(
        (f.name, getattr(params, f.name)) for f in fields(params) if f.name not in RUN_FIELDS
    )


@dataclass(frozen=True)
class FittedProjection:
    """The imputed model arrays, the batches and the projection fitted on the training batch.

    Attributes:
        batches: Row indexes of each batch, the training batch first.
        reduction: The categorical reduction (empty unless ``use_categorical_reduction``).
        model_continuous: Continuous model columns (imputed; embeddings of reduced columns).
        model_codes: Categorical model codes (imputed; indicators included).
        model: The FAMD projection.
        n_continuous: Continuous variables of the table (before the embeddings).
    """

    batches: list[IndexArray]
    reduction: CategoricalReduction
    model_continuous: FloatArray
    model_codes: CodeArray
    model: FamdModel
    n_continuous: int


@dataclass(frozen=True)
class PreparedAvatarization:
    """A table readied for avatarization: the work of ``run_avatarization`` before any draw.

    Attributes:
        table: The original table (it must not change while the preparation is used).
        key: :func:`preparation_key` of the parameters it was prepared with.
        identifiers: Identifier-like columns found (released as pseudonyms).
        excluded: Columns kept out of the avatarization (listed and identifier-like).
        work: The table without the excluded columns.
        specs: Each avatarized column's kind, categories and dtype.
        continuous: Encoded continuous columns, NaN where missing.
        codes: Encoded categorical codes, -1 where missing.
        indicators: The columns that get a missing-value indicator.
        fitted: The projection, when fitting it draws nothing from the seed (no missing value,
            one batch); None when each run fits its own.
    """

    table: pd.DataFrame
    key: tuple[Any, ...]
    identifiers: dict[Any, IdentifierEvidence]
    excluded: list[str]
    work: pd.DataFrame
    specs: list[ColumnSpec]
    continuous: FloatArray
    codes: CodeArray
    indicators: MissingIndicators
    fitted: FittedProjection | None
    _neighbours: dict[tuple[int, int], Neighbours] = field(
        default_factory=dict, repr=False, compare=False
    )

    def fits(self, params: AvatarizationParameters) -> bool:
        """Whether a run with ``params`` may use this preparation (it differs only in
        :data:`RUN_FIELDS`)."""
        return preparation_key(params) == self.key

    @cached_property
    def unique_rows(self) -> UniqueRows:
        """The work table's rows that occur once (the avatars redrawn if they copy one)."""
        return UniqueRows.of(self.work)

    def neighbours(self, k: int, ncp: int, workers: int) -> Neighbours | None:
        """The single batch's neighbours on the first ``ncp`` components, searched once per
        ``(k, ncp)`` (they do not depend on the seed), or None when the projection is fitted
        per run or there are several batches.

        Only the last ``(k, ncp)`` is kept: a search runs every seed of one ``k`` in a row, and
        a table's neighbours take rows x k x 16 bytes. The arrays are read-only.
        """
        fitted = self.fitted
        if fitted is None or len(fitted.batches) != 1:
            return None
        if (k, ncp) not in self._neighbours:
            coordinates = project(fitted.model, fitted.model_continuous, fitted.model_codes)
            search_space = np.ascontiguousarray(coordinates[:, :ncp])
            distances, indexes = nearest_neighbours(search_space, k, workers)
            distances.setflags(write=False)
            indexes.setflags(write=False)
            self._neighbours.clear()
            self._neighbours[(k, ncp)] = (distances, indexes)
        return self._neighbours[(k, ncp)]


def prepare_avatarization(
    df: pd.DataFrame, params: AvatarizationParameters
) -> PreparedAvatarization:
    """Check, analyse and encode ``df`` and, when no draw is involved, fit its projection.

    Args:
        df: The original table.
        params: The parameters; runs may change the fields of :data:`RUN_FIELDS` only.

    Raises:
        InvalidArgumentError: the table or a column named by the parameters is invalid, or
            nothing is left to avatarize (as ``run_avatarization``).
    """
    validate_table(df, params)
    identifiers = find_identifiers(df, params.exclude_variable_names, params.categorical_columns)
    excluded = list(dict.fromkeys([*params.exclude_variable_names, *identifiers]))
    work = df.drop(columns=excluded)
    if work.shape[1] == 0:
        raise InvalidArgumentError(
            "Every column is excluded or looks like an identifier ("
            + ", ".join(repr(str(name)) for name in identifiers)
            + "): nothing is left to avatarize. Keep data columns in the table.",
            field="exclude_variable_names",
        )
    specs = analyse_columns(work, set(params.categorical_columns) - set(excluded))
    continuous = encode_continuous(work, specs)
    codes = encode_categorical(work, specs)
    if not params.use_categorical_reduction:
        validate_projection(
            encoded_width(continuous.shape[1], _n_categories(specs)), _modalities(specs)
        )
    indicators = missing_indicators(continuous, codes)
    prepared = PreparedAvatarization(
        table=df,
        key=preparation_key(params),
        identifiers=identifiers,
        excluded=excluded,
        work=work,
        specs=specs,
        continuous=continuous,
        codes=codes,
        indicators=indicators,
        fitted=None,
    )
    one_batch = math.ceil(len(df) / params.effective_max_rows_per_batch) <= 1
    if indicators.count == 0 and one_batch:
        # Nothing to impute and no split: neither draws, so the fit is the same for every seed.
        unused = np.random.SeedSequence(0)
        fitted = fit_projection(prepared, params, unused, unused)
        prepared = replace(prepared, fitted=fitted)
    return prepared


def run_seeds(seed: int | None) -> list[np.random.SeedSequence]:
    """The seeds one run draws from, in order: imputation, split, shuffle, batches, redraw,
    pseudonyms (``pipeline.run_prepared`` and :func:`with_fitted_projection` share them, so a
    projection fitted ahead is the one the run would fit)."""
    return np.random.SeedSequence(seed).spawn(6)


def with_fitted_projection(
    prepared: PreparedAvatarization, params: AvatarizationParameters
) -> PreparedAvatarization:
    """``prepared`` with the projection a run with ``params`` fits (itself when it has one).

    A table with missing values fits its projection per seed (the imputation draws donors), so
    a parameter search that runs many ``k`` on the same seeds fits it once per seed with this
    and reuses it: the same avatars as fitting it in each run, bit for bit. The copy has its own
    neighbour cache (the neighbours depend on the seed's projection).
    """
    if prepared.fitted is not None:
        return prepared
    imputation_seed, split_seed = run_seeds(params.seed)[:2]
    fitted = fit_projection(prepared, params, imputation_seed, split_seed)
    return replace(prepared, fitted=fitted, _neighbours={})


def fit_projection(
    prepared: PreparedAvatarization,
    params: AvatarizationParameters,
    imputation_seed: np.random.SeedSequence,
    split_seed: np.random.SeedSequence,
    progress: Callable[[float, str], None] | None = None,
) -> FittedProjection:
    """Impute, split into batches and fit the projection on the training batch.

    Args:
        prepared: The analysed and encoded table.
        params: The parameters (imputation, batches, weights, reduction).
        imputation_seed: Seed of the imputation's donors (drawn from only with missing values).
        split_seed: Seed of the batch split (drawn from only with several batches).
        progress: Called with (fraction, phase) at each step.

    Raises:
        InvalidArgumentError: the encoded projection is too wide, or the rows holding every
            modality do not fit in a batch.
    """
    report = progress or _no_progress
    report(0.05, "imputing")
    continuous, codes, specs = prepared.continuous, prepared.codes, prepared.specs
    n_categories = _n_categories(specs)
    filled_cont, filled_codes = impute(
        continuous,
        codes,
        n_categories,
        method=params.imputation_method,
        k=params.effective_imputation_k,
        training_fraction=params.effective_training_fraction,
        rng=np.random.default_rng(imputation_seed),
    )
    indicators = prepared.indicators
    all_codes = np.hstack([filled_codes, indicator_codes(continuous, codes, indicators)])
    all_categories = n_categories + [2] * indicators.count

    report(0.1, "preprocessing")
    batches = split_batches(
        all_codes, params.effective_max_rows_per_batch, np.random.default_rng(split_seed)
    )
    training = batches[0]
    indicator_cols = indicator_columns(specs, indicators)
    weight_of = variable_weights(specs, indicator_cols, params)
    reduction = CategoricalReduction((), ())
    if params.use_categorical_reduction:
        reduction = fit_reduction(filled_cont[training], all_codes[training], all_categories)
    model_cont, model_codes, model_categories = apply_reduction(
        reduction, filled_cont, all_codes, all_categories
    )
    n_cont = filled_cont.shape[1]
    cont_weights = list(weight_of[:n_cont])
    for j, emb in zip(reduction.reduced, reduction.embeddings, strict=True):
        cont_weights += [weight_of[n_cont + j]] * emb.shape[1]
    cat_weights = [w for j, w in enumerate(weight_of[n_cont:]) if j not in reduction.reduced]
    validate_projection(encoded_width(model_cont.shape[1], model_categories), _modalities(specs))

    report(0.15, "fitting projection")
    model = fit_famd(
        model_cont[training],
        model_codes[training],
        model_categories,
        np.asarray(cont_weights + cat_weights, dtype=np.float64),
    )
    return FittedProjection(batches, reduction, model_cont, model_codes, model, n_cont)


def indicator_columns(
    specs: list[ColumnSpec], indicators: MissingIndicators
) -> list[tuple[str, ColumnKind, int]]:
    """(column name, kind, index among its kind) of each indicator, in indicator order."""
    cont_names = [s.name for s in specs if s.kind is not ColumnKind.CATEGORICAL]
    cat_names = [s.name for s in specs if s.kind is ColumnKind.CATEGORICAL]
    return [(cont_names[j], ColumnKind.CONTINUOUS, j) for j in indicators.continuous] + [
        (cat_names[j], ColumnKind.CATEGORICAL, j) for j in indicators.categorical
    ]


def variable_weights(
    specs: list[ColumnSpec],
    indicator_cols: list[tuple[str, ColumnKind, int]],
    params: AvatarizationParameters,
) -> list[float]:
    """Weights in model order: continuous, categorical, then indicators (their column's weight)."""
    weights = params.column_weights
    ordered = [s.name for s in specs if s.kind is not ColumnKind.CATEGORICAL]
    ordered += [s.name for s in specs if s.kind is ColumnKind.CATEGORICAL]
    ordered += [name for name, _, _ in indicator_cols]
    return [float(weights.get(name, 1.0)) for name in ordered]


def _n_categories(specs: list[ColumnSpec]) -> list[int]:
    return [len(s.categories) for s in specs if s.kind is ColumnKind.CATEGORICAL]


def _modalities(specs: list[ColumnSpec]) -> dict[Any, int]:
    return {s.name: len(s.categories) for s in specs if s.kind is ColumnKind.CATEGORICAL}


def _no_progress(fraction: float, phase: str) -> None:
    del fraction, phase
