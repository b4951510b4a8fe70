"""``GeolocationNormalizationProcessor``: keep empty areas (lakes, borders) empty in the avatars."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from veil_client.errors import InvalidArgument
from veil_client.processors._checks import require_columns, require_no_missing, require_numeric

_NAME = "GeolocationNormalizationProcessor"
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class _Band:
    """Longitude bins holding points, at one reference latitude."""

    starts: FloatArray
    ends: FloatArray


class GeolocationNormalizationProcessor:
    """Re-express longitude as a position among the occupied longitude bins of its latitude band.

    The latitude range is cut into ``n_reference_lat`` bands, each centred on a reference
    latitude; in each band the longitude range of its points is cut into ``n_bins`` bins and the
    bins that hold points are laid end to end on [0, 1]. ``preprocess`` replaces each longitude by
    its position on that scale; ``postprocess`` maps avatar positions back, so every avatar lands
    in a bin where originals were (no point in the lake), at the band of its own latitude.

    Args:
        latitude_variable: Latitude column.
        longitude_variable: Longitude column.
        n_reference_lat: Number of latitude bands (more: finer in latitude).
        n_bins: Longitude bins per band (more: finer in longitude, emptier areas kept).
    """

    def __init__(
        self, *, latitude_variable: str, longitude_variable: str, n_reference_lat: int, n_bins: int
    ) -> None:
        for name, value in (("n_reference_lat", n_reference_lat), ("n_bins", n_bins)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidArgument(
                    f"{_NAME}: {name} must be a positive integer; got {value!r}.", field=name
                )
        self.latitude_variable = latitude_variable
        self.longitude_variable = longitude_variable
        self.n_reference_lat = n_reference_lat
        self.n_bins = n_bins
        self._lat_low = 0.0
        self._lat_step = 0.0
        self._bands: list[_Band] = []

    def preprocess(self, df: pd.DataFrame) -> pd.DataFrame:
        """Longitude as a position in [0, 1] among the occupied bins of its latitude band."""
        columns = [self.latitude_variable, self.longitude_variable]
        require_columns(
            df, columns, processor=_NAME, argument="latitude_variable/longitude_variable"
        )
        require_numeric(df, columns, processor=_NAME)
        require_no_missing(df, columns, processor=_NAME)
        lat = df[self.latitude_variable].to_numpy(dtype=np.float64)
        lon = df[self.longitude_variable].to_numpy(dtype=np.float64)
        self._fit(lat, lon)
        band = self._band_of(lat)
        position = np.empty(len(df))
        for b, spec in enumerate(self._bands):
            rows = band == b
            position[rows] = _to_position(lon[rows], spec)
        out = df.copy()
        out[self.longitude_variable] = position
        return out

    def postprocess(self, source: pd.DataFrame, dest: pd.DataFrame) -> pd.DataFrame:
        """Avatar positions back to longitudes inside occupied bins."""
        if not self._bands:
            self.preprocess(source)
        require_columns(
            dest,
            [self.latitude_variable, self.longitude_variable],
            processor=_NAME,
            argument="latitude_variable/longitude_variable",
        )
        lat = dest[self.latitude_variable].to_numpy(dtype=np.float64)
        position = np.clip(dest[self.longitude_variable].to_numpy(dtype=np.float64), 0.0, 1.0)
        band = self._band_of(np.nan_to_num(lat, nan=self._lat_low))
        lon = np.empty(len(dest))
        for b, spec in enumerate(self._bands):
            rows = band == b
            lon[rows] = _from_position(position[rows], spec)
        out = dest.copy()
        out[self.longitude_variable] = lon
        return out

    def _fit(self, lat: FloatArray, lon: FloatArray) -> None:
        low, high = float(lat.min()), float(lat.max())
        self._lat_low = low
        self._lat_step = (
            (high - low) / (self.n_reference_lat - 1) if self.n_reference_lat > 1 else 0.0
        )
        band = self._band_of(lat)
        self._bands = []
        for b in range(self.n_reference_lat):
            points = lon[band == b]
            if points.size == 0:
                self._bands.append(_Band(np.empty(0), np.empty(0)))
                continue
            edges = np.linspace(points.min(), points.max(), self.n_bins + 1)
            counts, _ = np.histogram(points, bins=edges)
            occupied = np.flatnonzero(counts > 0)
            self._bands.append(_Band(edges[occupied], edges[occupied + 1]))
        self._fill_empty_bands()

    def _fill_empty_bands(self) -> None:
        # A band without points (a gap in latitude) borrows the nearest occupied band's bins.
        occupied = [b for b, spec in enumerate(self._bands) if spec.starts.size]
        for b, spec in enumerate(self._bands):
            if not spec.starts.size:
                nearest = min(occupied, key=lambda o: abs(o - b))
                self._bands[b] = self._bands[nearest]

    def _band_of(self, lat: FloatArray) -> npt.NDArray[np.int64]:
        if self._lat_step == 0:
            return np.zeros(lat.shape, dtype=np.int64)
        index = np.rint((lat - self._lat_low) / self._lat_step).astype(np.int64)
        return np.clip(index, 0, self.n_reference_lat - 1)


def _to_position(lon: FloatArray, band: _Band) -> FloatArray:
    n = band.starts.size
    slot = np.clip(np.searchsorted(band.starts, lon, side="right") - 1, 0, n - 1)
    width = band.ends[slot] - band.starts[slot]
    within = np.where(width > 0, (lon - band.starts[slot]) / np.where(width > 0, width, 1.0), 0.5)
    position: FloatArray = (slot + np.clip(within, 0.0, 1.0)) / n
    return position


def _from_position(position: FloatArray, band: _Band) -> FloatArray:
    n = band.starts.size
    scaled = position * n
    slot = np.clip(np.floor(scaled).astype(np.int64), 0, n - 1)
    within = np.clip(scaled - slot, 0.0, 1.0)
    result: FloatArray = band.starts[slot] + within * (band.ends[slot] - band.starts[slot])
    return result
