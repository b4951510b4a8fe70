"""What PATE-GAN spends, fixed before it trains: the library's own moments bound, data-free.

smartnoise-synth's PATE-GAN trains in rounds (teachers, then ``student_iters`` student steps on
``batch_size`` noisy teacher votes each, then one generator step) until its moments accountant
reaches ε. That accountant is *data-dependent*: each vote adds ``min(t, a)`` where ``t`` depends
on how the teachers voted, so the number of rounds (and with it the model) depends on the private
data in a way the guarantee does not cover (Papernot et al. publish such bounds only with smooth
sensitivity; Ganev et al. 2024 list it among PATE-GAN implementations' privacy violations). It
also reads ε at the start of each round, so the last round overshoots the request.

Here every vote is charged the accountant's own data-independent cap ``a = 2 λ² l (l + 1)``
(``privacy_utils.moments_acc``'s clamp), so the spend after ``k`` rounds is known before any
row is read. The library's own training loop runs with that accountant (its ``train`` code is
re-bound to it, per model, nothing patched process-wide) and with its stopping ε set so that it
trains exactly the most rounds whose spend stays within the request; the charge is that spend.
The arithmetic is the library's (the same torch operations in the same order), so the schedule
and the library's loop agree to the bit.

torch and the library's PATE-GAN module are imported by the functions that use them, so that a
worker fitting AIM, MST or MWEM (which import this module through the synthesizer task) does not
load torch: 1.7 CPU seconds a task.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from veil_service.engine.dp.library_rebinding import rebind
from veil_service.errors import InvalidArgumentError

MIN_ROWS = 1000
"""PATE-GAN gives each teacher 1,000 rows: with fewer there is no teacher (Lomas refuses too)."""

NOISE_MULTIPLIER = 1e-3
"""λ of PATE-GAN's vote noise (``Laplace(1 / λ)``), fixed in the library's ``train``."""

MOMENTS_ORDER = 100
"""Moments the library tracks (``l = 1..100``)."""


def data_free_moments(
    num_teachers: int, votes: Any, lap_scale: float, l_list: Any, device: str = "cpu"
) -> Any:
    """``moments_acc`` with every vote at its data-independent cap ``2 λ² l (l + 1)``."""
    import torch

    del num_teachers, device
    count = int(votes.shape[0])
    return torch.DoubleTensor(
        [count * 2 * lap_scale**2 * int(l_val) * (int(l_val) + 1) for l_val in l_list]
    )


@dataclass(frozen=True)
class PateSchedule:
    """How PATE-GAN trains within its budget.

    Attributes:
        rounds: Training rounds (teacher, student and generator steps).
        epsilon: ε spent after ``rounds`` rounds (the charge).
        delta: δ at which ε is read.
    """

    rounds: int
    epsilon: float
    delta: float


def spent_after(rounds: int, model: Any, delta: float) -> float:
    """ε the library's loop reads after ``rounds`` rounds with the data-free accountant."""
    return _readings(model, delta, lambda reading, done: done < rounds)[-1]


def _readings(model: Any, delta: float, more: Any) -> list[float]:
    """The library's readings after 0, 1, ... rounds, while ``more(last, rounds)`` holds."""
    import torch

    alphas = torch.tensor([0.0 for _ in range(MOMENTS_ORDER)])
    l_list = 1 + torch.tensor(range(MOMENTS_ORDER))
    votes = torch.zeros(int(model.batch_size), 1)
    readings = [float(min((alphas - math.log(delta)) / l_list).item())]
    while more(readings[-1], len(readings) - 1):
        for _ in range(int(model.student_iters)):
            alphas = alphas + data_free_moments(0, votes, NOISE_MULTIPLIER, l_list)
        readings.append(float(min((alphas - math.log(delta)) / l_list).item()))
    return readings


def schedule(model: Any, epsilon: float, delta: float, max_rounds: int) -> PateSchedule:
    """The most rounds whose data-free spend stays within ``epsilon``.

    Args:
        model: The PATEGAN as created (``batch_size``, ``student_iters`` are read from it).
        epsilon: The most it may spend.
        delta: δ at which ε is read.
        max_rounds: The server's bound on training rounds (epochs).

    Raises:
        InvalidArgumentError: Not even one round fits in ``epsilon``, bad parameters, or the
            budget would buy more rounds than the server allows.
    """
    batch, student_iters = model.batch_size, model.student_iters
    for name, value in (("batch_size", batch), ("student_iters", student_iters)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100_000:
            raise InvalidArgumentError(
                f"synth_params.{name} must be a whole number from 1 to 100,000",
                field="synth_params",
            )
    # Readings after 0, 1, ... rounds until one exceeds epsilon (or the server's bound).
    readings = _readings(
        model, delta, lambda reading, done: reading <= epsilon and done <= max_rounds
    )
    # The last reading is past epsilon, or past the bound with more rounds still affordable.
    rounds = len(readings) - 2 if readings[-1] > epsilon else len(readings) - 1
    if rounds <= 0:
        one = spent_after(1, model, delta)
        raise InvalidArgumentError(
            "Error fitting model: Inputted epsilon parameter is too small to create a private "
            f"dataset: one round of pategan spends epsilon={one:.4g} (batch_size={batch}, "
            f"student_iters={student_iters}, delta={delta:g}), more than epsilon={epsilon:g}. "
            "Try increasing epsilon and rerunning, or decrease batch_size.",
            field="synth_params",
        )
    if rounds > max_rounds:
        raise InvalidArgumentError(
            f"pategan would train more than {max_rounds} rounds for epsilon={epsilon:g}: more "
            "than this server's limit (set by the operator, --dp-synth-max-epochs); ask for "
            f"epsilon at most {readings[max_rounds]:.6g}, which trains {max_rounds} rounds",
            field="epsilon",
        )
    return PateSchedule(rounds, readings[rounds], delta)


def install(model: Any, planned: PateSchedule) -> None:
    """Make the library's own loop train ``planned.rounds`` rounds, charged data-free.

    The model's ``train`` becomes the library's code with ``moments_acc`` resolved to
    :func:`data_free_moments`. The loop reads ε *before* each round and trains that round unless
    the reading exceeds the model's ε, then stops once a reading reaches it; with the model's ε
    set to the reading before the last planned round, it trains exactly ``planned.rounds``
    rounds. :func:`uninstall` undoes the rebinding (a model holding it does not pickle).
    """
    from snsynth.pytorch.nn import pategan as pategan_module

    rebind(model, "train", pategan_module.PATEGAN.train, moments_acc=data_free_moments)
    model.epsilon = spent_after(planned.rounds - 1, model, planned.delta)
    model.delta = planned.delta


def uninstall(model: Any, planned: PateSchedule) -> None:
    """Restore the class's ``train`` (see :func:`install`); the model's ε is its spend again."""
    model.__dict__.pop("train", None)
    model.epsilon = planned.epsilon
