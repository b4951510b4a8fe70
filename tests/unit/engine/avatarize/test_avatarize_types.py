"""Types in, types out: every supported dtype restored, missing values reproduced, ranges kept."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from support import FIXTURES
from veil_service.engine.avatarize import avatarize

ADULT = FIXTURES / "tables" / "adult_6000.csv.gz"


def _mixed(n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    age = rng.integers(18, 90, n)
    return pd.DataFrame(
        {
            "age": age,
            "income": 1000.0 + 30.0 * age + rng.normal(0, 200, n),
            "smoker": rng.random(n) < 0.3,
            "blood": pd.Categorical(rng.choice(["A", "B", "AB", "O"], n), ordered=False),
            "city": rng.choice(["Paris", "Lyon", "Nantes"], n).astype(object),
            "visit": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), "D"),
            "stamp": pd.Timestamp("2024-01-01", tz="Europe/Paris")
            + pd.to_timedelta(rng.integers(0, 86_400, n), "s"),
            "stage": rng.integers(1, 4, n),
            "count": pd.array(rng.integers(0, 10, n), dtype="Int64"),
        }
    )


def test_dtypes_ranges_and_resolutions_are_restored() -> None:
    df = _mixed()
    result = avatarize(df, k=10, categorical_columns=["stage"], seed=0)
    avatars = result.avatars
    assert list(avatars.columns) == list(df.columns)
    assert avatars.dtypes.to_dict() == df.dtypes.to_dict()
    for name in ("age", "income", "visit", "stamp", "count"):
        assert avatars[name].min() >= df[name].min()
        assert avatars[name].max() <= df[name].max()
    # Whole days stay whole days; seconds stay seconds; the time zone is kept.
    assert (avatars["visit"] == avatars["visit"].dt.normalize()).all()
    assert (avatars["stamp"].dt.microsecond == 0).all()
    assert str(avatars["stamp"].dt.tz) == "Europe/Paris"
    assert set(avatars["stage"]) <= {1, 2, 3}
    assert set(avatars["blood"].astype(str)) <= {"A", "B", "AB", "O"}
    # The avatars are new rows, not a copy of the originals.
    assert (result.unshuffled["income"] != df["income"]).mean() > 0.9


def test_declared_categorical_keeps_only_observed_codes() -> None:
    df = _mixed()
    result = avatarize(df, k=10, categorical_columns=["stage", "count"], seed=0)
    assert set(result.avatars["count"].astype(int)) <= set(df["count"].astype(int))
    continuous = avatarize(df, k=10, seed=0)
    assert result.projection_kind == continuous.projection_kind == "FAMD"


def test_missing_values_are_reproduced_not_imputed_away() -> None:
    df = _mixed(600)
    rng = np.random.default_rng(2)
    # Missing income depends on age (missing for the old): the avatars must keep that link.
    df.loc[df["age"] > 70, "income"] = np.nan
    df.loc[rng.random(600) < 0.1, "city"] = None
    df.loc[rng.random(600) < 0.1, "count"] = pd.NA
    result = avatarize(df, k=10, seed=0)
    avatars = result.avatars
    for name in ("income", "city", "count"):
        share = df[name].isna().mean()
        assert abs(avatars[name].isna().mean() - share) < 0.05, name
    assert avatars["count"].dtype == "Int64"
    missing_age = avatars.loc[avatars["income"].isna(), "age"]
    assert missing_age.mean() > 65


@pytest.mark.parametrize("method", ["knn", "fast_knn", "mode", "median", "mean"])
def test_every_imputation_method_runs_and_reproduces_missing(method: str) -> None:
    adult = pd.read_csv(ADULT, nrows=1500, na_values="?")
    assert adult["occupation"].isna().any()
    result = avatarize(
        adult,
        k=10,
        imputation_method=method,
        imputation_k=3,
        imputation_training_fraction=0.5,
        seed=0,
    )
    share = adult["occupation"].isna().mean()
    assert abs(result.avatars["occupation"].isna().mean() - share) < 0.03
    assert result.avatars["workclass"].dropna().isin(adult["workclass"].dropna()).all()


@pytest.mark.parametrize("method", ["knn", "fast_knn"])
def test_knn_imputed_values_are_on_the_column_scale(method: str) -> None:
    # The donors' standardised mean was written back as the value: an age around 100 was
    # imputed as about 0, and with return_data_imputed a quarter of the avatars got one value.
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"age": rng.normal(100, 10, 600), "w": rng.normal(50, 5, 600)})
    df.loc[rng.random(600) < 0.3, "age"] = np.nan
    result = avatarize(
        df, k=10, imputation_method=method, imputation_return_data_imputed=True, seed=1
    )
    ages = result.avatars["age"]
    assert ages.notna().all()
    assert 95 < ages.mean() < 105 and ages.min() > 60
    assert ages.value_counts().iloc[0] < 20  # no pile of avatars on one value


def test_fast_knn_with_a_single_complete_donor_imputes_its_values() -> None:
    # Nine observed features and one complete row: the donors' covariance was NaN and the
    # standard job failed (LinAlgError / "Input X contains NaN", an engine incident).
    from veil_service.engine.avatarize.imputation import impute

    rng = np.random.default_rng(0)
    continuous = rng.normal(size=(50, 10))
    continuous[1:, 9] = np.nan
    no_codes = np.empty((50, 0), dtype=np.int32)
    filled, _ = impute(
        continuous, no_codes, [], method="fast_knn", k=5, training_fraction=1.0, rng=rng
    )
    assert (filled[1:, 9] == continuous[0, 9]).all()


def test_excluded_variables_row_order_and_coordinate_similarity() -> None:
    # A ward of 40 (an identifier would come back as pseudonyms: test_avatarize_identifiers.py).
    df = _mixed().assign(ward=[f"W{i % 40:02d}" for i in range(400)])
    by_row = avatarize(df, k=10, exclude_variable_names=["ward"], seed=0)
    assert (by_row.unshuffled["ward"] == df["ward"]).all()
    similar = avatarize(
        df,
        k=10,
        exclude_variable_names=["ward"],
        exclude_variables_method="coordinate_similarity",
        seed=0,
    )
    assert similar.avatars["ward"].isin(df["ward"]).all()
    # Linked by similarity, not by row: most avatars get another individual's value.
    assert (similar.unshuffled["ward"] != df["ward"]).mean() > 0.5


def test_column_weights_pull_the_neighbourhood_toward_the_weighted_variable() -> None:
    df = _mixed(600)
    plain = avatarize(df, k=10, seed=0).unshuffled
    weighted = avatarize(df, k=10, column_weights={"city": 10.0}, seed=0).unshuffled
    kept_plain = (plain["city"] == df["city"]).mean()
    kept_weighted = (weighted["city"] == df["city"]).mean()
    assert kept_weighted > kept_plain + 0.1
    assert kept_weighted > 0.9


def test_categorical_reduction_embeds_many_modality_columns() -> None:
    adult = pd.read_csv(ADULT, nrows=4000)
    result = avatarize(adult, k=10, use_categorical_reduction=True, seed=0)
    avatars = result.avatars
    assert avatars.dtypes.to_dict() == adult.dtypes.to_dict()
    for name in ("education", "occupation", "native-country"):
        assert avatars[name].isin(adult[name]).all()
    # The mix of modalities is kept: the commonest education level stays the commonest.
    assert avatars["education"].mode()[0] == adult["education"].mode()[0]
    # education (16 modalities) and education-num carry the same information; the embedding
    # keeps their relation for most avatars.
    pairs = adult.groupby("education")["education-num"].first()
    assert (avatars["education"].map(pairs) - avatars["education-num"]).abs().le(2).mean() > 0.7


@pytest.mark.parametrize("backend", ["numpy_nullable", "pyarrow"])
def test_nullable_and_arrow_dtypes_are_restored_with_their_missing_values(backend: str) -> None:
    df = _mixed()
    df["smoker"] = df["smoker"].astype(object)
    df.loc[::7, "income"] = np.nan
    df.loc[::9, "city"] = None
    df.loc[::11, "visit"] = pd.NaT
    df.loc[::5, "smoker"] = None
    converted = df.convert_dtypes(dtype_backend=backend)  # type: ignore[arg-type]
    result = avatarize(converted, k=10, seed=0)
    assert result.avatars.dtypes.to_dict() == converted.dtypes.to_dict()
    # Same values whatever the backend: the types change the storage, not the avatars.
    plain = avatarize(df, k=10, seed=0).avatars
    assert result.avatars.isna().sum().to_dict() == plain.isna().sum().to_dict()
    assert (result.avatars["age"].astype(int) == plain["age"]).all()


def test_non_string_column_labels_and_custom_index_are_kept() -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {0: rng.normal(size=300), 1: rng.choice(["a", "b", "c"], 300)},
        index=np.arange(300) * 3 + 7,
    )
    result = avatarize(df, k=5, ncp=2, seed=0)
    assert [*result.avatars.columns] == [0, 1]
    assert list(result.unshuffled.index) == list(df.index)
    assert list(result.original_projections.index) == list(df.index)
    assert list(result.avatars.index) == list(range(300))


@pytest.mark.parametrize("marker", [np.nan, None])
def test_missing_categories_come_back_as_the_inputs_missing_value(marker: object) -> None:
    df = _mixed(300)
    df["city"] = df["city"].astype(object)
    df.loc[::6, "city"] = marker
    df["grade"] = pd.Categorical(df["city"].fillna("x").str[0])
    df.loc[::5, "grade"] = np.nan
    df["label"] = df["city"].astype("string")
    avatars = avatarize(df, k=10, seed=0).avatars
    for name, expected in (("city", marker), ("grade", np.nan), ("label", pd.NA)):
        missing = avatars.loc[avatars[name].isna(), name]
        assert len(missing) > 0, name
        first = missing.iloc[0]
        assert first is expected or (expected is np.nan and first != first), (name, first)
    assert avatars.dtypes.to_dict() == df.dtypes.to_dict()
