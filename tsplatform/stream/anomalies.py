"""Spike detection with a robust rolling z-score: (value − rolling median) / (1.4826 · rolling MAD).

Median and MAD barely move when a few readings in the window are spikes, unlike mean and standard
deviation, so one spike cannot hide itself or its neighbour.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tsplatform.stream.series import as_window, sampling_interval, sorted_positions

MAD_TO_SIGMA = 1.4826  # MAD of a normal distribution × this = its standard deviation
MEAN_AD_TO_SIGMA = 1.2533  # the same for the mean absolute deviation (fallback when MAD = 0)
DEFAULT_WINDOW_READINGS = 21


def detect_anomalies(
    series: pd.Series,
    window: str | pd.Timedelta | int | None = None,
    threshold: float = 3.5,
    *,
    center: bool = True,
    min_periods: int = 5,
) -> pd.DataFrame:
    """Score each reading against its neighbourhood; ``|score| > threshold`` marks an anomaly.

    window: a time span (``"2h"``), a count of readings (``21``), or None for 21 sampling intervals
        expressed as a time span.
    center: True (default) compares a reading with readings on both sides — best for batches of
        history, since a trailing window lags behind the daily cycle; False uses only past readings
        (what a live alert can know).
    min_periods: readings a window needs before its reading is scored (else score NaN, not flagged).

    How: baseline = rolling median, lightly smoothed by a rolling mean over half the window;
    residual = value − baseline; MAD = rolling median of |residual|; score = residual / (1.4826 ·
    MAD). The light smoothing matters on steep smooth signals (a daily cycle sampled every 30 min):
    there the plain rolling median passes through every reading of a monotone stretch, residuals
    become exactly 0 and the MAD collapses, which turns ordinary noise into alarms. A spike moves
    neither the median nor its mean. Where the MAD is 0 (flat or quantised data) the scale falls
    back to 1.2533 × mean absolute deviation (Iglewicz & Hoaglin); a window that is entirely flat
    scores 0.

    Returns a frame indexed like ``series`` (same order, duplicates kept) with columns
    value, score, is_anomaly.
    """
    if not isinstance(series.index, pd.DatetimeIndex):
        raise TypeError("detect_anomalies needs a Series on a DatetimeIndex")
    if threshold <= 0:
        raise ValueError("threshold must be positive")
    if min_periods < 1:
        raise ValueError("min_periods must be >= 1")
    if series.count() < max(min_periods, 2):  # too few readings to judge any of them
        return pd.DataFrame(
            {"value": series.to_numpy(dtype=float), "score": np.nan, "is_anomaly": False}, index=series.index
        )
    order = sorted_positions(series)
    ordered = pd.Series(series.to_numpy(dtype=float)[order], index=series.index[order])
    rolling_window = as_window(window, ordered, DEFAULT_WINDOW_READINGS)
    _check_window_holds(rolling_window, ordered, min_periods)

    def rolling(values: pd.Series):
        return values.rolling(rolling_window, center=center, min_periods=min_periods)

    median = rolling(ordered).median()
    baseline = median.rolling(_half(rolling_window), center=center, min_periods=1).mean()
    residual = ordered - baseline
    absolute = residual.abs()
    scale = MAD_TO_SIGMA * rolling(absolute).median()
    fallback = MEAN_AD_TO_SIGMA * rolling(absolute).mean()
    tiny = 1e-9 * np.maximum(1.0, baseline.abs())
    scale = scale.where(scale > tiny, fallback)
    flat = (scale <= tiny).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = residual.to_numpy() / scale.to_numpy()
    beside_flat = np.where(np.abs(residual.to_numpy()) <= tiny.to_numpy(), 0.0, np.copysign(np.inf, residual.to_numpy()))
    score = np.where(flat, beside_flat, raw)
    score[median.isna().to_numpy()] = np.nan

    result = pd.DataFrame(index=series.index)
    unsorted = np.empty_like(order)
    unsorted[order] = np.arange(len(order))
    result["value"] = series.to_numpy(dtype=float)
    result["score"] = score[unsorted]
    result["is_anomaly"] = (result["score"].abs() > threshold).to_numpy()
    return result


def _half(window):
    return window // 2 + 1 if isinstance(window, int) else window / 2


def _check_window_holds(window, series: pd.Series, min_periods: int) -> None:
    """A window too short to ever reach min_periods would silently flag nothing: say so instead."""
    capacity = window if isinstance(window, int) else window / sampling_interval(series.index)
    if capacity < min_periods:
        raise ValueError(
            f"window {window} holds about {capacity:.1f} readings at this sampling interval, "
            f"fewer than min_periods={min_periods}; use a wider window"
        )
