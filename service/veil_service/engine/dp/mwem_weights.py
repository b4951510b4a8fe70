"""MWEM's multiplicative-weights step on the queried cells only, and its histogram's domain
from the public encoders rather than the private rows (issue 16 item 12).

smartnoise-synth's ``MWEMSynthesizer._multiplicative_weights`` updates the synthetic histogram
one query slice at a time, and for each slice builds a full-size mask, exponentiates it, and
multiplies and renormalizes the whole histogram: six passes over every cell per slice. On all
seven PENGUIN columns the histogram has 180,000 cells and a fit makes ~10⁵ slice updates, so
the step took almost all of the 657 s a full-column fit lasted.

The update only changes the slice's cells: outside it the multiplier is exp(0) = 1. So this
version multiplies the slice in place and keeps the renormalization as one scalar (the true
histogram is ``scale · raw``; the raw total is kept exactly by adding the slice's change, and
recomputed once per pass). The arithmetic is the library's up to floating-point rounding and it
draws no random numbers, so a seeded fit gives the same queries and the same samples; it is
post-processing of the noisy measurements, so the privacy cost is unchanged.

The library sizes each histogram axis from the smallest and largest code *present in the private
rows* (``_histogram_from_data_attributes``): a bin no row falls in at either end is cut off, so
the synthetic rows never contain it (a noise-free release of which extreme bins are empty), and
the histogram's size, hence the fit's time, depend on the data. :func:`install` sizes every axis
from the encoder's public cardinality instead (codes 0 .. cardinality-1, as the transformer is
fitted on public values only) and counts the rows with one ``bincount`` instead of
``histogramdd`` (same counts, without its float copy of the codes).
"""

from __future__ import annotations

import math
import types
from collections.abc import Callable
from typing import Any

import numpy as np

_LOW, _HIGH = 1e-100, 1e100
"""Raw totals and multipliers outside this range renormalize the histogram first."""
_MAX_EXPONENT = math.log(_HIGH)
"""A multiplier's exponent is capped here (see :func:`multiplicative_weights`)."""
_CANCELLED = 1e-8
"""An update leaving less than this share of the raw total recomputes the total exactly."""


def install(
    model: Any,
    cardinalities: list[int] | None = None,
    progress: Callable[[int, int], None] | None = None,
    rows: int | None = None,
) -> None:
    """Make an ``MWEMSynthesizer`` use :func:`multiplicative_weights`, and, given the encoded
    columns' public ``cardinalities``, :func:`public_histograms`; given the metadata's ``rows``,
    start its synthetic histograms at that total (:func:`public_start`).

    Args:
        progress: Called with (iterations done, iterations in all) after each iteration (the
            library runs the update once per iteration). Dummy data only: see dpquery.progress.
    """
    if progress is None:
        model._multiplicative_weights = types.MethodType(multiplicative_weights, model)
    else:
        done = [0]

        def counted(self: Any, *args: Any) -> Any:
            result = multiplicative_weights(self, *args)
            done[0] += 1
            progress(done[0], int(sum(h.iterations for h in self.histograms)))
            return result

        model._multiplicative_weights = types.MethodType(counted, model)
    if cardinalities is not None:
        sizes = [int(c) for c in cardinalities]

        def histograms(self: Any, data: Any, splits: Any = ()) -> list[Any]:
            return public_histograms(self, data, splits, sizes)

        model._histogram_from_data_attributes = types.MethodType(histograms, model)
    if rows is not None:
        total = float(rows)

        def start(self: Any, histogram: Any, dimensions: Any) -> Any:
            return public_start(histogram, total)

        model._initialize_a = types.MethodType(start, model)


def uninstall(model: Any) -> None:
    """Give the model back the library's methods (before pickling: clients lack this module)."""
    model.__dict__.pop("_multiplicative_weights", None)
    model.__dict__.pop("_histogram_from_data_attributes", None)
    model.__dict__.pop("_initialize_a", None)


def forget_rows(model: Any) -> None:
    """Drop what a fitted ``MWEMSynthesizer`` keeps of the rows it read, before it is returned.

    The library keeps the encoded rows (``data``), each histogram's exact counts
    (``histograms[i].data``) and the same counts beside every synthetic histogram
    (``synthetic_histograms[i][1]``), and a model pickled with them handed the private rows to
    the caller (PENGUIN: all 344 rows of the requested columns). Sampling needs only the
    synthetic histograms, the splits and the encoders, which are DP or public, so the rest goes.
    """
    model.data = None
    model.pd_index = None
    for histogram in getattr(model, "histograms", None) or []:
        histogram.data = None
    model.synthetic_histograms = [
        (synthetic, None, split) for synthetic, _, split in model.synthetic_histograms or []
    ]


def public_start(histogram: Any, rows: float) -> Any:
    """Drop-in for ``MWEMSynthesizer._initialize_a``: the uniform histogram of total ``rows``.

    The library starts from the uniform histogram of the *private* row count, and that total is
    the scale of every multiplicative-weights step (``error / (2·total)``, :func:`multiplicative_
    weights`) and of the synthetic histograms a returned model holds: the exact count, outside
    the DP accounting. The metadata's published ``rows`` takes its place (docs/dp.md, "MWEM's
    hyperparameters"); samples are drawn from the normalized histogram, so only the step's scale
    changes, and the noisy measurements still pull the mass where the rows are.
    """
    cells = int(np.prod(np.shape(histogram)))
    return np.full(np.shape(histogram), rows / cells, dtype=float)


def public_histograms(self: Any, data: Any, splits: Any, cardinalities: list[int]) -> list[Any]:
    """Drop-in for ``MWEMSynthesizer._histogram_from_data_attributes`` with public axis sizes.

    Args:
        self: The synthesizer (its ``mins_maxes`` and ``scale`` are set as the library does).
        data: The encoded rows, one column per encoder output.
        splits: Column index groups, one histogram each.
        cardinalities: Each encoded column's number of codes, from the fitted encoders.

    Returns:
        The library's ``Histogram`` objects, one per split.
    """
    from snsynth.mwem import Histogram

    codes = np.asarray(data).astype(np.int64)
    histograms = []
    for split in splits:
        dims = [cardinalities[int(i)] for i in split]
        for i in split:
            self.mins_maxes[str(i)] = (0, cardinalities[int(i)] - 1)
            self.scale[str(i)] = 1
        part = codes[:, list(split)]
        if part.size and (part.min() < 0 or np.any(part.max(axis=0) >= np.array(dims))):
            raise ValueError("an encoded value lies outside its encoder's cardinality")
        flat = np.ravel_multi_index(tuple(part.T), dims) if len(part) else np.zeros(0, int)
        counts = np.bincount(flat, minlength=int(np.prod(dims))).astype(float).reshape(dims)
        edges = [np.arange(d + 1, dtype=float) - 0.5 for d in dims]
        histograms.append(Histogram(counts, dims, edges, split))
    return histograms


def multiplicative_weights(
    self: Any, synth_hist: Any, queries: Any, m: Any, hist: Any, iterate: int
) -> Any:
    """Drop-in for ``MWEMSynthesizer._multiplicative_weights`` (same arguments and result).

    At a small ε the noisy measurements dwarf the row count, and the raw histogram (kept
    unnormalized here) drifted out of floating point: a slice multiplied by e^145 a few times
    overflowed, or a slice holding all the mass shrank to zero, and the fit ended in "probabilities
    contain NaN" or a division by zero, after the charge (PENGUIN, 2 columns, 5 iterations: 16 fits
    in 20 at ε = 1e-3). So the histogram is renormalized as the library keeps it (total = the
    row count) whenever its raw total or a multiplier leaves [1e-100, 1e100], and the raw total is
    recomputed when an update cancels most of it. The library itself fails once a multiplier
    overflows (exponent above 709: a measurement 1,418 times the row count off, 2 fits in 20 at
    ε = 1e-4); here the exponent is capped at 230 (e^230 ≈ 1e100): such a slice then holds all
    but a 1e-100 share of the histogram instead of all of it, no sampling probability differs by
    more than that, and the fit answers. Outside these cases the arithmetic is unchanged
    (``test_mwem_weights_update_equals_the_library``). Post-processing of the noisy
    measurements: the privacy cost is unchanged.

    Args:
        self: The synthesizer (unused; kept for the method's signature).
        synth_hist: The synthetic histogram.
        queries: The query pool; ``queries[qi].queries`` are the slices of query ``qi``.
        m: Noisy measurements per measured query index, one per slice.
        hist: The real histogram (unused here, as in the library).
        iterate: Passes over the measurements.

    Returns:
        The updated synthetic histogram, with the same total as ``synth_hist``.
    """
    del self, hist
    raw = np.array(synth_hist, dtype=float, copy=True)
    sum_a = float(np.sum(raw))
    cells = raw.T  # the library indexes the transposed histogram (a view: updates reach raw)
    for _ in range(iterate):
        raw_total = float(np.sum(raw))
        scale = sum_a / raw_total
        for qi in m:
            measurements = m[qi]
            slices = queries[qi].queries
            assert len(measurements) == len(slices)
            for measurement, query in zip(measurements, slices, strict=True):
                index = tuple(query.query)
                old = float(np.sum(cells[index]))
                error = measurement - scale * old
                factor = math.exp(min(error / (2.0 * sum_a), _MAX_EXPONENT))
                if factor == 0.0:  # the library resets underflowed multipliers to 1
                    continue
                if not (_LOW < raw_total < _HIGH and _LOW < factor < _HIGH):
                    raw *= scale  # in place: the library's normalized histogram, total sum_a
                    raw_total = float(np.sum(raw))
                    old = float(np.sum(cells[index]))
                before = cells[index].copy()
                cells[index] = before * factor
                total = raw_total + old * (factor - 1.0)
                if not total > _CANCELLED * raw_total:  # most of the mass was in the slice
                    total = float(np.sum(raw))
                if not (total > 0.0 and math.isfinite(total)):
                    cells[index] = before  # every cell underflowed: skip, as a zero multiplier
                    continue
                raw_total = total
                scale = sum_a / raw_total
    return raw * (sum_a / float(np.sum(raw)))
