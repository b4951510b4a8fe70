"""A time-series table as numbers per individual, and avatar series rebuilt from them.

The pipeline of avatar_method.md 1.11: align each individual's series on a common grid
(:mod:`alignment`), project each variable's curves to ``nf`` numbers (:mod:`projection`), append
those numbers and the series' start, span and length to the individual-level table, avatarize
that table, then rebuild each avatar's curves from its avatar numbers and read them at its own
times. The avatar series of avatar individual ``i`` is therefore built from the numbers of avatar
``i``: no separate assignment is needed (``LinkMethod.TIME_SERIES``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from veil_service.engine.multitable.validation import time_values
from veil_service.engine.timeseries.alignment import Aligned, align, grid_length, sort_readings
from veil_service.engine.timeseries.alignment import unalign as read_back
from veil_service.engine.timeseries.parameters import DEFAULT_NF, FPCA, TimeSeriesParameters
from veil_service.engine.timeseries.projection import CurveProjection, fit_projection
from veil_service.errors import InvalidArgumentError


@dataclass(frozen=True)
class SeriesModel:
    """A time-series table fitted for avatarization.

    Attributes:
        table: Table name.
        time_column: Its time column.
        variables: Its value columns, in order.
        params: The time-series parameters.
        n_points: Length of the common grid.
        aligned: The original series on the grid.
        projections: One fitted projection per variable.
        features: Per individual (parent row order): ``start``, ``span``, ``points`` and the
            ``nf`` numbers of each variable, under ``prefix``-ed names.
        weights: Projection weight of each feature column.
        time_kind: ``datetime`` (with ``time_zone``), ``integer`` or ``float``: how times are
            written back.
        time_zone: Time zone of a datetime column (None: naive).
        prefix: Prefix of the feature names.
        time_resolution: Pandas frequency (``D`` or ``s``) every original datetime sat on,
            to which avatar times are rounded (None: written at full precision).
        low: Smallest original reading of each variable (avatar readings are clipped to it).
        high: Largest original reading of each variable.
        whole: Whether each variable holds integers (avatar readings are rounded).
        gaps: Variables with missing readings: each has a ``<variable>.missing`` feature (the
            share of the individual's readings that miss it), avatarized with the others.
    """

    table: str
    time_column: str
    variables: list[str]
    params: TimeSeriesParameters
    n_points: int
    aligned: Aligned
    projections: list[CurveProjection]
    features: pd.DataFrame
    weights: dict[str, float]
    time_kind: str
    time_zone: str | None
    prefix: str
    time_resolution: str | None = None
    low: tuple[float, ...] = ()
    high: tuple[float, ...] = ()
    whole: tuple[bool, ...] = ()
    gaps: tuple[int, ...] = ()

    @property
    def point_columns(self) -> tuple[str, str, str]:
        """Names of the start, span and length features."""
        return (f"{self.prefix}start", f"{self.prefix}span", f"{self.prefix}points")

    def score_columns(self, variable: int) -> list[str]:
        """Names of the numbers of variable ``variable``."""
        name = self.variables[variable]
        return [f"{self.prefix}{name}.{k}" for k in range(self.projections[variable].n_components)]

    def curves_from(self, features: pd.DataFrame) -> np.ndarray:
        """Curves on the grid (individuals x G x variables) from (avatar) features."""
        curves = np.empty((len(features), self.n_points, len(self.variables)))
        for j, projection in enumerate(self.projections):
            scores = features[self.score_columns(j)].to_numpy(dtype=np.float64)
            curves[:, :, j] = projection.curves(scores)
        return curves

    def rebuild(
        self, features: pd.DataFrame, rng: np.random.Generator | None = None
    ) -> tuple[np.ndarray, pd.DataFrame]:
        """Avatar series from avatar features.

        Args:
            features: Avatar individuals' features (one row per avatar individual).
            rng: Chooses which readings of a series are left missing (see :meth:`_blank`).

        Returns:
            ``(owner, readings)``: the avatar individual (row of ``features``) of each reading,
            and the readings (time column and variables), sorted by individual and time.
        """
        start_col, span_col, points_col = self.point_columns
        curves = self.curves_from(features)
        start, span = self._within_window(
            features[start_col].to_numpy(dtype=np.float64),
            features[span_col].to_numpy(dtype=np.float64),
        )
        if self.params.unalignment == "skip":
            counts = np.where(features[points_col].to_numpy() >= 2, self.n_points, 0)
        else:
            counts = np.rint(features[points_col].to_numpy(dtype=np.float64)).astype(np.int64)
        counts = self._without_series(counts, features[points_col].to_numpy(dtype=np.float64))
        owner, time, values = read_back(curves, start, span, counts)
        values = self._blank(self._in_range(values), owner, features, rng)
        readings = pd.DataFrame(values, columns=self.variables)
        readings.insert(0, self.time_column, self._times(time))
        return owner, readings

    def _without_series(self, counts: np.ndarray, points: np.ndarray) -> np.ndarray:
        """As many avatar individuals without a series as the originals had (in share).

        An avatar's number of readings is a weighted mean of its neighbours': an individual
        never read (0) among people read 6 times gets an avatar read 5 times, so avatars
        without a series all but vanished (wage_panel: 2 of 545 men, 0 of 545 avatars). The
        avatars with the fewest synthetic readings are the ones left without.
        """
        absent = int(np.rint((self.aligned.counts < 2).mean() * len(counts)))
        missing = absent - int((counts < 2).sum())
        if missing <= 0:
            return counts
        counts = counts.copy()
        candidates = np.flatnonzero(counts >= 2)
        fewest = candidates[np.argsort(points[candidates], kind="stable")[:missing]]
        counts[fewest] = 0
        return counts

    def _blank(
        self,
        values: np.ndarray,
        owner: np.ndarray,
        features: pd.DataFrame,
        rng: np.random.Generator | None,
    ) -> np.ndarray:
        """Avatar readings left missing as the originals were.

        Missing readings are filled to draw the curves; without this every avatar reading was
        present (wage_panel's hours: 7 % missing, avatars 0 %; jobtraining's scrap: 66 %, its
        avatars flat lines at the mean). Each avatar series leaves ``share x readings`` of a
        variable missing, ``share`` being its avatarized ``<variable>.missing`` feature; which
        readings is drawn at random.
        """
        if not self.gaps or len(owner) == 0:
            return values
        rng = rng or np.random.default_rng(0)
        counts = np.bincount(owner, minlength=len(features))
        first = np.r_[0, np.cumsum(counts)[:-1]]
        for j in self.gaps:
            share = features[f"{self.prefix}{self.variables[j]}.missing"].to_numpy(np.float64)
            blanks = np.rint(np.clip(share, 0.0, 1.0) * counts).astype(np.int64)
            order = np.lexsort((rng.random(len(owner)), owner))
            rank = np.empty(len(owner), dtype=np.int64)
            rank[order] = np.arange(len(owner)) - first[owner[order]]
            values[rank < blanks[owner], j] = np.nan
        return values

    def _in_range(self, values: np.ndarray) -> np.ndarray:
        """Avatar readings within each variable's original range, integers rounded.

        Curves rebuilt from avatar scores can leave the range no original reading left: on
        linearmodels' jobtraining panel (firms' sales, training hours, all >= 0) FPCA avatars
        had negative sales (-1.8e6) and hours (-6.9). Single-table avatars are clipped and
        rounded the same way (``avatarize.column_types``); integer columns were otherwise
        truncated toward zero when cast back to their dtype.
        """
        if not self.low:
            return values
        values = np.clip(values, np.asarray(self.low), np.asarray(self.high))
        whole = np.asarray(self.whole, dtype=bool)
        values[:, whole] = np.rint(values[:, whole])
        return values

    def _within_window(self, start: np.ndarray, span: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Avatar starts and spans moved inside the originals' observation window.

        Start and span are avatarized as two columns, each kept within its own observed range,
        but nothing kept their sum: with the local noise, 5-15 of 60 avatar series ended after
        the last original reading (249 -> up to 316 at k=10), readings no original could have.
        The span is kept (at most the window's length) and the start moved as little as
        needed, so every avatar series lies within [first original time, last original time].
        """
        observed = self.aligned.counts >= 1
        if not observed.any():
            return start, span
        first = float(np.nanmin(self.aligned.start[observed]))
        last = float(np.nanmax((self.aligned.start + self.aligned.span)[observed]))
        span = np.clip(span, 0.0, last - first)
        start = np.clip(start, first, last - span)
        return start, span

    def _times(self, seconds: np.ndarray) -> pd.Series | np.ndarray:
        if self.time_kind == "integer":
            return np.asarray(np.rint(seconds), dtype=np.int64)
        if self.time_kind == "datetime":
            # Rounded on the wall clock: an avatar of dates read "2024-03-05" is a date too, not
            # "2024-03-05 13:47:12.339" (a precision, and a look, no original reading had).
            stamps = pd.to_datetime(np.rint(seconds * 1e9).astype(np.int64), utc=True)
            if self.time_zone is None:
                wall = stamps.tz_localize(None)
                return pd.Series(wall.round(self.time_resolution) if self.time_resolution else wall)
            zoned = stamps.tz_convert(self.time_zone)
            if self.time_resolution:
                zoned = (
                    zoned.tz_localize(None)
                    .round(self.time_resolution)
                    .tz_localize(
                        self.time_zone,
                        ambiguous=np.ones(len(zoned), dtype=bool),
                        nonexistent="shift_forward",
                    )
                )
            return pd.Series(zoned)
        return seconds


def fit_series(
    table: str,
    frame: pd.DataFrame,
    owner: np.ndarray,
    n_individuals: int,
    time_column: str,
    variables: list[str],
    params: TimeSeriesParameters,
    prefix: str,
) -> SeriesModel:
    """Align and project a time-series table (see the module docstring).

    Args:
        table: Table name, for messages.
        frame: The series table.
        owner: Parent row position of each reading.
        n_individuals: Rows of the parent (individual-level) table.
        time_column: The time column.
        variables: Value columns (numbers).
        params: Projection and alignment parameters.
        prefix: Prefix of the feature names.

    Raises:
        InvalidArgumentError: a value column that is not numeric, ``nf`` above what FPCA can
            give on this table or above the grid's points with FLATTEN.
    """
    for column in variables:
        series = frame[column]
        if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            raise InvalidArgumentError(
                f"table {table!r}, column {column!r}: time-series variables must be numbers; "
                "move categorical variables to the individual-level table or drop the column.",
                field=f"tables[{table}].{column}",
            )
    if not variables:
        raise InvalidArgumentError(
            f"time-series table {table!r} has no value column besides its keys and time.",
            field=f"tables[{table}].columns",
        )
    times = frame[time_column]
    seconds = time_values(table, time_column, times)
    values = frame[variables].to_numpy(dtype=np.float64, na_value=np.nan)
    readings = sort_readings(owner, seconds, values, n_individuals)
    n_points = grid_length(readings.counts, params)
    aligned = align(readings, n_points)
    has = aligned.has_series
    params = projection_parameters(table, params, readings.counts)
    assert params.nf is not None
    data: dict[str, np.ndarray] = {}
    weights: dict[str, float] = {}
    start = np.where(np.isnan(aligned.start), np.nanmedian(aligned.start), aligned.start)
    span = np.where(np.isnan(aligned.span), np.nanmedian(aligned.span), aligned.span)
    data[f"{prefix}start"] = start
    data[f"{prefix}span"] = span
    data[f"{prefix}points"] = aligned.counts.astype(np.int64)
    for name in (f"{prefix}start", f"{prefix}span", f"{prefix}points"):
        weights[name] = 1.0 / np.sqrt(3.0)
    missing = np.isnan(values)
    gaps = tuple(j for j in range(len(variables)) if missing[:, j].any())
    lengths = np.maximum(np.bincount(owner, minlength=n_individuals), 1)
    for j in gaps:
        name = f"{prefix}{variables[j]}.missing"
        data[name] = np.bincount(owner, weights=missing[:, j], minlength=n_individuals) / lengths
        weights[name] = 1.0 / np.sqrt(3.0)
    projections: list[CurveProjection] = []
    for j, variable in enumerate(variables):
        curves = aligned.curves[:, :, j]
        projection = fit_projection(curves[has], params.projection_type, params.nf)
        projections.append(projection)
        scores = np.zeros((n_individuals, projection.n_components))
        scores[has] = projection.scores(curves[has])
        if projection.kind != FPCA:
            # Individuals without a series sit at the mean curve, as FPCA scores of 0 do.
            mean_readings = projection.scores(curves[has]).mean(axis=0)
            scores[~has] = mean_readings
        ratio = projection.explained_variance_ratio
        for k in range(projection.n_components):
            name = f"{prefix}{variable}.{k}"
            data[name] = scores[:, k]
            if projection.kind == FPCA:
                weights[name] = float(np.sqrt(max(ratio[k], 1e-6)))
            else:
                weights[name] = float(1.0 / np.sqrt(projection.n_components))
    time_kind = "integer" if pd.api.types.is_integer_dtype(times) else "float"
    zone: str | None = None
    if pd.api.types.is_datetime64_any_dtype(times):
        time_kind = "datetime"
        tz = getattr(times.dt, "tz", None)
        zone = None if tz is None else str(tz)
    elif not pd.api.types.is_numeric_dtype(times):
        parsed = pd.to_numeric(times.astype(str), errors="coerce")
        time_kind = "float" if parsed.notna().all() else "datetime"
    observed = ~np.isnan(values)
    low = tuple(
        float(values[observed[:, j], j].min()) if observed[:, j].any() else -np.inf
        for j in range(len(variables))
    )
    high = tuple(
        float(values[observed[:, j], j].max()) if observed[:, j].any() else np.inf
        for j in range(len(variables))
    )
    whole = tuple(bool(pd.api.types.is_integer_dtype(frame[c])) for c in variables)
    return SeriesModel(
        gaps=gaps,
        low=low,
        high=high,
        whole=whole,
        time_resolution=datetime_resolution(times) if time_kind == "datetime" else None,
        table=table,
        time_column=time_column,
        variables=list(variables),
        params=params,
        n_points=n_points,
        aligned=aligned,
        projections=projections,
        features=pd.DataFrame(data),
        weights=weights,
        time_kind=time_kind,
        time_zone=zone,
        prefix=prefix,
    )


def datetime_resolution(times: pd.Series) -> str | None:
    """``D`` when every original time is a midnight (dates), ``s`` when every one is a whole
    second, else None; read on the wall clock, as the owner wrote the times.
    """
    if pd.api.types.is_datetime64_any_dtype(times):
        wall = times.dt.tz_localize(None) if getattr(times.dt, "tz", None) is not None else times
    else:
        parsed = pd.to_datetime(times.astype(str), errors="coerce", utc=True, format="mixed")
        wall = parsed.dt.tz_localize(None)
    nanoseconds = wall.dropna().astype("datetime64[ns]").astype("int64").to_numpy()
    if len(nanoseconds) == 0:
        return None
    if not (nanoseconds % (86_400 * 10**9)).any():
        return "D"
    if not (nanoseconds % 10**9).any():
        return "s"
    return None


def projection_parameters(
    table: str, params: TimeSeriesParameters, counts: np.ndarray
) -> TimeSeriesParameters:
    """``params`` with ``nf`` set: the owner's, checked against what the table gives, or the
    default lowered to it. Needs only the readings per individual, so the pre-run check
    (``tasks.linked_jobs``) refuses a bad ``nf`` when ``run()`` is called, as the one-point
    series are, instead of the standard job failing after it started.

    Args:
        table: Table name, for messages.
        params: The table's time-series parameters.
        counts: Readings per individual.

    Raises:
        InvalidArgumentError: ``nf`` above what FPCA can give on this table or above the grid's
            points with FLATTEN.
    """
    n_points = grid_length(counts, params)
    series = int((np.asarray(counts) >= 2).sum())
    most = min(series - 1, n_points) if params.projection_type == FPCA else n_points
    if params.nf is None:
        # Not set by the owner: the default, as far as the table allows (5 numbers per variable
        # on linearmodels' jobtraining, 3 years per firm, refused the run and the advice).
        params = replace(params, nf=max(1, min(DEFAULT_NF, most)))
    assert params.nf is not None
    if params.projection_type == FPCA and params.nf > min(series - 1, n_points):
        raise InvalidArgumentError(
            f"table {table!r}: time_series_nf={params.nf} but FPCA can give at most "
            f"{min(series - 1, n_points)} components here ({series} series on a "
            f"grid of {n_points} points); lower time_series_nf or raise time_series_nb_points.",
            field=f"tables[{table}].time_series_nf",
        )
    if params.projection_type != FPCA and params.nf > n_points:
        # FLATTEN reads each curve at nf positions of the grid: past the grid's points the
        # readings are interpolations of their neighbours, columns that add dimensions and no
        # information (nf=500 on a 13-point grid was taken without a word).
        raise InvalidArgumentError(
            f"table {table!r}: time_series_nf={params.nf} but FLATTEN reads at most the grid's "
            f"{n_points} points; lower time_series_nf to at most {n_points} or raise "
            "time_series_nb_points (with time_series_method=SPECIFIED).",
            field=f"tables[{table}].time_series_nf",
        )
    return params
