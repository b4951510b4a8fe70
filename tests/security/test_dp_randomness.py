"""Defect 1: private-mode randomness is never chosen by the caller (issue 19).

The attack: the same private query sent twice with ``random_state=1234`` returned identical noise,
so two queries at different ε solved for the exact private value. Every library is checked: the
same private query twice must give different noise, and seed-like options are refused or
overridden. Worker processes forked from one forkserver used to share numpy's global state, so
synthesizers drawing from it (AIM, MST, MWEM) repeated their randomness too.
"""

from __future__ import annotations

import opendp.prelude as dp
import pytest
from diffprivlib.models import GaussianNB, RandomForestClassifier, StandardScaler
from veil_client import InvalidArgument
from veil_client.dp_client import DPClient

dp.enable_features("contrib")

pytestmark = [
    pytest.mark.filterwarnings("ignore:Call to deprecated function:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:scipy.optimize:DeprecationWarning"),
]

FEATURES = ["bill_length_mm", "bill_depth_mm"]
BOUNDS = ([30.0, 13.0], [65.0, 23.0])
COLUMNS = [
    "species",
    "island",
    "bill_length_mm",
    "bill_depth_mm",
    "flipper_length_mm",
    "body_mass_g",
    "sex",
]


def test_diffprivlib_random_state_does_not_fix_private_noise(client: DPClient) -> None:
    scaler = StandardScaler(epsilon=0.5, bounds=BOUNDS, random_state=1234)
    means = [
        tuple(client.diffprivlib.query(scaler, FEATURES).result.model.steps[0][1].mean_)
        for _ in range(2)
    ]
    assert means[0] != means[1]
    # Dummy data is public: there the seed is honoured, and makes runs reproducible.
    dummy = [
        tuple(
            client.diffprivlib.query(scaler, FEATURES, dummy=True, seed=7)
            .result.model.steps[0][1]
            .mean_
        )
        for _ in range(2)
    ]
    assert dummy[0] == dummy[1]


@pytest.mark.parametrize(
    "model",
    [
        GaussianNB(epsilon=1.0, bounds=BOUNDS, random_state=5),
        RandomForestClassifier(
            n_estimators=3, epsilon=1.0, bounds=BOUNDS, classes=["Adelie", "Chinstrap", "Gentoo"]
        ),
    ],
    ids=["gaussian_nb_seeded", "random_forest_unseeded"],
)
def test_diffprivlib_models_draw_fresh_noise(client: DPClient, model: object) -> None:
    fitted = [
        client.diffprivlib.query(model, FEATURES, ["species"]).result.model.steps[0][1]
        for _ in range(2)
    ]
    first, second = (
        (f.theta_.tobytes() if hasattr(f, "theta_") else repr(f.estimators_[0].tree_.value))
        for f in fitted
    )
    assert first != second


@pytest.mark.parametrize("synth", ["mwem"])
def test_synthesizers_draw_fresh_randomness(client: DPClient, synth: str) -> None:
    params = {"iterations": 3} if synth == "mwem" else {}
    samples = [
        client.smartnoise_synth.query(
            synth,
            epsilon=1.0,
            select_cols=["species", "island"],
            synth_params=params,
            nb_samples=200,
        ).result.df_samples.to_csv(index=False)
        for _ in range(2)
    ]
    assert samples[0] != samples[1]


@pytest.mark.parametrize("key", ["random_state", "seed", "rng"])
def test_synthesizer_seed_parameters_are_refused(client: DPClient, key: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        client.smartnoise_synth.cost(
            "mwem", epsilon=1.0, select_cols=["species"], synth_params={key: 3}
        )
    assert refused.value.field == "synth_params"
    assert key in refused.value.message


def test_smartnoise_sql_noise_is_fresh(client: DPClient) -> None:
    query = "SELECT AVG(bill_length_mm) AS mean FROM df"
    values = [
        client.smartnoise_sql.query(query, epsilon=0.5, delta=1e-5).result.df.iloc[0, 0]
        for _ in range(2)
    ]
    assert values[0] != values[1]


def test_opendp_noise_is_fresh(client: DPClient) -> None:
    pipeline = (
        dp.t.make_split_dataframe(",", COLUMNS)
        >> dp.t.make_select_column("bill_length_mm", str)
        >> dp.t.then_cast_default(float)
        >> dp.t.then_impute_constant(43.61)
        >> dp.t.then_clamp((30.0, 65.0))
        >> dp.t.then_resize(346, 43.61)
        >> dp.t.then_mean()
        >> dp.m.then_laplace(5.0)
    )
    values = [client.opendp.query(pipeline).result.value for _ in range(2)]
    assert values[0] != values[1]
