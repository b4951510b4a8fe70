"""OpenDP, diffprivlib and smartnoise-synth through the client (lomas.md §6.3-6.5), with costs
compared to the libraries called directly in this process."""

from __future__ import annotations

import opendp.prelude as dp
import pandas as pd
import pytest
from diffprivlib.accountant import BudgetAccountant
from diffprivlib.models import GaussianNB, LogisticRegression, StandardScaler
from dp_support import PENGUIN_CSV, grant, manager, register
from sklearn.pipeline import Pipeline
from support import create_user, start_server
from veil_client import FailedPrecondition, InvalidArgument
from veil_client.dp_client import DPClient

dp.enable_features("contrib")

pytestmark = [
    # Lomas-style legacy pipelines start with make_split_dataframe, deprecated since OpenDP 0.12.
    pytest.mark.filterwarnings("ignore:Call to deprecated function:DeprecationWarning"),
    # diffprivlib's LogisticRegression passes L-BFGS-B options SciPy 1.17 deprecates.
    pytest.mark.filterwarnings("ignore:scipy.optimize:DeprecationWarning"),
]

COLUMNS = [
    "species",
    "island",
    "bill_length_mm",
    "bill_depth_mm",
    "flipper_length_mm",
    "body_mass_g",
    "sex",
]
FEATURES = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
MWEM = {"iterations": 5}
BOUNDS = ([30.0, 13.0, 150.0, 2000.0], [65.0, 23.0, 250.0, 7000.0])


def _bill_mean() -> dp.Transformation:
    return (
        dp.t.make_split_dataframe(",", COLUMNS)
        >> dp.t.make_select_column("bill_length_mm", str)
        >> dp.t.then_cast_default(float)
        >> dp.t.then_impute_constant(43.61)
        >> dp.t.then_clamp((30.0, 65.0))
        >> dp.t.then_resize(346, 43.61)
        >> dp.t.then_mean()
    )


def test_opendp_measurements(client: DPClient) -> None:
    laplace = _bill_mean() >> dp.m.then_laplace(5.0)
    cost = client.opendp.cost(laplace)
    assert (cost.epsilon, cost.delta) == (laplace.map(1), 0.0)
    answer = client.opendp.query(laplace)
    assert isinstance(answer.result.value, float) and answer.epsilon == laplace.map(1)
    assert isinstance(client.opendp.query(laplace, dummy=True).result.value, float)

    with pytest.raises(InvalidArgument) as not_measurement:
        client.opendp.cost(dp.serialize(_bill_mean()))
    assert not_measurement.value.field == "pipeline_json"

    gaussian = _bill_mean() >> dp.m.then_gaussian(5.0)
    with pytest.raises(InvalidArgument) as no_delta:
        client.opendp.query(gaussian)
    assert no_delta.value.field == "fixed_delta"
    approx = dp.c.make_zCDP_to_approxDP(gaussian)
    expected = approx.map(1).epsilon(1e-6)
    cost = client.opendp.cost(gaussian, fixed_delta=1e-6)
    assert (cost.epsilon, cost.delta) == (expected, 1e-6)
    answer = client.opendp.query(gaussian, fixed_delta=1e-6)
    assert (answer.epsilon, answer.delta) == (expected, 1e-6)
    spent = client.get_total_spent_budget()
    assert spent.total_spent_epsilon == pytest.approx(laplace.map(1) + expected)
    assert [q["dp_library"] for q in client.get_previous_queries()] == ["opendp", "opendp"]


def test_opendp_pipelines_its_own_json_cannot_carry(client: DPClient) -> None:
    variance = (
        dp.t.make_split_dataframe(",", COLUMNS)
        >> dp.t.make_select_column("bill_length_mm", str)
        >> dp.t.then_cast_default(float)
        >> dp.t.then_impute_constant(43.61)
        >> dp.t.then_clamp((30.0, 65.0))
        >> dp.t.then_resize(344, 43.61)
        >> dp.t.then_variance()
        >> dp.m.then_laplace(5.0)
    )
    before = client.get_total_spent_budget().total_spent_epsilon
    answer = client.opendp.query(variance)
    assert isinstance(answer.result.value, float) and answer.epsilon == variance.map(1)
    counts = (
        dp.t.make_split_dataframe(",", COLUMNS)
        >> dp.t.make_select_column("species", str)
        >> dp.t.then_count_by_categories(categories=["Adelie", "Chinstrap", "Gentoo"])
        >> dp.m.then_laplace(2.0)
    )
    answer = client.opendp.query(counts)
    assert len(answer.result.value) == 4 and answer.epsilon == counts.map(1)
    spent = client.get_total_spent_budget().total_spent_epsilon - before
    assert spent == pytest.approx(variance.map(1) + counts.map(1))


def test_diffprivlib_pipeline_cost_score_and_safe_model(client: DPClient) -> None:
    pipeline = Pipeline(
        [
            ("scaler", StandardScaler(epsilon=0.5, bounds=BOUNDS)),
            ("classifier", LogisticRegression(epsilon=1.0, data_norm=83.69)),
        ]
    )
    cost = client.diffprivlib.cost(pipeline, FEATURES, ["species"], test_train_split_seed=4)
    assert (cost.epsilon, cost.delta) == (1.5, 0.0)
    answer = client.diffprivlib.query(pipeline, FEATURES, ["species"], test_train_split_seed=4)
    assert (answer.epsilon, answer.delta) == (1.5, 0.0)
    assert answer.result.score is None  # no noise-free score from private rows (issue 19 (a))
    scored = client.diffprivlib.query(
        pipeline, FEATURES, ["species"], test_train_split_seed=4, score_epsilon=0.5
    )
    assert (scored.epsilon, scored.delta) == (2.0, 0.0)
    assert scored.result.score is not None and 0.0 <= scored.result.score <= 1.0
    model = answer.result.model
    assert isinstance(model, Pipeline)
    accountant = BudgetAccountant()
    direct = Pipeline(
        [
            ("scaler", StandardScaler(epsilon=0.5, bounds=BOUNDS, accountant=accountant)),
            ("classifier", LogisticRegression(epsilon=1.0, data_norm=83.69, accountant=accountant)),
        ]
    )
    frame = pd.read_csv(PENGUIN_CSV).dropna()
    direct.fit(frame[FEATURES], frame["species"])
    assert accountant.total() == (answer.epsilon, answer.delta)
    assert model.predict(frame[FEATURES].head(3)).shape == (3,)

    dummy = client.diffprivlib.query(pipeline, FEATURES, ["species"], dummy=True, nb_rows=200)
    assert (dummy.epsilon, dummy.charged) == (1.5, False) and dummy.result.score is not None
    with pytest.raises(InvalidArgument) as imputer:
        client.diffprivlib.cost(pipeline, FEATURES, ["species"], imputer_strategy="i_do_not_exist")
    assert imputer.value.field == "imputer_strategy"
    assert "i_do_not_exist not supported" in imputer.value.message

    leaky = Pipeline(
        [("scaler", StandardScaler(epsilon=0.5)), ("classifier", LogisticRegression(epsilon=1.0))]
    )
    before = client.get_total_spent_budget().total_spent_epsilon
    with pytest.raises(InvalidArgument) as leak:
        client.diffprivlib.query(leaky, FEATURES, ["species"])
    assert "PrivacyLeakWarning" in leak.value.message
    assert client.get_total_spent_budget().total_spent_epsilon == before


def test_smartnoise_synth_samples_and_model_opt_in(client: DPClient) -> None:
    cost = client.smartnoise_synth.cost(
        "mwem", epsilon=1.0, select_cols=["species", "island"], synth_params=MWEM
    )
    assert (cost.epsilon, cost.delta) == (1.0, 0.0)
    answer = client.smartnoise_synth.query(
        "mwem", epsilon=1.0, select_cols=["species", "island"], synth_params=MWEM, nb_samples=50
    )
    samples = answer.result.df_samples
    # PENGUIN's metadata leaves `nullable` at smartnoise's default (true): the null is one more
    # public bin of MWEM's histogram, so a sample may be missing; every other value is a category.
    assert samples.shape == (50, 2)
    assert set(samples["species"].dropna()) <= {"Adelie", "Chinstrap", "Gentoo"}
    assert answer.epsilon == 1.0
    dummy = client.smartnoise_synth.query(
        "mwem", epsilon=1.0, select_cols=["species"], synth_params=MWEM, nb_samples=10, dummy=True
    )
    assert dummy.result.df_samples.shape == (10, 1) and (dummy.epsilon, dummy.charged) == (
        1.0,
        False,
    )
    before = client.get_total_spent_budget().total_spent_epsilon
    with pytest.raises(FailedPrecondition) as pickle_refused:
        client.smartnoise_synth.query(
            "mwem", epsilon=1.0, select_cols=["species"], return_model=True
        )
    assert pickle_refused.value.field == "return_model"
    with pytest.raises(InvalidArgument):
        client.smartnoise_synth.query("mwem", epsilon=1.0, select_cols=["species", "idonotexist"])
    assert client.get_total_spent_budget().total_spent_epsilon == before


def test_pickled_models_need_both_opt_ins(tmp_path_factory: pytest.TempPathFactory) -> None:
    server = start_server(tmp_path_factory.mktemp("veil-pickle"), allow_pickle=True)
    try:
        analyst = create_user(server, "user")
        dataset = register(server)
        grant(server, analyst, dataset, 10.0, 1e-3)
        client = manager(server, analyst).dp(dataset)
        model = client.smartnoise_synth.query(
            "mwem", epsilon=1.0, select_cols=["species"], synth_params=MWEM, return_model=True
        )
        mwem = model.result.model
        assert type(mwem).__name__ == "MWEMSynthesizer"
        assert mwem.sample(5).shape == (5, 1)
        # It carried the encoded private rows and their exact counts (PENGUIN: 344 rows).
        assert mwem.data is None
        assert [h.data for h in mwem.histograms] == [None]
        assert [real for _, real, _ in mwem.synthetic_histograms] == [None]
        # Its synthetic histogram adds up to the metadata's rows, not the private count.
        assert float(mwem.synthetic_histograms[0][0].sum()) == pytest.approx(344.0)
        # MST and pacsynth cannot be pickled: refused before the charge, not after the fit.
        spent = client.get_total_spent_budget().total_spent_epsilon
        for name, delta in (("mst", None), ("pacsynth", 1e-5)):
            with pytest.raises(InvalidArgument) as refused:
                client.smartnoise_synth.query(
                    name, 1.0, delta, ["species", "sex"], return_model=True, progress=False
                )
            assert refused.value.field == "return_model"
            assert "cannot be returned as a model" in str(refused.value)
        assert client.get_total_spent_budget().total_spent_epsilon == spent
        pipeline = GaussianNB(epsilon=1.0, bounds=BOUNDS)
        safe = client.diffprivlib.query(pipeline, FEATURES, ["species"])
        pickled = client.diffprivlib.query(pipeline, FEATURES, ["species"], allow_pickle=True)
        assert type(safe.result.model) is type(pickled.result.model) is Pipeline
        formats = [q["result_summary"] for q in client.get_previous_queries()[:2]]
        assert "(pickle)" in formats[0] and "(skops)" in formats[1]
    finally:
        server.stop()


def test_synth_constraint_objects_are_accepted_directly(client: DPClient) -> None:
    from snsynth.transform import ChainTransformer, LabelTransformer, MinMaxTransformer

    answer = client.smartnoise_synth.query(
        "mwem",
        epsilon=1.0,
        select_cols=["species", "island"],
        synth_params=MWEM,
        nb_samples=20,
        constraints={
            "species": ChainTransformer([LabelTransformer(nullable=True)]),
            "island": LabelTransformer(nullable=True),
        },
        dummy=True,
    )
    samples = answer.result.df_samples
    assert samples.shape == (20, 2)
    assert set(samples["species"].dropna()) <= {"Adelie", "Chinstrap", "Gentoo"}
    assert (answer.epsilon, answer.charged) == (1.0, False)
    with pytest.raises(InvalidArgument, match="epsilon"):
        client.smartnoise_synth.query(
            "mwem",
            epsilon=1.0,
            select_cols=["bill_length_mm"],
            constraints={"bill_length_mm": MinMaxTransformer(epsilon=1.0)},
            dummy=True,
        )
