"""DP-CTGAN through the server: the charge is opacus's own figure for DP-SGD's share plus the
noisy category frequencies' share (s43), within the request and the grant (issue 19 (b)), and a
GAN without delta takes Lomas's default (issue 16 item 9)."""

from __future__ import annotations

import pytest
from dp_support import grant, manager
from opacus import privacy_analysis
from support import ServerThread, TestUser

COLUMNS = ["species", "sex", "bill_length_mm"]
PARAMS = {
    "epochs": 300,
    "batch_size": 50,
    "embedding_dim": 8,
    "generator_dim": [8],
    "discriminator_dim": [8],
}
ALPHAS = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64))


def opacus_spent(rows: int, epochs: int, delta: float) -> float:
    """What opacus's PrivacyEngine reports after ``epochs`` epochs of snsynth's DP-CTGAN loop
    (sigma 5, two discriminator steps per batch of 50)."""
    steps = epochs * (rows // 50) * 2
    rdp = privacy_analysis.compute_rdp(50 / rows, 5.0, steps, ALPHAS)
    return float(privacy_analysis.get_privacy_spent(ALPHAS, rdp, delta)[0])


def test_the_charge_is_the_accountant_figure_within_request_and_grant(
    veil_server: ServerThread, user: TestUser, penguin: str
) -> None:
    grant(veil_server, user, penguin, 0.5, 1e-3)
    client = manager(veil_server, user).dp(penguin)
    delta = 1 / (344 * 344**0.5)  # Lomas's default, at PENGUIN's published 344 rows

    cost = client.smartnoise_synth.cost("dpctgan", 0.5, None, COLUMNS, PARAMS)
    # DP-SGD may spend 0.45 (nine tenths of ε): one epoch fits (the second would reach 0.478).
    # The noisy frequencies of species and sex get a tenth of the total: the charge is the sum.
    sgd = opacus_spent(344, 1, delta)
    assert cost.epsilon == pytest.approx(sgd + sgd / 9, rel=1e-12)
    assert opacus_spent(344, 2, delta) > 0.45 >= opacus_spent(344, 1, delta)
    assert cost.epsilon <= 0.5
    assert cost.delta == delta

    answer = client.smartnoise_synth.query("dpctgan", 0.5, None, COLUMNS, PARAMS, nb_samples=5)
    assert answer.result.df_samples.shape == (5, 3)
    assert (answer.epsilon, answer.delta) == (cost.epsilon, cost.delta) and answer.charged
    spent = client.get_total_spent_budget()
    assert (spent.total_spent_epsilon, spent.total_spent_delta) == (cost.epsilon, cost.delta)
    (record,) = client.get_previous_queries()
    assert (record["epsilon"], record["delta"]) == (cost.epsilon, cost.delta)
    assert client.get_remaining_budget().remaining_epsilon >= 0.0
