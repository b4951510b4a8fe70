"""Categorical reduction: embed many-modality categoricals in a few continuous dimensions.

Octopize uses a cat2vec word embedding (avatar_method.md section 1.9). Veil uses the closed form
that word embeddings approximate: skip-gram with negative sampling implicitly factorises the
pointwise mutual information matrix between words and their contexts (Levy and Goldberg, 2014), so
each modality is embedded by a truncated SVD of its positive PMI with the modalities of the other
variables of the same row (continuous variables enter as quintile bins). Why this one:

* deterministic and exact (no training loop, no seed, no extra dependency), and fast: one pass to
  count co-occurrences, one small SVD per variable;
* modalities that co-occur with the same things land close together, so an avatar's mixed
  embedding decodes to a plausible modality (the nearest modality embedding);
* a variable with m modalities costs at most ``REDUCTION_DIMENSIONS`` projection columns instead of
  m, which bounds the projection width and stops one many-modality variable from dominating the
  inertia.

Only categoricals with more than ``REDUCTION_DIMENSIONS + 1`` modalities are reduced: smaller ones
already take few columns. Decoding cannot return a modality whose embedding equals another's (same
co-occurrence profile); the first in code order wins. This is the utility cost the Octopize guide
warns about ("This solution could reduce the utility").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from veil_service.engine.avatarize.column_types import CodeArray, FloatArray

#: Embedding dimensions per reduced variable.
REDUCTION_DIMENSIONS = 4
_CONTINUOUS_BINS = 5


@dataclass(frozen=True)
class CategoricalReduction:
    """Which categorical variables are embedded, and their modality embeddings.

    Attributes:
        reduced: Indexes (among categorical variables) of the embedded variables.
        embeddings: For each, a (modalities x dimensions) matrix.
    """

    reduced: tuple[int, ...]
    embeddings: tuple[FloatArray, ...]

    @property
    def width(self) -> int:
        """Number of continuous columns the embeddings add."""
        return int(sum(e.shape[1] for e in self.embeddings))


def fit_reduction(
    continuous: FloatArray, codes: CodeArray, n_categories: list[int]
) -> CategoricalReduction:
    """Compute embeddings for every categorical variable with many modalities."""
    context = _context_onehot(continuous, codes, n_categories)
    reduced: list[int] = []
    embeddings: list[FloatArray] = []
    starts = np.cumsum([0, *n_categories])
    for j, m in enumerate(n_categories):
        if m <= REDUCTION_DIMENSIONS + 1:
            continue
        others = np.ones(context.shape[1], dtype=bool)
        others[starts[j] : starts[j + 1]] = False
        onehot = np.zeros((codes.shape[0], m))
        onehot[np.arange(codes.shape[0]), codes[:, j]] = 1.0
        counts = onehot.T @ context[:, others]
        reduced.append(j)
        embeddings.append(_ppmi_embedding(counts, min(REDUCTION_DIMENSIONS, m - 1)))
    return CategoricalReduction(tuple(reduced), tuple(embeddings))


def _context_onehot(
    continuous: FloatArray, codes: CodeArray, n_categories: list[int]
) -> FloatArray:
    blocks = []
    n = codes.shape[0]
    for j, m in enumerate(n_categories):
        block = np.zeros((n, m))
        block[np.arange(n), codes[:, j]] = 1.0
        blocks.append(block)
    for j in range(continuous.shape[1]):
        edges = np.unique(np.quantile(continuous[:, j], np.linspace(0, 1, _CONTINUOUS_BINS + 1)))
        bins = np.clip(np.searchsorted(edges[1:-1], continuous[:, j], side="right"), 0, None)
        block = np.zeros((n, max(1, len(edges) - 1)))
        block[np.arange(n), bins] = 1.0
        blocks.append(block)
    return np.hstack(blocks) if blocks else np.zeros((n, 0))


def _ppmi_embedding(counts: FloatArray, dimensions: int) -> FloatArray:
    total = counts.sum()
    row = counts.sum(axis=1, keepdims=True)
    col = counts.sum(axis=0, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        pmi = np.log(counts * total / (row * col))
    ppmi = np.where(np.isfinite(pmi) & (pmi > 0), pmi, 0.0)
    u, s, _ = np.linalg.svd(ppmi, full_matrices=False)
    # Fix signs so that the same data always gives the same embedding.
    signs = np.where(u[np.argmax(np.abs(u), axis=0), np.arange(u.shape[1])] < 0, -1.0, 1.0)
    embedding: FloatArray = (u * signs)[:, :dimensions] * s[:dimensions]
    if embedding.shape[1] < dimensions:
        embedding = np.hstack(
            [embedding, np.zeros((embedding.shape[0], dimensions - embedding.shape[1]))]
        )
    return embedding


def apply_reduction(
    reduction: CategoricalReduction,
    continuous: FloatArray,
    codes: CodeArray,
    n_categories: list[int],
) -> tuple[FloatArray, CodeArray, list[int]]:
    """Replace the reduced categoricals by their embeddings (appended to the continuous columns)."""
    if not reduction.reduced:
        return continuous, codes, n_categories
    embedded = [
        emb[codes[:, j]] for j, emb in zip(reduction.reduced, reduction.embeddings, strict=True)
    ]
    keep = [j for j in range(codes.shape[1]) if j not in reduction.reduced]
    return (
        np.hstack([continuous, *embedded]),
        np.ascontiguousarray(codes[:, keep]),
        [n_categories[j] for j in keep],
    )


def invert_reduction(
    reduction: CategoricalReduction,
    continuous: FloatArray,
    codes: CodeArray,
    n_continuous: int,
) -> tuple[FloatArray, CodeArray]:
    """Decode each embedded variable to its nearest modality and put it back in place."""
    if not reduction.reduced:
        return continuous, codes
    n_total = codes.shape[1] + len(reduction.reduced)
    out = np.empty((codes.shape[0], n_total), dtype=np.int32)
    keep = [j for j in range(n_total) if j not in reduction.reduced]
    out[:, keep] = codes
    offset = n_continuous
    for j, emb in zip(reduction.reduced, reduction.embeddings, strict=True):
        vectors = continuous[:, offset : offset + emb.shape[1]]
        squared = (
            (vectors**2).sum(axis=1, keepdims=True) - 2.0 * vectors @ emb.T + (emb**2).sum(axis=1)
        )
        out[:, j] = np.argmin(squared, axis=1)
        offset += emb.shape[1]
    return np.ascontiguousarray(continuous[:, :n_continuous]), out
