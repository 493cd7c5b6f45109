"""The process pool gives exactly what the single-series functions give."""

import numpy as np
import pandas as pd
import pytest

from tsplatform.forecasting import backtest, choose_best, forecast, forecast_categories, summarize_backtest
from tsplatform.forecasting.backtesting import flag_best
from tsplatform.forecasting.models import MODEL_NAMES

from .synthetic import intermittent_series, weekly_trend_series

HORIZON = 7


@pytest.fixture(scope="module")
def series_by_key() -> dict:
    weekly_index = pd.date_range("2022-01-02", periods=40, freq="W-SUN")
    return {
        "toys": weekly_trend_series(84, seed=1),
        "garden <b>&</b>": intermittent_series(70, seed=4),
        "weekly": pd.Series(50 + np.random.default_rng(5).normal(0, 2, 40), index=weekly_index),
        "empty": pd.Series([], dtype=float, index=pd.DatetimeIndex([])),
    }


@pytest.fixture(scope="module")
def pooled(series_by_key) -> dict:
    return forecast_categories(series_by_key, HORIZON, 0.9, max_workers=2)


def test_pool_matches_single_series_calls(series_by_key, pooled):
    assert list(pooled) == list(series_by_key)
    for key in ("toys", "garden <b>&</b>", "weekly"):
        result = pooled[key]
        assert result.error is None
        expected_backtest = backtest(series_by_key[key], HORIZON, interval=0.9)
        # forecast() finishes its result with its own backtest windows, as the pool does
        expected_forecast = forecast(series_by_key[key], HORIZON, interval=0.9)
        # plus the flag the choice earns (seasonal naive chosen: nothing beat it)
        pd.testing.assert_frame_equal(result.forecast, flag_best(expected_forecast, result.best_model))
        pd.testing.assert_frame_equal(result.backtest, expected_backtest)
        assert result.forecast.attrs["settings"] == expected_forecast.attrs["settings"]
        assert result.backtest.attrs["windows"] == expected_backtest.attrs["windows"]
        pd.testing.assert_frame_equal(result.summary, summarize_backtest(expected_backtest))
        assert result.best_model == choose_best(result.summary)
        assert result.fit_seconds > 0
        assert set(result.flags) == {*MODEL_NAMES, "ensemble"}
        assert set(result.warnings) >= set(MODEL_NAMES)


def test_bad_series_reports_an_error_without_sinking_the_batch(pooled):
    assert "no finite observed values" in pooled["empty"].error
    assert pooled["empty"].forecast.empty
    assert pooled["toys"].error is None


def test_in_process_mode_matches_the_pool(series_by_key, pooled):
    inline = forecast_categories({"toys": series_by_key["toys"]}, HORIZON, 0.9, max_workers=1)
    pd.testing.assert_frame_equal(inline["toys"].forecast, pooled["toys"].forecast)
    pd.testing.assert_frame_equal(inline["toys"].backtest, pooled["toys"].backtest)
