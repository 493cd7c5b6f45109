"""Theta (Assimakopoulos & Nikolopoulos 2000), M4's strongest simple benchmark, via statsmodels.

``ThetaModel`` with theta = 2: SES with drift equal to half the slope of the linear trend.
The series is deseasonalised on the short cycle (``prepared.season_length``, when two full
cycles exist) only if statsmodels' own 90% autocorrelation test finds it; multiplicative
when the history is strictly positive, else additive. The interval is statsmodels' own
``prediction_intervals``. As a benchmark it is kept standard: no yearly Fourier curve.
"""

from __future__ import annotations

import numpy as np

from ..preparation import PreparedSeries
from .base import ModelForecast

THETA = 2.0


def fit_forecast(prepared: PreparedSeries, horizon: int, interval: float) -> ModelForecast:
    from statsmodels.tsa.forecasting.theta import ThetaModel

    season = prepared.season_length if prepared.use_season else 1
    model = ThetaModel(prepared.array(), period=season, deseasonalize=season > 1, use_test=True)
    result = model.fit()
    components = result.forecast_components(horizon)
    bounds = result.prediction_intervals(horizon, theta=THETA, alpha=1 - interval)
    neutral = 1.0 if model.method.startswith("mul") else 0.0
    seasonal_adjustment = bool(season > 1 and not np.allclose(components["seasonal"].to_numpy(), neutral))
    return ModelForecast(
        mean=result.forecast(horizon, theta=THETA).to_numpy(dtype=float),
        lower=bounds["lower"].to_numpy(dtype=float),
        upper=bounds["upper"].to_numpy(dtype=float),
        settings={
            "method": "theta",
            "theta": THETA,
            "period": season,
            "seasonal_adjustment": model.method if seasonal_adjustment else None,
            "alpha": round(float(result.params["alpha"]), 4),
            "drift": float(result.params["b0"]) / THETA,
            "sigma2": float(result.sigma2),
        },
    )
