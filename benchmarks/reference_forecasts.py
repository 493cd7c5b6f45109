"""Reference forecasts the accuracy case computes itself, beside Naive2 (``m4_scoring.naive2``).

* seasonal naive: the last cycle repeated (the platform's own ``seasonal_naive_forecast``;
  with m = 1, weekly data, it is the plain naive forecast);
* Theta: statsmodels ``ThetaModel`` (Assimakopoulos & Nikolopoulos 2000; M4's Theta benchmark),
  deseasonalised when its own 90% seasonality test says so, with its own prediction interval.

Each returns ``(mean, lower, upper)`` arrays of length ``horizon``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tsplatform.forecasting.models.naive import seasonal_naive_forecast


def seasonal_naive(history, horizon: int, season_length: int, interval: float = 0.95):
    result = seasonal_naive_forecast(np.asarray(history, dtype=float), horizon, interval, season_length)
    return result.mean, result.lower, result.upper


def theta(history: pd.Series, horizon: int, season_length: int, interval: float = 0.95):
    """``history`` keeps its index so the forecast has one; the period is given, never inferred
    (statsmodels would read 52 for weekly data, where M4 uses m = 1)."""
    import warnings

    from statsmodels.tsa.forecasting.theta import ThetaModel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = ThetaModel(history, period=max(int(season_length), 1), deseasonalize=season_length > 1).fit()
        mean = fitted.forecast(horizon).to_numpy(dtype=float)
        bounds = fitted.prediction_intervals(horizon, alpha=1 - interval)
    return mean, bounds["lower"].to_numpy(dtype=float), bounds["upper"].to_numpy(dtype=float)
