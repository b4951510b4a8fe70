"""Codes declared categorical (``types={"pclass": ColumnType.CATEGORY}``) are one kind of column
everywhere a run looks at them: the avatarization, the advice, the metrics and the figures.

Before 2026-12-07 only the avatarization and the advice job read the declared types: the
AdviseParameters RPC never received them, and the metrics jobs measured titanic's ``pclass`` and
``survived`` (0/1) as quantities, so a utility model on ``survived`` was a regression and the
hidden rate was computed on another projection than the one the avatars were made in.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from support import FIXTURES, ServerThread, TestUser
from veil_client import Manager
from veil_client.config import ColumnType
from veil_client.models import JobKind
from veil_service.engine.metrics import privacy_metrics, signal_metrics

COLUMNS = ["pclass", "survived", "sex", "age", "sibsp", "parch", "fare", "embarked"]
DECLARED = ["pclass", "survived"]


@pytest.fixture()
def manager(veil_server: ServerThread, user: TestUser) -> Manager:
    return Manager(base_url=veil_server.url, api_key=user.api_key)


def test_declared_codes_are_measured_as_modalities_and_the_server_agrees_with_the_engine(
    manager: Manager,
) -> None:
    titanic = pd.read_csv(FIXTURES / "tables" / "titanic_1309.csv.gz", na_values="?")[COLUMNS]
    runner = manager.create_runner("declared_types", seed=3)
    runner.add_table("titanic", titanic, types={c: ColumnType.CATEGORY for c in DECLARED})
    # The named target column is the utility model's label (and the privacy metrics' secret).
    runner.set_parameters("titanic", k=20, ncp=5, target="survived", target_column="survived")
    runner.run(jobs_to_run=[JobKind.standard, JobKind.privacy_metrics, JobKind.signal_metrics])
    privacy = runner.privacy_metrics("titanic")[0]
    signal = runner.signal_metrics("titanic")[0]
    assert set(DECLARED) <= set(privacy["metadata"]["categorical_columns"])
    assert not set(DECLARED) & set(privacy["metadata"]["continuous_columns"])
    # The utility model predicts survived as a class (ROC AUC), not a number (R2 ~0.35).
    assert signal["ml_utility_metric"] == "roc_auc"
    assert signal["ml_utility_real"] > 0.8
    # The engine, called directly on the same avatars with the declared codes as categories,
    # gives the server's figures.
    avatars = runner.sensitive_unshuffled("titanic")
    as_categories = {c: "category" for c in DECLARED}
    original, unshuffled = titanic.astype(as_categories), avatars.astype(as_categories)
    direct = privacy_metrics(
        original, unshuffled, table_name="titanic", ncp=5, target="survived", seed=3
    )
    for name in ("hidden_rate", "local_cloaking", "distance_to_closest", "singling_out_risk"):
        assert privacy[name] == pytest.approx(direct[name]), name
    direct_signal = signal_metrics(original, unshuffled, target="survived", seed=3)
    for name in ("hellinger_mean", "ml_utility_real", "ml_utility_avatar"):
        assert signal[name] == pytest.approx(direct_signal[name]), name


def test_a_linked_runs_metrics_measure_declared_codes_as_modalities(manager: Manager) -> None:
    rng = np.random.default_rng(5)
    accounts = pd.DataFrame(
        {
            "id": np.arange(80),
            "tier": rng.integers(1, 4, 80),  # a code stored as a number
            "age_years": rng.uniform(1, 30, 80).round(1),
        }
    )
    owner = rng.integers(0, 80, 400)
    payments = pd.DataFrame(
        {
            "tx": np.arange(400),
            "account": owner,
            "amount": (accounts["tier"].to_numpy()[owner] * rng.uniform(10, 20, 400)).round(2),
        }
    )
    runner = manager.create_runner("declared_linked", seed=1)
    runner.add_table("account", accounts, primary_key="id", types={"tier": ColumnType.CATEGORY})
    runner.add_table("payment", payments, primary_key="tx", foreign_keys=["account"])
    runner.add_link("account", "id", "payment", "account")
    runner.set_parameters("account", k=5)
    runner.set_parameters("payment", k=10)
    runner.run(jobs_to_run=[JobKind.standard, JobKind.privacy_metrics, JobKind.signal_metrics])
    standalone = next(
        m
        for m in runner.privacy_metrics("account")
        if m["metadata"]["computation_type"] == "standalone"
    )
    assert "tier" in standalone["metadata"]["categorical_columns"]
    assert "tier" not in standalone["metadata"]["continuous_columns"]
    assert set(runner.shuffled("account")["tier"]) <= {1, 2, 3}
