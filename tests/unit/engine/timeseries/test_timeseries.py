"""Time series: alignment, FPCA and flatten, features, avatar series on the sensors fixtures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from linked_fixtures import sensors
from veil_service.engine.multitable import (
    TableParameters,
    avatarize_tables,
)
from veil_service.engine.timeseries import TimeSeriesParameters, fit_series
from veil_service.engine.timeseries.alignment import align, grid_length, sort_readings, unalign
from veil_service.engine.timeseries.projection import fit_projection, trapezoid_weights
from veil_service.errors import InvalidArgumentError


def readings(lengths: list[int], seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Series of the given lengths, each a line a + b * t over its own irregular times."""
    rng = np.random.default_rng(seed)
    owner, time, values = [], [], []
    for i, length in enumerate(lengths):
        t = np.sort(rng.uniform(0, 100, length)) + 10 * i
        owner.append(np.full(length, i))
        time.append(t)
        values.append((i + 0.5 * (t - t[0]))[:, None])
    return np.concatenate(owner), np.concatenate(time), np.vstack(values)


def test_alignment_resamples_each_series_on_its_own_span() -> None:
    owner, time, values = readings([5, 12, 30])
    shuffled = np.random.default_rng(1).permutation(len(owner))
    sorted_readings = sort_readings(owner[shuffled], time[shuffled], values[shuffled], 4)
    aligned = align(sorted_readings, 8)
    assert aligned.curves.shape == (4, 8, 1)
    assert list(aligned.counts) == [5, 12, 30, 0]
    assert np.isnan(aligned.curves[3]).all()
    for i in range(3):
        # A line stays a line: evenly spaced between its first and last value.
        curve = aligned.curves[i, :, 0]
        expected = np.linspace(i, i + 0.5 * aligned.span[i], 8)
        assert np.allclose(curve, expected)


@pytest.mark.parametrize(
    ("method", "nb_points", "expected"),
    [("max", None, 30), ("min", None, 5), ("mean", None, 16), ("specified", 7, 7)],
)
def test_grid_length_by_alignment_method(method: str, nb_points: int | None, expected: int) -> None:
    counts = np.array([5, 12, 30, 0, 1])
    params = TimeSeriesParameters(method=method, nb_points=nb_points)
    assert grid_length(counts, params) == expected


def test_unalignment_reads_curves_back_at_their_own_times() -> None:
    curves = np.linspace(0, 1, 5)[None, :, None].repeat(2, axis=0) * np.array([[[1.0]], [[3.0]]])
    owner, time, values = unalign(
        curves, np.array([10.0, 0.0]), np.array([4.0, 8.0]), np.array([3, 9])
    )
    assert list(np.bincount(owner)) == [3, 9]
    assert np.allclose(time[:3], [10, 12, 14])
    assert np.allclose(values[:3, 0], [0, 0.5, 1])
    assert np.allclose(values[3:, 0], np.linspace(0, 3, 9))
    owner, _, _ = unalign(curves, np.zeros(2), np.ones(2), np.array([1, 4]))
    assert list(owner) == [1, 1, 1, 1]


def test_fpca_finds_the_generating_functions_and_rebuilds_curves() -> None:
    rng = np.random.default_rng(2)
    grid = np.linspace(0, 1, 41)
    a, b = rng.normal(0, 2, 300), rng.normal(0, 1, 300)
    curves = 5 + a[:, None] * np.sin(2 * np.pi * grid) + b[:, None] * np.cos(2 * np.pi * grid)
    projection = fit_projection(curves, "fpca", 4)
    assert projection.explained_variance_ratio[:2].sum() > 0.999
    # Eigenfunctions are orthonormal for the trapezoidal inner product.
    gram = (projection.basis * trapezoid_weights(41)) @ projection.basis.T
    assert np.allclose(gram[:2, :2], np.eye(2), atol=1e-6)
    rebuilt = projection.curves(projection.scores(curves))
    assert np.allclose(rebuilt, curves, atol=1e-8)
    # The first eigenvalue is the variance of a times the squared norm of sin (1/2).
    assert projection.explained_variance[0] == pytest.approx(a.var() * 0.5, rel=0.05)


def test_flatten_reads_curves_at_nf_points() -> None:
    grid = np.linspace(0, 1, 21)
    curves = np.vstack([grid * 2, 1 - grid])
    projection = fit_projection(curves, "flatten", 5)
    scores = projection.scores(curves)
    assert np.allclose(scores[0], np.linspace(0, 2, 5))
    assert np.allclose(projection.curves(scores), curves)


def test_series_features_and_rebuild_with_datetimes() -> None:
    owner, time, values = readings([6, 9, 7, 8, 10, 6], seed=3)
    frame = pd.DataFrame(
        {
            "t": pd.to_datetime(time * 3600, unit="s", utc=True).tz_convert("Europe/Paris"),
            "v": values[:, 0],
        }
    )
    params = TimeSeriesParameters("fpca", nf=2, method="max")
    model = fit_series("s", frame, owner, 6, "t", ["v"], params, prefix="s.")
    assert model.n_points == 10
    assert list(model.features.columns) == ["s.start", "s.span", "s.points", "s.v.0", "s.v.1"]
    assert list(model.features["s.points"]) == [6, 9, 7, 8, 10, 6]
    owners, rebuilt = model.rebuild(model.features)
    assert list(np.bincount(owners)) == [6, 9, 7, 8, 10, 6]
    assert str(rebuilt["t"].dt.tz) == "Europe/Paris"
    first = rebuilt[owners == 0]
    assert first["t"].iloc[0] == frame["t"].iloc[0]
    skip = TimeSeriesParameters("fpca", nf=2, method="specified", nb_points=4, unalignment="skip")
    owners, _ = fit_series("s", frame, owner, 6, "t", ["v"], skip, prefix="s.").rebuild(
        model.features
    )
    assert list(np.bincount(owners)) == [4] * 6


def test_series_variables_must_be_numbers_and_nf_must_fit() -> None:
    owner, time, values = readings([5, 5, 5], seed=4)
    frame = pd.DataFrame({"t": time, "v": values[:, 0], "label": "x"})
    with pytest.raises(InvalidArgumentError, match="column 'label': time-series variables"):
        fit_series("s", frame, owner, 3, "t", ["v", "label"], TimeSeriesParameters(), "s.")
    with pytest.raises(InvalidArgumentError, match="time_series_nf=5 but FPCA can give at most 2"):
        fit_series("s", frame, owner, 3, "t", ["v"], TimeSeriesParameters(nf=5), "s.")
    # FLATTEN reads the grid's 5 points at most: 500 readings were taken without a word.
    with pytest.raises(InvalidArgumentError, match="nf=500 but FLATTEN reads at most the grid's 5"):
        fit_series("s", frame, owner, 3, "t", ["v"], TimeSeriesParameters("flatten", nf=500), "s.")
    fit_series("s", frame, owner, 3, "t", ["v"], TimeSeriesParameters("flatten", nf=5), "s.")


@pytest.mark.parametrize(
    "series",
    [
        TimeSeriesParameters("flatten", nf=10),
        TimeSeriesParameters("fpca", nf=5, method="max"),
        TimeSeriesParameters("fpca", nf=5, method="min", unalignment="skip"),
        TimeSeriesParameters("fpca", nf=4, method="specified", nb_points=20),
    ],
)
def test_sensors_fixture_avatar_series(series: TimeSeriesParameters) -> None:
    schema, frames = sensors()
    params = {
        "vanilla": TableParameters({"k": 5}),
        "sensor1": TableParameters(time_series=series),
        "sensor2": TableParameters(time_series=series),
    }
    result = avatarize_tables(schema, frames, params, seed=11)
    vanilla = result.tables["vanilla"].avatars
    assert vanilla.shape == frames["vanilla"].shape
    for name in ("sensor1", "sensor2"):
        original, avatars = frames[name], result.tables[name].avatars
        assert list(avatars.columns) == list(original.columns)
        assert avatars.dtypes.to_dict() == original.dtypes.to_dict()
        assert set(avatars["id"]) == set(vanilla["id"])
        assert avatars["primary_key"].is_unique
        per_series = avatars.groupby("id")["t"]
        assert (per_series.min() == 0).all()
        if series.unalignment == "uniform":
            assert len(avatars) == len(original)
            assert (per_series.max() == original["t"].max()).all()
        else:
            assert (avatars.groupby("id").size() == result.series[name].n_points).all()
        value = next(c for c in original.columns if c.startswith("sensor"))
        assert abs(avatars[value].mean() - original[value].mean()) < 0.3 * original[value].std()


def test_raw_and_normalized_series_figures() -> None:
    from veil_service.engine.timeseries.plots import series_figures

    owner, time, values = readings([6, 9, 7, 8, 10, 6], seed=5)
    both = np.hstack([values, -values])
    aligned = align(sort_readings(owner, time, both, 6), 8)
    figures = series_figures(
        "sensor",
        ["a", "b"],
        (owner, time, both),
        (owner, time, both * 1.1),
        aligned.curves,
        aligned.curves * 1.1,
        language="fr",
    )
    kinds = [(f.kind, f.index, f.filename) for f in figures]
    assert kinds == [
        ("raw_series", 0, "sensor_raw_series_0.html"),
        ("raw_series", 1, "sensor_raw_series_1.html"),
        ("normalized_series", 0, "sensor_normalized_series_0.html"),
        ("normalized_series", 1, "sensor_normalized_series_1.html"),
    ]
    for figure in figures:
        assert figure.html.startswith("<!DOCTYPE html>")
        assert "<svg" in figure.html
        assert 'lang="fr"' in figure.html
        assert "http://" not in figure.html.replace("http://www.w3.org", "")
    assert "Séries brutes : a" in figures[0].html


def test_avatar_series_stay_within_the_originals_observation_window() -> None:
    # Irregular series of 3-25 readings at times 0-249: start and span are avatarized as two
    # columns, each kept in its range, and with the local noise their sum passed the last
    # original time (up to 316 at k=10, 5-15 of 60 series).
    from veil_service.engine.multitable import (
        Link,
        Schema,
        TableKeys,
        TableParameters,
        avatarize_tables,
    )

    rng = np.random.default_rng(0)
    people = pd.DataFrame({"id": np.arange(60), "age": rng.integers(20, 80, 60)})
    rows = []
    for person in range(60):
        times = np.sort(rng.choice(np.arange(250), int(rng.integers(3, 26)), replace=False))
        rows += [(person, int(t), float(np.sin(t / 5.0) + rng.normal(0, 0.1))) for t in times]
    readings = pd.DataFrame(rows, columns=["id", "t", "value"]).rename_axis("pk").reset_index()
    schema = Schema(
        (
            TableKeys("people", "id", individual_level=True),
            TableKeys("readings", "pk", ("id",), time_series_time="t"),
        ),
        (Link("people", "id", "readings", "id", "time_series"),),
    )
    first, last = readings["t"].min(), readings["t"].max()
    for k in (3, 10, 20):
        result = avatarize_tables(
            schema,
            {"people": people, "readings": readings},
            {"people": TableParameters({"k": k}), "readings": TableParameters({})},
            seed=1,
        )
        times = result.tables["readings"].avatars.groupby("id")["t"].agg(["min", "max"])
        assert times["min"].min() >= first and times["max"].max() <= last, k
        assert (times["max"] - times["min"]).max() > 0.5 * (last - first), k  # spans kept


@pytest.mark.parametrize("zone", [None, "Europe/Paris"])
def test_avatar_dates_stay_dates(zone: str | None) -> None:
    # A panel read once a year on a given day ("1981-07-08"): the rebuilt readings fall between
    # grid points, and were written to the microsecond ("1981-06-25 03:24:52.757802").
    owner, time, values = readings([6, 9, 7, 8, 10, 6], seed=3)
    days = pd.Timestamp("1980-01-01") + pd.to_timedelta(np.rint(time * 37), unit="D")
    if zone is None:
        column: pd.Series = pd.Series(days.strftime("%Y-%m-%d"))  # dates as strings
    else:
        column = pd.Series(days.tz_localize(zone))
    frame = pd.DataFrame({"t": column, "v": values[:, 0]})
    params = TimeSeriesParameters("fpca", nf=2, method="mean")
    model = fit_series("s", frame, owner, 6, "t", ["v"], params, prefix="s.")
    shifted = model.features.assign(**{"s.start": model.features["s.start"] + 5_000.0})
    _, rebuilt = model.rebuild(shifted)
    wall = rebuilt["t"].dt.tz_localize(None) if zone else rebuilt["t"]
    assert (wall == wall.dt.normalize()).all()
    assert (rebuilt["t"].dt.tz is None) == (zone is None)


def test_datetime_resolution_of_original_times() -> None:
    from veil_service.engine.timeseries.series import datetime_resolution

    assert datetime_resolution(pd.Series(["1980-11-18", "1981-07-08"])) == "D"
    seconds = pd.Series(pd.to_datetime(["2024-01-01 10:00:01", "2024-01-02 11:30:00"]))
    assert datetime_resolution(seconds) == "s"
    assert datetime_resolution(seconds + pd.Timedelta("1ms")) is None


def test_avatar_readings_stay_in_the_original_range_and_integers_whole() -> None:
    # Firms' sales (>= 0) and a 0/1 grant per year: avatar scores away from the originals'
    # rebuilt curves below zero (jobtraining: sales -1.8e6) and grants of 0.4 cast to 0.
    owner, _, values = readings([3, 3, 3, 3, 3, 3, 3, 3], seed=5)
    frame = pd.DataFrame(
        {
            "t": np.tile([1987, 1988, 1989], 8),
            "sales": np.abs(values[:, 0]) * 1e6,
            "grant": (values[:, 0] > 0).astype(np.int64),
        }
    )
    params = TimeSeriesParameters("fpca", nf=2, method="mean")
    model = fit_series("s", frame, owner, 8, "t", ["sales", "grant"], params, prefix="s.")
    scores = [c for c in model.features.columns if c.startswith(("s.sales.", "s.grant."))]
    far = model.features.assign(**{c: model.features[c] * 4.0 for c in scores})
    _, rebuilt = model.rebuild(far)
    assert rebuilt["sales"].min() >= frame["sales"].min()
    assert rebuilt["sales"].max() <= frame["sales"].max()
    assert set(rebuilt["grant"].unique()) <= {0.0, 1.0}
    assert rebuilt["sales"].min() == frame["sales"].min()  # the clip was needed here


def test_avatar_series_keep_the_originals_missing_readings() -> None:
    # jobtraining's scrap: never reported by two firms in three, reported every year by the
    # rest; wage_panel's hours: a reading missing here and there. Avatars had every reading.
    owner, time, values = readings([3] * 6 + [6] * 6, seed=7)
    frame = pd.DataFrame({"t": time, "scrap": values[:, 0], "hours": values[:, 0] * 2})
    frame.loc[owner < 4, "scrap"] = np.nan  # individuals 0-3: never reported
    frame.loc[np.flatnonzero(owner == 8)[:3], "hours"] = np.nan  # half of individual 8's
    params = TimeSeriesParameters("fpca", nf=2, method="mean")
    model = fit_series("s", frame, owner, 12, "t", ["scrap", "hours"], params, prefix="s.")
    owners, rebuilt = model.rebuild(model.features)
    missing = rebuilt.isna().groupby(owners).sum()
    assert list(missing["scrap"]) == [3, 3, 3, 3] + [0] * 8
    assert list(missing["hours"]) == [0] * 8 + [3] + [0] * 3
    assert rebuilt["t"].notna().all()


def test_as_many_avatars_without_a_series_as_originals() -> None:
    # 2 of 12 individuals never read; avatar numbers of readings are neighbours' means, so the
    # avatars of the unread read 4-5 times: no avatar was left without a series.
    owner, time, values = readings([6, 5, 6, 4, 6, 5, 6, 5, 6, 4], seed=2)
    owner = np.where(owner >= 1, owner + 1, owner)  # individual 1 has no reading
    owner = np.where(owner >= 6, owner + 1, owner)  # nor individual 6
    frame = pd.DataFrame({"t": time, "v": values[:, 0]})
    model = fit_series("s", frame, owner, 12, "t", ["v"], TimeSeriesParameters(nf=2), "s.")
    assert list(model.features["s.points"]).count(0) == 2
    smoothed = model.features.assign(**{"s.points": [5.6, 4.4, 5.0, 4.6, 5.0, 5.2] * 2})
    owners, _ = model.rebuild(smoothed)
    read = np.bincount(owners, minlength=12)
    assert (read == 0).sum() == 2
    assert list(np.flatnonzero(read == 0)) == [1, 7]  # the fewest synthetic readings (4.4)
