"""Small helpers that turn stream records into clean time series for the analysis functions."""

from __future__ import annotations

import numpy as np
import pandas as pd


def utc_timestamp(moment) -> pd.Timestamp:
    """``moment`` (aware, or naive meaning UTC) as an aware UTC Timestamp."""
    stamp = pd.Timestamp(moment)
    return stamp.tz_localize("UTC") if stamp.tz is None else stamp.tz_convert("UTC")


def sensor_series(records: pd.DataFrame, sensor_id: str) -> pd.Series:
    """One sensor's values on a time-sorted DatetimeIndex (stable sort; duplicates kept)."""
    rows = records.loc[records["sensor_id"] == sensor_id, ["ts", "value"]]
    series = pd.Series(rows["value"].to_numpy(dtype=float), index=pd.DatetimeIndex(rows["ts"]), name=sensor_id)
    return series.sort_index(kind="stable")


def as_series(data: pd.Series | pd.DataFrame, column: str = "value", time_column: str = "ts") -> pd.Series:
    """A Series on a DatetimeIndex, from a Series or from a frame with ``ts`` and ``value`` columns."""
    if isinstance(data, pd.DataFrame):
        if time_column in data.columns:
            data = pd.Series(data[column].to_numpy(), index=pd.DatetimeIndex(data[time_column]), name=column)
        else:
            data = data[column]
    if not isinstance(data.index, pd.DatetimeIndex):
        raise TypeError("expected a Series on a DatetimeIndex (or a frame with a ts column)")
    return data


def collapse_duplicates(series: pd.Series) -> pd.Series:
    """Sorted by time, missing values dropped, values sharing a timestamp averaged."""
    series = as_series(series).astype(float).dropna()
    if series.index.has_duplicates:
        series = series.groupby(level=0).mean()
    return series.sort_index()


def sampling_interval(index: pd.DatetimeIndex) -> pd.Timedelta:
    """The median spacing between distinct timestamps: the actual sampling interval."""
    stamps = np.unique(pd.DatetimeIndex(index).as_unit("ns").asi8)  # asi8 counts in the index's own unit
    if len(stamps) < 2:
        raise ValueError("need at least two distinct timestamps to know the sampling interval")
    return pd.Timedelta(int(np.median(np.diff(stamps))), unit="ns")


def sorted_positions(series: pd.Series) -> np.ndarray:
    """Positions that sort ``series`` by time, stably (so results can be put back in input order)."""
    return np.argsort(series.index.asi8, kind="stable")


def as_window(window, series: pd.Series, readings: int):
    """A rolling window: an int count, a time offset string/Timedelta, or None = ``readings``
    sampling intervals expressed as time (robust to irregular data)."""
    if window is None:
        return sampling_interval(series.index) * readings
    if isinstance(window, (int, np.integer)) and not isinstance(window, bool):
        if window < 1:
            raise ValueError("window count must be >= 1")
        return int(window)
    window = pd.Timedelta(window)
    if window <= pd.Timedelta(0):
        raise ValueError("window must be positive")
    return window


def downsample(series: pd.Series, every: str | pd.Timedelta | None) -> pd.Series:
    """Mean per ``every`` bin (empty bins dropped) when the data is sampled more finely than that;
    otherwise the series as it is (sorted, duplicates averaged). Keeps a fast live stream (a
    reading every 0.5 s) from turning a one-day forecast into 170,000 rows."""
    values = collapse_duplicates(series)
    if every is None or len(values) < 2:
        return values
    every = pd.Timedelta(every)
    if every <= pd.Timedelta(0):
        raise ValueError("the downsampling interval must be positive")
    if sampling_interval(values.index) >= every:
        return values
    binned = values.groupby(values.index.floor(every)).mean()
    binned.name = series.name
    return binned
