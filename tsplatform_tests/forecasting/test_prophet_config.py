"""Prophet's settings follow the data (issue 12.3): real Prophet fits on generated series.

Each series is seeded, so the holdout's choice is deterministic; the bounds are what separates
a configured Prophet from Prophet's defaults (which continue a slope fitted far back).
"""

import numpy as np
import pandas as pd
import pytest

from tsplatform.forecasting import forecast

HORIZON = 13


def weekly(values) -> pd.Series:
    return pd.Series(values, index=pd.date_range("2020-01-05", periods=len(values), freq="W-SUN"))


def prophet_block(series: pd.Series, horizon: int = HORIZON):
    frame = forecast(series, horizon, models=("prophet",))
    return frame[frame["model"] == "prophet"], frame.attrs["settings"]["prophet"]


def test_weekly_data_gets_no_weekly_or_daily_term_and_no_yearly_before_two_years():
    rng = np.random.default_rng(3)
    _, settings = prophet_block(weekly(200 + rng.normal(0, 5, 90)))
    assert settings["weekly_seasonality"] is False
    assert settings["daily_seasonality"] is False
    assert settings["yearly_seasonality"] is False  # 90 weeks < 2 years
    assert settings["changepoint_prior_scale"] == 0.01  # short history: a stiff trend
    assert settings["trend_chosen_by"] == "holdout"
    assert set(settings["holdout_mae"]) == {"linear/anchored", "linear/plain", "flat/anchored", "flat/plain"}


def test_trendless_noisy_series_stays_flat_within_the_history_range():
    """50 + N(0, 5^2): any slope is noise; the forecast must stay level and inside the history."""
    rng = np.random.default_rng(11)
    history = 50 + rng.normal(0, 5, 150)
    block, settings = prophet_block(weekly(history))
    yhat = block["yhat"].to_numpy()
    assert settings["growth"] == "flat"
    assert history.min() <= yhat.min() and yhat.max() <= history.max()
    assert abs(yhat[-1] - yhat[0]) < 1.0  # level: no drift over the 13 weeks
    assert abs(yhat.mean() - 50) < 5  # near the true level (one noise sd)


def test_clear_linear_trend_is_kept_and_continued():
    """100 + 2 t + N(0, 3^2) over 156 weeks: the next 13 weeks lie on 412..436."""
    rng = np.random.default_rng(5)
    t = np.arange(156 + HORIZON)
    truth = 100 + 2.0 * t
    block, settings = prophet_block(weekly(truth[:156] + rng.normal(0, 3, 156)))
    yhat = block["yhat"].to_numpy()
    assert settings["growth"] == "linear"
    assert np.mean(np.abs(yhat - truth[156:])) < 4  # a flat forecast would be off by ~14 on average
    assert np.polyfit(np.arange(HORIZON), yhat, 1)[0] == pytest.approx(2.0, abs=0.3)


def test_level_shift_at_the_end_is_followed():
    """A level that jumps by 40 in the last 8 weeks: Prophet's stiff trend lags behind; the
    anchor (chosen by the holdout) starts the forecast from where the series is."""
    rng = np.random.default_rng(2)
    history = np.r_[100 + rng.normal(0, 2, 112), 140 + rng.normal(0, 2, 8)]
    block, settings = prophet_block(weekly(history))
    assert settings["level_anchor"] is True
    assert abs(block["yhat"].to_numpy().mean() - 140) < 6


def test_too_short_for_a_holdout_gives_a_flat_anchored_forecast():
    rng = np.random.default_rng(4)
    history = 30 + np.cumsum(rng.normal(0, 1, 25))
    block, settings = prophet_block(weekly(history))
    assert settings["trend_chosen_by"] == "too short for a holdout"
    assert settings["growth"] == "flat" and settings["level_anchor"] is True
    assert abs(block["yhat"].to_numpy()[0] - history[-1]) < 2


def test_hourly_data_gets_a_daily_term_and_the_sub_daily_rule():
    hours = pd.date_range("2021-03-01", periods=24 * 21, freq="h")
    rng = np.random.default_rng(9)
    values = 100 + 20 * np.sin(2 * np.pi * hours.hour / 24) + rng.normal(0, 2, len(hours))
    block, settings = prophet_block(pd.Series(values, index=hours), horizon=48)
    assert settings["daily_seasonality"] is True and settings["weekly_seasonality"] is True
    assert settings["trend_chosen_by"] == "sub-daily rule"
    assert settings["growth"] == "linear" and settings["changepoint_range"] == 0.8
    future = block["ds"].dt.hour.to_numpy()
    truth = 100 + 20 * np.sin(2 * np.pi * future / 24)
    assert np.mean(np.abs(block["yhat"].to_numpy() - truth)) < 3
