"""What DP-CTGAN and DPGAN spend, computed with the library's own accountant, before they train.

smartnoise-synth's GANs train their discriminator with opacus 0.14 and read the spent ε (opacus's
RDP accountant) at the *start* of each epoch: they stop only once the budget is already
exceeded, so the last epoch overshoots the requested ε, and a tiny ``sigma`` makes the first
epoch nearly noise-free (nothing is checked before it). Here the same accountant, with the same
orders (``ALPHAS``), sampling rate (``batch_size / rows``), noise multiplier and optimizer steps
as the library's training loop, is run ahead of training to find the largest number of epochs
whose spend stays within the request; the model is then given that many epochs, so the library's
own check never fires and its spend is exactly :func:`spent` of the epochs it trains.

The cost of a GAN query is that spend at the metadata's published row count (data-free: the
charge never depends on the private rows). At fit time the schedule is computed again at the
actual row count and capped by that charge, so the spend never exceeds what is charged.

opacus (and with it torch) is imported by :func:`spent` only, so that a worker fitting AIM, MST
or MWEM (which import this module through the synthesizer task) does not load torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from veil_service.errors import InvalidArgumentError

ALPHAS: list[float] = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64))
"""The RDP orders both snsynth GANs give opacus's PrivacyEngine."""

DPGAN_SIGMA = 3.5
"""DPGAN's noise multiplier (fixed in snsynth's DPGAN)."""

MIN_SIGMA = 0.5
"""Smallest noise multiplier accepted for DP-CTGAN. Below it one optimizer step already spends
more than any useful budget; the accountant would refuse it anyway, this says so up front."""


@dataclass(frozen=True)
class GanSchedule:
    """How a GAN trains within its budget.

    Attributes:
        epochs: Epochs to train (at most the requested ones).
        epsilon: ε spent after ``epochs`` epochs, by opacus's accountant.
        steps_per_epoch: Discriminator optimizer steps per epoch (what opacus counts).
        sample_rate: ``batch_size / rows``.
        sigma: Noise multiplier.
        delta: δ at which ε is read.
    """

    epochs: int
    epsilon: float
    steps_per_epoch: int
    sample_rate: float
    sigma: float
    delta: float


def spent(sample_rate: float, sigma: float, steps: int, delta: float) -> float:
    """ε after ``steps`` optimizer steps: opacus's ``PrivacyEngine.get_privacy_spent``."""
    if steps == 0:
        return 0.0
    from opacus import privacy_analysis

    rdp = privacy_analysis.compute_rdp(sample_rate, sigma, steps, ALPHAS)
    epsilon, _ = privacy_analysis.get_privacy_spent(ALPHAS, rdp, delta)
    return float(epsilon)


def training_shape(name: str, model: Any, rows: int) -> tuple[int, int, float, int]:
    """``(requested epochs, steps per epoch, sample rate, ...)`` as the library's loop runs.

    Returns:
        ``(epochs, steps_per_epoch, sigma, batch_size)``.

    Raises:
        InvalidArgumentError: A batch larger than the rows, or a bad ``sigma``.
    """
    if name == "dpctgan":
        epochs, batch_size = int(model._epochs), int(model._batch_size)
        sigma = model.sigma
        # Two discriminator steps per iteration with the cross-entropy loss (fake, then real).
        per_iteration = 2 if model.loss == "cross_entropy" else 1
        iterations = max(rows // batch_size, 1)
    else:
        epochs, batch_size = int(model.epochs), int(model.batch_size)
        sigma = DPGAN_SIGMA
        per_iteration = 2
        iterations = rows // batch_size  # DataLoader(drop_last=True)
    if isinstance(sigma, bool) or not isinstance(sigma, int | float) or not math.isfinite(sigma):
        raise InvalidArgumentError(
            "synth_params.sigma must be a finite number", field="synth_params"
        )
    if sigma < MIN_SIGMA:
        raise InvalidArgumentError(
            f"synth_params.sigma must be at least {MIN_SIGMA}: the noise multiplier of the "
            "discriminator's gradients; smaller values leave them nearly noise-free",
            field="synth_params",
        )
    if batch_size > rows:
        raise InvalidArgumentError(
            f"Error fitting model: sample_rate={batch_size / rows} is not a valid value: "
            f"batch_size ({batch_size}) is larger than the dataset's {rows} rows. Try decreasing "
            "batch_size in synth_params.",
            field="synth_params",
        )
    return epochs, iterations * per_iteration, float(sigma), batch_size


def schedule(name: str, model: Any, rows: int, epsilon: float, delta: float) -> GanSchedule:
    """The most epochs (up to the requested ones) whose spend stays within ``epsilon``.

    Args:
        name: ``dpctgan`` or ``dpgan``.
        model: The synthesizer as created (its parameters are read from it).
        rows: Rows it will train on (the metadata's for the cost, the actual ones at fit time).
        epsilon: The most it may spend.
        delta: δ at which ε is read (the library's ``delta``).

    Raises:
        InvalidArgumentError: Not even one epoch fits in ``epsilon`` (sigma or ε too small), or
            the parameters cannot train on ``rows`` rows.
    """
    epochs, steps_per_epoch, sigma, batch_size = training_shape(name, model, rows)
    rate = batch_size / rows

    def after(k: int) -> float:
        return spent(rate, sigma, k * steps_per_epoch, delta)

    low, high = 0, epochs  # after(low) <= epsilon; find the largest such epoch count
    while low < high:
        middle = (low + high + 1) // 2
        if after(middle) <= epsilon:
            low = middle
        else:
            high = middle - 1
    if low == 0 and steps_per_epoch > 0:
        one = after(1)
        raise InvalidArgumentError(
            f"Error fitting model: Inputted epsilon and sigma parameters are too small to create "
            f"a private dataset: one epoch of {name} spends epsilon={one:.4g} (sigma={sigma}, "
            f"batch_size={batch_size}, delta={delta:g}), more than epsilon={epsilon:g}. Increase "
            "epsilon or sigma, or decrease batch_size.",
            field="synth_params",
        )
    return GanSchedule(low, after(low), steps_per_epoch, rate, sigma, delta)


def set_epochs(name: str, model: Any, epochs: int) -> None:
    """Give the model its scheduled number of epochs."""
    if name == "dpctgan":
        model._epochs = epochs
    else:
        model.epochs = epochs
