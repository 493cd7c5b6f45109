"""``forecast``: every requested model plus their ensemble, as one long DataFrame."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from . import flags as F
from .blas_threads import single_threaded_blas
from .ensemble import ENSEMBLE, INTERVAL_METHOD, combine
from .guarded_fit import run_model
from .models import BENCHMARK_MODELS, MODEL_NAMES
from .preparation import PreparedSeries, prepare_series

DEFAULT_MODELS = MODEL_NAMES  # the fitted models and the benchmarks (naive, seasonal_naive, theta)
FORECAST_COLUMNS = ["model", "ds", "yhat", "lower", "upper", "flag"]


def forecast(
    series: pd.Series,
    horizon: int,
    models: Iterable[str] = DEFAULT_MODELS,
    interval: float = 0.95,
    *,
    nonnegative: bool | None = None,
    freq: str | None = None,
    origins: int = 3,
) -> pd.DataFrame:
    """Forecast ``horizon`` steps with each model and their ensemble.

    Returns columns ``model, ds, yhat, lower, upper, flag``: ``horizon`` rows per model, then
    ``model == "ensemble"``. ``attrs["warnings"]`` maps model -> messages caught while
    fitting; ``attrs["settings"]`` holds the series description (frequency, gaps filled,
    seasonality) and each model's chosen settings and information criterion.
    ``nonnegative=None`` clips at zero when the history has no negative values.
    ``flag`` is a comma-joined list (see ``flags.py``); the ensemble carries the flags all
    its members share.

    ``origins`` rolling-origin backtest windows (``backtesting.py``) are the evidence the
    result is finished with (``evidence.finish_forecast``, as in the pipeline): the ensemble is
    the mean of the three models with the lowest backtest MASE, and every interval is calibrated
    from its model's backtest errors (``calibration.py``); ``attrs["settings"]`` records the
    members and factors. That costs ``origins`` more fits of every model. ``origins=0``: the raw
    fits, and the ensemble is the mean of the fitted models (prophet, sarimax, holt_winters;
    benchmarks only when nothing else was requested), as when a series is too short for a window.
    ``freq`` overrides the inferred calendar.
    """
    prepared = prepare_series(series, freq=freq, nonnegative=nonnegative)
    final = forecast_prepared(prepared, horizon, models, interval)
    if origins < 1:
        return final
    from .backtesting import evaluate_window, plan_windows
    from .evidence import finish_forecast

    names = normalize_models(models)
    windows = [evaluate_window(prepared, window, horizon, names, check_interval(interval), nonnegative)
               for window in plan_windows(prepared, horizon, origins)]
    finished, _ = finish_forecast(final, windows, series)
    return finished


def forecast_prepared(
    prepared: PreparedSeries, horizon: int, models: Iterable[str], interval: float
) -> pd.DataFrame:
    """``forecast`` for a series that is already regularized (backtests reuse this)."""
    horizon = check_horizon(horizon)
    interval = check_interval(interval)
    names = normalize_models(models)
    future = prepared.future_index(horizon)

    blocks: list[pd.DataFrame] = []
    results = {}
    warnings_by_model: dict[str, list[str]] = {}
    settings: dict = {"series": prepared.settings(), "interval": interval}
    with single_threaded_blas():
        for name in names:
            result, messages = run_model(name, prepared, horizon, interval)
            results[name] = result
            warnings_by_model[name] = messages
            settings[name] = result.settings
            blocks.append(_block(name, future, result, prepared.flags))
    members = ensemble_members(names)
    ensemble = combine([results[name] for name in members])
    blocks.append(_block(ENSEMBLE, future, ensemble, prepared.flags))
    settings[ENSEMBLE] = {"members": list(members), "interval_method": INTERVAL_METHOD}

    frame = pd.concat(blocks, ignore_index=True)[FORECAST_COLUMNS]
    frame.attrs["warnings"] = warnings_by_model
    frame.attrs["settings"] = settings
    return frame


def _block(name: str, future: pd.DatetimeIndex, result, data_flags) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model": name,
            "ds": future,
            "yhat": np.asarray(result.mean, dtype=float),
            "lower": np.asarray(result.lower, dtype=float),
            "upper": np.asarray(result.upper, dtype=float),
            "flag": F.join_flags([*data_flags, *result.flags]),
        }
    )


def ensemble_members(names: Iterable[str]) -> tuple[str, ...]:
    """The models the ensemble averages: the fitted ones, benchmarks excluded (they are
    the yardstick the ensemble is judged against); all of them when only benchmarks ran."""
    names = tuple(names)
    fitted = tuple(name for name in names if name not in BENCHMARK_MODELS)
    return fitted or names


def normalize_models(models: Iterable[str]) -> tuple[str, ...]:
    """Known model names, de-duplicated, order kept; 'ensemble' is implied and dropped."""
    if isinstance(models, str):
        models = (models,)
    names: list[str] = []
    for name in models:
        if name == ENSEMBLE or name in names:
            continue
        if name not in MODEL_NAMES:
            raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODEL_NAMES)}")
        names.append(name)
    if not names:
        raise ValueError("at least one model is needed")
    return tuple(names)


def check_horizon(horizon: int) -> int:
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ValueError(f"horizon must be a positive integer, got {horizon!r}")
    return int(horizon)


def check_interval(interval: float) -> float:
    if not 0 < float(interval) < 1:
        raise ValueError(f"interval must be between 0 and 1, got {interval!r}")
    return float(interval)
