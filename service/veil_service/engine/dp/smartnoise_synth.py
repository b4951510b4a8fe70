"""smartnoise-synth synthesizers: fit on the dataset, return samples (or the model on opt-in).

The cost of a marginal synthesizer is the (ε, δ) it is given: ε as requested, δ as requested or,
when left out, the synthesizer's own fixed default (1e-9 for MST and AIM, 0 for MWEM). The GANs
(DP-CTGAN, DPGAN) cost what opacus's accountant says their scheduled epochs spend, at most the
requested ε (``gan_accounting``); PATE-GAN costs what its moments accountant's data-independent
bound says its scheduled rounds spend (``pate_accounting``). Their default δ is Lomas's
``1 / (rows * sqrt(rows))`` with the metadata's published row count (Lomas computes it from the
private rows). Epochs (PATE-GAN's rounds) are bounded by the operator (``max_epochs``, from
``--dp-synth-max-epochs``): a request whose budget would train more is refused, with the ε that
fits; the fit's time is bounded by the ``dp_query`` task time limit. pacsynth's default δ
depends on the private row count, so it needs δ in the request. The cost never depends on the
data and :func:`estimate_cost` never reads it. Encoders are fitted on public
values only (``synth_transformers``); ``preprocessor_eps`` is 0.

Runnable here: ``mwem``, ``mst``, ``aim``, ``pacsynth``, ``dpctgan``, ``dpgan``, ``pategan``
(datasets of 1,000 rows or more, Lomas's rule: it gives each teacher 1,000 rows). Refused:

* ``patectgan``: smartnoise-synth 1.0.8 builds its student discriminator and every teacher as
  one and the same network (``teacher_disc = [discriminator for i in ...]``), so the generator
  learns from a discriminator trained on the raw rows, and the noisy-vote accounting bounds
  nothing (``test_patectgan_teachers_are_its_student`` checks the installed library still does).

Missing values: a column is encoded with a null value when the request says ``nullable`` (Lomas's
default) or the metadata declares the column nullable. With ``nullable=False``, rows holding a
missing value in a column the metadata does not declare nullable are left out of the fit (a
row-by-row filter: each row's fate depends on that row only, so the guarantee holds at the same
ε), where the library would fail on the private data and not on the dummy. A column given the
caller's own transformer (``constraints``) keeps a null only when the metadata declares one, as
the transformer was written for the declared values; rows missing its value are left out the
same way (Lomas's Smartnoise-Synth notebook clamps and bins ``bill_length_mm`` without
``nullable``, and PENGUIN misses two bill lengths). pacsynth leaves no row out: its share of ε for
its noisy row count is sized from the metadata's ``rows``, so such a value is left as its own
empty attribute instead (:func:`_pacsynth_fit`).

Small ε (docs/dp.md, "Small ε"): a fit that fails on the rows is charged, so what the request and
the metadata decide is refused here (pacsynth below the ε its noisy row count needs at the
metadata's ``rows``, or with a δ its noise-scale check rejects; MWEM's privacy-risk warning), and
pacsynth's share of ε for its row count is sized so that the random failure stays under 1e-6.

MWEM's unset hyperparameters (iterations, hence its query pool; the widest marginal; the total of
its synthetic histogram) are what the library would choose for the metadata's ``rows``, never for
the private count (:func:`_create`, ``mwem_weights.public_start``; docs/dp.md, "MWEM's
hyperparameters").

DP-CTGAN's conditional vectors come from DP category frequencies, not the library's exact
private ones (``ctgan_categories``): its cost is DP-SGD's spend within nine tenths of ε plus a
tenth of the total for the frequencies, and a returned model holds no private row.

The GANs train with opacus 0.14, which checks the spent ε only at the start of each epoch, so
the library alone overshoots the request; here the number of epochs is fixed beforehand so that
the spend stays within it (see ``gan_accounting``; Lomas charged the library's last reading, one
epoch short of what was spent).
"""

from __future__ import annotations

import inspect
import math
import pickle
import re
import warnings
from collections.abc import Callable
from typing import Any

import pandas as pd
from snsql._ast.tokens import Column
from snsql.sql.parse import QueryParser
from snsynth import Synthesizer

from veil_service.engine.dp import (
    ctgan_categories,
    gan_accounting,
    mwem_weights,
    pate_accounting,
)
from veil_service.engine.dp.frames import typed_as_metadata
from veil_service.engine.dp.synth_transformers import build_transformer, constrained_columns
from veil_service.engine_contract.dp_metadata import Metadata
from veil_service.engine_contract.dp_requests import (
    CostEstimate,
    ModelArtifact,
    QueryResult,
    SmartnoiseSynthRequest,
)
from veil_service.errors import InvalidArgumentError, Reason

MARGINAL_SYNTHS = ("mwem", "mst", "aim", "pacsynth")
OPACUS_GANS = ("dpctgan", "dpgan")
GAN_SYNTHS = (*OPACUS_GANS, "pategan")
SUPPORTED = MARGINAL_SYNTHS + GAN_SYNTHS
REFUSED = {
    "patectgan": "patectgan is not supported: in smartnoise-synth 1.0.8 its student "
    "discriminator and every teacher are one network trained on the raw rows, so its "
    "synthetic data is not differentially private (docs/dp.md). Use dpctgan or pategan",
}
DEFAULT_MAX_EPOCHS = 1000
"""Epochs (PATE-GAN rounds) a GAN may train unless the operator sets another bound: DPGAN's
default epochs, so no synthesizer's defaults are refused."""
# Their default delta is computed from the private row count: the request must give one.
DELTA_REQUIRED = ("pacsynth",)
_PACSYNTH_DRAWS = 10
PACSYNTH_FAILURE = 1e-6
"""Largest chance a pacsynth fit may have of failing on its noisy record count (see
:func:`_pacsynth_records_share`); requests above it are refused before any charge."""
PACSYNTH_DEFAULT_SHARE = 0.005
"""smartnoise-synth's ``number_of_records_epsilon_proportion``."""
PACSYNTH_MAX_SHARE = 0.5
"""The largest share of ε Veil gives pacsynth's record count when the caller sets none."""
NOT_RETURNABLE = ("mst", "pacsynth")
"""They hold objects pickle cannot write (pacsynth's Rust synthesizer, MST's fitted model): a
``return_model`` request is refused before the charge, not after the fit (s43)."""
# They model pairs of columns: one column gives them nothing to model (and the library divides
# by zero).
PAIRWISE_SYNTHS = ("mst", "aim")
# Parameters that would switch off or bypass differential privacy, or are set here.
FORBIDDEN_PARAMS = frozenset({"epsilon", "delta", "disabled_dp", "cuda", "verbose"})
# Seed-like names: none of the supported synthesizers takes one today, but a future version (or
# QUAIL's ``seed``) would let the caller fix the noise, so they are refused by name (issue 19).
SEED_PARAMS = frozenset({"seed", "random_state", "random_seed", "rng", "secure_rng", "generator"})


def estimate_cost(
    request: SmartnoiseSynthRequest, metadata: Metadata, *, max_epochs: int = DEFAULT_MAX_EPOCHS
) -> CostEstimate:
    """The (ε, δ) the synthesizer is given; read from its constructor, without data.

    Args:
        request: The synthesizer request.
        metadata: Metadata of the dataset (its published row count prices the GANs).
        max_epochs: The operator's bound on GAN epochs (PATE-GAN rounds).

    Raises:
        InvalidArgumentError: Unknown or refused synthesizer, bad parameters or columns, a
            missing δ where the default is data-dependent, δ given to MWEM.
    """
    request.validate()
    columns = _columns(request, metadata)
    if request.synth_name in PAIRWISE_SYNTHS and len(columns) < 2:
        raise InvalidArgumentError(
            f"{request.synth_name} models pairs of columns and needs at least two in "
            f"select_cols (got {', '.join(columns)}); add a column, or use mwem for one column",
            field="select_cols",
        )
    _check_condition(request.condition, columns)
    if request.return_model and request.synth_name in NOT_RETURNABLE:
        raise InvalidArgumentError(
            f"{request.synth_name} cannot be returned as a model, only samples (pickle cannot "
            "write it); set return_model=False, or use mwem, aim or a GAN for a model",
            field="return_model",
        )
    # Builds the encoders (public values only) so constraint errors surface before any spend.
    transformer = _transformer(request, metadata, columns)
    model = _create(request, metadata)
    delta = float(getattr(model, "delta", None) or 0.0)
    if request.synth_name == "mwem":
        _check_mwem_schedule(model)
        _check_mwem_histograms(model, _public_cardinalities(transformer))
    if request.synth_name == "pacsynth":
        if not _public_cardinalities(transformer):
            # The library refuses these in its fit, after reading the rows (charged).
            raise InvalidArgumentError(
                "pacsynth models categories only: every column of select_cols needs a "
                "categorical or binned encoder, and at least one must be kept; in constraints, "
                "give continuous columns a BinTransformer (or use mwem or mst)",
                field="constraints",
            )
        _check_pacsynth_sigmas(model)
    if request.synth_name == "pategan":
        if metadata.rows < pate_accounting.MIN_ROWS:
            raise InvalidArgumentError(
                f"pategan not reliable with this dataset: it gives each teacher "
                f"{pate_accounting.MIN_ROWS:,} rows and the dataset has {metadata.rows:,}. Use "
                "dpctgan or mst",
                field="synth_name",
                reason=Reason.DP_LIBRARY_ERROR,
            )
        rounds = pate_accounting.schedule(model, float(request.epsilon), delta, max_epochs)
        return CostEstimate(epsilon=rounds.epsilon, delta=delta)
    if request.synth_name in OPACUS_GANS:
        planned, categories = _gan_plan(request, model, transformer, metadata.rows, delta)
        _check_epochs(request.synth_name, planned.epochs, max_epochs, request.epsilon)
        return CostEstimate(epsilon=planned.epsilon + categories, delta=delta)
    return CostEstimate(epsilon=float(request.epsilon), delta=delta)


def _gan_plan(
    request: SmartnoiseSynthRequest, model: Any, transformer: Any, rows: int, delta: float
) -> tuple[gan_accounting.GanSchedule, float]:
    """DP-SGD's schedule at the metadata's ``rows``, and the ε of DP-CTGAN's noisy category
    frequencies (``ctgan_categories``; 0 for DPGAN or without a categorical column).

    With categories, DP-SGD may spend ``1 - CATEGORY_SHARE`` of the request and the frequencies
    get ``CATEGORY_SHARE`` of the total actually spent (so a request whose epochs stop short of
    its ε is not charged a share of ε nothing used); the charge is the sum (basic composition),
    at most the request. Data-free: the same figures for the cost and the fit.
    """
    columns = (
        ctgan_categories.categorical_columns(transformer) if request.synth_name == "dpctgan" else 0
    )
    budget = float(request.epsilon) * (1.0 - ctgan_categories.CATEGORY_SHARE if columns else 1.0)
    planned = gan_accounting.schedule(request.synth_name, model, rows, budget, delta)
    return planned, ctgan_categories.category_epsilon(columns, planned.epsilon)


def _check_epochs(name: str, epochs: int, max_epochs: int, epsilon: float) -> None:
    if epochs > max_epochs:
        raise InvalidArgumentError(
            f"{name} would train {epochs} epochs within epsilon={epsilon:g}, more than this "
            f"server's limit of {max_epochs} (set by the operator, --dp-synth-max-epochs); set "
            f"synth_params epochs to at most {max_epochs}",
            field="synth_params",
        )


def execute(
    request: SmartnoiseSynthRequest,
    df: pd.DataFrame,
    metadata: Metadata,
    *,
    seed: int | None = None,
    allow_pickle: bool = False,
    show_library_errors: bool = False,
    max_epochs: int = DEFAULT_MAX_EPOCHS,
    progress: Callable[[float, str], None] | None = None,
) -> QueryResult:
    """Fit the synthesizer on ``df`` and return ``nb_samples`` synthetic rows.

    Args:
        request: Synthesizer, budget, columns, parameters, constraints and sampling options.
        df: The dataset (private or dummy).
        metadata: Metadata of the dataset.
        seed: Ignored: seeding would mean global numpy/torch state shared by concurrent queries.
        allow_pickle: The server allows pickled models. ``return_model`` needs it and the
            request's ``allow_pickle``: synthesizers have no safe serialized form.
        show_library_errors: Put the library's message in errors (dummy data only).
        max_epochs: The operator's bound on GAN epochs (PATE-GAN rounds).
        progress: Called with (fraction, phase): MWEM's iterations, the epochs or rounds a GAN
            is given, sampling. Dummy data only (see ``dpquery.progress``).

    Returns:
        ``QueryResult.table`` with the samples, or ``QueryResult.model`` (pickle) on opt-in.

    Raises:
        InvalidArgumentError: Bad request, a fit the library refuses (e.g. ε too small), or a
            bad ``condition``.
    """
    del seed
    cost = estimate_cost(request, metadata, max_epochs=max_epochs)
    if request.return_model and not (request.allow_pickle and allow_pickle):
        raise InvalidArgumentError(
            "return_model returns the synthesizer as a pickle, which needs allow_pickle on both "
            "the request and the server; ask for samples instead (return_model=False)",
            field="return_model",
        )
    columns = _columns(request, metadata)
    transformer = _transformer(request, metadata, columns)
    report = progress or _no_progress
    model = _create(request, metadata)
    if request.synth_name == "mwem":

        def iterations(done: int, total: int) -> None:
            report(0.05 + 0.85 * done / max(total, 1), f"mwem iteration {done} of {total}")

        # The update on the queried cells only (21x faster), and the histogram sized from the
        # public encoders (mwem_weights), not from the codes present in the private rows.
        mwem_weights.install(
            model,
            _public_cardinalities(transformer),
            iterations if progress else None,
            rows=metadata.rows,
        )
    rows = _fit_rows(df[columns], request, metadata)
    rounds = None
    if request.synth_name == "pategan":
        if len(rows) < pate_accounting.MIN_ROWS:
            hint = (
                " (in dummy mode, ask for 1,000 dummy rows or more)" if show_library_errors else ""
            )
            raise InvalidArgumentError(
                f"Error fitting model: pategan not reliable with this dataset: it needs "
                f"{pate_accounting.MIN_ROWS:,} rows to fit{hint}",
                field="synth_name",
                reason=Reason.DP_LIBRARY_ERROR,
            )
        # Data-free: the same rounds as priced, whatever the private row count.
        rounds = pate_accounting.schedule(model, float(request.epsilon), cost.delta, max_epochs)
        pate_accounting.install(model, rounds)
    elif request.synth_name in OPACUS_GANS:
        # Private data: scheduled again at the actual row count, within what is charged.
        # Dummy data (the only data whose library messages are shown) is scheduled at the
        # metadata's row count, as the cost and the private fit are: scheduled at the dummy's
        # size (sample rate batch_size / 100), a GAN the private query fits was refused there.
        schedule_rows = metadata.rows if show_library_errors else len(rows)
        priced, _ = _gan_plan(request, model, transformer, metadata.rows, cost.delta)
        planned = gan_accounting.schedule(
            request.synth_name, model, schedule_rows, priced.epsilon, cost.delta
        )
        gan_accounting.set_epochs(request.synth_name, model, min(planned.epochs, max_epochs))
        if request.synth_name == "dpctgan":
            ctgan_categories.install(model, ctgan_categories.histogram_epsilon(priced.epsilon))
    report(0.05, _fit_phase(request.synth_name, model, rounds.rounds if rounds else None))
    if progress is not None and request.synth_name == "dpctgan":
        model.epsilon_list = _EpochCounter(report, int(model._epochs))
    try:
        _fit(model, rows, transformer, request, show_library_errors, metadata)
    finally:
        if isinstance(getattr(model, "epsilon_list", None), _EpochCounter):
            model.epsilon_list = list(model.epsilon_list)  # a returned model pickles plainly
        mwem_weights.uninstall(model)
        if request.synth_name == "dpctgan":
            ctgan_categories.finish(model)
        if rounds is not None:
            pate_accounting.uninstall(model, rounds)
    report(0.9, "sampling" if not request.return_model else "pickling the model")
    if request.return_model:
        if request.synth_name == "mwem":
            mwem_weights.forget_rows(model)
        result = QueryResult(model=_pickle(model))
    else:
        result = QueryResult(table=typed_as_metadata(_sample(model, request), metadata))
    report(1.0, "done")
    return result


class _EpochCounter(list[Any]):
    """DP-CTGAN's ``epsilon_list``, which its training loop appends to once at the start of each
    epoch: each append reports the epoch (dummy fits only; see ``dpquery.progress``)."""

    def __init__(self, report: Callable[[float, str], None], epochs: int) -> None:
        super().__init__()
        self._report = report
        self._epochs = max(epochs, 1)

    def append(self, value: Any) -> None:
        super().append(value)
        done = len(self)
        self._report(
            0.05 + 0.85 * (done - 1) / self._epochs, f"dpctgan epoch {done} of {self._epochs}"
        )


def _no_progress(fraction: float, phase: str) -> None:
    del fraction, phase


def _fit_phase(name: str, model: Any, rounds: int | None) -> str:
    """What the fit about to start will do, in the words a progress bar shows."""
    if rounds is not None:
        return f"{name}: training {rounds} rounds"
    epochs = getattr(model, "_epochs", getattr(model, "epochs", None))
    if name in OPACUS_GANS and isinstance(epochs, int):
        return f"{name}: training {epochs} epochs"
    return f"{name}: fitting"


def _fit_rows(
    data: pd.DataFrame, request: SmartnoiseSynthRequest, metadata: Metadata
) -> pd.DataFrame:
    """The rows to fit on, missing values as None (the encoders know None and float NaN, not
    pandas' ``NA`` or ``NaT``). Rows missing a value the encoders have no null for (without
    ``nullable``, or in a column with the caller's own transformer) are left out (see the module
    docstring), except for pacsynth, which fits every row (:func:`_pacsynth_fit`)."""
    strict = _strict_columns(list(data.columns), request, metadata)
    if strict and request.synth_name != "pacsynth":
        data = data[data[strict].notna().all(axis=1)]
    missing = [c for c in data.columns if data[c].isna().any()]
    if not missing:
        return data
    data = data.copy()
    for column in missing:
        data[column] = [None if pd.isna(v) else v for v in data[column].astype(object)]
    return data


def _strict_columns(
    columns: list[str], request: SmartnoiseSynthRequest, metadata: Metadata
) -> list[str]:
    """The columns whose encoder has no null value: not declared nullable by the metadata, and
    encoded without one (the request's ``nullable`` is off, or the caller gave the column its
    own transformer)."""
    own = constrained_columns(request.constraints)
    return [
        c for c in columns if not metadata.column(c).nullable and (not request.nullable or c in own)
    ]


def _columns(request: SmartnoiseSynthRequest, metadata: Metadata) -> list[str]:
    if not request.select_cols:
        return metadata.column_names
    unknown = [c for c in request.select_cols if c not in metadata.column_names]
    if unknown:
        raise InvalidArgumentError(
            f"Error while selecting provided select_cols: unknown column(s) {', '.join(unknown)}",
            field="select_cols",
        )
    return list(request.select_cols)


def _transformer(request: SmartnoiseSynthRequest, metadata: Metadata, columns: list[str]) -> Any:
    style = "gan" if request.synth_name in GAN_SYNTHS else "cube"
    return build_transformer(
        metadata,
        columns,
        style=style,
        nullable=request.nullable,
        constraints=request.constraints,
        # MWEM builds the full histogram of its columns: a null as one more bin instead of a
        # flag column makes it 11x smaller on PENGUIN (docs/dp.md). Not in a returned model,
        # whose encoders must be the library's own.
        null_bin=request.synth_name == "mwem" and not request.return_model,
    )


def _public_cardinalities(transformer: Any) -> list[int] | None:
    """Each encoded column's number of codes, when every column is categorical (else None)."""
    cards = list(transformer.cardinality)
    if any(c is None for c in cards) or len(cards) != transformer.output_width:
        return None
    return [int(c) for c in cards]


def _check_condition(condition: str, columns: list[str]) -> None:
    """Parse the sampling condition before anything is fitted (and charged)."""
    if not condition:
        return
    try:
        query = QueryParser().query(f"SELECT * FROM df WHERE {condition}")
    except Exception as exc:  # snsql's parser raises bare ValueError or Exception
        raise InvalidArgumentError(
            f"condition is not a valid SQL WHERE clause on {', '.join(columns)}: {condition!r}",
            field="condition",
        ) from exc
    # An unquoted word is a column to SQL: Lomas's notebook writes "sex = FEMALE", which no row
    # satisfies, and smartnoise-synth then fails with a pandas dtype error after the fit.
    unknown = [
        str(node.name)
        for node in query.where.condition.find_nodes(Column)
        if str(node.name) not in columns
    ]
    if unknown:
        raise InvalidArgumentError(
            f"condition {condition!r} names {', '.join(map(repr, unknown))}, which is not a column "
            f"of select_cols ({', '.join(columns)}); quote text values, e.g. sex = 'FEMALE'",
            field="condition",
        )


def _create(request: SmartnoiseSynthRequest, metadata: Metadata) -> Any:
    name = request.synth_name
    if name in REFUSED:
        raise InvalidArgumentError(REFUSED[name], field="synth_name")
    if name not in SUPPORTED:
        raise InvalidArgumentError(
            f"unknown synthesizer {name!r}; use one of {', '.join(SUPPORTED)}", field="synth_name"
        )
    params = dict(request.synth_params)
    seeds = sorted(SEED_PARAMS & set(params))
    if seeds:
        raise InvalidArgumentError(
            f"synth_params may not set {', '.join(seeds)}: the randomness of a synthesizer is "
            "drawn fresh by the server for every query, so that its noise cannot be chosen or "
            "repeated",
            field="synth_params",
        )
    bad = sorted(FORBIDDEN_PARAMS & set(params))
    if bad:
        raise InvalidArgumentError(
            f"synth_params may not set {', '.join(bad)}: epsilon and delta are request fields, "
            "the others are fixed by the server",
            field="synth_params",
        )
    for key, value in params.items():
        if not (value is None or isinstance(value, str | int | float | bool | list)):
            raise InvalidArgumentError(
                f"synth_params.{key} must be a plain JSON value", field="synth_params"
            )
    if name == "mwem" and request.delta is not None:
        raise InvalidArgumentError(
            "mwem is pure epsilon-DP and takes no delta; set delta to None", field="delta"
        )
    if name in DELTA_REQUIRED and request.delta is None:
        raise InvalidArgumentError(
            f"delta is required for {name}: its default depends on the private row count. "
            "A value around 1/(rows * sqrt(rows)) is customary",
            field="delta",
        )
    if request.delta == 0:
        default = (
            "" if name in DELTA_REQUIRED else ", or leave delta unset for the library's default"
        )
        raise InvalidArgumentError(
            f"{name} needs delta > 0: its noise (Gaussian for mst, aim and the GANs) has no "
            "guarantee at delta=0 (mst searched minutes for a noise scale, then failed 'unable "
            f"to infer bounds'). Set delta between 0 and 1, e.g. 1/(rows*sqrt(rows)) = "
            f"{1.0 / (metadata.rows * math.sqrt(metadata.rows)):.3g}{default}",
            field="delta",
        )
    if request.delta is not None:
        params["delta"] = request.delta
    elif name in GAN_SYNTHS:
        # Lomas's default, 1 / (n * sqrt(n)), with the published row count instead of the
        # private one (so that the cost does not depend on the data).
        params["delta"] = 1.0 / (metadata.rows * math.sqrt(metadata.rows))
    if name == "dpctgan":
        params.update(disabled_dp=False, cuda=False, verbose=False)
    if name == "mwem":
        # The library sizes these from the private row count when they are left unset (its
        # fit: 10 iterations per decade of rows, hence 2 queries per iteration in the pool, and
        # marginals of up to 3 columns above 10,000 rows, else 2): the same rules here, applied
        # to the metadata's published count, so the fit's schedule, its query pool and the
        # privacy-risk check are public (docs/dp.md, "MWEM's hyperparameters").
        if params.get("iterations") is None:
            params["iterations"] = 10 * max(1, math.ceil(math.log10(metadata.rows)))
        if params.get("marginal_width") is None:
            params["marginal_width"] = 3 if metadata.rows > 10_000 else 2
    if name == "pacsynth":
        params["number_of_records_epsilon_proportion"] = _pacsynth_records_share(
            float(request.epsilon),
            metadata.rows,
            params.get("number_of_records_epsilon_proportion"),
        )
    try:
        with warnings.catch_warnings():
            _quiet_known_warnings()
            model = Synthesizer.create(name, epsilon=float(request.epsilon), **params)
    except TypeError as exc:
        raise InvalidArgumentError(
            f"synth_params not accepted by {name}: {exc}. Accepted: "
            f"{', '.join(_accepted_params(name))}",
            field="synth_params",
        ) from exc
    return model


def _pacsynth_failure(epsilon: float, share: float, rows: int) -> float:
    """The chance that pacsynth's noisy record count comes out at zero or below.

    pac-synth adds Laplace noise of scale 1 / (share·ε) to the row count, rounds it, and panics
    unless the result is positive (``noise_parameters.rs``), after it has read the rows.
    """
    return 0.5 * math.exp(-(rows - 0.5) * share * epsilon)


def _pacsynth_records_share(epsilon: float, rows: int, requested: Any) -> float:
    """The share of ε pacsynth spends on its record count (``number_of_records_epsilon_
    proportion``), chosen so that the fit fails with a chance of at most ``PACSYNTH_FAILURE``.

    The chance depends on the rows fitted, known here only as the metadata's published count, so
    it is computed with that. Left unset, the share is the library's 0.005 or, when that is too
    little, the least share that keeps the chance below the bound (at most 0.5); the rest of ε
    goes to the marginals, the total charged is unchanged. A share the caller sets is kept.

    Raises:
        InvalidArgumentError: on ``epsilon`` when even the largest share leaves a larger chance
            (the message names the smallest ε that works), or on ``synth_params`` for a share
            outside (0, 1).
    """
    bound = math.log(0.5 / PACSYNTH_FAILURE) / (rows - 0.5)  # share·ε must reach this
    needed = bound / epsilon
    if requested is None:
        largest = PACSYNTH_MAX_SHARE
        if needed <= largest * (1 + 1e-12):
            return max(PACSYNTH_DEFAULT_SHARE, needed)
    else:
        if isinstance(requested, bool) or not isinstance(requested, int | float):
            requested = math.nan
        if not 0.0 < float(requested) < 1.0:
            raise InvalidArgumentError(
                "synth_params.number_of_records_epsilon_proportion must be a number between 0 "
                f"and 1 (got {requested!r}); leave it unset for Veil to choose it",
                field="synth_params",
            )
        largest = float(requested)
        if needed <= largest * (1 + 1e-12):
            return largest
    chance = _pacsynth_failure(epsilon, largest, rows)
    minimum = _round_up(bound / largest)
    how = (
        f"with number_of_records_epsilon_proportion={largest:g}, as requested; raise it (below "
        "1), or leave it unset for Veil to choose it"
        if requested is not None
        else f"even spending {largest:g} of epsilon on the row count, the most Veil gives it"
    )
    raise InvalidArgumentError(
        f"pacsynth at epsilon={epsilon:g} would fail in about 1 fit in {max(1, round(1 / chance))}"
        f" on this dataset ({rows:,} rows in its metadata), after reading the rows (so charged): "
        "it counts the rows with Laplace noise and stops when the noisy count is not positive. "
        f"The smallest epsilon that keeps this below 1 in {round(1 / PACSYNTH_FAILURE):,} is "
        f"{minimum:g} ({how}); set epsilon to at least {minimum:g}",
        field="epsilon",
    )


PACSYNTH_SAFE_DELTA = 1e-11
"""The smallest δ at which pac-synth's own check of its noise scales never failed, for ε from
0.01 to 1000 (docs/dp.md)."""


def _check_pacsynth_sigmas(model: Any) -> None:
    """Refuse before any charge a pacsynth request whose noise scales pac-synth would reject.

    pac-synth (``noise_parameters.rs``, ``calc_percentile_epsilon_and_sigmas``) derives its noise
    scales from ε, δ, the share of ε for the row count and the reporting length, then asserts that
    they add up to the budget within a tolerance of δ's decimal precision (capped at 1e-8), and
    panics otherwise, after it has read the rows. Below δ = 1e-11 that tolerance is finer than
    floating-point rounding, so some (ε, δ) pairs fail, every time (PENGUIN: ε 1 with δ 1e-20 or
    1e-300, ε 0.08 with δ 1e-100). The same arithmetic is done here in the same doubles (it
    predicted all 20 fits of that grid).
    """
    epsilon, delta = float(model.epsilon), float(model.delta)
    share = float(model.number_of_records_epsilon_proportion)
    length = int(model.reporting_length)
    part = float(model.percentile_epsilon_proportion)
    if not (length > 0 and 0.0 < part < 1.0 and 0.0 < delta < 1.0):
        return  # the library's own parameter checks answer these, before reading any row
    log = math.log(2.0 / delta)
    rho = (math.sqrt(epsilon - share * epsilon + log) - math.sqrt(log)) ** 2
    proportions = [1.0 / (i + 1) for i in range(length)]
    k = sum(1.0 / (p * p) for p in proportions)
    percentile = math.sqrt(2.0 * rho * part / length)
    base = math.sqrt(k / (2.0 * rho * (1.0 - part))) if rho > 0 else math.inf
    total = (length * percentile * percentile) / 2.0 + sum(
        1.0 / ((p * base) ** 2) for p in proportions
    ) / 2.0
    digits, scaled = 0, delta
    while scaled < 1.0:
        scaled *= 10.0
        digits += 1
    if abs(total - rho) <= min(10.0**-digits, 1e-8):
        return
    raise InvalidArgumentError(
        f"pacsynth cannot run at epsilon={epsilon:g} with delta={delta:g}: it checks its noise "
        "scales against the budget with a tolerance of delta's precision, finer than "
        f"floating-point rounding below delta={PACSYNTH_SAFE_DELTA:g}, and this pair fails that "
        f"check (after reading the rows). Set delta to {PACSYNTH_SAFE_DELTA:g} or more (e.g. "
        "1/(rows*sqrt(rows)))",
        field="delta",
    )


def _round_up(value: float) -> float:
    """``value`` rounded up to three significant digits."""
    digits = 2 - math.floor(math.log10(value))
    step = 10.0**digits
    return math.ceil(value * step) / step


def _check_mwem_histograms(model: Any, cardinalities: list[int] | None) -> None:
    """Refuse before any charge an MWEM request its fit would refuse after reading the rows.

    MWEM warns that a histogram smaller than its iterations is a privacy risk (its iterations
    could measure every cell), and the fit turns that warning into an error (:func:`_fit`). The
    histograms' sizes come from the public encoders (``mwem_weights.public_histograms``) and the
    iterations from the request or the metadata (:func:`_create`), so the check is made here.
    Skipped when a column has no public cardinality (a caller's continuous transformer).
    """
    if cardinalities is None or model.iterations is None:
        return
    width = len(cardinalities)
    if model.splits:
        splits = model.splits
        if not (
            isinstance(splits, list)
            and all(isinstance(split, list) and split for split in splits)
            and all(_is_index(i, width) for split in splits for i in split)
        ):
            raise InvalidArgumentError(
                f"synth_params.splits must be lists of column positions from 0 to {width - 1} "
                f"(the encoded columns), got {splits!r}",
                field="synth_params",
            )
    else:
        factor = model.split_factor if model.split_factor is not None else width
        if isinstance(factor, bool) or not isinstance(factor, int) or factor < 1:
            raise InvalidArgumentError(
                f"synth_params.split_factor must be a whole number of columns, 1 or more (got "
                f"{factor!r})",
                field="synth_params",
            )
        splits = [list(split) for split in model._generate_splits(width, factor)]
    for split in splits:
        cells = math.prod(cardinalities[int(i)] for i in split)
        if 2 * cells <= model.iterations:
            raise InvalidArgumentError(
                f"mwem reports a privacy risk: its histogram of {cells} cells (encoded columns "
                f"{', '.join(str(int(i)) for i in split)}) is smaller than twice its "
                f"{model.iterations} iterations, which could measure every cell. Set "
                f"synth_params iterations to at most {2 * cells - 1}, or add columns.",
                field="synth_params",
                reason=Reason.DP_LIBRARY_ERROR,
            )


def _check_mwem_schedule(model: Any) -> None:
    """Refuse before any charge the iterations, query pool and marginal width MWEM's fit would
    fail on after reading the rows: each iteration measures a query not yet measured, so a pool
    (``q_count``) smaller than ``iterations`` runs out (numpy: "'a' cannot be empty"), and a
    ``marginal_width`` that is not a whole number of columns fails building the pool."""
    for name in ("iterations", "marginal_width", "q_count"):
        value = getattr(model, name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise InvalidArgumentError(
                f"synth_params.{name} must be a whole number, 1 or more (got {value!r})",
                field="synth_params",
            )
    if model.q_count is not None and model.q_count < model.iterations:
        raise InvalidArgumentError(
            f"mwem measures a new query of its pool at each of its {model.iterations} "
            f"iterations, and synth_params q_count={model.q_count} is fewer; set q_count to at "
            f"least {model.iterations}, or leave it unset (2 per iteration)",
            field="synth_params",
        )


def _is_index(value: Any, width: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < width


def _accepted_params(name: str) -> list[str]:
    model = Synthesizer.create(name, epsilon=1.0, **({"delta": 1e-6} if name != "mwem" else {}))
    names = inspect.signature(type(model).__init__).parameters
    return [p for p in names if p not in ("self", "ignore") and p not in FORBIDDEN_PARAMS]


def _fit(
    model: Any,
    data: pd.DataFrame,
    transformer: Any,
    request: SmartnoiseSynthRequest,
    show_library_errors: bool,
    metadata: Metadata,
) -> None:
    try:
        with warnings.catch_warnings():
            # torch's and the libraries' warnings during a fit are not the caller's to see (a
            # process that turns warnings into errors would otherwise fail fits on torch's
            # performance notes); the one warning that matters is made an error:
            warnings.simplefilter("ignore")
            # MWEM warns, then goes on, when its histogram is too small for its iterations.
            warnings.filterwarnings("error", message=r"Flattened dimensionality", category=Warning)
            if request.synth_name == "pacsynth":
                blank = _strict_columns(list(data.columns), request, metadata)
                _pacsynth_fit(model, data, transformer, blank)
            else:
                model.fit(
                    data, transformer=transformer, preprocessor_eps=0.0, nullable=request.nullable
                )
    except Warning as exc:
        text = " ".join(str(exc).split())
        dim = re.search(r"Dim: (\d+)", text)
        hint = (
            f" Set synth_params iterations to at most {2 * int(dim.group(1)) - 1}, or add columns."
            if dim
            else ""
        )
        raise InvalidArgumentError(
            f"{request.synth_name} reports a privacy risk: {text}{hint}",
            reason=Reason.DP_LIBRARY_ERROR,
            field="synth_params",
        ) from exc
    except (ValueError, TypeError, AssertionError, KeyError, IndexError, ArithmeticError) as exc:
        text = " ".join(str(exc).split())
        safe = show_library_errors or text.startswith(("Inputted epsilon", "sample_rate="))
        detail = (
            f": {text}"
            if safe
            else (f" ({type(exc).__name__}); run it in dummy mode to see the library's message")
        )
        hint = (
            " Try decreasing batch_size in synth_params." if text.startswith("sample_rate=") else ""
        )
        raise InvalidArgumentError(
            f"Error fitting model{detail}{hint}",
            reason=Reason.DP_LIBRARY_ERROR,
            field="synth_params",
        ) from exc
    except BaseException as exc:
        # pacsynth's Rust code panics on some noise draws at a tiny epsilon ("adding noise to
        # number of records resulted in a negative number"); pyo3 raises that as PanicException,
        # a BaseException no clause above catches, and it ended as an internal error.
        if type(exc).__name__ != "PanicException":
            raise
        detail = f": {exc}" if show_library_errors else " (the library panicked)"
        raise InvalidArgumentError(
            f"Error fitting model{detail}; a larger epsilon avoids it",
            reason=Reason.DP_LIBRARY_ERROR,
            field="synth_params",
        ) from None


def _pacsynth_fit(model: Any, data: pd.DataFrame, transformer: Any, blank: list[str]) -> None:
    """``AggregateSeededSynthesizer.fit`` on every row of ``data``, a value the encoder has no
    null for left as pac-synth's empty attribute instead of the row being left out.

    pacsynth spends a share of ε on a noisy count of the records it is given and panics when that
    count is not positive, after reading them (hence charged). The share is sized from the
    metadata's ``rows`` (:func:`_pacsynth_records_share`), so every row must be fitted: leaving
    out the rows that miss a value (what the other synthesizers do without ``nullable``) made the
    count smaller than the sizing assumed, and with most rows missing one value the fit failed
    about 1 time in 2 (docs/dp.md, "Small ε"). pac-synth natively treats an empty attribute as
    absent (it is not counted in any marginal and is never sampled as a value), so a row's
    missing value still adds nothing the encoders do not know. Each row's encoding depends on
    that row only: the guarantee and the cost are the library's.

    The rest is the library's ``fit``: the same encoded header, ``sensitive_zeros`` on every
    column (codes 0 are values), the same ``Dataset`` and ``synth.fit``.
    """
    from pacsynth import Dataset

    model._transformer = transformer
    widths = [int(t.output_width) for t in transformer.transformers]
    empty = [name in blank for name in data.columns]
    records: list[list[str]] = []
    for row in data.itertuples(index=False):
        record: list[str] = []
        for value, column, width, may_blank in zip(
            row, transformer.transformers, widths, empty, strict=True
        ):
            if width == 0:
                continue  # a dropped or anonymized column adds no code (as the library's)
            if may_blank and (value is None or value != value):  # None, or NaN in floats
                record.extend([""] * width)
            elif width == 1:
                record.append(str(column._transform(value)))
            else:
                record.extend(str(code) for code in column._transform(value))
        records.append(record)
    header = [f"column_{i}" for i in range(sum(widths))]
    model.dataset = Dataset([header, *records], sensitive_zeros=header)
    model.pandas = False
    model.synth.fit(model.dataset)


def _pacsynth_sample(model: Any, count: int) -> Any:
    """``count`` pacsynth records, complete ones first.

    pacsynth leaves an attribute empty in records it cannot extend from its DP aggregates (0 to
    30% of them on PENGUIN; in 1 fit in 15 every record misses the same attribute), which
    smartnoise-synth decodes as None; the label encoder of a column without a null category then
    fails ("list indices must be integers or slices, not NoneType"), after the budget is spent.
    Here complete records are drawn first from the same DP aggregates (post-processing, no extra
    cost); if pacsynth cannot make enough of them, the rest keep the empty attributes as missing
    values rather than values Veil would invent (docs/dp.md).
    """
    transformer = model._transformer  # what AggregateSeededSynthesizer.sample decodes with
    if transformer is None or transformer.output_width == 0:
        return model.sample(count)
    complete: list[list[int]] = []
    partial: list[list[int | None]] = []
    for _ in range(_PACSYNTH_DRAWS):
        raw = model.synth.sample(max(2 * (count - len(complete)), 64))
        for row in ([int(v) if v != "" else None for v in row] for row in raw[1:]):
            if None in row:
                partial.append(row)
            else:
                complete.append([int(v) for v in row if v is not None])
        if len(complete) >= count:
            return transformer.inverse_transform(complete[:count])
    table = transformer.inverse_transform(complete) if complete else None
    filler = pd.DataFrame(
        [_decode_partial(transformer, row) for row in partial[: count - len(complete)]],
        columns=list(transformer._columns),
    )
    return filler if table is None else pd.concat([table, filler], ignore_index=True)


def _decode_partial(transformer: Any, codes: list[int | None]) -> list[Any]:
    """One record's values, None where pacsynth left the attribute empty."""
    return [
        None if code is None else column.inverse_transform([code])[0]
        for column, code in zip(transformer.transformers, codes, strict=True)
    ]


def _sample(model: Any, request: SmartnoiseSynthRequest) -> pd.DataFrame:
    try:
        with warnings.catch_warnings():
            _quiet_known_warnings()
            if request.condition:
                samples = model.sample_conditional(request.nb_samples, request.condition)
            elif request.synth_name == "pacsynth":
                samples = _pacsynth_sample(model, request.nb_samples)
            else:
                samples = model.sample(request.nb_samples)
    except (ValueError, TypeError, KeyError) as exc:
        raise InvalidArgumentError(
            f"could not sample with condition {request.condition!r}: {exc}",
            reason=Reason.DP_LIBRARY_ERROR,
            field="condition",
        ) from exc
    if not isinstance(samples, pd.DataFrame):
        samples = pd.DataFrame(samples)
    return samples.reset_index(drop=True)


def _pickle(model: Any) -> ModelArtifact:
    class_name = f"{type(model).__module__}.{type(model).__qualname__}"
    try:
        data = pickle.dumps(model)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise InvalidArgumentError(
            f"{type(model).__name__} cannot be returned as a model, only samples; set "
            "return_model=False",
            field="return_model",
        ) from exc
    return ModelArtifact(format="pickle", data=data, class_name=class_name)


def _quiet_known_warnings() -> None:
    """Silence the harmless warnings the synthesizers' dependencies emit (deps.md §2, §3)."""
    warnings.filterwarnings(
        "ignore", message=r"Pandas dataframe inputs are deprecated", category=UserWarning
    )
    warnings.filterwarnings("ignore", message=r"Secure RNG turned off", category=UserWarning)
    warnings.filterwarnings(
        "ignore", message=r"Using a non-full backward hook", category=FutureWarning
    )
    warnings.filterwarnings(
        "ignore", message=r"The sample rate will be defined", category=UserWarning
    )
