"""``DatetimeProcessor``: dates as seconds since the epoch, and back."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

_NS_PER_SECOND = 1_000_000_000


class DatetimeProcessor:
    """Turn every datetime column into float seconds since 1970-01-01 (UTC), and back.

    The Veil server reads datetime columns itself, so this processor is only needed when a
    pipeline must hand the avatarization plain numbers (for instance before another processor
    that does arithmetic on dates). ``postprocess`` restores each column that is a datetime in
    ``source`` with ``source``'s dtype (time zone included), rounded to the second.

    Example:
        >>> processor = DatetimeProcessor()
        >>> numbers = processor.preprocess(df)          # datetimes -> float seconds
        >>> restored = processor.postprocess(df, numbers)
    """

    def preprocess(self, df: pd.DataFrame) -> pd.DataFrame:
        """Datetime columns (naive or with a time zone) as float seconds since the epoch."""
        out = df.copy()
        for name in out.columns:
            series = out[name]
            if not pd.api.types.is_datetime64_any_dtype(series.dtype):
                continue
            out[name] = _seconds(series)
        return out

    def postprocess(self, source: pd.DataFrame, dest: pd.DataFrame) -> pd.DataFrame:
        """Columns that are datetimes in ``source`` back from seconds to ``source``'s dtype."""
        out = dest.copy()
        for name in source.columns:
            dtype = source[name].dtype
            if name not in out.columns or not pd.api.types.is_datetime64_any_dtype(dtype):
                continue
            seconds = pd.to_numeric(out[name], errors="coerce").to_numpy(dtype=np.float64)
            missing = np.isnan(seconds)
            ns = np.round(np.nan_to_num(seconds)) * _NS_PER_SECOND
            stamps = pd.Series(pd.to_datetime(ns.astype(np.int64), unit="ns"), index=out.index)
            tz: Any = getattr(dtype, "tz", None)
            if tz is not None:
                stamps = stamps.dt.tz_localize("UTC").dt.tz_convert(tz)
            out[name] = stamps.mask(missing).astype(dtype)
        return out


def _seconds(series: pd.Series) -> pd.Series:
    values = series
    if getattr(values.dtype, "tz", None) is not None:
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    ns = values.astype("datetime64[ns]").to_numpy().astype(np.int64).astype(np.float64)
    seconds = pd.Series(ns / _NS_PER_SECOND, index=series.index, dtype="float64")
    return seconds.mask(series.isna())
