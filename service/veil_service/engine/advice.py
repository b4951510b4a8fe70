"""Advice: avatarization parameters recommended for a table, and columns to look at first.

The Octopize client's ``advise_parameters()`` "uses information contained in your dataset to
advise some parameters" (avatar_method.md section 1.9). Veil's advisor looks at the table's size,
types, missing values, modalities and projection, and returns each recommendation with a short
reason, so that a user can accept it or know what they change by overriding it. It also flags the
columns that would make an avatarization fail or leak: identifier-like columns (almost one value
per row; the rule is engine/avatarize/identifier_columns.py's, which releases them as
pseudonyms), very high-cardinality categoricals, constant and empty columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from veil_service.engine.avatarize.column_types import (
    ColumnKind,
    analyse_columns,
    encode_categorical,
    encode_continuous,
)
from veil_service.engine.avatarize.famd import fit_famd
from veil_service.engine.avatarize.identifier_columns import identifier_evidence
from veil_service.engine.avatarize.imputation import impute
from veil_service.engine_contract.advice_notes import Part, english, note
from veil_service.errors import InvalidArgumentError

#: Usual k (the paper's and Octopize's default).
DEFAULT_K = 20
#: Octopize's default ncp.
DEFAULT_NCP = 5
#: Above this many modalities in total, categorical reduction is advised (Octopize Tutorial2).
REDUCTION_MODALITY_THRESHOLD = 20
#: A categorical column with more modalities than this is flagged as very high cardinality.
HIGH_CARDINALITY_MODALITIES = 50
#: Rows used to fit the projection behind the ncp advice (a sample keeps advice fast).
ADVICE_SAMPLE_ROWS = 20_000


@dataclass(frozen=True)
class ColumnFlag:
    """A column to act on before avatarizing.

    Attributes:
        column: Column name.
        kind: ``identifier``, ``high_cardinality``, ``constant``, ``empty`` or ``unsupported``.
        why: Why, with the figures, and what to do: a structured note
            (``engine_contract.advice_notes``), so a page can say it in its language.
    """

    column: str
    kind: str
    why: Part

    @property
    def reason(self) -> str:
        """Why, in English."""
        return english([self.why])

    def note(self) -> list[Part]:
        """The flag as a structured note (``age (identifier): why``)."""
        return [note(f"flag.{self.kind}", column=self.column), self.why]


@dataclass(frozen=True)
class Recommendation:
    """One recommended parameter value and why (a structured note, see :class:`ColumnFlag`)."""

    value: Any
    why: Part

    @property
    def reason(self) -> str:
        """Why, in English."""
        return english([self.why])

    def note(self, name: str) -> list[Part]:
        """The recommendation as a structured note (``k = 20: why``)."""
        return [note("parameter", name=name, value=self.value), self.why]


@dataclass(frozen=True)
class Advice:
    """Recommended avatarization parameters for a table.

    Attributes:
        k: Recommended ``k``.
        ncp: Recommended ``ncp``.
        imputation_method: Recommended ``imputation_method``.
        use_categorical_reduction: Whether to set ``use_categorical_reduction``.
        exclude_variable_names: Columns to exclude (the identifier-like and unusable ones), to
            be re-attached by ``coordinate_similarity`` (``parameters()`` says so), never by row.
        flags: Every flagged column with its reason.
    """

    k: Recommendation
    ncp: Recommendation
    imputation_method: Recommendation
    use_categorical_reduction: Recommendation
    exclude_variable_names: tuple[str, ...]
    flags: tuple[ColumnFlag, ...]

    def parameters(self) -> dict[str, Any]:
        """The advice as ``avatarize`` / ``set_parameters`` keyword arguments."""
        return {
            "k": self.k.value,
            "ncp": self.ncp.value,
            "imputation_method": self.imputation_method.value,
            "use_categorical_reduction": self.use_categorical_reduction.value,
            "exclude_variable_names": list(self.exclude_variable_names),
            # Identifiers come back as pseudonyms either way; other excluded columns are linked
            # by similarity, not put back on their own avatar's row.
            "exclude_variables_method": "coordinate_similarity",
        }


MIN_ADVISED_K = 3
"""The smallest k advice proposes: k=2 is allowed but draws a warning (privacy is weak), and
advice must not propose what the client then warns about."""

MIN_ADVISED_ROWS = MIN_ADVISED_K + 1
"""k must stay below the row count."""


def advise(df: pd.DataFrame, *, categorical_columns: list[str] | None = None) -> Advice:
    """Recommend k, ncp, imputation and categorical reduction, and flag risky columns.

    Args:
        df: The original table.
        categorical_columns: Numeric columns the caller will declare categorical.

    Raises:
        InvalidArgumentError: the table has fewer than 3 rows or no column.
    """
    n = len(df)
    if n < MIN_ADVISED_ROWS or df.shape[1] == 0:
        raise InvalidArgumentError(
            f"advice needs a table with at least {MIN_ADVISED_ROWS} rows and one column; got "
            f"{df.shape[0]} rows and {df.shape[1]} columns.",
            field="table",
        )
    declared = set(categorical_columns or ())
    flags = [flag for name in df.columns if (flag := _flag(df, str(name), declared)) is not None]
    excluded = tuple(f.column for f in flags if f.kind != "high_cardinality")
    usable = df.drop(columns=list(excluded))
    return Advice(
        k=_advise_k(n),
        ncp=_advise_ncp(usable, declared),
        imputation_method=_advise_imputation(usable),
        use_categorical_reduction=_advise_reduction(usable, declared),
        exclude_variable_names=excluded,
        flags=tuple(flags),
    )


def _flag(df: pd.DataFrame, name: str, declared: set[str]) -> ColumnFlag | None:
    series = df[name]
    observed = series.dropna()
    if observed.empty:
        return ColumnFlag(name, "empty", note("column.empty"))
    try:
        distinct = int(observed.nunique())
    except TypeError:
        return ColumnFlag(name, "unsupported", note("column.unhashable"))
    if distinct == 1:
        return ColumnFlag(name, "constant", note("column.constant"))
    if pd.api.types.is_timedelta64_dtype(series) or pd.api.types.is_complex_dtype(series):
        return ColumnFlag(
            name, "unsupported", note("column.unsupported_type", dtype=str(series.dtype))
        )
    is_datetime = pd.api.types.is_datetime64_any_dtype(series)
    evidence = identifier_evidence(series, name, declared_categorical=name in declared)
    if evidence is not None:
        return ColumnFlag(
            name,
            "identifier",
            note(
                "column.identifier",
                distinct=evidence.distinct,
                rows=evidence.rows,
                share=100 * evidence.distinct / max(evidence.rows, 1),
                named=[note("column.identifier_named")] if evidence.name_says_so else [],
            ),
        )
    categorical = not pd.api.types.is_numeric_dtype(series) or name in declared
    if pd.api.types.is_bool_dtype(series):
        categorical = True
    if categorical and not is_datetime and distinct > HIGH_CARDINALITY_MODALITIES:
        return ColumnFlag(
            name, "high_cardinality", note("column.high_cardinality", distinct=distinct)
        )
    return None


def _advise_k(n: int) -> Recommendation:
    k = min(DEFAULT_K, max(MIN_ADVISED_K, n // 20))
    return Recommendation(k, note("k.usual" if k == DEFAULT_K else "k.small", k=k, rows=n))


def _advise_ncp(usable: pd.DataFrame, declared: set[str]) -> Recommendation:
    if usable.shape[1] == 0:
        return Recommendation(2, note("ncp.no_column"))
    sample = usable
    if len(usable) > ADVICE_SAMPLE_ROWS:
        sample = usable.sample(ADVICE_SAMPLE_ROWS, random_state=0)
    try:
        specs = analyse_columns(sample, declared & set(sample.columns))
    except InvalidArgumentError:
        return Recommendation(DEFAULT_NCP, note("ncp.default", ncp=DEFAULT_NCP))
    codes = encode_categorical(sample, specs)
    n_categories = [len(s.categories) for s in specs if s.kind is ColumnKind.CATEGORICAL]
    cont, codes = impute(
        encode_continuous(sample, specs),
        codes,
        n_categories,
        method="mean",
        k=1,
        training_fraction=1.0,
        rng=np.random.default_rng(0),
    )
    model = fit_famd(cont, codes, n_categories, np.ones(len(specs)))
    cumulative = np.cumsum(model.explained_variance_ratio)
    reaching = int(np.searchsorted(cumulative, 0.8) + 1)
    ncp = max(1, min(DEFAULT_NCP, reaching, model.n_components))
    captured = 100 * float(cumulative[ncp - 1])
    enough = ncp < DEFAULT_NCP and reaching <= DEFAULT_NCP
    code = "ncp.enough" if enough else "ncp.usual"
    return Recommendation(ncp, note(code, ncp=ncp, captured=captured, model=model.kind))


def _advise_imputation(usable: pd.DataFrame) -> Recommendation:
    missing = usable.isna().mean()
    if not missing.any():
        return Recommendation("fast_knn", note("imputation.none_missing"))
    detail = {
        "columns": int((missing > 0).sum()),
        "share": 100 * float(missing.max()),
        "worst": str(missing.idxmax()),
    }
    if len(usable) > 50_000:
        return Recommendation("fast_knn", note("imputation.large", rows=len(usable), **detail))
    return Recommendation("knn", note("imputation.small", **detail))


def _advise_reduction(usable: pd.DataFrame, declared: set[str]) -> Recommendation:
    modalities = 0
    for name in usable.columns:
        series = usable[name]
        if (
            not pd.api.types.is_numeric_dtype(series)
            or pd.api.types.is_bool_dtype(series)
            or name in declared
        ) and not pd.api.types.is_datetime64_any_dtype(series):
            modalities += int(series.nunique())
    if modalities > REDUCTION_MODALITY_THRESHOLD:
        return Recommendation(
            True,
            note("reduction.on", modalities=modalities, threshold=REDUCTION_MODALITY_THRESHOLD),
        )
    return Recommendation(False, note("reduction.off", modalities=modalities))
