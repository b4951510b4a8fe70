"""Column transformers for smartnoise-synth, built from the metadata and fitted on public values.

smartnoise-synth encodes every column before training (labels, one-hot, min-max scaling, bins).
Left to itself it *fits* those encoders on the private data, learning the exact set of values
present (free text included) without noise. Here the encoders are built from the metadata, as
Lomas does (lomas.md §1.8), and then fitted on a small "domain frame" made of public values only
(every declared category, the bounds, a null when nullable). A fitted TableTransformer is used as
is by every synthesizer, so the private rows are seen only by the DP training itself.

Consequently a free-text column (``string`` without categories) cannot be encoded: it must be
left out with ``select_cols`` or given an ``AnonymizationTransformer`` or ``DropTransformer``
constraint.

Constraints override the defaults per column. Two JSON forms are read: Veil's
``{"col": {"class": "MinMaxTransformer", "params": {...}}}`` (``ChainTransformer`` takes
``{"transformers": [...]}``) and the smartnoise-synth-logger form Lomas clients send
(``{"module": "smartnoise-synth", "constraints": {"col": {"type": "_ssynth_transformer:X",
"params": ...}}}``).
"""

from __future__ import annotations

import copyreg
import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from snsynth.transform import (
    AnonymizationTransformer,
    BinTransformer,
    ChainTransformer,
    ClampTransformer,
    DropTransformer,
    LabelTransformer,
    LogTransformer,
    MinMaxTransformer,
    OneHotEncoder,
    StandardScaler,
    TableTransformer,
)
from snsynth.transform.datetime import DateTimeTransformer

from veil_service.engine_contract.dp_metadata import ColumnMetadata, Metadata
from veil_service.errors import InvalidArgumentError


class DaysDateTimeTransformer(DateTimeTransformer):  # type: ignore[misc]
    """smartnoise-synth's ``DateTimeTransformer``, whose inverse also takes numpy floats.

    The GANs sample float32 (DP-CTGAN, DPGAN, PATE-GAN), and ``datetime.timedelta(days=...)``
    refuses ``numpy.float32`` ("unsupported type for timedelta days component"), so every GAN
    fit on a date column (Lomas's BIRTHDAYS) failed at sampling, after the charge; a float32
    NaN also slipped past the library's missing-value check. A model returned to a client
    pickles as the library's class (the client needs no Veil code to load it).
    """

    def _inverse_transform(self, val: Any) -> Any:
        if isinstance(val, np.floating):
            val = float(val)
        return super()._inverse_transform(val)

    def __reduce_ex__(self, protocol: Any) -> Any:
        # copyreg's protocol-0 reconstructor: object.__new__(DateTimeTransformer), then the state.
        rebuild = copyreg._reconstructor  # type: ignore[attr-defined]
        return (rebuild, (DateTimeTransformer, object, None), dict(self.__dict__))


class NullBinTransformer(BinTransformer):  # type: ignore[misc]
    """smartnoise-synth's ``BinTransformer`` with the null as one more bin, in one output column.

    The library's nullable ``BinTransformer`` writes two columns (the bin, and a null flag), so
    a cube synthesizer that builds the full histogram of its columns (MWEM) gets 20 cells per
    10-bin column where 11 carry the same information: on all seven PENGUIN columns, 10,240,000
    cells instead of 937,024, and a fit 3x slower (issue 16 item 12; docs/dp.md). Here bin
    ``bins`` is the null; the rest is the library's arithmetic. Used only for samples, never in
    a returned model (a client has no Veil code to unpickle it).
    """

    def __init__(self, *, bins: int, lower: Any, upper: Any) -> None:
        super().__init__(bins=bins, lower=lower, upper=upper, nullable=False)

    @property
    def cardinality(self) -> list[int]:
        return [self.bins + 1]

    def _transform(self, val: Any) -> Any:
        if val is None or (isinstance(val, float) and np.isnan(val)):
            return self.bins
        return super()._transform(val)

    def _inverse_transform(self, val: Any) -> Any:
        if val is None or (isinstance(val, float) and np.isnan(val)) or int(val) >= self.bins:
            return None
        return super()._inverse_transform(val)


TRANSFORMERS: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        AnonymizationTransformer,
        BinTransformer,
        ChainTransformer,
        ClampTransformer,
        DropTransformer,
        LabelTransformer,
        LogTransformer,
        MinMaxTransformer,
        OneHotEncoder,
        StandardScaler,
    )
}
# Constraint objects naming DateTimeTransformer get the variant whose inverse takes float32.
TRANSFORMERS["DateTimeTransformer"] = DaysDateTimeTransformer
# Faker providers an AnonymizationTransformer may call (it calls the named Faker method).
FAKER_PROVIDERS = frozenset(
    {
        "uuid4",
        "name",
        "first_name",
        "last_name",
        "email",
        "address",
        "city",
        "country",
        "phone_number",
        "company",
        "date",
        "ssn",
        "iban",
        "pystr",
        "random_int",
    }
)
DEFAULT_BINS = 10


def build_transformer(
    metadata: Metadata,
    columns: list[str],
    *,
    style: str,
    nullable: bool,
    constraints: Mapping[str, Any] | None,
    null_bin: bool = False,
) -> TableTransformer:
    """A TableTransformer for ``columns``, fitted on public values only.

    Args:
        metadata: Metadata of the dataset.
        columns: Columns to synthesize, in order.
        style: ``gan`` (one-hot and min-max, for neural synthesizers) or ``cube`` (labels and
            bins, for marginal synthesizers).
        nullable: Every encoder keeps a null value (the request's ``nullable``); a column the
            metadata declares nullable keeps one whatever this says.
        constraints: Per-column overrides (see module docstring); None for none.
        null_bin: In ``cube`` style, a nullable binned column keeps its null as one more bin
            (``NullBinTransformer``) rather than as a second, flag column.

    Raises:
        InvalidArgumentError: A constraint names an unknown column or transformer, has invalid
            parameters, or a free-text column has no constraint.
    """
    overrides = parse_constraints(constraints, columns)
    transformers = []
    for name in columns:
        col = metadata.column(name)
        if name in overrides:
            transformers.append(overrides[name])
        else:
            transformers.append(
                _default(col, style=style, nullable=nullable or col.nullable, null_bin=null_bin)
            )
    table = TableTransformer(transformers)
    try:
        table.fit(domain_frame(metadata, columns, nullable=nullable, strict=set(overrides)))
    except (ValueError, TypeError) as exc:
        raise InvalidArgumentError(
            f"constraints do not fit the metadata: {exc}", field="constraints"
        ) from exc
    return table


def constrained_columns(constraints: Mapping[str, Any] | None) -> set[str]:
    """The columns a request's constraints give their own transformer."""
    if not constraints:
        return set()
    if constraints.get("module") == "smartnoise-synth" and "constraints" in constraints:
        constraints = constraints["constraints"]
    return set(constraints) if isinstance(constraints, Mapping) else set()


def domain_frame(
    metadata: Metadata, columns: list[str], *, nullable: bool, strict: set[str] | None = None
) -> pd.DataFrame:
    """Public values of each column: every category, both bounds, and a null when nullable
    (``nullable``, or the column's metadata).

    ``strict`` columns (the caller's own transformers) get a null only when the metadata
    declares one: a transformer written without ``nullable=True`` (as Lomas's notebook writes
    them) is not asked to encode a null the request's ``nullable`` default would add; rows
    missing such a column's value are left out of the fit instead (``smartnoise_synth``)."""
    strict = strict or set()
    values: dict[str, list[Any]] = {}
    for name in columns:
        col = metadata.column(name)
        if col.categories is not None:
            values[name] = list(col.categories)
        elif col.type == "boolean":
            values[name] = [True, False]
        elif col.type in ("int", "float", "datetime"):
            values[name] = [col.lower, col.upper]
        else:
            values[name] = [""]
    length = max(len(v) for v in values.values())
    with_null = nullable or any(metadata.column(name).nullable for name in columns)
    frame = {
        name: [v[i % len(v)] for i in range(length)]
        + (
            [None if metadata.column(name).nullable or (nullable and name not in strict) else v[0]]
            if with_null
            else []
        )
        for name, v in values.items()
    }
    return pd.DataFrame(frame)


def _bins(lower: Any, upper: Any, *, nullable: bool, null_bin: bool) -> Any:
    if nullable and null_bin:
        return NullBinTransformer(lower=lower, upper=upper, bins=DEFAULT_BINS)
    return BinTransformer(lower=lower, upper=upper, bins=DEFAULT_BINS, nullable=nullable)


def _default(col: ColumnMetadata, *, style: str, nullable: bool, null_bin: bool = False) -> Any:
    if col.private_id:
        return AnonymizationTransformer("uuid4")
    if col.categories is not None or col.type == "boolean":
        if style == "gan":
            return ChainTransformer([LabelTransformer(nullable=nullable), OneHotEncoder()])
        return LabelTransformer(nullable=nullable)
    if col.type in ("int", "float"):
        if style == "gan":
            return MinMaxTransformer(lower=col.lower, upper=col.upper, nullable=nullable)
        return _bins(col.lower, col.upper, nullable=nullable, null_bin=null_bin)
    if col.type == "datetime":
        assert isinstance(col.lower, dt.datetime) and isinstance(col.upper, dt.datetime)
        days = (col.upper - col.lower).days
        scaler: Any = (
            MinMaxTransformer(lower=0, upper=days, nullable=nullable)
            if style == "gan"
            else _bins(0, days, nullable=nullable, null_bin=null_bin)
        )
        return ChainTransformer([DaysDateTimeTransformer(epoch=col.lower), scaler])
    raise InvalidArgumentError(
        f"column {col.name} is free text (no categories in the metadata): its values cannot be "
        "encoded without reading them. Leave it out of select_cols or give it an "
        "AnonymizationTransformer or DropTransformer constraint",
        field="select_cols",
    )


def parse_constraints(constraints: Mapping[str, Any] | None, columns: list[str]) -> dict[str, Any]:
    """Decode constraint JSON into transformer objects, keyed by column."""
    if not constraints:
        return {}
    if constraints.get("module") == "smartnoise-synth" and "constraints" in constraints:
        constraints = constraints["constraints"]
    if not isinstance(constraints, Mapping):
        raise _bad("constraints must be an object mapping column names to transformers")
    result = {}
    for name, spec in constraints.items():
        if name not in columns:
            raise _bad(
                f"constraints name column {name!r}, which is not among the synthesized "
                f"columns ({', '.join(columns)})"
            )
        result[name] = _transformer(spec, f"constraints.{name}", depth=0)
    return result


def _transformer(spec: Any, where: str, depth: int) -> Any:
    if depth > 5 or not isinstance(spec, Mapping):
        raise _bad(f"{where} must be an object with a transformer class")
    cls_name = spec.get("class") or str(spec.get("type", "")).removeprefix("_ssynth_transformer:")
    if cls_name not in TRANSFORMERS:
        raise _bad(
            f"{where} uses transformer {cls_name!r}; allowed: {', '.join(sorted(TRANSFORMERS))}"
        )
    params = spec.get("params", {})
    if cls_name == "ChainTransformer":
        parts = spec.get("transformers", params)
        if not isinstance(parts, list) or not parts:
            raise _bad(f"{where} ChainTransformer needs a non-empty list of transformers")
        return ChainTransformer(
            [_transformer(p, f"{where}[{i}]", depth + 1) for i, p in enumerate(parts)]
        )
    if cls_name == "AnonymizationTransformer":
        fake = params if isinstance(params, str) else spec.get("fake", "uuid4")
        if fake not in FAKER_PROVIDERS:
            raise _bad(
                f"{where} fake {fake!r} is not allowed; use one of "
                f"{', '.join(sorted(FAKER_PROVIDERS))}"
            )
        return AnonymizationTransformer(fake)
    if not isinstance(params, Mapping) or not all(
        isinstance(v, str | int | float | bool) or v is None for v in params.values()
    ):
        raise _bad(f"{where} params must be an object of plain values")
    if "epsilon" in params or "odometer" in params:
        raise _bad(f"{where} may not set epsilon or odometer: give bounds instead")
    try:
        return TRANSFORMERS[cls_name](**params)
    except (TypeError, ValueError) as exc:
        raise _bad(f"{where} has invalid parameters for {cls_name}: {exc}") from exc


def _bad(reason: str) -> InvalidArgumentError:
    return InvalidArgumentError(reason, field="constraints")
