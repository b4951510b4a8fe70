"""What an analyst asks for and gets back, as plain dataclasses (no protobuf).

Privacy units: ε (epsilon) is a privacy loss in natural-log units, δ (delta) a probability.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from veil_service.dpquery.budget import PrivacyCost
from veil_service.engine_contract.dp_requests import DPRequest, Scalar, check_seed
from veil_service.engine_contract.dp_tasks import DEFAULT_NB_ROWS, DEFAULT_SEED, MAX_NB_ROWS
from veil_service.errors import InvalidArgumentError


@dataclass(frozen=True)
class QuerySpec:
    """One query on one dataset, private or on a dummy.

    Attributes:
        dataset: Dataset name.
        library: ``smartnoise_sql``, ``opendp``, ``diffprivlib`` or ``smartnoise_synth``.
        request: The library's request dataclass.
        dummy: Run on a dummy dataset built from the metadata (free) instead of the private rows.
        dummy_nb_rows: Rows of the dummy, 1 to 1,000,000.
        dummy_seed: Seed of the dummy (and of the library, where it takes one).
    """

    dataset: str
    library: str
    request: DPRequest
    dummy: bool = False
    dummy_nb_rows: int = DEFAULT_NB_ROWS
    dummy_seed: int = DEFAULT_SEED

    def validate(self) -> None:
        """Check the request's own fields (finite ε, δ in [0, 1), ...) and the dummy parameters.

        Runs before anything else touches the request (cost cache keys, the engine), so a NaN or
        an infinity is INVALID_ARGUMENT naming its field, never an internal error.
        """
        self.request.validate()
        if self.dummy and not 0 < self.dummy_nb_rows <= MAX_NB_ROWS:
            raise InvalidArgumentError(
                f"dummy_nb_rows must be between 1 and {MAX_NB_ROWS:,}; got {self.dummy_nb_rows}.",
                field="dummy_nb_rows",
            )
        if self.dummy:
            check_seed(self.dummy_seed, "dummy_seed")


@dataclass(frozen=True)
class ModelBlob:
    """A fitted model: ``skops`` (safe form) or ``pickle`` (only on opt-in by server and caller)."""

    format: str
    data: bytes
    class_name: str


@dataclass(frozen=True)
class QueryAnswer:
    """The result of a query and what it cost.

    Attributes:
        table_ipc: A result table as a complete Arrow IPC stream (empty bytes when none).
        values: Released scalars (OpenDP), flattened in order.
        model: A fitted model, or None.
        score: A diffprivlib model's score on the held-out rows, or None.
        cost: The query's (ε, δ): charged in private mode; in dummy mode what a private run
            would be charged, not charged (Lomas shows it too).
        remaining: Budget left after the charge.
        query_id: Archive id (private mode), else empty.
        charged: Whether ``cost`` was charged (private mode).
        requested_by: Username of the caller.
    """

    table_ipc: bytes = b""
    values: tuple[Scalar, ...] = ()
    model: ModelBlob | None = None
    score: float | None = None
    cost: PrivacyCost = field(default_factory=lambda: PrivacyCost(0.0, 0.0))
    remaining: PrivacyCost = field(default_factory=lambda: PrivacyCost(0.0, 0.0))
    query_id: str = ""
    charged: bool = True
    requested_by: str = ""
