"""DP-CTGAN's category frequencies, made differentially private (s43).

smartnoise-synth 1.0.8's DP-CTGAN conditions its generator on a category of one column, drawn by
its ``DataSampler`` from the *exact* category frequencies of the private rows, at training and
at generation: the synthetic rows' categorical marginals followed the private counts outside ε,
and a returned model held those frequencies and the one-hot private rows (``_data``).

Here the frequencies are a noisy histogram of every categorical column over its public categories
(the encoders are fitted on the metadata only), released with OpenDP's discrete Laplace
(``make_laplace`` on integer counts). One row added or removed moves one count of each of the
``k`` histograms by one, so the vector of all counts has L1 sensitivity ``k`` (the add/remove
neighbouring of opacus's accountant, which prices the DP-SGD part); scale ``k / ε_cat`` gives
``ε_cat`` (OpenDP's own ``map``). DP-SGD may spend ``1 - CATEGORY_SHARE`` of the request's ε
(its epochs are scheduled within it, ``gan_accounting``) and ``ε_cat`` is :data:`CATEGORY_SHARE`
of the total spent (``ε_sgd · share / (1 - share)``, so epochs that stop short of the request do
not leave a share of ε charged for nothing); the cost is the sum (basic composition), at most
the request.

The library's training loop draws a conditional vector twice per step: for the discriminator
(the real batch is then the rows matching those conditions, ``sample_data``), and for the
generator. Feeding noisy frequencies to the first draw would break the accountant: the library
picks real rows per category, and only the exact frequencies make that a uniform draw of rows
(``count / n`` times ``1 / count``); with noisy ones a row alone in its category is drawn far more
often than ``batch_size / rows``, the rate opacus is told. So the discriminator's draw is taken
from the rows instead: uniform rows, a uniform categorical column each, the row's own category
as its condition (what the exact frequencies gave in distribution), which is a per-row input of
the clipped, noised discriminator steps. The generator's draw and generation use the noisy
frequencies only. The loop alternates the two draws (discriminator, then generator) in every
step; :class:`_TrainingSampler` checks the alternation and fails rather than mixing them.

torch and the library are imported by the functions that use them (see ``gan_accounting``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from veil_service.engine.dp.library_rebinding import rebind

CATEGORY_SHARE = 0.1
"""Share of a DP-CTGAN request's ε spent on its category frequencies (when it has a categorical
column). The DP-SGD part's ε grows with about the square root of its steps, so a tenth of ε
costs about a fifth of the epochs; the frequencies set every synthetic row's categories."""


def categorical_columns(transformer: Any) -> int:
    """How many columns the GAN encodes as categories (one histogram each)."""
    return sum(1 for t in transformer.transformers if t.is_categorical)


def _measurement(columns: int, epsilon: float) -> Any:
    import opendp.prelude as dp

    dp.enable_features("contrib")
    domain = dp.vector_domain(dp.atom_domain(T=int))
    return dp.m.make_laplace(domain, dp.l1_distance(T=int), scale=columns / epsilon)


def histogram_epsilon(sgd_epsilon: float) -> float:
    """ε given to the histograms when DP-SGD spends ``sgd_epsilon``: :data:`CATEGORY_SHARE` of
    the total (``sgd_epsilon`` is the rest)."""
    return sgd_epsilon * CATEGORY_SHARE / (1.0 - CATEGORY_SHARE)


def category_epsilon(columns: int, sgd_epsilon: float) -> float:
    """ε the category histograms spend next to a DP-SGD spend of ``sgd_epsilon`` (0 without
    categories): OpenDP's ``map`` of the measurement at ``d_in = columns``."""
    if columns == 0:
        return 0.0
    return float(_measurement(columns, histogram_epsilon(sgd_epsilon)).map(columns))


def noisy_probabilities(data: Any, transformers: Any, epsilon: float) -> list[Any]:
    """Each categorical column's category probabilities from a DP histogram of ``data``.

    Args:
        data: The one-hot encoded rows (one 1 per categorical block, a null as its own code).
        transformers: The fitted column transformers (public categories).
        epsilon: ε of all the histograms together (:func:`category_epsilon`).

    Returns:
        One array of probabilities per categorical column; negative counts become 0, and a
        column whose noisy counts are all 0 gets uniform probabilities.
    """
    blocks: list[tuple[int, int]] = []
    start = 0
    for t in transformers:
        if t.is_categorical:
            blocks.append((start, int(t.output_width)))
        start += int(t.output_width)
    if not blocks:
        return []
    counts = [round(float(v)) for s, w in blocks for v in np.sum(data[:, s : s + w], axis=0)]
    noisy = _measurement(len(blocks), epsilon)(counts)
    probabilities: list[Any] = []
    done = 0
    for _, width in blocks:
        column = np.clip(np.array(noisy[done : done + width], dtype="float64"), 0.0, None)
        done += width
        total = column.sum()
        probabilities.append(column / total if total > 0 else np.full(width, 1.0 / width))
    return probabilities


def _sampler_class() -> type:
    from snsynth.pytorch.nn.ctgan.data_sampler import DataSampler

    class _TrainingSampler(DataSampler):  # type: ignore[misc]
        """The library's sampler with noisy frequencies; the discriminator's conditions are the
        sampled rows' own categories (module docstring)."""

        def __init__(self, data: Any, transformers: Any, probabilities: list[Any]) -> None:
            width = max((len(p) for p in probabilities), default=0)
            padded = [np.pad(p, (0, width - len(p))) for p in probabilities]
            super().__init__(data, transformers, discrete_column_category_prob=padded)
            self._blocks: list[int] = []
            start = 0
            for t in transformers:
                if t.is_categorical:
                    self._blocks.append(start)
                start += int(t.output_width)
            self._for_discriminator = True
            self._pending: dict[tuple[int, int], list[int]] | None = None

        def sample_condvec(self, batch: int) -> Any:
            if self._n_discrete_columns == 0:
                return None
            if not self._for_discriminator:
                self._for_discriminator = True
                return super().sample_condvec(batch)  # the generator's: noisy frequencies
            self._for_discriminator = False
            rows = np.random.randint(len(self._data), size=batch)
            column = np.random.randint(self._n_discrete_columns, size=batch)
            option = np.array(
                [
                    int(
                        np.argmax(
                            self._data[
                                r,
                                self._blocks[c] : self._blocks[c]
                                + self._discrete_column_n_category[c],
                            ]
                        )
                    )
                    for r, c in zip(rows, column, strict=True)
                ],
                dtype="int64",
            )
            pending: dict[tuple[int, int], list[int]] = {}
            for r, c, o in zip(rows, column, option, strict=True):
                pending.setdefault((int(c), int(o)), []).append(int(r))
            self._pending = pending
            cond = np.zeros((batch, self._n_categories), dtype="float32")
            cond[np.arange(batch), self._discrete_column_cond_st[column] + option] = 1
            mask = np.zeros((batch, self._n_discrete_columns), dtype="float32")
            mask[np.arange(batch), column] = 1
            return cond, mask, column, option

        def sample_data(self, n: int, col: Any, opt: Any) -> Any:
            if col is None:
                return super().sample_data(n, col, opt)  # no categorical column: uniform rows
            pending, self._pending = self._pending, None
            if pending is None or self._for_discriminator:
                raise RuntimeError(
                    "dpctgan's training loop no longer draws the discriminator's conditions "
                    "right before its real rows (smartnoise-synth changed): refusing to train"
                )
            chosen = [pending[(int(c), int(o))].pop() for c, o in zip(col, opt, strict=True)]
            return self._data[chosen]

    return _TrainingSampler


def install(model: Any, epsilon: float) -> None:
    """Make the model's own ``train`` build the noisy sampler, spending ``epsilon``.

    Its ``train`` becomes the library's code with ``DataSampler`` resolved to a factory of
    :class:`_TrainingSampler` (per model, nothing patched process-wide; ``pate_accounting``
    does the same). :func:`finish` undoes it.
    """
    from snsynth.pytorch.nn import dpctgan as dpctgan_module

    sampler = _sampler_class()

    def factory(data: Any, transformers: Any) -> Any:
        return sampler(data, transformers, noisy_probabilities(data, transformers, epsilon))

    rebind(model, "train", dpctgan_module.DPCTGAN.train, DataSampler=factory)


def finish(model: Any) -> None:
    """After the fit: the class's ``train`` again, and a sampler that holds no private row.

    The sampler becomes the library's own ``DataSampler`` (a returned model unpickles without
    Veil) with the noisy frequencies, which is all ``generate`` reads; the one-hot rows, the rows
    of each category and the discriminator's last conditions are dropped. The training losses
    (computed on real batches, not privatized) are dropped too.
    """
    from snsynth.pytorch.nn.ctgan.data_sampler import DataSampler

    model.__dict__.pop("train", None)
    sampler = getattr(model, "_data_sampler", None)
    if sampler is not None:
        sampler._data = np.zeros((0, sampler._data.shape[1]), dtype=sampler._data.dtype)
        sampler._rid_by_cat_cols = []
        for name in ("_pending", "_blocks", "_for_discriminator"):
            sampler.__dict__.pop(name, None)
        sampler.__class__ = DataSampler
    model.loss_d_list = []
    model.loss_g_list = []
