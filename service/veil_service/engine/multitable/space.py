"""The space avatar children and avatar parents are compared in, for one link.

It is fitted on the original parent's variables: continuous ones (and datetimes, in seconds)
standardised with the original mean and standard deviation; categorical ones one-hot encoded on
their most frequent modalities, divided by the square root of 2 so that two different modalities
are at distance 1, as two values one standard deviation apart are. Both the avatar parents and the
parent part of the avatar children are read in it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from veil_service.engine.multitable.aggregation import as_float, is_continuous

MAX_MODALITIES = 32
"""Modalities of one categorical variable given a dimension; rarer ones share the origin."""


@dataclass(frozen=True)
class LinkSpace:
    """Standardisation fitted on the original parent (see the module docstring)."""

    continuous: list[str]
    mean: np.ndarray
    std: np.ndarray
    categories: dict[str, pd.Index]

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Rows of ``frame`` (with the parent's variable names) as points."""
        blocks: list[np.ndarray] = []
        if self.continuous:
            values = np.column_stack([as_float(frame[c]) for c in self.continuous])
            scaled = (values - self.mean) / self.std
            blocks.append(np.nan_to_num(scaled))
        for column, modalities in self.categories.items():
            codes = modalities.get_indexer(pd.Index(frame[column].astype(object).to_numpy()))
            block = np.zeros((len(frame), len(modalities)))
            known = codes >= 0
            block[np.flatnonzero(known), codes[known]] = 1.0 / np.sqrt(2.0)
            blocks.append(block)
        if not blocks:
            return np.zeros((len(frame), 1))
        return np.hstack(blocks)


def fit_space(parent: pd.DataFrame, columns: list[str], categorical: Iterable[str]) -> LinkSpace:
    """Fit the link space on the original parent's ``columns``."""
    categorical = list(categorical)
    continuous = [c for c in columns if is_continuous(parent[c], categorical)]
    if continuous:
        values = np.column_stack([as_float(parent[c]) for c in continuous])
        mean = np.nanmean(values, axis=0)
        std = np.nanstd(values, axis=0)
        mean = np.nan_to_num(mean)
        std = np.where(np.nan_to_num(std) > 0, np.nan_to_num(std), 1.0)
    else:
        mean = np.zeros(0)
        std = np.ones(0)
    categories: dict[str, pd.Index] = {}
    for column in columns:
        if column in continuous:
            continue
        counts = parent[column].astype(object).value_counts(dropna=True)
        categories[column] = pd.Index(counts.index[:MAX_MODALITIES], dtype=object)
    return LinkSpace(continuous, mean, std, categories)
