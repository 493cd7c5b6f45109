"""Forecasting a cyclic sensor with Fourier-feature linear regression.

y = a + b·t + Σ_k (c_k sin(2πkt/P) + d_k cos(2πkt/P)), fitted by OLS, where t counts sampling
intervals from the first reading and P is the period in sampling intervals — derived from the
actual (median) spacing of the data, never assumed in rows. Fast, transparent, and its OLS
prediction interval includes the residual variance, so the band is where readings should fall.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from tsplatform.stream.periods import detect_period
from tsplatform.stream.series import collapse_duplicates, sampling_interval

DEFAULT_PERIOD = pd.Timedelta("1D")
FORECAST_COLUMNS = ["ds", "yhat", "lower", "upper"]


def fourier_forecast(
    series: pd.Series,
    horizon: int | str | pd.Timedelta,
    period: str | pd.Timedelta | None = None,
    harmonics: int = 3,
    interval: float = 0.95,
) -> pd.DataFrame:
    """Forecast ``horizon`` steps (an int) or a time span (a Timedelta/string) past the last reading.

    period: a time span (``"1D"``), or None/``"auto"`` to detect it (periodogram + Fisher test,
        see ``periods.detect_period``), falling back to one day when no cycle stands out.
    harmonics: sin/cos pairs; fewer are used when the period is too short for them (Nyquist) or the
        data too few.
    interval: coverage of the prediction interval.

    Duplicated timestamps are averaged and missing values dropped; irregular timestamps are fine
    (t is real elapsed time / sampling interval). Returns columns ds, yhat, lower, upper, with
    ``attrs``: period (Timedelta), harmonics (int), period_source ("given", "detected",
    "default"), sampling_interval (Timedelta), interval (float).
    """
    import statsmodels.api as sm

    if not 0.0 < interval < 1.0:
        raise ValueError("interval must be between 0 and 1")
    values = collapse_duplicates(series)
    if len(values) < 3:
        raise ValueError("need at least three readings to forecast")
    step = sampling_interval(values.index)
    period_used, source = _resolve_period(values, period)
    steps_per_period = period_used / step
    elapsed = ((values.index - values.index[0]) / step).to_numpy(dtype=float)
    usable = _usable_harmonics(harmonics, steps_per_period, len(values))

    future_steps = _horizon_steps(horizon, step)
    future_elapsed = elapsed[-1] + np.arange(1, future_steps + 1, dtype=float)
    scale = max(elapsed[-1], 1.0)
    model = sm.OLS(values.to_numpy(dtype=float), _design(elapsed, scale, steps_per_period, usable)).fit()
    prediction = model.get_prediction(_design(future_elapsed, scale, steps_per_period, usable))
    frame = prediction.summary_frame(alpha=1.0 - interval)

    forecast = pd.DataFrame(
        {
            "ds": values.index[-1] + step * np.arange(1, future_steps + 1),
            "yhat": frame["mean"].to_numpy(),
            "lower": frame["obs_ci_lower"].to_numpy(),
            "upper": frame["obs_ci_upper"].to_numpy(),
        },
        columns=FORECAST_COLUMNS,
    )
    forecast.attrs.update(
        period=period_used, harmonics=usable, period_source=source, sampling_interval=step, interval=interval
    )
    return forecast


def _resolve_period(values: pd.Series, period) -> tuple[pd.Timedelta, str]:
    if period is None or (isinstance(period, str) and period.lower() == "auto"):
        detected = detect_period(values)
        return (detected, "detected") if detected is not None else (DEFAULT_PERIOD, "default")
    span = pd.Timedelta(period)
    if span <= pd.Timedelta(0):
        raise ValueError("period must be positive")
    return span, "given"


def _usable_harmonics(requested: int, steps_per_period: float, observations: int) -> int:
    """Cap harmonics below Nyquist (k < P/2) and keep more observations than parameters."""
    if requested < 0:
        raise ValueError("harmonics must be >= 0")
    below_nyquist = max(0, math.ceil(steps_per_period / 2) - 1)
    affordable = max(0, (observations - 3) // 2)
    return min(requested, below_nyquist, affordable)


def _horizon_steps(horizon, step: pd.Timedelta) -> int:
    if isinstance(horizon, (int, np.integer)) and not isinstance(horizon, bool):
        steps = int(horizon)
    else:
        steps = int(pd.Timedelta(horizon) // step)
    if steps < 1:
        raise ValueError(f"horizon {horizon!r} is shorter than one sampling interval ({step})")
    return steps


def _design(elapsed: np.ndarray, scale: float, steps_per_period: float, harmonics: int) -> np.ndarray:
    columns = [np.ones_like(elapsed), elapsed / scale]
    for k in range(1, harmonics + 1):
        angle = 2.0 * np.pi * k * elapsed / steps_per_period
        columns += [np.sin(angle), np.cos(angle)]
    return np.column_stack(columns)
