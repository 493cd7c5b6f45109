"""How the M4 competition scores a forecast, and its Naive2 benchmark (Makridakis et al., 2018).

Written from the competition's own R code (``M4-methods``: ``smape_cal``, ``mase_cal``,
``SeasonalityTest``, ``naive2``) and its guide (MSIS), so the figures compare with the published ones:

* sMAPE = mean over the horizon of 200 |y - f| / (|y| + |f|)  (``tsplatform.forecasting.metrics.smape``
  is exactly this; reused).
* MASE = mean |y - f| / mean |x_t - x_{t-m}| over the history. No fallback when the scale is 0
  (the platform's ``mase_scale`` has one; M4 has none, and no M4 series needs one).
* Naive2 = the last value repeated, after dividing out a classical multiplicative decomposition
  when the series is seasonal: autocorrelation at lag m beyond the 90% limit, and at least 3m points.
* OWA = 1/2 (sMAPE / sMAPE_Naive2 + MASE / MASE_Naive2), each averaged over all series first.
* 95% coverage = share of actuals inside [lower, upper] (``metrics.interval_coverage``, reused);
  MSIS = mean interval score at level 1 - a, scaled like MASE.
"""

from __future__ import annotations

import math

import numpy as np

from tsplatform.forecasting.metrics import interval_coverage, smape
from tsplatform.forecasting.models.naive import naive_forecast

__all__ = ["smape", "mase", "msis", "interval_coverage", "owa", "autocorrelation", "is_seasonal",
           "seasonal_indices", "naive2"]

# one-sided 90% critical value M4 uses in its seasonality test (R: tcrit <- 1.645)
SEASONALITY_CRITICAL_VALUE = 1.645


def seasonal_scale(history, season_length: int) -> float:
    """mean |x_t - x_{t-m}| over the history: the in-sample MAE of the seasonal naive forecast."""
    history = np.asarray(history, dtype=float)
    m = int(season_length)
    return float(np.mean(np.abs(history[m:] - history[:-m])))


def mase(actual, predicted, history, season_length: int) -> float:
    actual, predicted = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    return float(np.mean(np.abs(actual - predicted)) / seasonal_scale(history, season_length))


def msis(actual, lower, upper, history, season_length: int, alpha: float = 0.05) -> float:
    """Mean scaled interval score: width, plus 2/alpha times each miss beyond a bound, over the MASE scale."""
    actual, lower, upper = (np.asarray(a, dtype=float) for a in (actual, lower, upper))
    penalty = (2 / alpha) * (np.clip(lower - actual, 0, None) + np.clip(actual - upper, 0, None))
    return float(np.mean(upper - lower + penalty) / seasonal_scale(history, season_length))


def owa(smape_mean: float, mase_mean: float, naive2_smape_mean: float, naive2_mase_mean: float) -> float:
    """Overall weighted average against Naive2; the arguments are means over the same series."""
    return 0.5 * (smape_mean / naive2_smape_mean + mase_mean / naive2_mase_mean)


def autocorrelation(values, lag: int) -> float:
    """R's ``acf``: sum (x_t - mean)(x_{t+lag} - mean) over sum (x_t - mean)^2."""
    values = np.asarray(values, dtype=float)
    deviations = values - values.mean()
    denominator = float(np.sum(deviations**2))
    if denominator == 0:
        return float("nan")
    return float(np.sum(deviations[:-lag] * deviations[lag:]) / denominator) if lag else 1.0


def is_seasonal(history, season_length: int) -> bool:
    """M4's ``SeasonalityTest``: |acf(m)| > 1.645 sqrt((1 + 2 sum_{k<m} acf(k)^2) / n).

    False when m <= 1, when the history is shorter than 3 m, or (as R's ``acf`` stops at lag
    10 log10(n)) when m is beyond that lag.
    """
    history = np.asarray(history, dtype=float)
    n, m = len(history), int(season_length)
    if m <= 1 or n < 3 * m or m > math.floor(10 * math.log10(n)):
        return False
    correlations = [autocorrelation(history, k) for k in range(1, m + 1)]
    if not all(np.isfinite(correlations)):
        return False
    limit = SEASONALITY_CRITICAL_VALUE * math.sqrt((1 + 2 * sum(r**2 for r in correlations[:-1])) / n)
    return abs(correlations[-1]) > limit


def seasonal_indices(history, season_length: int) -> np.ndarray:
    """R's ``decompose(type = "multiplicative")$figure``: index of each position in the cycle.

    Trend = centred moving average over one cycle (weights 1/2m at both ends when m is even);
    the index of a position = mean of x / trend there, normalised to a mean of 1. Position 0
    is the first point of the history.
    """
    history = np.asarray(history, dtype=float)
    m = int(season_length)
    weights = np.r_[0.5, np.ones(m - 1), 0.5] / m if m % 2 == 0 else np.ones(m) / m
    half = len(weights) // 2
    trend = np.full(len(history), np.nan)
    trend[half : len(history) - half] = np.convolve(history, weights, mode="valid")
    ratios = history / trend
    positions = np.arange(len(history)) % m
    figure = np.array([np.nanmean(ratios[positions == p]) for p in range(m)])
    return figure / figure.mean()


def naive2(history, horizon: int, season_length: int, interval: float = 0.95):
    """M4's Naive2 as ``(mean, lower, upper)``. The interval is the naive forecast's normal interval
    on the (deseasonalised) series, re-seasonalised like the mean (M4 published none for Naive2)."""
    history = np.asarray(history, dtype=float)
    if is_seasonal(history, season_length):
        figure = seasonal_indices(history, season_length)
        positions = np.arange(len(history)) % season_length
        future = np.arange(len(history), len(history) + horizon) % season_length
        adjusted, outgoing = history / figure[positions], figure[future]
    else:
        adjusted, outgoing = history, np.ones(horizon)
    result = naive_forecast(adjusted, horizon, interval)
    return result.mean * outgoing, result.lower * outgoing, result.upper * outgoing
