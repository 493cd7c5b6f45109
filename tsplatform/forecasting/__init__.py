"""Forecasting library of tsplatform: Prophet, SARIMAX and Holt-Winters (ETS) and the benchmarks
(naive, seasonal naive, Theta), rolling-origin backtests, the ensemble formed from them and
intervals calibrated from them (``evidence.py``, ``calibration.py``), a process-pool runner for
many series, and HTML charts.

No Dagster here. Public names are loaded on first use (PEP 562) so that
``import tsplatform.forecasting`` costs nothing: pandas, statsmodels, Prophet and plotly are
imported only by the functions that need them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "forecast": "forecaster",
    "DEFAULT_MODELS": "forecaster",
    "FORECAST_COLUMNS": "forecaster",
    "backtest": "backtesting",
    "summarize_backtest": "backtesting",
    "choose_best": "backtesting",
    "BACKTEST_COLUMNS": "backtesting",
    "SUMMARY_COLUMNS": "backtesting",
    "forecast_categories": "parallel",
    "CategoryForecast": "parallel",
    "smape": "metrics",
    "mase": "metrics",
    "mase_scale": "metrics",
    "interval_coverage": "metrics",
    "render_category_chart": "category_charts",
    "render_index": "category_charts",
    "page_filename": "category_charts",
    "prepare_series": "preparation",
    "infer_frequency": "frequency",
}

__all__ = [
    "BACKTEST_COLUMNS",
    "CategoryForecast",
    "DEFAULT_MODELS",
    "FORECAST_COLUMNS",
    "SUMMARY_COLUMNS",
    "backtest",
    "choose_best",
    "forecast",
    "forecast_categories",
    "infer_frequency",
    "interval_coverage",
    "mase",
    "mase_scale",
    "page_filename",
    "prepare_series",
    "render_category_chart",
    "render_index",
    "smape",
    "summarize_backtest",
]

if TYPE_CHECKING:  # for type checkers and IDEs only
    from .backtesting import BACKTEST_COLUMNS, SUMMARY_COLUMNS, backtest, choose_best, summarize_backtest
    from .category_charts import page_filename, render_category_chart, render_index
    from .forecaster import DEFAULT_MODELS, FORECAST_COLUMNS, forecast
    from .frequency import infer_frequency
    from .metrics import interval_coverage, mase, mase_scale, smape
    from .parallel import CategoryForecast, forecast_categories
    from .preparation import prepare_series


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
