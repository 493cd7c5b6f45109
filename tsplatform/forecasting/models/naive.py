"""Benchmarks and safety nets: constant, naive (random walk) and seasonal naive forecasts.

Their intervals are the models' own normal intervals with sigma estimated from the
one-step (or one-season) differences, as in Hyndman & Athanasopoulos, FPP3 §5.5:
naive h-step sd = sigma * sqrt(h); seasonal naive sd = sigma * sqrt(k + 1), k = (h - 1) // m.
"""

from __future__ import annotations

import numpy as np

from .base import ModelForecast, normal_quantile


def constant_forecast(value: float, horizon: int) -> ModelForecast:
    """A series that never changed: forecast the value, with a zero-width interval."""
    values = np.full(horizon, float(value))
    return ModelForecast(values, values.copy(), values.copy(), settings={"method": "constant"})


def naive_forecast(history: np.ndarray, horizon: int, interval: float) -> ModelForecast:
    """Last value carried forward; sigma is the root mean square of the first differences."""
    return seasonal_naive_forecast(history, horizon, interval, season_length=1)


def seasonal_naive_forecast(
    history: np.ndarray, horizon: int, interval: float, season_length: int
) -> ModelForecast:
    """Repeat the last full season (the last value when ``season_length`` is 1 or too long)."""
    history = np.asarray(history, dtype=float)
    m = season_length if 1 < season_length <= len(history) - 1 else 1
    last_season = history[-m:]
    steps = np.arange(horizon)
    mean = last_season[steps % m]
    sigma = _root_mean_square(history[m:] - history[:-m])
    seasons_ahead = steps // m
    half_width = normal_quantile(interval) * sigma * np.sqrt(seasons_ahead + 1)
    method = "seasonal_naive" if m > 1 else "naive"
    return ModelForecast(
        mean,
        mean - half_width,
        mean + half_width,
        settings={"method": method, "season_length": m, "residual_sigma": sigma},
    )


def _root_mean_square(values: np.ndarray) -> float:
    """sqrt(mean(x^2)) computed on x / max|x| so that huge values do not overflow."""
    if len(values) == 0:
        return 0.0
    largest = float(np.max(np.abs(values)))
    if largest == 0 or not np.isfinite(largest):
        return 0.0 if largest == 0 else float("inf")
    return largest * float(np.sqrt(np.mean((values / largest) ** 2)))
