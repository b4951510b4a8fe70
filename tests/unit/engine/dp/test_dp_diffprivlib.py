"""diffprivlib: cost = Σ accountant spend, PrivacyLeakWarning blocks, safe models, pickle opt-in."""

from __future__ import annotations

import json
import pickle
import warnings
from typing import Any

import pandas as pd
import pytest
from diffprivlib import models
from diffprivlib.accountant import BudgetAccountant
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler
from support import FIXTURES
from veil_client.dp_serialization import load_model, serialize_diffprivlib_pipeline
from veil_client.errors import InvalidArgument
from veil_service.engine.dp import diffprivlib_pipeline
from veil_service.engine.dp.dummy import make_dummy_dataset
from veil_service.engine_contract.dp_metadata import Metadata
from veil_service.engine_contract.dp_requests import DiffPrivLibRequest
from veil_service.errors import InvalidArgumentError

LOMAS = FIXTURES / "lomas"

FEATURES = ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g")
BOUNDS = ([30.0, 13.0, 150.0, 2000.0], [65.0, 23.0, 250.0, 7000.0])
SPECIES = ["Adelie", "Chinstrap", "Gentoo"]


def _lomas_example() -> Pipeline:
    return Pipeline(
        [
            ("scaler", models.StandardScaler(epsilon=0.5, bounds=BOUNDS)),
            ("classifier", models.LogisticRegression(epsilon=1.0, data_norm=83.69469642643347)),
        ]
    )


def _request(pipeline: Any, **kwargs: Any) -> DiffPrivLibRequest:
    kwargs.setdefault("target_columns", ("species",))
    return DiffPrivLibRequest(
        serialize_diffprivlib_pipeline(pipeline), FEATURES, test_train_split_seed=4, **kwargs
    )


def test_lomas_example_cost_and_result(penguin: Metadata, penguins: pd.DataFrame) -> None:
    request = _request(_lomas_example())
    cost = diffprivlib_pipeline.estimate_cost(request, penguin)
    assert (cost.epsilon, cost.delta) == (1.5, 0.0)
    result = diffprivlib_pipeline.execute(request, penguins, penguin)
    assert result.spent == cost
    # Private data: no raw score (issue 19 (a)); see test_private_score_is_a_dp_estimate.
    assert result.score is None
    assert result.model is not None and result.model.format == "skops"
    fitted = load_model(result.model.data, "skops")
    assert fitted.predict(penguins.dropna()[list(FEATURES)].head(3)).shape == (3,)


def test_cost_equals_direct_library_fit(penguin: Metadata, penguins: pd.DataFrame) -> None:
    """The estimate (no data) equals what the accountants record on a direct in-process fit."""
    pipeline = _lomas_example()
    accountants = [BudgetAccountant(), BudgetAccountant()]
    for (_, step), accountant in zip(pipeline.steps, accountants, strict=True):
        step.set_params(accountant=accountant)
    data = penguins.dropna()
    x_train, _, y_train, _ = train_test_split(
        data[list(FEATURES)], data["species"], test_size=0.2, random_state=4
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"scipy\.optimize", category=DeprecationWarning)
        pipeline.fit(x_train, y_train)
    direct = sum(a.total()[0] for a in accountants)
    cost = diffprivlib_pipeline.estimate_cost(_request(_lomas_example()), penguin)
    assert cost.epsilon == direct


@pytest.mark.parametrize("strategy", ["drop", "mean", "median", "most_frequent"])
def test_imputer_strategies(strategy: str, penguin: Metadata, penguins: pd.DataFrame) -> None:
    result = diffprivlib_pipeline.execute(
        _request(_lomas_example(), imputer_strategy=strategy), penguins, penguin, seed=3
    )
    assert result.score is not None


def test_unknown_imputer(penguin: Metadata) -> None:
    with pytest.raises(InvalidArgumentError, match="i_do_not_exist not supported") as info:
        diffprivlib_pipeline.estimate_cost(
            _request(_lomas_example(), imputer_strategy="i_do_not_exist"), penguin
        )
    assert info.value.field == "imputer_strategy"


def test_privacy_leak_warning_blocks(penguin: Metadata, penguins: pd.DataFrame) -> None:
    leaky = Pipeline(
        [
            ("scaler", models.StandardScaler(epsilon=0.5)),
            ("classifier", models.LogisticRegression(epsilon=1.0)),
        ]
    )
    with pytest.raises(InvalidArgumentError, match="PrivacyLeakWarning") as info:
        diffprivlib_pipeline.execute(_request(leaky), penguins, penguin)
    assert info.value.field == "pipeline_json"


@pytest.mark.parametrize(
    ("model", "targets", "epsilon"),
    [
        (models.GaussianNB(bounds=BOUNDS, priors=(0.3, 0.3, 0.4)), ("species",), 1.0),
        (
            models.RandomForestClassifier(
                n_estimators=5, epsilon=2.0, bounds=BOUNDS, classes=SPECIES
            ),
            ("species",),
            2.0,
        ),
        (
            models.DecisionTreeClassifier(epsilon=2.0, bounds=BOUNDS, classes=SPECIES),
            ("species",),
            2.0,
        ),
        (models.KMeans(n_clusters=3, epsilon=2.0, bounds=BOUNDS), None, 2.0),
        (models.PCA(n_components=2, epsilon=2.0, bounds=BOUNDS, data_norm=100.0), None, 2.0),
    ],
)
def test_other_models(
    model: Any, targets: Any, epsilon: float, penguin: Metadata, penguins: pd.DataFrame
) -> None:
    request = _request(model, target_columns=targets)
    assert diffprivlib_pipeline.estimate_cost(request, penguin).epsilon == epsilon
    result = diffprivlib_pipeline.execute(request, penguins, penguin)
    assert result.spent is not None and result.spent.epsilon == epsilon
    assert result.model is not None


def test_linear_regression_on_dummy(penguin: Metadata) -> None:
    model = models.LinearRegression(epsilon=2.0, bounds_X=(30.0, 65.0), bounds_y=(13.0, 23.0))
    request = DiffPrivLibRequest(
        serialize_diffprivlib_pipeline(model), ("bill_length_mm",), ("bill_depth_mm",)
    )
    result = diffprivlib_pipeline.execute(
        request, make_dummy_dataset(penguin, 200), penguin, seed=1
    )
    assert result.score is not None


def test_pickle_needs_both_sides(penguin: Metadata, penguins: pd.DataFrame) -> None:
    only_client = _request(models.GaussianNB(bounds=BOUNDS), allow_pickle=True)
    result = diffprivlib_pipeline.execute(only_client, penguins, penguin)
    assert result.model is not None and result.model.format == "skops"
    result = diffprivlib_pipeline.execute(only_client, penguins, penguin, allow_pickle=True)
    assert result.model is not None and result.model.format == "pickle"
    with pytest.raises(InvalidArgument, match="allow_pickle"):
        load_model(result.model.data, "pickle")
    assert load_model(result.model.data, "pickle", allow_pickle=True) is not None
    assert isinstance(pickle.loads(result.model.data), Pipeline)


def _doc(steps: list[dict[str, Any]]) -> str:
    return json.dumps({"format": "veil-diffprivlib", "format_version": 1, "steps": steps})


@pytest.mark.parametrize(
    ("pipeline_json", "fragment"),
    [
        (_doc([{"name": "s", "class": "MinMaxScaler", "params": {}}]), "'MinMaxScaler'"),
        (_doc([{"name": "s", "class": "GaussianNB", "params": {"accountant": "x"}}]), "accountant"),
        (_doc([{"name": "s", "class": "GaussianNB", "params": {"nope": 1}}]), "nope"),
        (
            _doc([{"name": "s", "class": "GaussianNB", "params": {"priors": {"__class__": 1}}}]),
            "JSON number",
        ),
        (json.dumps({"module": "diffprivlib", "pipeline": []}), "veil-diffprivlib"),
        ("not json", "not valid JSON"),
    ],
)
def test_unsafe_pipelines_are_refused(pipeline_json: str, fragment: str, penguin: Metadata) -> None:
    request = DiffPrivLibRequest(pipeline_json, FEATURES, ("species",))
    with pytest.raises(InvalidArgumentError) as info:
        diffprivlib_pipeline.estimate_cost(request, penguin)
    assert info.value.field == "pipeline_json" and fragment in info.value.message


def test_client_refuses_non_dp_steps_and_custom_accountants() -> None:
    with pytest.raises(InvalidArgument, match="MinMaxScaler"):
        serialize_diffprivlib_pipeline(Pipeline([("s", MinMaxScaler())]))
    with pytest.raises(InvalidArgument, match="accountant"):
        serialize_diffprivlib_pipeline(models.GaussianNB(accountant=BudgetAccountant()))


def test_unknown_columns(penguin: Metadata) -> None:
    request = DiffPrivLibRequest(
        serialize_diffprivlib_pipeline(models.GaussianNB()), ("wingspan",), ("species",)
    )
    with pytest.raises(InvalidArgumentError) as info:
        diffprivlib_pipeline.estimate_cost(request, penguin)
    assert info.value.field == "feature_columns"


def test_private_score_is_a_dp_estimate_charged_on_top(
    penguin: Metadata, penguins: pd.DataFrame
) -> None:
    """Issue 19 (a): the held-out score on private rows was released without noise. Now a
    private query gives no score, or on request a DP accuracy charged as score_epsilon."""
    request = _request(_lomas_example(), score_epsilon=0.5)
    cost = diffprivlib_pipeline.estimate_cost(request, penguin)
    assert (cost.epsilon, cost.delta) == (2.0, 0.0)
    scores = []
    for _ in range(6):
        result = diffprivlib_pipeline.execute(request, penguins, penguin)
        assert result.spent == cost
        assert result.score is not None and 0.0 <= result.score <= 1.0
        scores.append(result.score)
    # Noisy: a raw accuracy is k/69; the estimate is clipped to [0, 1], so 0 and 1 can repeat.
    inside = [s for s in scores if 0.0 < s < 1.0]
    assert len(set(scores)) >= 2
    assert any(abs(s * 69 - round(s * 69)) > 1e-9 for s in inside), scores

    dummy = diffprivlib_pipeline.execute(
        _request(_lomas_example()), make_dummy_dataset(penguin, 200), penguin, seed=1
    )
    assert dummy.score is not None  # dummy rows are public: the raw score


@pytest.mark.parametrize("score_epsilon", [0.0, -1.0, float("nan"), float("inf")])
def test_score_epsilon_must_be_positive(score_epsilon: float, penguin: Metadata) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        diffprivlib_pipeline.estimate_cost(
            _request(_lomas_example(), score_epsilon=score_epsilon), penguin
        )
    assert info.value.field == "score_epsilon"


def test_score_epsilon_needs_a_classifier(penguin: Metadata) -> None:
    model = models.LinearRegression(epsilon=2.0, bounds_X=(30.0, 65.0), bounds_y=(13.0, 23.0))
    request = DiffPrivLibRequest(
        serialize_diffprivlib_pipeline(model),
        ("bill_length_mm",),
        ("bill_depth_mm",),
        score_epsilon=0.5,
    )
    with pytest.raises(InvalidArgumentError, match="not a classifier") as info:
        diffprivlib_pipeline.estimate_cost(request, penguin)
    assert info.value.field == "score_epsilon"


@pytest.mark.parametrize(
    ("pipeline", "targets", "field", "fragment"),
    [
        (
            Pipeline([("c", models.GaussianNB(epsilon=1.0, bounds=([0, 0], [1, 1])))]),
            ("species",),
            "pipeline_json",
            "bounds has 2 entries, but the step receives 4 feature",
        ),
        (
            Pipeline(
                [
                    ("pca", models.PCA(n_components=2, epsilon=1.0, bounds=BOUNDS, data_norm=9e3)),
                    ("c", models.GaussianNB(epsilon=1.0, bounds=BOUNDS)),
                ]
            ),
            ("species",),
            "pipeline_json",
            "bounds has 4 entries, but the step receives 2 feature",
        ),
        (
            Pipeline([("c", models.GaussianNB(epsilon=1.0, bounds=BOUNDS))]),
            (),
            "target_columns",
            "needs exactly one target column; got 0",
        ),
        (
            Pipeline([("c", models.GaussianNB(epsilon=1.0, bounds=BOUNDS))]),
            ("species", "island"),
            "target_columns",
            "needs exactly one target column; got 2",
        ),
        (
            Pipeline([("k", models.KMeans(n_clusters=0, epsilon=1.0, bounds=BOUNDS))]),
            (),
            "pipeline_json",
            "'n_clusters' parameter of KMeans must be an int in the range",
        ),
        (
            Pipeline([("c", models.LogisticRegression(C=-1, epsilon=1.0, data_norm=83.0))]),
            ("species",),
            "pipeline_json",
            "'C' parameter of LogisticRegression must be a float",
        ),
    ],
)
def test_a_pipeline_no_data_can_fit_is_refused_by_the_cost(
    pipeline: Pipeline,
    targets: tuple[str, ...],
    field: str,
    fragment: str,
    penguin: Metadata,
    penguins: pd.DataFrame,
) -> None:
    # Each was priced, then failed on the private rows and was charged.
    request = _request(pipeline, target_columns=targets)
    with pytest.raises(InvalidArgumentError, match=fragment) as refused:
        diffprivlib_pipeline.estimate_cost(request, penguin)
    assert refused.value.field == field
    with pytest.raises(InvalidArgumentError, match=fragment):
        diffprivlib_pipeline.execute(request, penguins, penguin)


def test_unsupervised_pipelines_and_scalar_bounds_are_still_priced(penguin: Metadata) -> None:
    for pipeline, targets in (
        (Pipeline([("k", models.KMeans(n_clusters=3, epsilon=1.0, bounds=BOUNDS))]), ()),
        (Pipeline([("c", models.GaussianNB(epsilon=1.0, bounds=(0.0, 7000.0)))]), ("species",)),
    ):
        cost = diffprivlib_pipeline.estimate_cost(
            _request(pipeline, target_columns=targets), penguin
        )
        assert cost.epsilon == 1.0
