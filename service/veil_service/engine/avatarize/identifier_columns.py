"""Identifier-like columns: a name, a patient number, an e-mail, one value per individual.

Such a column is not data to avatarize: it only singles individuals out. Octopize re-attaches an
excluded variable to the avatars (by row order, or from each avatar's most similar original), and
the avatar method decodes a categorical column to values of the original table. Either way an
identifier column would be released with its real values: real names and real patient numbers
next to the avatars, each one telling that this person is in the data (and, by row order, which
avatar is theirs). So the avatarization keeps an identifier-like column out of the projection and
releases pseudonyms in its place (``name_0417``; numbers 1..n for an integer column), drawn at
random for the run and kept nowhere, with a warning naming the column. A user who wants to choose
the pseudonyms (or keep the mapping on the server) lists the column in ``pseudonymized_columns``;
one who wants nothing released drops it (``columns_to_drop``).

The rule is the one ``advise_parameters()`` uses to flag identifiers (engine/advice.py): a column
that is not a float, a date or a boolean, whose values are half distinct when its name says it is
an identifier (``patient_id``, ``ssn``, ``email``...); otherwise a text or categorical column with
90 % of distinct values or more (unless its values are ISO dates written as text), or an integer
column with one value per row (an integer column with a few repeated values is a measure: a
count, an amount, a weight).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

#: Share of distinct values above which a non-float column looks like an identifier.
IDENTIFIER_UNIQUE_SHARE = 0.9
#: Share of distinct values enough when the column's name says it is an identifier.
NAMED_IDENTIFIER_UNIQUE_SHARE = 0.5

_ID_NAME = re.compile(r"(^|[^a-z])(id|ids|uuid|guid|identifier|key|code|ssn|email|phone)$", re.I)


@dataclass(frozen=True)
class IdentifierEvidence:
    """Why a column looks like an identifier.

    Attributes:
        distinct: Distinct non-missing values.
        rows: Rows of the table.
        name_says_so: Whether the column's name reads like an identifier's.
    """

    distinct: int
    rows: int
    name_says_so: bool

    def describe(self) -> str:
        """The figures, in words: ``1309 distinct values for 1309 rows (100 %)``."""
        share = 100 * self.distinct / max(self.rows, 1)
        named = ", and its name says so" if self.name_says_so else ""
        return f"{self.distinct} distinct values for {self.rows} rows ({share:.0f} %){named}"


def identifier_evidence(
    series: pd.Series, name: str, *, declared_categorical: bool = False, by_name: bool = True
) -> IdentifierEvidence | None:
    """The evidence that ``series`` is an identifier, or None when it does not look like one.

    Floats (measurements), dates and booleans are never identifiers here; a numeric column
    declared categorical is judged like any categorical one. ``by_name=False`` ignores what the
    name says (half distinct values are not enough then).
    """
    observed = series.dropna()
    dtype = series.dtype  # pandas tells Arrow timestamps by their dtype, not by the series
    if observed.empty or len(series) < 2:
        return None
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_datetime64_any_dtype(dtype):
        return None
    if pd.api.types.is_timedelta64_dtype(dtype) or pd.api.types.is_complex_dtype(dtype):
        return None
    if pd.api.types.is_float_dtype(dtype) and not declared_categorical:
        return None
    try:
        distinct = int(observed.nunique())
    except TypeError:  # lists, dicts: not hashable, refused elsewhere
        return None
    if distinct < 2:
        return None
    share = distinct / len(series)
    name_says_so = bool(_ID_NAME.search(str(name)))
    if by_name and name_says_so and share >= NAMED_IDENTIFIER_UNIQUE_SHARE:
        return IdentifierEvidence(distinct, len(series), name_says_so)
    if pd.api.types.is_integer_dtype(dtype) and not declared_categorical:
        # Counts, amounts and weights are integers with many values (a census weight is 97 %
        # distinct): a measure to avatarize, unless every row has its own value (a record
        # number).
        if distinct == len(series):
            return IdentifierEvidence(distinct, len(series), name_says_so)
        return None
    if share >= IDENTIFIER_UNIQUE_SHARE and not _dates_as_text(observed):
        return IdentifierEvidence(distinct, len(series), name_says_so)
    return None


def _dates_as_text(observed: pd.Series) -> bool:
    """Whether a text column holds ISO dates (``2015-04-18 07:05:27``, as read_csv leaves them):
    moments, not identifiers."""
    if not (
        pd.api.types.is_object_dtype(observed.dtype) or pd.api.types.is_string_dtype(observed.dtype)
    ):
        return False
    sample = observed.head(200)
    if not all(isinstance(value, str) for value in sample):
        return False
    try:
        pd.to_datetime(sample, format="ISO8601")
    except (ValueError, TypeError, OverflowError):
        return False
    return True


def _decoded_to_original_values(series: pd.Series, declared_categorical: bool) -> bool:
    """Whether the avatar method gives this column back as values of the original table (a
    categorical column: each avatar takes one of its modalities), as column_types classifies it."""
    dtype = series.dtype
    return (
        declared_categorical
        or isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
    )


def find_identifiers(
    df: pd.DataFrame,
    excluded: Iterable[Any] = (),
    categorical_columns: Iterable[Any] = (),
) -> dict[Any, IdentifierEvidence]:
    """The identifier-like columns whose real values the avatars would otherwise carry.

    Those are the excluded columns (re-attached as they are) and the categorical ones (decoded
    to original modalities) that look like identifiers. An integer column that is avatarized as
    a number is not among them: its avatars are weighted means, not anyone's value. A column
    nobody excluded needs 90 % of distinct values whatever its name: a ``diagnosis_code`` with
    60 % is data that advice flags, not something to replace unasked.
    """
    excluded_set = set(excluded)
    declared = set(categorical_columns)
    found: dict[Any, IdentifierEvidence] = {}
    for name in df.columns:
        series = df[name]
        is_declared = name in declared
        if name not in excluded_set and not _decoded_to_original_values(series, is_declared):
            continue
        evidence = identifier_evidence(
            series, str(name), declared_categorical=is_declared, by_name=name in excluded_set
        )
        if evidence is not None:
            found[name] = evidence
    return found


def pseudonyms(
    original: pd.Series, rows: np.ndarray[Any, Any], rng: np.random.Generator
) -> pd.Series:
    """Pseudonyms for ``original.iloc[rows]``: each distinct value gets one artificial value,
    assigned in a random order (nothing of the original value is kept); missing stays missing.

    Integer columns get the numbers 1..d (d distinct values) in their dtype; any other column
    gets ``<column>_<number>`` strings in its own kind of dtype (``string``, ``category`` or
    ``object``).
    """
    values = original.dropna().unique()
    order = rng.permutation(len(values))
    integer = pd.api.types.is_integer_dtype(original.dtype)
    if integer:
        labels: list[Any] = [int(i) + 1 for i in order]
    else:
        width = len(str(len(values)))
        labels = [f"{original.name}_{int(i) + 1:0{width}d}" for i in order]
    mapping = dict(zip(values, labels, strict=True))
    picked = original.iloc[rows].reset_index(drop=True)
    mapped = picked.map(mapping)
    if integer:
        return mapped.astype(original.dtype)
    if isinstance(original.dtype, pd.CategoricalDtype):
        return mapped.astype("category")
    if pd.api.types.is_string_dtype(original.dtype) and original.dtype != object:
        return mapped.astype(original.dtype)
    return mapped.astype(object)


def warning(name: Any, evidence: IdentifierEvidence, example: Any) -> str:
    """The job warning for one pseudonymized identifier column."""
    return (
        f"column {str(name)!r} looks like an identifier ({evidence.describe()}): its real values "
        f"are not released; the avatars carry pseudonyms (such as {example!r}) in its place, and "
        "it is left out of the projection and of the metrics. To choose the pseudonyms, list it "
        "in pseudonymized_columns; to release nothing, drop it (columns_to_drop)."
    )
