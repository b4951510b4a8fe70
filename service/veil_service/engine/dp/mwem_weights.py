"""MWEM's multiplicative-weights step, computed on the queried cells only (issue 16 item 12).

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
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np


def install(model: Any) -> None:
    """Make an ``MWEMSynthesizer`` use :func:`multiplicative_weights`."""
    model._multiplicative_weights = types.MethodType(multiplicative_weights, model)


def uninstall(model: Any) -> None:
    """Give the model back the library's method (before pickling: clients lack this module)."""
    model.__dict__.pop("_multiplicative_weights", None)


def multiplicative_weights(
    self: Any, synth_hist: Any, queries: Any, m: Any, hist: Any, iterate: int
) -> Any:
    """Drop-in for ``MWEMSynthesizer._multiplicative_weights`` (same arguments and result).

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
    cells = raw.T  # the library indexes the transposed histogram
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
                factor = float(np.exp(error / (2.0 * sum_a)))
                if factor == 0.0:  # the library resets underflowed multipliers to 1
                    continue
                cells[index] = cells[index] * factor
                raw_total += old * (factor - 1.0)
                scale = sum_a / raw_total
    return raw * (sum_a / float(np.sum(raw)))
