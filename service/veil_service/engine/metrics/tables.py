"""Checking and aligning the tables a metric run receives.

Every metric compares an original table with an avatar table row by row (the avatar of original
row ``i`` is avatar row ``i``), so both must have the same columns and the same number of rows. In
metrics-only mode the avatar table comes from the user, often through a CSV round trip that turns
integers into floats or categories into strings; such differences are cast away here, once, so no
metric has to care about dtypes. Anything that cannot be cast is a clear ``InvalidArgumentError``.

Column kinds follow the projection library the reference used (saiph): numeric dtypes (not
``bool``) are *continuous*; every other dtype is *categorical*. Datetimes and durations become
continuous seconds. To treat an integer column as categorical, give it the ``category`` dtype.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from veil_service.engine.avatarize.column_types import is_numpy_number
from veil_service.errors import InvalidArgumentError


@dataclass(frozen=True)
class AlignedTables:
    """Original, avatar and optional holdout tables with identical columns and normalised values.

    Attributes:
        original: The original table; continuous columns as float64, categorical columns as
            object values (numbers normalised to float, everything else to ``str``), NaN kept.
        avatars: The avatar table in the original's row order, normalised the same way.
        holdout: Records from the same population that were NOT used to build the avatars, or None.
        continuous: Names of the continuous columns, in table order.
        categorical: Names of the categorical columns, in table order.
    """

    original: pd.DataFrame
    avatars: pd.DataFrame
    holdout: pd.DataFrame | None
    continuous: list[str]
    categorical: list[str]
    _codes: dict[str, list[np.ndarray]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _codes_lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    def codes(self, column: str) -> list[np.ndarray]:
        """:func:`category_codes` of ``column`` over original, avatars (and holdout), cached.

        Hashing a million strings is the costly part of most value-matching metrics, and five
        of them code the same columns: each column is coded once per run. The original comes
        first, so its codes, and the avatars', equal those of coding only the tables a metric
        compares (a holdout-only value gets a code after theirs). A lock keeps two threads (the
        attacks run beside the other metrics) from coding the same column twice.
        """
        with self._codes_lock:
            cached = self._codes.get(column)
            if cached is None:
                frames = [self.original, self.avatars]
                if self.holdout is not None:
                    frames.append(self.holdout)
                cached = category_codes(frames, column)
                self._codes[column] = cached
            return cached

    @property
    def columns(self) -> list[str]:
        """All column names in the original's order."""
        return list(self.original.columns)


def _is_continuous(series: pd.Series) -> bool:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        return False
    return bool(
        pd.api.types.is_numeric_dtype(dtype)
        or pd.api.types.is_datetime64_any_dtype(dtype)
        or pd.api.types.is_timedelta64_dtype(dtype)
    )


_FIELD = {"original": "original", "avatar": "avatars", "holdout": "holdout"}


def _as_seconds(series: pd.Series, column: str, table: str) -> pd.Series:
    dtype = series.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        values = series.dt.tz_convert("UTC") if getattr(dtype, "tz", None) else series
        nanos = values.astype("int64").astype("float64")
        return pd.Series(np.where(series.isna(), np.nan, nanos / 1e9), index=series.index)
    if pd.api.types.is_timedelta64_dtype(dtype):
        seconds: pd.Series = series.dt.total_seconds().astype("float64")
        return seconds
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        return series.astype("float64")
    try:
        return pd.to_numeric(series, errors="raise").astype("float64")
    except (ValueError, TypeError) as exc:
        raise InvalidArgumentError(
            f"column {column!r} of the {table} table holds values that are not numbers, but the "
            "original column is numeric: send numbers (or give both tables the same types)",
            field=_FIELD[table],
        ) from exc


def _continuous(series: pd.Series, reference: pd.Series, column: str, table: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(reference.dtype) and not (
        pd.api.types.is_datetime64_any_dtype(series.dtype)
    ):
        try:
            series = pd.to_datetime(series, utc=getattr(reference.dtype, "tz", None) is not None)
        except (ValueError, TypeError) as exc:
            raise InvalidArgumentError(
                f"column {column!r} of the {table} table cannot be read as dates like the "
                "original column: send ISO-8601 dates",
                field=_FIELD[table],
            ) from exc
    return _as_seconds(series, column, table).reset_index(drop=True)


def _as_boolean(value: object) -> float | None:
    """1.0 / 0.0 for a boolean or its text ("true", "False"), else None."""
    if isinstance(value, bool | np.bool_):
        return float(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return 1.0 if value.strip().lower() == "true" else 0.0
    return None


def _normalised_categories(series: pd.Series) -> pd.Series:
    """Map categorical values to comparable keys: numbers to float, the rest to ``str``.

    The decision is taken on the distinct values only, so 200,000 rows cost a few lookups; one
    hash pass finds them, missing values included (a second pass for ``isna`` cost a third of
    the alignment on a million rows).
    """
    values = series.astype(object).reset_index(drop=True)
    distinct = pd.unique(values)
    missing = pd.isna(distinct)
    uniques = distinct[~missing]
    if all(type(u) is str for u in uniques) and not missing.any():
        return values  # already what the mapping below would give, without a hash per row
    if len(uniques) and all(_as_boolean(u) is not None for u in uniques):
        return values.map({u: _as_boolean(u) for u in uniques}).astype(object)
    numeric = pd.to_numeric(pd.Series(uniques, dtype=object), errors="coerce")
    if len(uniques) and bool(numeric.notna().all()):
        mapping = dict(zip(uniques, numeric.astype("float64"), strict=True))
    else:
        mapping = {u: str(u) for u in uniques}
    return values.map(mapping).astype(object)


def _check_columns(original: pd.DataFrame, other: pd.DataFrame, name: str, field: str) -> None:
    if original.shape[1] == 0:
        raise InvalidArgumentError(
            "the original table has no columns: send a table with data", field="original"
        )
    if other.columns.duplicated().any() or original.columns.duplicated().any():
        raise InvalidArgumentError(
            f"duplicate column names in the original or {name} table: "
            "rename them so each column is unique",
            field=field,
        )
    missing = [c for c in original.columns if c not in other.columns]
    extra = [c for c in other.columns if c not in original.columns]
    if missing or extra:
        raise InvalidArgumentError(
            f"the {name} table must have exactly the original's columns; missing {missing}, "
            f"unexpected {extra}: drop or rename columns so both tables match",
            field=field,
        )


def align_tables(
    original: pd.DataFrame,
    avatars: pd.DataFrame,
    holdout: pd.DataFrame | None = None,
) -> AlignedTables:
    """Validate the tables and cast the avatar (and holdout) table to the original's types.

    Args:
        original: The original table, one row per individual.
        avatars: The avatar table, unshuffled: row ``i`` is the avatar of original row ``i``.
        holdout: Optional records from the same population not used to build the avatars.

    Returns:
        The aligned tables and the column kinds.

    Raises:
        InvalidArgumentError: Not DataFrames, different columns, different row counts, fewer
            than 3 rows, or avatar values that cannot be cast to the original's column types.
    """
    for name, frame in (("original", original), ("avatars", avatars), ("holdout", holdout)):
        if frame is not None and not isinstance(frame, pd.DataFrame):
            raise InvalidArgumentError(
                f"{name} must be a pandas DataFrame, got {type(frame).__name__}", field=name
            )
    _check_columns(original, avatars, "avatar", "avatars")
    if len(original) != len(avatars):
        raise InvalidArgumentError(
            f"the avatar table has {len(avatars)} rows but the original has {len(original)}: "
            "privacy metrics need the unshuffled avatars, one per original row, in the same order",
            field="avatars",
        )
    if len(original) < 3:
        raise InvalidArgumentError(
            "metrics need at least 3 rows in the original table", field="original"
        )
    if holdout is not None:
        _check_columns(original, holdout, "holdout", "holdout")
        if len(holdout) < 3:
            raise InvalidArgumentError(
                "the holdout table needs at least 3 rows (or omit it)", field="holdout"
            )

    columns = list(original.columns)
    continuous = [c for c in columns if _is_continuous(original[c])]
    categorical = [c for c in columns if c not in continuous]
    tables: dict[str, pd.DataFrame] = {}
    for name, frame in (("original", original), ("avatar", avatars), ("holdout", holdout)):
        if frame is not None:
            tables[name] = _aligned_frame(frame, original, continuous, name)
    if all(tables["original"][c].isna().all() for c in columns):
        raise InvalidArgumentError("every value of the original table is missing", field="original")
    return AlignedTables(
        original=tables["original"],
        avatars=tables["avatar"],
        holdout=tables.get("holdout"),
        continuous=continuous,
        categorical=categorical,
    )


def align_release(
    original: pd.DataFrame, aligned: AlignedTables, avatars: pd.DataFrame
) -> AlignedTables:
    """``align_tables(original, avatars)`` for another avatar table of an original already
    aligned (``aligned``, from ``align_tables(original, ...)``): its aligned original is reused.

    Each table is aligned column by column against the original alone, so the values are those
    of aligning again; a search that measures hundreds of releases of one original skips half
    the work (engine/multitable/matched_measures.py).

    Raises:
        InvalidArgumentError: as :func:`align_tables` for the avatars.
    """
    _check_columns(original, avatars, "avatar", "avatars")
    if len(original) != len(avatars):
        raise InvalidArgumentError(
            f"the avatar table has {len(avatars)} rows but the original has {len(original)}: "
            "privacy metrics need the unshuffled avatars, one per original row, in the same order",
            field="avatars",
        )
    return AlignedTables(
        original=aligned.original,
        avatars=_aligned_frame(avatars, original, aligned.continuous, "avatar"),
        holdout=None,
        continuous=aligned.continuous,
        categorical=aligned.categorical,
    )


def _aligned_frame(
    frame: pd.DataFrame, original: pd.DataFrame, continuous: list[str], name: str
) -> pd.DataFrame:
    """``frame`` cast to the original's column kinds (continuous to float64 as the original's
    type says, categorical values normalised)."""
    data: dict[str, np.ndarray] = {}
    for column in original.columns:
        series = frame[column]
        if column in continuous:
            if is_numpy_number(series.dtype) and is_numpy_number(original[column].dtype):
                # What _continuous gives a plain number column, without its Series copies.
                data[column] = series.to_numpy(dtype=np.float64, copy=True)
            else:
                data[column] = _continuous(series, original[column], column, name).to_numpy()
        else:
            data[column] = _normalised_categories(series).to_numpy()
    # The columns are this function's own copies: kept as they are, not consolidated into one
    # block (a copy of every categorical value, a quarter of the alignment); arrays on a given
    # index, which pandas assembles in half the time of Series.
    return pd.DataFrame(
        data, columns=list(original.columns), index=pd.RangeIndex(len(frame)), copy=False
    )


def as_declared_categories(
    frames: Sequence[pd.DataFrame], names: Iterable[str]
) -> list[pd.DataFrame]:
    """Copies of ``frames`` with each named column (numeric codes the owner declared
    categorical) as the ``category`` dtype, with the same categories in every frame.

    The metrics and the figures read a column's kind from its dtype, and the avatarization
    reads the declared types: without this a code declared ``category`` (titanic's ``pclass``
    1/2/3) was avatarized as a modality but measured and drawn as a quantity. A name missing
    from a frame is skipped in that frame (uploaded avatars may lack a column; the metrics say
    so).
    """
    out = [frame.copy() for frame in frames]
    for name in names:
        present = [frame for frame in out if name in frame.columns]
        if not present:
            continue
        values = pd.concat([frame[name] for frame in present]).dropna().unique()
        dtype = pd.CategoricalDtype(sorted(values))
        for frame in present:
            frame[name] = frame[name].astype(dtype)
    return out


def category_codes(frames: list[pd.DataFrame], column: str) -> list[np.ndarray]:
    """Integer-code one categorical column consistently across several tables.

    Missing values get their own code, because an attacker (and a distribution) sees "missing"
    as a value like any other.

    Args:
        frames: Tables holding ``column`` as normalised categorical values.
        column: The column to encode.

    Returns:
        One int64 code array per frame; equal values share a code in every frame.
    """
    # One object array (the columns are object values): pandas' concat of the Series was a
    # quarter of the coding on the small tables a search measures hundreds of times.
    stacked = np.concatenate([f[column].to_numpy(dtype=object) for f in frames])
    codes, _ = pd.factorize(stacked, use_na_sentinel=False)
    out: list[np.ndarray] = []
    start = 0
    for frame in frames:
        out.append(codes[start : start + len(frame)].astype(np.int64))
        start += len(frame)
    return out
