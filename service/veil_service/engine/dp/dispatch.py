"""One entry point for the four DP libraries: pick the module from the request's type.

The DPQuery servicer and the engine task call :func:`estimate_cost` and :func:`execute` with any
request dataclass; the library modules are imported on first use, so an engine that only runs
SQL never pays for importing torch or jax. The usual flow for a private query is::

    cost = estimate_cost(request, metadata)       # no private data read
    ledger.spend_atomically(user, dataset, cost)  # the server's budget ledger
    result = execute(request, df, metadata)       # on the private data

and in dummy mode ``execute(request, make_dummy_dataset(metadata, n, seed), metadata,
seed=seed, show_library_errors=True)``: the data is public, so library messages can be shown.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING, Any

from veil_service.engine_contract.dp_metadata import Metadata
from veil_service.engine_contract.dp_requests import (
    CostEstimate,
    DiffPrivLibRequest,
    DPRequest,
    LibraryName,
    OpenDPRequest,
    QueryResult,
    SmartnoiseSqlRequest,
    SmartnoiseSynthRequest,
    library_of,
)
from veil_service.errors import InvalidArgumentError

if TYPE_CHECKING:
    import pandas as pd

MODULES: dict[LibraryName, str] = {
    SmartnoiseSqlRequest.LIBRARY: "veil_service.engine.dp.smartnoise_sql",
    OpenDPRequest.LIBRARY: "veil_service.engine.dp.opendp_pipeline",
    DiffPrivLibRequest.LIBRARY: "veil_service.engine.dp.diffprivlib_pipeline",
    SmartnoiseSynthRequest.LIBRARY: "veil_service.engine.dp.smartnoise_synth",
}
"""Library name (spelled once, in ``dp_requests``) -> the module that runs it."""


def estimate_cost(
    request: DPRequest, metadata: Metadata, *, synth_max_epochs: int | None = None
) -> CostEstimate:
    """The (ε, δ) the library accounts for ``request``; never reads private data.

    Args:
        request: One library's request dataclass.
        metadata: Metadata of the dataset.
        synth_max_epochs: The operator's bound on synthesizer epochs (None: the default).

    Raises:
        InvalidArgumentError: The request is invalid (the field is named).
    """
    result: CostEstimate = _module(request).estimate_cost(
        request, metadata, **_synth_options(request, synth_max_epochs)
    )
    check_cost(result)
    return result


def check_cost(cost: CostEstimate) -> None:
    """Refuse a cost the budget cannot be charged: ε finite and >= 0, δ in [0, 1].

    Every library's estimate passes here, whatever checks it made of its own parameters: a
    negative ε (a diffprivlib step's ``epsilon=-1000`` was priced -1000) would, charged, give
    budget back. A zero ε is the library's own accounting of a query that measures nothing
    private (an OpenDP polars plan over public keys; Lomas's polars notebook sends one), so it
    stands: the charge is what the library computes.

    Raises:
        InvalidArgumentError: naming ``epsilon`` or ``delta``.
    """
    if not (math.isfinite(cost.epsilon) and cost.epsilon >= 0):
        raise InvalidArgumentError(
            f"the request's privacy cost is epsilon={cost.epsilon!r}; a query's epsilon must "
            "be finite and not negative: set each epsilon of the request to a positive number",
            field="epsilon",
        )
    # delta = 1 (no guarantee) is a cost a grant can refuse, not one that gives budget back;
    # Lomas's polars notebook asks for it in dummy mode.
    if not (math.isfinite(cost.delta) and 0 <= cost.delta <= 1):
        raise InvalidArgumentError(
            f"the request's privacy cost is delta={cost.delta!r}; delta must be in [0, 1]",
            field="delta",
        )


def execute(
    request: DPRequest,
    df: pd.DataFrame,
    metadata: Metadata,
    *,
    seed: int | None = None,
    allow_pickle: bool = False,
    show_library_errors: bool = False,
    synth_max_epochs: int | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> QueryResult:
    """Run ``request`` on ``df`` (private or dummy data).

    Args:
        request: One library's request dataclass.
        df: The dataset, with the metadata's columns.
        metadata: Metadata of the dataset.
        seed: Dummy-mode reproducibility where a library allows it without global state
            (diffprivlib ``random_state``); never for private data.
        allow_pickle: The server's opt-in to return pickled models (the request must opt in too).
        show_library_errors: Put library messages in errors; only for dummy data.
        synth_max_epochs: The operator's bound on synthesizer epochs (None: the default).
        progress: Called with (fraction, phase) as a synthesizer fits; only for dummy data (a
            private fit's progress would reveal its duration; ``dpquery.progress``).

    Raises:
        InvalidArgumentError: The request is refused or fails on the data.
    """
    result: QueryResult = _module(request).execute(
        request,
        df,
        metadata,
        seed=seed,
        allow_pickle=allow_pickle,
        show_library_errors=show_library_errors,
        **_synth_options(request, synth_max_epochs),
        **(
            {"progress": progress}
            if progress and isinstance(request, SmartnoiseSynthRequest)
            else {}
        ),
    )
    return result


def _synth_options(request: DPRequest, synth_max_epochs: int | None) -> dict[str, Any]:
    if synth_max_epochs is None or not isinstance(request, SmartnoiseSynthRequest):
        return {}
    return {"max_epochs": int(synth_max_epochs)}


def _progress_option(
    request: DPRequest, progress: Callable[[float, str], None] | None
) -> dict[str, Any]:
    if progress is None or not isinstance(request, SmartnoiseSynthRequest):
        return {}
    return {"progress": progress}


def _module(request: DPRequest) -> Any:
    return import_module(MODULES[library_of(request)])
