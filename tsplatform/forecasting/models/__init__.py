"""Model registry: name -> ``fit_forecast(prepared, horizon, interval) -> ModelForecast``.

Modules are imported on first use so that importing the package stays cheap.
The benchmarks (naive, seasonal naive, Theta) are candidates like the others, so a fitted
model is only chosen when it beats them in the backtest; they are not ensemble members.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

MODEL_MODULES = {
    "prophet": "prophet_model",
    "sarimax": "sarimax_model",
    "holt_winters": "ets_model",
    "naive": "naive_model",
    "seasonal_naive": "seasonal_naive_model",
    "theta": "theta_model",
}
MODEL_NAMES = tuple(MODEL_MODULES)
NAIVE, SEASONAL_NAIVE, THETA = "naive", "seasonal_naive", "theta"
BENCHMARK_MODELS = (NAIVE, SEASONAL_NAIVE, THETA)


def get_model(name: str) -> Callable:
    """The ``fit_forecast`` function of a model, by its public name."""
    if name not in MODEL_MODULES:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODEL_NAMES)}")
    module = importlib.import_module(f"{__name__}.{MODEL_MODULES[name]}")
    return module.fit_forecast
