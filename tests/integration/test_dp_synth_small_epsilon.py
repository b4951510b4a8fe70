"""smartnoise-synth at a small ε through the server: what the metadata decides is refused before
any charge, and what used to fail at random after the charge answers (docs/dp.md, "Small ε").

PENGUIN has 344 rows in its metadata. Before: pacsynth panicked on a noisy row count of zero or
less (1 fit in 2 at ε 1e-3, 1 in 11 at ε 1; 1 in 3.4 at ε 0.3) and on some tiny δ every time,
MWEM at ε 1e-3 ended in NaN probabilities (16 fits in 20), and MWEM's privacy-risk refusal came
after the fit had read the rows: all charged.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from dp_support import PENGUIN_CSV, PENGUIN_METADATA, grant, manager, unique
from support import ServerThread, TestUser
from veil_client import FailedPrecondition, InvalidArgument
from veil_client.dp_client import DPClient
from veil_service.dpquery.registration import register_from_path

SPECIES_SEX = ["species", "sex"]
PACSYNTH_MIN_EPSILON = 0.0765
"""The smallest ε Veil runs pacsynth at on 344 declared rows (its row count is at risk there)."""


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


def _register_table(server: ServerThread, table: pd.DataFrame, folder: Path) -> str:
    """Register ``table`` under PENGUIN's metadata (344 rows declared, ``sex`` not nullable)."""
    name = unique("PENGUIN_ALTERED")
    path = folder / f"{name}.csv"
    table.to_csv(path, index=False)
    register_from_path(
        server.app.db,
        server.app.blobs,
        name=name,
        path=str(path),
        metadata_text=PENGUIN_METADATA.read_text(),
    )
    return name


def test_pacsynth_fits_every_row_when_most_miss_a_value_not_declared_nullable(
    veil_server: ServerThread, user: TestUser, tmp_path: Path
) -> None:
    """Without ``nullable``, rows missing ``sex`` (not nullable in the metadata) were left out of
    the fit, so pacsynth counted 2 rows where its share of ε was sized for 344: its noisy count
    came out at zero or below about 1 fit in 2, a panic after the charge (10 queries: all 10
    answer with a chance of 0.2%). Now every row is fitted, a missing value left empty."""
    table = pd.read_csv(PENGUIN_CSV)
    table.loc[2:, "sex"] = None  # 2 rows keep their sex; 342 miss it
    name = _register_table(veil_server, table, tmp_path)
    grant(veil_server, user, name, 20.0, 1e-3)
    client = manager(veil_server, user).dp(name)
    for _ in range(10):
        before = spent(client)
        answer = client.smartnoise_synth.query(
            "pacsynth",
            PACSYNTH_MIN_EPSILON,
            1e-5,
            SPECIES_SEX,
            nullable=False,
            nb_samples=20,
            progress=False,
        )
        samples = answer.result.df_samples
        assert samples.shape == (20, 2)
        assert set(samples["sex"].dropna()) <= {"MALE", "FEMALE"}
        assert (answer.epsilon, answer.delta) == (PACSYNTH_MIN_EPSILON, 1e-5)
        after = spent(client)
        assert after[0] - before[0] == pytest.approx(PACSYNTH_MIN_EPSILON, abs=1e-12)


def test_pacsynth_on_a_table_smaller_than_its_metadata_is_refused_before_any_charge(
    veil_server: ServerThread, user: TestUser, tmp_path: Path
) -> None:
    """5 rows under metadata declaring 344: pacsynth's share of ε, sized for 344, left its noisy
    count at zero or below about 1 fit in 2.4, charged. Refused now, naming metadata.rows, in the
    estimate and the query; dummy queries (on rows drawn from the metadata) still run, and other
    synthesizers are unaffected."""
    name = _register_table(veil_server, pd.read_csv(PENGUIN_CSV).head(5), tmp_path)
    grant(veil_server, user, name, 20.0, 1e-3)
    client = manager(veil_server, user).dp(name)
    before = spent(client)
    with pytest.raises(FailedPrecondition) as estimate:
        client.smartnoise_synth.cost("pacsynth", 1.0, 1e-5, SPECIES_SEX)
    for _ in range(6):
        with pytest.raises(FailedPrecondition) as query:
            client.smartnoise_synth.query("pacsynth", 1.0, 1e-5, SPECIES_SEX, progress=False)
    for refusal in (estimate.value, query.value):
        assert refusal.field == "metadata.rows"
        assert "holds fewer rows than the 344 its metadata declares" in str(refusal)
        assert "set the metadata's rows to the table's row count" in str(refusal)
        assert " 5 " not in str(refusal)  # the true count is not told
    assert spent(client) == before
    dummy = client.smartnoise_synth.query(
        "pacsynth", 1.0, 1e-5, SPECIES_SEX, nb_samples=5, nb_rows=344, dummy=True, progress=False
    )
    assert dummy.result.df_samples.shape == (5, 2)
    assert spent(client) == before
    answer = client.smartnoise_synth.query(
        "mwem", 1.0, select_cols=SPECIES_SEX, synth_params={"iterations": 5}, progress=False
    )
    assert (answer.epsilon, answer.delta) == (1.0, 0.0)
