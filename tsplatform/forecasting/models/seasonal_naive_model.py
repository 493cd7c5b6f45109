"""The seasonal naive benchmark as a registered model: the last short cycle repeated.

The cycle is the one the other models fit natively (``prepared.season_length``, e.g. 7 for
daily data, 24 for hourly), used only when two full cycles exist, as for SARIMAX and ETS;
without one it is the naive forecast. Interval: sigma from the one-season differences,
widening with sqrt(seasons ahead) (``naive.py``, FPP3 §5.5).
"""

from __future__ import annotations

from ..preparation import PreparedSeries
from .base import ModelForecast
from .naive import seasonal_naive_forecast


def fit_forecast(prepared: PreparedSeries, horizon: int, interval: float) -> ModelForecast:
    season = prepared.season_length if prepared.use_season else 1
    return seasonal_naive_forecast(prepared.array(), horizon, interval, season)
