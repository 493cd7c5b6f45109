"""Run one model safely: capture its warnings, check its output, fall back when it is unusable.

The contract every caller relies on: whatever the data, the result is finite, has
lower <= yhat <= upper, and is clipped at zero for non-negative histories.
"""

from __future__ import annotations

import numpy as np

from . import flags as F
from .models import get_model
from .models.base import ModelForecast
from .models.naive import constant_forecast, naive_forecast, seasonal_naive_forecast
from .preparation import PreparedSeries
from .quiet import capture_warnings

# A forecast may leave the history's range by this many ranges before it is called absurd
# (a trend continued over a horizon as long as the history moves it by about one range).
MEAN_RANGE_MULTIPLE = 3.0
BOUND_RANGE_MULTIPLE = 12.0
ORDINARY_MAGNITUDE = (1e-3, 1e6)


def run_model(name: str, prepared: PreparedSeries, horizon: int, interval: float) -> tuple[ModelForecast, list[str]]:
    """The model's forecast (or a flagged safe substitute) and the messages it produced."""
    if prepared.is_constant:
        return _finish(constant_forecast(prepared.array()[-1], horizon), prepared), []
    if prepared.is_short:
        return _finish(naive_forecast(prepared.array(), horizon, interval), prepared), []

    factor = scale_factor(prepared)
    scaled = prepared.scaled(factor) if factor != 1.0 else prepared
    fit = get_model(name)
    forecast: ModelForecast | None = None
    problem: str | None = None
    with capture_warnings() as captured:
        try:
            forecast = fit(scaled, horizon, interval)
            problem = forecast_problem(forecast, scaled, horizon)
        except Exception as exc:  # any model failure becomes a flagged fallback, never a crash
            problem = f"{type(exc).__name__}: {exc}"
        if problem is not None:
            failed_settings = forecast.settings if forecast is not None else {}
            forecast = fallback_forecast(scaled, horizon, interval)
            forecast.flags.append(F.FALLBACK_SEASONAL_NAIVE)
            forecast.settings.update(fallback_reason=problem, failed_model_settings=failed_settings)
    assert forecast is not None, "a model forecast or its fallback"
    messages = captured.messages()
    if problem is not None:
        messages.append(f"fell back to seasonal naive: {problem}")
    if factor != 1.0:
        forecast.mean, forecast.lower, forecast.upper = (a * factor for a in (forecast.mean, forecast.lower, forecast.upper))
        forecast.settings["input_scale"] = factor
    return _finish(forecast, prepared), messages


def scale_factor(prepared: PreparedSeries) -> float:
    """1 for ordinary magnitudes; for extreme ones (1e9 or 1e-9 overflow or stall the
    optimizers and Kalman filters) a power of two that brings max|y| to about 100.
    Dividing by a power of two is exact, and the optimizer settings stay in the range they
    were tuned for (rescaling ordinary data measurably slowed SARIMAX down)."""
    largest = float(np.max(np.abs(prepared.values[prepared.observed].to_numpy())))
    if not np.isfinite(largest) or largest == 0 or ORDINARY_MAGNITUDE[0] <= largest <= ORDINARY_MAGNITUDE[1]:
        return 1.0
    return float(2.0 ** round(np.log2(largest / 100)))


def fallback_forecast(prepared: PreparedSeries, horizon: int, interval: float) -> ModelForecast:
    """Seasonal naive on the short cycle (plain naive when there is none)."""
    season = prepared.season_length if prepared.n > prepared.season_length else 1
    return seasonal_naive_forecast(prepared.array(), horizon, interval, season)


def forecast_problem(forecast: ModelForecast, prepared: PreparedSeries, horizon: int) -> str | None:
    """Why a model's output cannot be used, or None when it looks sane."""
    if forecast.converged is False:
        return "optimizer did not converge"
    arrays = (forecast.mean, forecast.lower, forecast.upper)
    if any(len(a) != horizon for a in arrays):
        return "forecast has the wrong length"
    if not all(np.all(np.isfinite(a)) for a in arrays):
        return "forecast or interval is not finite"
    observed = prepared.values[prepared.observed].to_numpy()
    low, high = float(observed.min()), float(observed.max())
    scale = max(high - low, 1e-9 * max(abs(low), abs(high), 1.0))
    if forecast.mean.min() < low - MEAN_RANGE_MULTIPLE * scale or forecast.mean.max() > high + MEAN_RANGE_MULTIPLE * scale:
        return f"forecast outside the history range by more than {MEAN_RANGE_MULTIPLE:g} ranges"
    if forecast.lower.min() < low - BOUND_RANGE_MULTIPLE * scale or forecast.upper.max() > high + BOUND_RANGE_MULTIPLE * scale:
        return f"interval wider than {BOUND_RANGE_MULTIPLE:g} history ranges"
    return None


def _finish(forecast: ModelForecast, prepared: PreparedSeries) -> ModelForecast:
    """Enforce lower <= yhat <= upper and, for non-negative histories, clip at zero."""
    mean = forecast.mean
    lower = np.minimum(forecast.lower, mean)
    upper = np.maximum(forecast.upper, mean)
    if prepared.nonnegative:
        clipped = int(np.sum(mean < 0))
        mean, lower, upper = (np.clip(a, 0.0, None) for a in (mean, lower, upper))
        if clipped:
            forecast.settings["clipped_at_zero"] = clipped
    forecast.mean, forecast.lower, forecast.upper = mean, lower, upper
    return forecast
