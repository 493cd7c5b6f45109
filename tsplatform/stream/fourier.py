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
from tsplatform.stream.sensor_charts import format_period
from tsplatform.stream.series import collapse_duplicates, sampling_interval

DEFAULT_PERIOD = pd.Timedelta("1D")
FORECAST_COLUMNS = ["ds", "yhat", "lower", "upper"]
# Detection replaces the default period only on this much evidence: the history holds at least
# MIN_CYCLES of the detected cycle, and a model on it leaves at most MAX_VARIANCE_RATIO of the
# residual variance a model on the default period leaves (a clear margin, not a coin toss).
MIN_CYCLES = 3.0
MAX_VARIANCE_RATIO = 0.8


def fourier_forecast(
    series: pd.Series,
    horizon: int | str | pd.Timedelta,
    period: str | pd.Timedelta | None = None,
    harmonics: int = 3,
    interval: float = 0.95,
    default_period: str | pd.Timedelta = DEFAULT_PERIOD,
) -> pd.DataFrame:
    """Forecast ``horizon`` steps (an int) or a time span (a Timedelta/string) past the last reading.

    period: a time span (``"1D"``: used as given), or None/``"auto"``: ``default_period`` unless
        detection (periodogram + Fisher test, ``periods.detect_period``) finds another cycle with
        at least ``MIN_CYCLES`` cycles in the history that fits clearly better (residual variance at
        most ``MAX_VARIANCE_RATIO`` of the default's). One cycle of history never decides.
    default_period: the configured cycle (one day: sensor cycles are usually daily).
    harmonics: sin/cos pairs; fewer are used when the period is too short for them (Nyquist) or the
        data too few.
    interval: coverage of the prediction interval.

    Duplicated timestamps are averaged and missing values dropped; irregular timestamps are fine
    (t is real elapsed time / sampling interval). Returns columns ds, yhat, lower, upper, with
    ``attrs``: period (Timedelta), harmonics (int), period_source ("given", "detected",
    "default"), period_reason (why that period, in words), sampling_interval (Timedelta),
    interval (float).
    """
    import statsmodels.api as sm

    if not 0.0 < interval < 1.0:
        raise ValueError("interval must be between 0 and 1")
    values = collapse_duplicates(series)
    if len(values) < 3:
        raise ValueError("need at least three readings to forecast")
    step = sampling_interval(values.index)
    period_used, source, reason = _resolve_period(values, period, pd.Timedelta(default_period), step, harmonics)
    steps_per_period = period_used / step
    elapsed = ((values.index - values.index[0]) / step).to_numpy(dtype=float)
    usable = _usable_harmonics(harmonics, steps_per_period, len(values), elapsed[-1])

    future_steps = _horizon_steps(horizon, step)
    future_elapsed = elapsed[-1] + np.arange(1, future_steps + 1, dtype=float)
    scale = max(elapsed[-1], 1.0)
    while True:  # near-collinear terms give a negative predicted variance: drop harmonics until finite
        model = sm.OLS(values.to_numpy(dtype=float), _design(elapsed, scale, steps_per_period, usable)).fit()
        prediction = model.get_prediction(_design(future_elapsed, scale, steps_per_period, usable))
        frame = prediction.summary_frame(alpha=1.0 - interval)
        if usable == 0 or np.isfinite(frame[["obs_ci_lower", "obs_ci_upper"]].to_numpy()).all():
            break
        usable -= 1

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
        period=period_used, harmonics=usable, period_source=source, period_reason=reason,
        sampling_interval=step, interval=interval,
    )
    return forecast


def _resolve_period(
    values: pd.Series, period, default: pd.Timedelta, step: pd.Timedelta, harmonics: int
) -> tuple[pd.Timedelta, str, str]:
    """(period, source, reason): a given period as is; otherwise the default unless detection has
    the evidence to replace it."""
    if not (period is None or (isinstance(period, str) and period.lower() == "auto")):
        span = pd.Timedelta(period)
        if span <= pd.Timedelta(0):
            raise ValueError("period must be positive")
        return span, "given", f"configured: {format_period(span)}"
    if default <= pd.Timedelta(0):
        raise ValueError("default_period must be positive")
    detected = detect_period(values)
    if detected is None:
        return default, "default", f"default {format_period(default)}: no cycle stands out from the noise"
    if detected == default:
        return default, "detected", f"detected {format_period(detected)}, the default"
    cycles = (values.index[-1] - values.index[0]) / detected
    if cycles < MIN_CYCLES:
        return default, "default", (
            f"default {format_period(default)}: detected {format_period(detected)} but the history holds only "
            f"{cycles:.1f} of its cycles (needs {MIN_CYCLES:g})"
        )
    ratio = _residual_variance(values, step, detected, harmonics) / max(
        _residual_variance(values, step, default, harmonics), 1e-300
    )
    if ratio > MAX_VARIANCE_RATIO:
        return default, "default", (
            f"default {format_period(default)}: detected {format_period(detected)} ({cycles:.1f} cycles) leaves "
            f"{ratio:.0%} of the default's residual variance (must be at most {MAX_VARIANCE_RATIO:.0%})"
        )
    return detected, "detected", (
        f"detected {format_period(detected)} over {cycles:.1f} cycles: {ratio:.0%} of the default "
        f"{format_period(default)}'s residual variance"
    )


def _residual_variance(values: pd.Series, step: pd.Timedelta, period: pd.Timedelta, harmonics: int) -> float:
    """In-sample residual variance of the Fourier model on ``period`` (the comparison of two periods)."""
    elapsed = ((values.index - values.index[0]) / step).to_numpy(dtype=float)
    steps_per_period = period / step
    usable = _usable_harmonics(harmonics, steps_per_period, len(values), elapsed[-1])
    design = _design(elapsed, max(elapsed[-1], 1.0), steps_per_period, usable)
    observed = values.to_numpy(dtype=float)
    coefficients, *_ = np.linalg.lstsq(design, observed, rcond=None)
    return float(np.var(observed - design @ coefficients))


def _usable_harmonics(requested: int, steps_per_period: float, observations: int, span_steps: float) -> int:
    """Cap harmonics below Nyquist (k < P/2), keep more observations than parameters, and use none
    on less than half a period of history (a cycle cannot be told from a trend on a sliver of it)."""
    if requested < 0:
        raise ValueError("harmonics must be >= 0")
    if span_steps < steps_per_period / 2:
        return 0
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
