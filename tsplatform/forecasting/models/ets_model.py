"""Holt-Winters as a state-space ETS model, chosen by AICc, with the model's own intervals.

``ETSModel`` is the state-space form of Holt-Winters exponential smoothing; unlike
``ExponentialSmoothing`` it has a likelihood (so AICc selection is meaningful) and
analytic prediction intervals for additive errors. Only additive error and seasonality
are used: sales series contain zeros, where multiplicative forms are undefined.
Initial states come from the classical heuristic when the data allow it (fast; only the
smoothing parameters are estimated), else they are estimated.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..preparation import PreparedSeries
from .base import ModelFitError, ModelForecast, small_sample_aicc_ok, yearly_parts

MAX_FIT_POINTS = 730
MAX_ITERATIONS = 200
TREND_OPTIONS = ((None, False), ("add", False), ("add", True))  # (trend, damped)


def fit_forecast(prepared: PreparedSeries, horizon: int, interval: float) -> ModelForecast:
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    yearly_history, yearly_future = yearly_parts(prepared, horizon)
    y = pd.Series(prepared.array()[-MAX_FIT_POINTS:] - yearly_history[-MAX_FIT_POINTS:])
    season = prepared.season_length if prepared.use_season else None
    initialization = "heuristic" if heuristic_initialization_possible(len(y), season) else "estimated"

    candidates: list[dict] = []
    best, best_aicc = None, math.inf
    for seasonal in (None, "add") if season else (None,):
        for trend, damped in TREND_OPTIONS:
            n_params = _parameter_count(trend, damped, seasonal, season, initialization)
            if not small_sample_aicc_ok(len(y), n_params):
                continue
            label = {"error": "add", "trend": trend, "damped_trend": damped, "seasonal": seasonal}
            try:
                result = ETSModel(
                    y,
                    error="add",
                    trend=trend,
                    damped_trend=damped,
                    seasonal=seasonal,
                    seasonal_periods=season if seasonal else None,
                    initialization_method=initialization,
                ).fit(disp=False, maxiter=MAX_ITERATIONS)
            except (ValueError, np.linalg.LinAlgError) as exc:
                candidates.append({**label, "error": f"{type(exc).__name__}: {exc}"})
                continue
            converged = bool(result.mle_retvals.get("converged", False))
            aicc = float(result.aicc)
            candidates.append({**label, "aicc": round(aicc, 3) if math.isfinite(aicc) else None, "converged": converged})
            if converged and math.isfinite(aicc) and aicc < best_aicc:
                best, best_aicc = (result, label), aicc

    settings: dict[str, Any] = {
        "criterion": "aicc",
        "initialization": initialization,
        "seasonal_periods": season,
        "fit_points": len(y),
        "yearly_fourier": prepared.yearly is not None,
        "candidates": candidates,
    }
    if best is None:
        raise ModelFitError("no ETS candidate converged")
    result, label = best
    settings.update(label, aicc=round(best_aicc, 3))
    frame = result.get_prediction(start=len(y), end=len(y) + horizon - 1).summary_frame(alpha=1 - interval)
    return ModelForecast(
        mean=frame["mean"].to_numpy() + yearly_future,
        lower=frame["pi_lower"].to_numpy() + yearly_future,
        upper=frame["pi_upper"].to_numpy() + yearly_future,
        settings=settings,
        converged=True,
    )


def heuristic_initialization_possible(n: int, season: int | None) -> bool:
    """statsmodels' heuristic needs 10 points, and two seasons plus 10 when seasonal."""
    if season:
        return n >= max(2 * season, 10 + 2 * (season // 2))
    return n >= 10


def _parameter_count(trend, damped, seasonal, season, initialization) -> int:
    smoothing = 1 + (trend is not None) + bool(damped) + (seasonal is not None)
    states = 0
    if initialization == "estimated":
        states = 1 + (trend is not None) + ((season - 1) if seasonal else 0)
    return smoothing + states + 1  # + error variance
