"""Each real model recovers known structure from generated series.

The weekly-trend series is ``100 + 0.5 t + weekly pattern + N(0, 2^2)`` (``synthetic.py``),
182 days, forecast 14 days ahead; the backtest windows cover days 140-181, level ~ 180.
Why the bounds below separate "works" from "broken":

* An oracle that knows the noise-free curve scores sMAPE ~ E|noise| / level = 1.6 / 180
  ~ 0.9 %. Ignoring the weekly pattern costs mean |pattern| = 38/7 ~ 5.4 per day, sMAPE
  ~ 3 %. Bound: backtest sMAPE < 2 %. (Measured over seeds 1-7: 0.7-1.1 %.)
* Seasonal naive's in-sample MAE is E|N(3.5, 2.83^2)| ~ 3.8 (a week of trend plus two
  noise terms); the oracle's MAE is 1.6, so MASE ~ 0.42, a pattern-blind model ~ 1.5.
  Bound: MASE < 0.8. (Measured: 0.35-0.48.)
* Against the noise-free truth a good forecast errs by less than the noise level:
  MAE < 2.5, while a pattern-blind forecast is off by ~ 5.4, and a trend-blind one sits
  ~ 3.75 below the mean of the next 14 days. Bound on the mean error: < 2.
"""

import numpy as np
import pandas as pd
import pytest

from tsplatform.forecasting import backtest, forecast, summarize_backtest

from .synthetic import WEEKLY_PATTERN, weekly_trend_series, weekly_trend_truth, yearly_series, yearly_truth

MODELS = ("prophet", "sarimax", "holt_winters")
N_DAYS = 182
HORIZON = 14
SLOPE = 0.5


@pytest.fixture(scope="module")
def weekly_trend() -> pd.Series:
    return weekly_trend_series(N_DAYS, seed=7, slope=SLOPE)


@pytest.mark.parametrize("model", MODELS)
def test_forecast_recovers_weekly_pattern_and_trend(model, weekly_trend):
    frame = forecast(weekly_trend, HORIZON, models=(model,))
    block = frame[frame["model"] == model]
    truth = weekly_trend_truth(N_DAYS + HORIZON, slope=SLOPE)[-HORIZON:]
    yhat = block["yhat"].to_numpy()

    assert np.mean(np.abs(yhat - truth)) < 2.5
    assert abs(yhat.mean() - truth.mean()) < 2.0
    # the weekly shape: forecast minus its own straight line follows the true pattern
    steps = np.arange(HORIZON)
    detrended = yhat - np.polyval(np.polyfit(steps, yhat, 1), steps)
    pattern = WEEKLY_PATTERN[(N_DAYS + steps) % 7]
    assert np.corrcoef(detrended, pattern)[0, 1] > 0.9
    assert (block["lower"] <= block["yhat"]).all() and (block["yhat"] <= block["upper"]).all()
    assert block["flag"].eq("").all()


@pytest.mark.parametrize("model", MODELS)
def test_backtest_accuracy_within_bounds(model, weekly_trend):
    scores = backtest(weekly_trend, HORIZON, models=(model,), origins=3)
    summary = summarize_backtest(scores).set_index("model")
    assert summary.loc[model, "smape"] < 2.0
    assert summary.loc[model, "mase"] < 0.8
    # 95 % intervals on 42 test points: allow a few misses, reject intervals that are far too narrow
    assert summary.loc[model, "coverage"] >= 0.75


def test_yearly_seasonality_used_with_two_years_of_daily_data():
    """200 + 0.02 t + 25 sin(2 pi t / 365.25) + weekly + N(0, 2^2). The next 60 days climb
    ~21 units along the yearly curve; a model without it would be off by ~10 on average."""
    series = yearly_series(730, seed=1)
    horizon = 60
    frame = forecast(series, horizon)
    settings = frame.attrs["settings"]
    assert settings["series"]["yearly_seasonality"] is not None
    assert settings["prophet"]["yearly_seasonality"]
    assert settings["sarimax"]["yearly_fourier"] and settings["holt_winters"]["yearly_fourier"]
    truth = yearly_truth(730 + horizon)[-horizon:]
    for model in (*MODELS, "ensemble"):
        yhat = frame.loc[frame["model"] == model, "yhat"].to_numpy()
        assert np.mean(np.abs(yhat - truth)) < 5, model


def test_short_history_gets_no_yearly_term():
    frame = forecast(weekly_trend_series(120), 7, models=("prophet",))
    assert frame.attrs["settings"]["prophet"]["yearly_seasonality"] is False
    assert frame.attrs["settings"]["prophet"]["weekly_seasonality"] is True


def test_settings_record_the_information_criterion_choice(weekly_trend):
    frame = forecast(weekly_trend, HORIZON, models=("sarimax", "holt_winters"))
    sarimax = frame.attrs["settings"]["sarimax"]
    ets = frame.attrs["settings"]["holt_winters"]
    for settings in (sarimax, ets):
        assert settings["criterion"] == "aicc"
        assert len(settings["candidates"]) > 1
        finite = [c["aicc"] for c in settings["candidates"] if c.get("converged") and c.get("aicc") is not None]
        assert settings["aicc"] == pytest.approx(min(finite))
    assert sarimax["seasonal_order"][3] == 7
    assert ets["seasonal"] == "add"


def test_without_evidence_the_ensemble_is_the_mean_with_averaged_bounds(weekly_trend):
    frame = forecast(weekly_trend, HORIZON, origins=0)
    members = frame[frame["model"].isin(MODELS)]  # the benchmarks are not members
    ensemble = frame[frame["model"] == "ensemble"].set_index("ds")
    expected = members.groupby("ds")[["yhat", "lower", "upper"]].mean()
    pd.testing.assert_frame_equal(ensemble[["yhat", "lower", "upper"]], expected, check_names=False)
    assert list(frame["model"].unique()) == [*MODELS, "naive", "seasonal_naive", "theta", "ensemble"]
    assert frame.attrs["settings"]["ensemble"]["members"] == list(MODELS)
    assert (frame.groupby("model").size() == HORIZON).all()
