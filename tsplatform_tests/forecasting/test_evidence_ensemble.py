"""The ensemble is formed from evidence on the series: the mean of the ``TOP_MEMBERS`` models with the lowest
backtest MASE, scored in the backtest as that same mean; forecast() and the pool agree.

Real fits on generated series; the members and scores are recomputed here from the backtest the
library reports, not taken from it."""

import numpy as np
import pandas as pd
import pytest

from tsplatform.forecasting import backtest, forecast, forecast_categories
from tsplatform.forecasting.backtesting import evaluate_window, plan_windows
from tsplatform.forecasting.evidence import RULE, TOP_MEMBERS, finish_forecast
from tsplatform.forecasting.metrics import mase_scale
from tsplatform.forecasting.preparation import prepare_series
from tsplatform_tests.forecasting.test_benchmark_models import block, seasonal_random_walk

MODELS = ("sarimax", "holt_winters", "naive", "seasonal_naive", "theta")
HORIZON = 7


@pytest.fixture(scope="module")
def drifting():
    return seasonal_random_walk(70, seed=3)


@pytest.fixture(scope="module")
def pooled(drifting):
    return forecast_categories({"d": drifting}, HORIZON, 0.95, MODELS, max_workers=1)["d"]


def test_members_are_the_lowest_backtest_mase_and_the_forecast_is_their_mean(pooled):
    scores = pooled.summary.set_index("model")["mase"].drop("ensemble").sort_values()
    members = list(scores.index[:TOP_MEMBERS])
    assert pooled.settings["ensemble"]["members"] == members
    assert pooled.settings["ensemble"]["rule"] == RULE
    assert "naive" not in members  # repeating the last day of a weekly pattern scores far worse
    expected = np.mean([block(pooled.forecast, m)["yhat"].to_numpy() for m in members], axis=0)
    assert block(pooled.forecast, "ensemble")["yhat"].to_numpy() == pytest.approx(expected)


def test_the_ensemble_backtest_row_scores_the_same_mean(drifting, pooled):
    members = pooled.settings["ensemble"]["members"]
    prepared = prepare_series(drifting)
    for window in plan_windows(prepared, HORIZON, 3):
        raw = evaluate_window(prepared, window, HORIZON, MODELS, 0.95)
        points = raw.points.set_index(["model", "step"])
        combined = np.mean([points.loc[m, "yhat"].to_numpy() for m in members], axis=0)
        actual = points.loc[members[0], "y"].to_numpy()
        training = drifting[drifting.index <= window.origin].to_numpy()
        expected = np.mean(np.abs(combined - actual)) / mase_scale(training, 7)
        row = pooled.backtest[(pooled.backtest["model"] == "ensemble") & (pooled.backtest["origin"] == window.origin)]
        assert row["mase"].iloc[0] == pytest.approx(expected)


def test_forecast_backtest_and_the_pool_agree(drifting, pooled):
    pd.testing.assert_frame_equal(pooled.backtest, backtest(drifting, HORIZON, MODELS, 0.95))
    alone = forecast(drifting, HORIZON, MODELS, 0.95)
    assert alone.attrs["settings"]["ensemble"] == pooled.settings["ensemble"]
    assert block(alone, "ensemble")["yhat"].to_numpy() == pytest.approx(block(pooled.forecast, "ensemble")["yhat"].to_numpy())


def test_no_window_leaves_the_fitted_models_mean_and_says_why():
    short = seasonal_random_walk(8).iloc[:5]
    assert plan_windows(prepare_series(short), HORIZON, 3) == []  # too short for one window
    raw = forecast(short, HORIZON, MODELS, 0.95, origins=0)
    finished, windows = finish_forecast(raw, [], short)
    assert windows == []
    assert "too short" in finished.attrs["settings"]["ensemble"]["rule"]
    pd.testing.assert_frame_equal(finished[["model", "yhat", "lower", "upper"]], raw[["model", "yhat", "lower", "upper"]])
