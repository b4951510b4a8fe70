"""Client-side processors: documented examples, round trips and argument errors.

Each processor's ``postprocess(source, preprocess(source))`` must give ``source`` back (up to the
rounding the processor promises); the worked examples of the Octopize docstrings are checked value
by value, since a ported script relies on them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from veil_client.errors import InvalidArgument
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
    Processor,
    ProportionProcessor,
    ToCategoricalProcessor,
)


def records() -> pd.DataFrame:
    """Three individuals with ordered (start, end) records and a growing counter."""
    rng = np.random.default_rng(3)
    rows = []
    for person in range(3):
        t = float(rng.integers(0, 20))
        total = float(rng.integers(100, 200))
        for _ in range(int(rng.integers(2, 6))):
            start = t + float(rng.integers(0, 5))
            end = start + float(rng.integers(0, 7))
            total += float(rng.integers(0, 30))
            rows.append({"id": person, "start": start, "end": end, "total": total})
            t = end
    return pd.DataFrame(rows).sample(frac=1.0, random_state=1).reset_index(drop=True)


def test_every_processor_follows_the_protocol() -> None:
    processors = [
        DatetimeProcessor(),
        ExpectedMeanProcessor(["a"]),
        GeolocationNormalizationProcessor(
            latitude_variable="lat", longitude_variable="lon", n_reference_lat=2, n_bins=2
        ),
        GroupModalitiesProcessor(min_unique=2, global_threshold=1),
        InterRecordBoundedCumulatedDifferenceProcessor("id", "v", "f", "d"),
        InterRecordBoundedRangeDifferenceProcessor(
            id_variable="id",
            target_start_variable="s",
            target_end_variable="e",
            new_first_variable_name="f",
            new_range_variable="r",
            new_difference_variable_name="d",
        ),
        InterRecordCumulatedDifferenceProcessor(
            id_variable="id",
            target_variable="v",
            new_first_variable_name="f",
            new_difference_variable_name="d",
        ),
        InterRecordRangeDifferenceProcessor(
            id_variable="id",
            target_start_variable="s",
            target_end_variable="e",
            sort_by_variable="s",
            new_first_variable="f",
            new_range_variable="r",
            new_difference_variable="d",
        ),
        PerturbationProcessor({"a": 0.5}),
        ProportionProcessor(["a", "b"], "c"),
        ToCategoricalProcessor(3),
    ]
    assert all(isinstance(p, Processor) for p in processors)


def test_datetime_round_trip_keeps_dtype_and_time_zone() -> None:
    df = pd.DataFrame(
        {
            "naive": pd.to_datetime(["2015-01-01 07:00:00", "2020-06-30 10:00:05", None]),
            "aware": pd.to_datetime(
                ["2015-01-01 07:00:00", "2018-01-01 11:00:00", "2019-05-05 00:00:00"]
            ).tz_localize("Europe/Paris"),
            "n": [1, 2, 3],
        }
    )
    processor = DatetimeProcessor()
    numbers = processor.preprocess(df)
    assert numbers["naive"].dtype == "float64"
    assert numbers.loc[0, "naive"] == pytest.approx(1420095600.0)
    assert numbers["aware"].iloc[0] == pytest.approx(1420092000.0)  # 06:00 UTC
    back = processor.postprocess(df, numbers)
    pd.testing.assert_frame_equal(back, df)


def test_expected_mean_docstring_example_per_group() -> None:
    df = pd.DataFrame(
        {"variable_1": [11, 24, 23.5, 12], "variable_2": ["red", "blue", "blue", "red"]}
    )
    processor = ExpectedMeanProcessor(["variable_1"], groupby_variables=["variable_2"])
    pd.testing.assert_frame_equal(processor.preprocess(df), df)
    avatar = pd.DataFrame(
        {"variable_1": [12, 13.5, 23.5, 22], "variable_2": ["red", "red", "blue", "blue"]}
    )
    out = processor.postprocess(df, avatar)
    assert out["variable_1"].tolist() == [10.75, 12.25, 24.5, 23.0]


def test_expected_mean_same_std_matches_both_moments() -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(10, 3, 500)})
    avatar = pd.DataFrame({"x": rng.normal(12, 1, 500)})
    processor = ExpectedMeanProcessor(["x"], same_std=True)
    processor.preprocess(df)
    out = processor.postprocess(df, avatar)
    assert out["x"].mean() == pytest.approx(df["x"].mean())
    assert out["x"].std(ddof=0) == pytest.approx(df["x"].std(ddof=0))


def test_group_modalities_docstring_example() -> None:
    df = pd.DataFrame(
        {
            "variable_1": ["red", "blue", "blue", "green"],
            "variable_2": ["red", "blue", "blue", "red"],
            "variable_3": ["green", "green", "green", "green"],
        }
    )
    processor = GroupModalitiesProcessor(min_unique=2, global_threshold=1, new_category="other")
    out = processor.preprocess(df)
    assert out["variable_1"].tolist() == ["other", "blue", "blue", "other"]
    assert out["variable_2"].tolist() == df["variable_2"].tolist()
    assert processor.postprocess(df, out) is out


def test_group_modalities_per_variable_thresholds_and_errors() -> None:
    df = pd.DataFrame({"c": ["a"] * 5 + ["b"] * 2 + ["c"], "n": range(8)})
    out = GroupModalitiesProcessor(variable_thresholds={"c": 2}).preprocess(df)
    assert out["c"].value_counts().to_dict() == {"a": 5, "other": 3}
    with pytest.raises(InvalidArgument, match="variable_thresholds names column"):
        GroupModalitiesProcessor(variable_thresholds={"zz": 2}).preprocess(df)
    with pytest.raises(InvalidArgument, match="together"):
        GroupModalitiesProcessor(min_unique=2)
    with pytest.raises(InvalidArgument, match="not both"):
        GroupModalitiesProcessor(variable_thresholds={"c": 1}, min_unique=2, global_threshold=1)


def test_geolocation_docstring_example_round_trip() -> None:
    df = pd.DataFrame({"lat": [49.1, 49.2, 49.3, 49.3], "lon": [3.21, 3.19, 3.11, 3.18]})
    processor = GeolocationNormalizationProcessor(
        latitude_variable="lat", longitude_variable="lon", n_reference_lat=3, n_bins=5
    )
    processed = processor.preprocess(df)
    assert processed["lon"].between(0, 1).all()
    assert processed["lat"].tolist() == df["lat"].tolist()
    back = processor.postprocess(df, processed)
    np.testing.assert_allclose(back["lon"], df["lon"], atol=1e-12)


def test_inter_record_cumulated_values_never_decrease_even_by_rounding() -> None:
    # pandas' grouped cumsum compensates its rounding: on these increments it lowers 300 +
    # the sum by an ulp where the increment is 0. The rebuilt values must still never decrease.
    increments = [0.0, 0.0, 30.125001730687163, 0.0, 48.03936495480469, 0.0]
    plain = pd.Series(increments).groupby(np.zeros(6, dtype=int)).cumsum().to_numpy() + 300.0
    assert (np.diff(plain) < 0).any()
    processor = InterRecordCumulatedDifferenceProcessor(
        id_variable="id",
        target_variable="value",
        new_first_variable_name="first",
        new_difference_variable_name="increase",
    )
    dest = pd.DataFrame({"id": [7] * 6, "first": [300.0] * 6, "increase": increments})
    source = pd.DataFrame({"id": [7] * 6, "value": np.linspace(300.0, 400.0, 6)})
    values = processor.postprocess(source, dest)["value"].to_numpy()
    assert (np.diff(values) >= 0).all()
    np.testing.assert_allclose(values, 300.0 + np.cumsum(increments))


def test_inter_record_cumulated_docstring_example() -> None:
    df = pd.DataFrame({"id": [1, 2, 1, 1, 2, 2], "value": [1025, 20042, 1000, 1130, 20000, 20040]})
    processor = InterRecordCumulatedDifferenceProcessor(
        id_variable="id",
        target_variable="value",
        new_first_variable_name="first_value",
        new_difference_variable_name="value_difference",
        keep_record_order=True,
    )
    out = processor.preprocess(df)
    assert out["first_value"].tolist() == [1000, 20000, 1000, 1000, 20000, 20000]
    assert out["value_difference"].tolist() == [25, 2, 0, 105, 0, 40]
    pd.testing.assert_frame_equal(processor.postprocess(df, out), df)
    loose = InterRecordCumulatedDifferenceProcessor(
        id_variable="id",
        target_variable="value",
        new_first_variable_name="first_value",
        new_difference_variable_name="value_difference",
    )
    extra = pd.DataFrame(
        {
            "id": [1, 2, 1, 1, 2, 2, 2],
            "first_value": [1000, 20000, 1000, 1000, 20000, 20000, 20000],
            "value_difference": [25, 2, 0, 105, 0, 40, 8],
        }
    )
    assert loose.postprocess(df, extra)["value"].tolist() == [
        1025,
        20002,
        1025,
        1130,
        20002,
        20042,
        20050,
    ]


def test_inter_record_bounded_cumulated_docstring_example() -> None:
    df = pd.DataFrame({"id": [1, 2, 1, 1, 2, 2], "value": [1025, 20042, 1000, 1130, 20000, 20040]})
    processor = InterRecordBoundedCumulatedDifferenceProcessor(
        id_variable="id",
        target_variable="value",
        new_first_variable_name="first_value",
        new_difference_variable_name="difference_to_bound",
        should_round_output=True,
    )
    out = processor.preprocess(df)
    assert out["first_value"].tolist() == [1025, 20042, 1025, 1025, 20042, 20042]
    np.testing.assert_allclose(
        out["difference_to_bound"], [0, 0, -1, 0.006827, -0.002206, 0.952381], atol=1e-6
    )
    pd.testing.assert_frame_equal(processor.postprocess(df, out), df)


def test_inter_record_bounded_range_docstring_example() -> None:
    df = pd.DataFrame(
        {
            "quantity_start": [30, 100, 80, 70, 40, 70],
            "quantity_end": [10, 80, 70, 60, 30, 5],
            "b": [4, 3, 0, 0, 2, 4],
            "id": [1, 1, 1, 2, 2, 2],
        }
    )
    processor = InterRecordBoundedRangeDifferenceProcessor(
        id_variable="id",
        target_start_variable="quantity_start",
        target_end_variable="quantity_end",
        new_first_variable_name="quantity_s_first_val",
        new_difference_variable_name="quantity_diff_to_bound",
        new_range_variable="quantity_range",
        should_round_output=True,
    )
    out = processor.preprocess(df)
    np.testing.assert_allclose(
        out["quantity_range"], [-0.8, -0.210526, -0.133333, -0.153846, -0.285714, -1.0], atol=1e-6
    )
    np.testing.assert_allclose(
        out["quantity_diff_to_bound"], [0, 1, 0, 0, -0.363636, 0.571429], atol=1e-6
    )
    assert out["quantity_s_first_val"].tolist() == [30, 30, 30, 70, 70, 70]
    pd.testing.assert_frame_equal(processor.postprocess(df, out), df)


def test_inter_record_range_docstring_example() -> None:
    df = pd.DataFrame(
        {"id": [1, 2, 1, 1, 2, 2], "start": [7, 14, 6, 12, 10, 23], "end": [8, 18, 7, 15, 12, 24]}
    )
    processor = InterRecordRangeDifferenceProcessor(
        id_variable="id",
        target_start_variable="start",
        target_end_variable="end",
        sort_by_variable="start",
        new_first_variable="first_value",
        new_range_variable="range_value",
        new_difference_variable="value_difference",
        keep_record_order=True,
    )
    out = processor.preprocess(df)
    assert out["range_value"].tolist() == [1, 4, 1, 3, 2, 1]
    assert out["first_value"].tolist() == [6, 10, 6, 6, 10, 10]
    assert out["value_difference"].tolist() == [0, 2, 0, 4, 0, 5]
    pd.testing.assert_frame_equal(processor.postprocess(df, out), df)


@pytest.mark.parametrize("keep_record_order", [True, False])
def test_inter_record_processors_round_trip_on_shuffled_records(keep_record_order: bool) -> None:
    df = records()
    ranges = InterRecordRangeDifferenceProcessor(
        id_variable="id",
        target_start_variable="start",
        target_end_variable="end",
        sort_by_variable="start",
        new_first_variable="first",
        new_range_variable="range",
        new_difference_variable="gap",
        keep_record_order=keep_record_order,
    )
    back = ranges.postprocess(df, ranges.preprocess(df))
    if keep_record_order:
        pd.testing.assert_frame_equal(back, df)
    else:  # row order within an individual decides the chain: each individual's set is kept
        for person, group in back.groupby("id"):
            original = df[df["id"] == person]
            assert sorted(group["end"] - group["start"]) == sorted(
                original["end"] - original["start"]
            )
    bounded = InterRecordBoundedRangeDifferenceProcessor(
        id_variable="id",
        target_start_variable="start",
        target_end_variable="end",
        new_first_variable_name="first",
        new_range_variable="range",
        new_difference_variable_name="gap",
        should_round_output=False,
    )
    pd.testing.assert_frame_equal(bounded.postprocess(df, bounded.preprocess(df)), df)
    cumulated = InterRecordBoundedCumulatedDifferenceProcessor("id", "total", "first", "change")
    back = cumulated.postprocess(df, cumulated.preprocess(df))
    np.testing.assert_allclose(back["total"], df["total"])


def test_inter_record_errors_name_the_argument() -> None:
    df = records()
    with pytest.raises(InvalidArgument, match="target_variable names column"):
        InterRecordCumulatedDifferenceProcessor(
            id_variable="id",
            target_variable="nope",
            new_first_variable_name="f",
            new_difference_variable_name="d",
        ).preprocess(df)
    missing = df.astype({"total": "float64"})
    missing.loc[0, "total"] = np.nan
    with pytest.raises(InvalidArgument, match="missing values"):
        InterRecordBoundedCumulatedDifferenceProcessor("id", "total", "f", "d").preprocess(missing)
    with pytest.raises(InvalidArgument, match="already a column"):
        InterRecordBoundedCumulatedDifferenceProcessor("id", "total", "start", "d").preprocess(df)


def test_perturbation_docstring_example_and_categoricals() -> None:
    df = pd.DataFrame(np.zeros(3), columns=["column"], dtype="float")
    processor = PerturbationProcessor(perturbation_level={"column": 0.3}, seed=1)
    pd.testing.assert_frame_equal(processor.preprocess(df), df)
    avatar = pd.DataFrame(np.ones(3), columns=["column"], dtype="float")
    np.testing.assert_allclose(processor.postprocess(df, avatar)["column"], [0.3, 0.3, 0.3])
    source = pd.DataFrame({"c": ["a"] * 1000})
    dest = pd.DataFrame({"c": ["b"] * 1000})
    kept = PerturbationProcessor({"c": 0.25}, seed=0).postprocess(source, dest)
    assert 0.2 < (kept["c"] == "b").mean() < 0.3
    assert PerturbationProcessor({"c": 0.0}).postprocess(source, dest)["c"].eq("a").all()
    with pytest.raises(InvalidArgument, match=r"in \[0, 1\]"):
        PerturbationProcessor({"c": 1.5})
    with pytest.raises(InvalidArgument, match="aligned"):
        PerturbationProcessor({"c": 0.5}).postprocess(source, dest.head(10))


def test_proportion_docstring_examples() -> None:
    df = pd.DataFrame({"variable_1": [100, 10], "variable_2": [10, 10], "variable_3": [90, 30]})
    processor = ProportionProcessor(
        variable_names=["variable_2", "variable_3"], reference="variable_1"
    )
    out = processor.preprocess(df)
    assert out["variable_2"].tolist() == [0.1, 0.25]
    assert out["variable_3"].tolist() == [0.9, 0.75]
    avatar = pd.DataFrame(
        {"variable_1": [60, 15], "variable_2": [0.15, 0.88], "variable_3": [0.18, 0.77]}
    )
    back = processor.postprocess(df, avatar)
    assert back["variable_2"].tolist() == [27.3, 8.0]
    assert back["variable_3"].tolist() == [32.7, 7.0]
    ratio = ProportionProcessor(["variable_2", "variable_3"], "variable_1", sum_to_one=False)
    assert ratio.preprocess(df)["variable_3"].tolist() == [0.9, 3.0]
    avatar2 = pd.DataFrame(
        {"variable_1": [60, 15], "variable_2": [0.15, 0.88], "variable_3": [1.5, 2.8]}
    )
    back2 = ratio.postprocess(df, avatar2)
    assert back2["variable_2"].tolist() == [9.0, 13.2]
    assert back2["variable_3"].tolist() == [90.0, 42.0]


def test_proportion_round_trip_sums_exactly_with_integer_parts() -> None:
    rng = np.random.default_rng(5)
    parts = rng.integers(0, 1000, size=(300, 3))
    df = pd.DataFrame(parts, columns=["a", "b", "c"]).assign(total=parts.sum(axis=1))
    processor = ProportionProcessor(["a", "b", "c"], "total", decimal_count=0)
    back = processor.postprocess(df, processor.preprocess(df))
    pd.testing.assert_frame_equal(back, df)
    with pytest.raises(InvalidArgument, match="reference names column"):
        ProportionProcessor(["a"], "nope").preprocess(df)


def test_to_categorical_docstring_example_and_round_trip() -> None:
    df = pd.DataFrame({"variable_1": [1, 7, 7, 1], "variable_2": [1, 2, 7, 1]})
    processor = ToCategoricalProcessor(to_categorical_threshold=2)
    out = processor.preprocess(df)
    assert out.dtypes.astype(str).to_dict() == {"variable_1": "object", "variable_2": "int64"}
    pd.testing.assert_frame_equal(processor.postprocess(df, out), df)
    keep = ToCategoricalProcessor(to_categorical_threshold=2, keep_continuous=True)
    out = keep.preprocess(df)
    assert list(out.columns) == ["variable_1", "variable_2", "variable_1__cont"]
    out.loc[0, "variable_1"] = "other"
    out.loc[0, "variable_1__cont"] = 5
    back = keep.postprocess(df, out)
    assert back["variable_1"].tolist() == [5, 7, 7, 1]
    assert list(back.columns) == ["variable_1", "variable_2"]
