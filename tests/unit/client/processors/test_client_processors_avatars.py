"""Each client-side processor's constraint holds in real avatars (engine avatarization, k=5).

The processors run as a user runs them: ``preprocess`` on the original, the avatarization on the
result, ``postprocess`` on the avatars; then the relation the processor exists for is checked on
every avatar row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from support import FIXTURES as TEST_DATA
from veil_client.processors import (
    DatetimeProcessor,
    ExpectedMeanProcessor,
    GeolocationNormalizationProcessor,
    GroupModalitiesProcessor,
    InterRecordBoundedCumulatedDifferenceProcessor,
    InterRecordBoundedRangeDifferenceProcessor,
    InterRecordCumulatedDifferenceProcessor,
    InterRecordRangeDifferenceProcessor,
    PerturbationProcessor,
    ProportionProcessor,
    ToCategoricalProcessor,
)
from veil_service.engine.avatarize import avatarize

FIXTURES = TEST_DATA / "avatar" / "fixtures"


@pytest.fixture(scope="module")
def epl() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "epl.csv")


def test_proportions_add_up_exactly_in_the_avatars(epl: pd.DataFrame) -> None:
    parts = ["minutes_played_home", "minutes_played_away", "minutes_on_bench"]
    processor = ProportionProcessor(parts, "minutes_in_game", sum_to_one=True, decimal_count=0)
    table = processor.preprocess(epl.drop(columns=["career_start_date", "club_signing_date"]))
    avatars = processor.postprocess(epl, avatarize(table, k=5, seed=1).avatars)
    assert (avatars[parts].sum(axis=1) == avatars["minutes_in_game"]).all()
    assert (avatars[parts] >= 0).all().all()
    assert avatars[parts].dtypes.eq("int64").all()


def test_grouped_modalities_stay_grouped_in_the_avatars() -> None:
    df = pd.read_csv(FIXTURES / "adult_with_cities_1000.csv.gz").drop(columns="native-country")
    processor = GroupModalitiesProcessor(min_unique=10, global_threshold=25, new_category="other")
    table = processor.preprocess(df)
    avatars = processor.postprocess(df, avatarize(table, k=5, seed=1).avatars)
    for column, rare in processor.grouped.items():
        assert not avatars[column].isin(rare).any(), column
        counts = df[column].value_counts()
        kept = set(counts[counts > 25].index) | {"other"}
        assert set(avatars[column].dropna()) <= kept
    assert "city" in processor.grouped and "occupation" in processor.grouped


def test_expected_mean_gives_the_original_group_means(epl: pd.DataFrame) -> None:
    df = epl.drop(columns=["career_start_date", "club_signing_date"])
    processor = ExpectedMeanProcessor(["goals_away", "goals_home"], groupby_variables=["position"])
    avatars = processor.postprocess(df, avatarize(processor.preprocess(df), k=5, seed=2).avatars)
    expected = df.groupby("position")[["goals_away", "goals_home"]].mean()
    got = avatars.groupby("position")[["goals_away", "goals_home"]].mean()
    shared = expected.index.intersection(got.index)
    # Goals are integers with group means below two: the shift must not be rounded away.
    np.testing.assert_allclose(got.loc[shared], expected.loc[shared], rtol=1e-9, atol=1e-9)


def test_perturbation_moves_aligned_avatars_by_the_level(epl: pd.DataFrame) -> None:
    df = epl.drop(columns=["career_start_date", "club_signing_date"])
    unshuffled = avatarize(df, k=5, seed=3).unshuffled
    processor = PerturbationProcessor({"age": 0, "appearances": 1, "minutes_in_game": 0.5}, seed=0)
    out = processor.postprocess(df, unshuffled)
    assert (out["age"] == df["age"]).all()
    assert (out["appearances"] == unshuffled["appearances"]).all()
    gap = (out["minutes_in_game"] - df["minutes_in_game"]).abs()
    assert (gap <= (unshuffled["minutes_in_game"] - df["minutes_in_game"]).abs() / 2 + 0.5).all()


def test_to_categorical_avatars_only_take_observed_values(epl: pd.DataFrame) -> None:
    df = epl.drop(columns=["career_start_date", "club_signing_date"])
    processor = ToCategoricalProcessor(to_categorical_threshold=12)
    table = processor.preprocess(df)
    assert "red_cards_overall" in processor.variables
    avatars = processor.postprocess(df, avatarize(table, k=5, seed=4).avatars)
    for column in processor.variables:
        assert set(avatars[column]) <= set(df[column]), column
        assert avatars[column].dtype == df[column].dtype


def test_datetimes_come_back_as_datetimes_within_the_original_range(epl: pd.DataFrame) -> None:
    df = epl.copy()
    for column in ("career_start_date", "club_signing_date"):
        df[column] = pd.to_datetime(df[column])
    processor = DatetimeProcessor()
    table = processor.preprocess(df)
    avatars = processor.postprocess(df, avatarize(table, k=5, seed=5).avatars)
    for column in ("career_start_date", "club_signing_date"):
        assert avatars[column].dtype == df[column].dtype
        assert avatars[column].between(df[column].min(), df[column].max()).all()


def test_geolocation_avatars_land_only_where_originals_were() -> None:
    taxi = pd.read_csv(FIXTURES / "porto_taxi_200.csv.gz")[["lat", "lon"]]
    bands, bins = 20, 30
    processor = GeolocationNormalizationProcessor(
        latitude_variable="lat", longitude_variable="lon", n_reference_lat=bands, n_bins=bins
    )
    with_processor = processor.postprocess(
        taxi, avatarize(processor.preprocess(taxi), k=5, ncp=2, seed=6).avatars
    )
    plain = avatarize(taxi, k=5, ncp=2, seed=6).avatars
    assert _share_in_empty_cells(taxi, with_processor, bands, bins) == 0.0
    assert _share_in_empty_cells(taxi, plain, bands, bins) > 0.0


def _share_in_empty_cells(
    original: pd.DataFrame, avatars: pd.DataFrame, bands: int, bins: int
) -> float:
    """Share of avatars whose longitude bin, in their latitude band, held no original point."""
    low, high = original["lat"].min(), original["lat"].max()
    step = (high - low) / (bands - 1)

    def band(lat: pd.Series) -> np.ndarray:
        return np.clip(np.rint((lat - low) / step), 0, bands - 1).astype(int)

    original_band = band(original["lat"])
    avatar_band = band(avatars["lat"])
    empty = 0
    for b in np.unique(avatar_band):
        lon = original["lon"].to_numpy()[original_band == b]
        if lon.size == 0:
            continue
        edges = np.linspace(lon.min(), lon.max(), bins + 1)
        counts, _ = np.histogram(lon, bins=edges)
        mine = avatars["lon"].to_numpy()[avatar_band == b]
        slot = np.clip(np.searchsorted(edges, mine, side="right") - 1, 0, bins - 1)
        outside = (mine < edges[0] - 1e-12) | (mine > edges[-1] + 1e-12)
        empty += int(((counts[slot] == 0) | outside).sum())
    return empty / len(avatars)


@pytest.fixture(scope="module")
def records() -> pd.DataFrame:
    """120 individuals, 2 to 8 records each: ordered (start, end) pairs and a growing counter."""
    rng = np.random.default_rng(11)
    rows = []
    for person in range(120):
        t = float(rng.integers(0, 50))
        total = float(rng.integers(100, 500))
        for _ in range(int(rng.integers(2, 9))):
            start = t + float(rng.integers(0, 10))
            end = start + float(rng.integers(1, 15))
            total += float(rng.integers(0, 40))
            rows.append(
                {"id": person, "start": start, "end": end, "total": total, "x": rng.normal()}
            )
            t = end
    return pd.DataFrame(rows)


def _avatarize_records(table: pd.DataFrame, seed: int) -> pd.DataFrame:
    # The individual's id is an identifier: it stays out of the avatarization, as in a run.
    return avatarize(table, k=5, seed=seed, exclude_variable_names=["id"]).avatars


def test_range_chain_holds_in_the_avatars(records: pd.DataFrame) -> None:
    processor = InterRecordRangeDifferenceProcessor(
        id_variable="id",
        target_start_variable="start",
        target_end_variable="end",
        sort_by_variable="start",
        new_first_variable="first",
        new_range_variable="range",
        new_difference_variable="gap",
    )
    avatars = processor.postprocess(records, _avatarize_records(processor.preprocess(records), 7))
    for _, group in avatars.groupby("id", sort=False):
        start, end = group["start"].to_numpy(), group["end"].to_numpy()
        assert (end >= start).all()
        assert (start[1:] >= end[:-1]).all()


def test_bounded_range_values_stay_within_bounds(records: pd.DataFrame) -> None:
    processor = InterRecordBoundedRangeDifferenceProcessor(
        id_variable="id",
        target_start_variable="start",
        target_end_variable="end",
        new_first_variable_name="first",
        new_range_variable="range",
        new_difference_variable_name="gap",
        sort_by_variable="start",
    )
    avatars = processor.postprocess(records, _avatarize_records(processor.preprocess(records), 8))
    low = records[["start", "end"]].min().min()
    high = records[["start", "end"]].max().max()
    assert avatars[["start", "end"]].ge(low).all().all()
    assert avatars[["start", "end"]].le(high).all().all()


def test_cumulated_values_never_decrease_in_the_avatars(records: pd.DataFrame) -> None:
    processor = InterRecordCumulatedDifferenceProcessor(
        id_variable="id",
        target_variable="total",
        new_first_variable_name="first",
        new_difference_variable_name="increase",
    )
    avatars = processor.postprocess(records, _avatarize_records(processor.preprocess(records), 9))
    for _, group in avatars.groupby("id", sort=False):
        assert (np.diff(group["total"].to_numpy()) >= 0).all()


def test_bounded_cumulated_values_stay_within_bounds(records: pd.DataFrame) -> None:
    processor = InterRecordBoundedCumulatedDifferenceProcessor(
        "id", "total", "first", "change", should_round_output=True
    )
    avatars = processor.postprocess(records, _avatarize_records(processor.preprocess(records), 10))
    assert avatars["total"].between(records["total"].min(), records["total"].max()).all()
    assert avatars["total"].dtype == "int64"
