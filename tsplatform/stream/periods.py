"""Finding the cycle length of a series from the data.

Method: regularise onto a grid at the actual sampling interval, remove a linear trend, take the
FFT periodogram and test its highest peak with Fisher's g test (is it stronger than the largest of
pure-noise peaks?). The peak's period is then refined on the autocorrelation (whose lag
resolution is one sample, plus a parabolic fit) and snapped to 1 h / 12 h / 1 day / 7 days when
within one sampling interval (or 2 %) of one, because sensor cycles are usually calendar ones.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from tsplatform.stream.series import collapse_duplicates, sampling_interval

CALENDAR_PERIODS = tuple(pd.Timedelta(text) for text in ("1h", "12h", "1D", "7D"))
MAX_GRID_POINTS = 200_000


def detect_period(series: pd.Series, *, significance: float = 0.01) -> pd.Timedelta | None:
    """The dominant period of ``series`` (at least two full cycles must fit), or None if no peak
    stands out from noise at ``significance``."""
    values = collapse_duplicates(series)
    if len(values) < 8:
        return None
    step = sampling_interval(values.index)
    grid, step = _regular_grid(values, step)
    count = len(grid)
    if count < 8:
        return None
    positions = np.arange(count, dtype=float)
    detrended = grid - np.polyval(np.polyfit(positions, grid, 1), positions)
    power = np.abs(np.fft.rfft(detrended)) ** 2
    candidates = power[2:]  # frequency index k = n / period; k >= 2 means two or more cycles
    if len(candidates) < 2 or candidates.sum() <= 0:
        return None
    if _fisher_g_pvalue(candidates) > significance:
        return None
    best = int(np.argmax(candidates)) + 2
    lag = _refine_on_autocorrelation(detrended, count / (best + 1), count / (best - 1), count / best)
    return _snap_to_calendar(step * lag, step)


def _regular_grid(values: pd.Series, step: pd.Timedelta) -> tuple[np.ndarray, pd.Timedelta]:
    """Mean per grid cell, empty cells interpolated; coarser cells if the grid would be huge."""
    span = values.index[-1] - values.index[0]
    cells = span / step + 1
    if cells > MAX_GRID_POINTS:
        step = step * math.ceil(cells / MAX_GRID_POINTS)
    gridded = values.resample(step, origin=values.index[0]).mean().interpolate("linear")
    return gridded.to_numpy(dtype=float), step


def _fisher_g_pvalue(power: np.ndarray) -> float:
    """P(largest periodogram ordinate share >= observed) under white noise (first term of Fisher's test)."""
    count = len(power)
    share = float(power.max() / power.sum())
    return min(1.0, count * (1.0 - share) ** (count - 1))


def _refine_on_autocorrelation(values: np.ndarray, low: float, high: float, guess: float) -> float:
    """The autocorrelation peak (in samples, sub-sample by a parabola) between ``low`` and ``high``."""
    count = len(values)
    spectrum = np.fft.rfft(values, n=2 * count)
    covariance = np.fft.irfft(np.abs(spectrum) ** 2)[:count]
    covariance = covariance / (count - np.arange(count))  # unbiased: no taper towards long lags
    first = max(2, int(math.floor(low)))
    last = min(count // 2, int(math.ceil(high)))
    if last - first < 2:
        return guess
    window = covariance[first : last + 1]
    peak = int(np.argmax(window)) + first
    if first < peak < last:
        left, middle, right = covariance[peak - 1], covariance[peak], covariance[peak + 1]
        curvature = left - 2 * middle + right
        if curvature < 0:
            return peak + 0.5 * (left - right) / curvature
    return float(peak)


def _snap_to_calendar(period: pd.Timedelta, step: pd.Timedelta) -> pd.Timedelta:
    for calendar in CALENDAR_PERIODS:
        if abs(period - calendar) <= max(step, calendar * 0.02):
            return calendar
    return period.round("1s") if period >= pd.Timedelta("1min") else period
