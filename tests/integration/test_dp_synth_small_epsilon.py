"""smartnoise-synth at a small ε through the server: what the metadata decides is refused before
any charge, and what used to fail at random after the charge answers (docs/dp.md, "Small ε").

PENGUIN has 344 rows in its metadata. Before: pacsynth panicked on a noisy row count of zero or
less (1 fit in 2 at ε 1e-3, 1 in 11 at ε 1; 1 in 3.4 at ε 0.3) and on some tiny δ every time,
MWEM at ε 1e-3 ended in NaN probabilities (16 fits in 20), and MWEM's privacy-risk refusal came
after the fit had read the rows: all charged.
"""

from __future__ import annotations

import pytest
from veil_client import InvalidArgument
from veil_client.dp_client import DPClient

SPECIES_SEX = ["species", "sex"]


def spent(client: DPClient) -> tuple[float, float]:
    total = client.get_total_spent_budget()
    return (total.total_spent_epsilon, total.total_spent_delta)


def test_pacsynth_at_a_tiny_epsilon_is_refused_with_the_smallest_that_works(
    client: DPClient,
) -> None:
    before = spent(client)
    with pytest.raises(InvalidArgument) as estimate:
        client.smartnoise_synth.cost("pacsynth", 1e-3, 1e-5, SPECIES_SEX)
    with pytest.raises(InvalidArgument) as query:
        client.smartnoise_synth.query("pacsynth", 1e-3, 1e-5, SPECIES_SEX, progress=False)
    for refusal in (estimate.value, query.value):
        assert refusal.field == "epsilon"
        assert "pacsynth at epsilon=0.001 would fail in about 1 fit in 2" in str(refusal)
        assert "set epsilon to at least 0.0765" in str(refusal)
    assert spent(client) == before
    # The minimum it names is accepted, and costs what was asked.
    cost = client.smartnoise_synth.cost("pacsynth", 0.0765, 1e-5, SPECIES_SEX)
    assert (cost.epsilon, cost.delta) == (0.0765, 1e-5)


def test_pacsynth_with_its_own_small_record_share_names_the_epsilon_it_needs(
    client: DPClient,
) -> None:
    before = spent(client)
    share = {"number_of_records_epsilon_proportion": 0.005}  # the library's default
    with pytest.raises(InvalidArgument) as refused:
        client.smartnoise_synth.query("pacsynth", 1.0, 1e-5, SPECIES_SEX, share, progress=False)
    assert refused.value.field == "epsilon"
    assert "1 fit in 11" in str(refused.value) and "at least 7.65" in str(refused.value)
    assert spent(client) == before


def test_pacsynth_at_a_small_epsilon_answers_every_time(client: DPClient) -> None:
    # At ε 0.3 the library's default share of ε for the row count (0.005) failed 3 fits in 10.
    for _ in range(8):
        before = spent(client)
        answer = client.smartnoise_synth.query(
            "pacsynth", 0.3, 1e-5, SPECIES_SEX, nb_samples=20, progress=False
        )
        assert answer.result.df_samples.shape == (20, 2)
        assert (answer.epsilon, answer.delta) == (0.3, 1e-5)
        after = spent(client)
        assert after[0] - before[0] == pytest.approx(0.3, abs=1e-12)


def test_pacsynth_refuses_a_delta_its_own_check_rejects(client: DPClient) -> None:
    before = spent(client)
    with pytest.raises(InvalidArgument) as refused:
        client.smartnoise_synth.query("pacsynth", 1.0, 1e-20, SPECIES_SEX, progress=False)
    assert refused.value.field == "delta"
    assert "epsilon=1 with delta=1e-20" in str(refused.value)
    assert "Set delta to 1e-11 or more" in str(refused.value)
    assert spent(client) == before


def test_mwem_at_a_tiny_epsilon_answers_and_is_charged_its_epsilon(client: DPClient) -> None:
    for _ in range(4):
        before = spent(client)
        answer = client.smartnoise_synth.query(
            "mwem",
            1e-3,
            select_cols=SPECIES_SEX,
            synth_params={"iterations": 5},
            nb_samples=30,
            progress=False,
        )
        samples = answer.result.df_samples
        assert samples.shape == (30, 2)
        assert set(samples["species"].dropna()) <= {"Adelie", "Chinstrap", "Gentoo"}
        assert (answer.epsilon, answer.delta) == (1e-3, 0.0)
        after = spent(client)
        assert after[0] - before[0] == pytest.approx(1e-3, abs=1e-12)


def test_mwem_privacy_risk_is_refused_before_any_charge(client: DPClient) -> None:
    before = spent(client)
    # Two columns (4 x 3 cells with the null) and the default 30 iterations for 344 rows.
    with pytest.raises(InvalidArgument) as estimate:
        client.smartnoise_synth.cost("mwem", 1.0, select_cols=SPECIES_SEX)
    with pytest.raises(InvalidArgument) as query:
        client.smartnoise_synth.query("mwem", 1.0, select_cols=SPECIES_SEX, progress=False)
    for refusal in (estimate.value, query.value):
        assert refusal.field == "synth_params"
        assert "histogram of 12 cells" in str(refusal)
        assert "iterations to at most 23" in str(refusal)
    assert spent(client) == before
