"""The naive benchmark as a registered model: the last value carried forward.

Its interval widens with sqrt(h), sigma from the one-step differences (``naive.py``, FPP3 §5.5).
"""

from __future__ import annotations

from ..preparation import PreparedSeries
from .base import ModelForecast
from .naive import naive_forecast


def fit_forecast(prepared: PreparedSeries, horizon: int, interval: float) -> ModelForecast:
    return naive_forecast(prepared.array(), horizon, interval)
