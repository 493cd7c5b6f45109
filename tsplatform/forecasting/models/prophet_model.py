"""Prophet: trend with changepoints plus Fourier seasonalities, intervals by simulation.

Seasonalities are switched on only when the data can identify them (weekly from two
weeks of daily data, yearly from two years), instead of Prophet's own 'auto' which also
warns about under-identified yearly terms. Sampling is seeded so reruns and parallel runs
give identical bounds.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import numpy as np
import pandas as pd

from ..preparation import PreparedSeries
from ..quiet import silence_prophet_logging
from .base import ModelForecast

SEED = 20240601
UNCERTAINTY_SAMPLES = 1000
# Prophet wants 730 days between first and last point; two full years of daily data (730
# points) span 729. Yearly terms are enabled by our own two-year rule, so this notice is noise.
EXPECTED_YEARLY_NOTICE = "Yearly seasonality is enabled with less than 730 days"
YEARLY_ORDER = {"daily": 10, "business": 10, "weekly": 10, "multiday": 10, "monthly": 5, "quarterly": 2}


def fit_forecast(prepared: PreparedSeries, horizon: int, interval: float) -> ModelForecast:
    from prophet import Prophet

    silence_prophet_logging()
    config = prophet_config(prepared, interval)
    observed = prepared.values[prepared.observed]  # Prophet copes with gaps itself: fit real points only
    history = pd.DataFrame({"ds": _naive_timestamps(observed.index), "y": observed.to_numpy()})
    model = Prophet(**config)
    with _drop_log_message("prophet", EXPECTED_YEARLY_NOTICE):
        model.fit(history, seed=SEED)
    future = pd.DataFrame({"ds": _naive_timestamps(prepared.future_index(horizon))})
    with _seeded_global_numpy(SEED):
        predicted = model.predict(future)
    return ModelForecast(
        mean=predicted["yhat"].to_numpy(),
        lower=predicted["yhat_lower"].to_numpy(),
        upper=predicted["yhat_upper"].to_numpy(),
        settings={**config, "fit_points": len(history)},
        converged=None,
    )


def prophet_config(prepared: PreparedSeries, interval: float) -> dict:
    """Which seasonalities the history can support, as Prophet constructor arguments."""
    kind = prepared.profile.kind
    span_days = _span_days(prepared)
    weekly = (kind in ("daily", "business") and prepared.use_season) or (kind == "subdaily" and span_days >= 14)
    daily = kind == "subdaily" and span_days >= 2
    if kind in ("monthly", "quarterly"):
        yearly: int | bool = YEARLY_ORDER[kind] if prepared.use_season else False
    else:
        yearly = YEARLY_ORDER.get(kind, 10) if prepared.yearly is not None else False
    return {
        "growth": "linear",
        "weekly_seasonality": bool(weekly),
        "daily_seasonality": bool(daily),
        "yearly_seasonality": yearly,
        "seasonality_mode": "additive",
        "interval_width": interval,
        "uncertainty_samples": UNCERTAINTY_SAMPLES,
    }


def _span_days(prepared: PreparedSeries) -> float:
    index = prepared.values.index
    return (index[-1] - index[0]) / pd.Timedelta(days=1) if len(index) > 1 else 0.0


def _naive_timestamps(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Prophet rejects time-zone-aware timestamps; keep the local wall-clock time."""
    return index.tz_localize(None) if index.tz is not None else index


@contextlib.contextmanager
def _seeded_global_numpy(seed: int) -> Iterator[None]:
    """Prophet samples with the global numpy RNG; seed it, then restore the caller's state."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


class _MessageFilter(logging.Filter):
    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self.prefix)


@contextlib.contextmanager
def _drop_log_message(logger_name: str, prefix: str) -> Iterator[None]:
    logger = logging.getLogger(logger_name)
    message_filter = _MessageFilter(prefix)
    logger.addFilter(message_filter)
    try:
        yield
    finally:
        logger.removeFilter(message_filter)
