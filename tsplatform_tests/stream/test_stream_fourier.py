import numpy as np
import pandas as pd
import pytest

from tsplatform.stream import ReadingGenerator, detect_period, fourier_forecast


def daily_series(step, days, seed=5, noise_sd=2.0, trend_per_day=0.5, start="2024-01-01"):
    """A daily cycle with harmonics, a trend and Gaussian noise (what OLS intervals assume)."""
    index = pd.date_range(start, periods=int(pd.Timedelta(days=days) / pd.Timedelta(step)), freq=step, tz="UTC")
    day_fraction = (index - index[0]) / pd.Timedelta("1D")
    angle = 2 * np.pi * day_fraction
    truth = 100 + trend_per_day * day_fraction + 10 * np.sin(angle) + 3 * np.cos(2 * angle)
    noise = np.random.default_rng(seed).normal(0, noise_sd, len(index))
    return pd.Series(truth + noise, index=index)


@pytest.mark.parametrize("step", ["30min", "5min"])
def test_the_daily_period_is_detected_from_generated_readings(step):
    points = int(pd.Timedelta("14D") / pd.Timedelta(step))
    readings = ReadingGenerator(1, seed=2, spike_probability=0.01).simulate("2024-01-01", points, step)
    series = pd.Series(readings.value.to_numpy(), index=pd.DatetimeIndex(readings.ts))
    forecast = fourier_forecast(series, horizon=10)
    assert forecast.attrs["period"] == pd.Timedelta("1D")
    assert forecast.attrs["period_source"] == "detected"
    assert forecast.attrs["sampling_interval"] == pd.Timedelta(step)
    assert forecast.attrs["harmonics"] == 3


def test_a_non_calendar_period_is_recovered():
    index = pd.date_range("2024-01-01", periods=3000, freq="10min", tz="UTC")
    hours = (index - index[0]) / pd.Timedelta("1h")
    series = pd.Series(5 * np.sin(2 * np.pi * hours / 10) + np.random.default_rng(0).normal(0, 1, len(index)), index=index)
    assert detect_period(series) == pytest.approx(pd.Timedelta("10h"), abs=pd.Timedelta("15min"))


def test_without_a_cycle_the_period_defaults_to_one_day():
    index = pd.date_range("2024-01-01", periods=1000, freq="30min", tz="UTC")
    noise = pd.Series(np.random.default_rng(1).normal(0, 1, len(index)), index=index)
    assert detect_period(noise) is None
    forecast = fourier_forecast(noise, 5, period="auto")
    assert forecast.attrs["period"] == pd.Timedelta("1D") and forecast.attrs["period_source"] == "default"


@pytest.mark.parametrize("step, days", [("30min", 21), ("5min", 10)])
def test_prediction_interval_covers_about_95_percent_of_held_out_readings(step, days):
    series = daily_series(step, days + 2)
    history, future = series[: series.index[0] + pd.Timedelta(days=days)], series[series.index[0] + pd.Timedelta(days=days):]
    history = history.iloc[:-1] if history.index[-1] == future.index[0] else history
    forecast = fourier_forecast(history, horizon=len(future))
    assert list(forecast.columns) == ["ds", "yhat", "lower", "upper"]
    assert (forecast.ds.to_numpy() == future.index.to_numpy()).all()
    covered = ((future.to_numpy() >= forecast.lower.to_numpy()) & (future.to_numpy() <= forecast.upper.to_numpy())).mean()
    assert 0.85 <= covered <= 0.99
    width = (forecast.upper - forecast.lower).mean()
    assert width == pytest.approx(2 * 1.96 * 2.0, rel=0.15)  # residual variance included, not just the mean's
    assert np.abs(forecast.yhat.to_numpy() - future.to_numpy()).mean() < 2.5


def test_horizon_as_a_time_span_and_period_as_a_string():
    series = daily_series("30min", 7)
    forecast = fourier_forecast(series, horizon="6h", period="1D", harmonics=2, interval=0.8)
    assert len(forecast) == 12
    assert forecast.ds.iloc[0] == series.index[-1] + pd.Timedelta("30min")
    assert forecast.attrs["period"] == pd.Timedelta("1D") and forecast.attrs["period_source"] == "given"
    assert forecast.attrs["harmonics"] == 2
    wide = fourier_forecast(series, horizon=pd.Timedelta("6h"), period=pd.Timedelta("1D"), interval=0.99)
    assert ((wide.upper - wide.lower) > (forecast.upper - forecast.lower)).all()


def test_irregular_timestamps_and_duplicates_are_handled():
    series = daily_series("10min", 10, noise_sd=0.5)
    jitter = pd.to_timedelta(np.random.default_rng(3).integers(-120, 120, len(series)), unit="s")
    irregular = pd.Series(series.to_numpy(), index=series.index + jitter)
    irregular = pd.concat([irregular, irregular.iloc[::50] + 0.1]).sample(frac=1.0, random_state=2)
    forecast = fourier_forecast(irregular, horizon="1D")
    step = forecast.attrs["sampling_interval"]
    assert pd.Timedelta("9min") <= step <= pd.Timedelta("11min")
    assert forecast.attrs["period"] == pd.Timedelta("1D")
    day_fraction = (forecast.ds - series.index[0]) / pd.Timedelta("1D")
    truth = 100 + 0.5 * day_fraction + 10 * np.sin(2 * np.pi * day_fraction) + 3 * np.cos(4 * np.pi * day_fraction)
    assert np.abs(forecast.yhat - truth).mean() < 1.0


def test_harmonics_stay_below_the_sampling_limit():
    series = daily_series("6h", 30, noise_sd=0.5)
    forecast = fourier_forecast(series, horizon=4, period="1D", harmonics=5)
    assert forecast.attrs["harmonics"] == 1


def test_bad_arguments_are_refused():
    series = daily_series("1h", 3)
    with pytest.raises(ValueError):
        fourier_forecast(series, horizon=0)
    with pytest.raises(ValueError):
        fourier_forecast(series, horizon="10min")
    with pytest.raises(ValueError):
        fourier_forecast(series.iloc[:2], horizon=3)
    with pytest.raises(ValueError):
        fourier_forecast(series, horizon=3, interval=1.5)


def _minutes(days, step="1min", start="2024-01-01"):
    index = pd.date_range(start, periods=int(pd.Timedelta(days=days) / pd.Timedelta(step)), freq=step, tz="UTC")
    return index, (index - index[0]) / pd.Timedelta("1h")


def test_one_day_of_history_keeps_the_daily_default_and_says_why():
    """The demo after ``make run``: one day of backfill. Detection alone picked a half-day or 8 h
    cycle here, and the forecast climbed while the real cycle fell (issue 14)."""
    readings = ReadingGenerator(3, seed=2).simulate("2024-01-01", 24 * 60, "1min")
    for sensor, rows in readings.groupby("sensor_id"):
        series = pd.Series(rows.value.to_numpy(), index=pd.DatetimeIndex(rows.ts))
        forecast = fourier_forecast(series, "6h")
        assert forecast.attrs["period"] == pd.Timedelta("1D"), sensor
        assert forecast.attrs["period_source"] == "default"
        assert "cycles (needs 3)" in forecast.attrs["period_reason"]


def test_a_detected_harmonic_of_the_daily_cycle_does_not_replace_it():
    """Two days where a 6 h harmonic outweighs the daily term: the detector's peak has 8 cycles of
    evidence, but the daily model (which holds the 6 h harmonic) leaves far less unexplained."""
    index, hours = _minutes(2, "5min")
    noise = np.random.default_rng(0).normal(0, 0.5, len(index))
    series = pd.Series(20 + 3 * np.sin(2 * np.pi * hours / 24) + 4 * np.sin(2 * np.pi * hours / 6) + noise, index=index)
    assert detect_period(series) < pd.Timedelta("7h")
    forecast = fourier_forecast(series, "6h", harmonics=4)
    assert forecast.attrs["period"] == pd.Timedelta("1D") and forecast.attrs["period_source"] == "default"
    assert "residual variance" in forecast.attrs["period_reason"]
    future = pd.date_range(index[-1] + pd.Timedelta("5min"), periods=len(forecast), freq="5min")
    future_hours = (future - index[0]) / pd.Timedelta("1h")
    truth = 20 + 3 * np.sin(2 * np.pi * future_hours.to_numpy() / 24) + 4 * np.sin(2 * np.pi * future_hours.to_numpy() / 6)
    assert np.abs(forecast.yhat.to_numpy() - truth).mean() < 1.0


def test_a_clear_non_daily_cycle_with_enough_history_replaces_the_default():
    index, hours = _minutes(5, "10min")
    series = pd.Series(5 * np.sin(2 * np.pi * hours / 10) + np.random.default_rng(3).normal(0, 1, len(index)), index=index)
    forecast = fourier_forecast(series, "6h")
    assert forecast.attrs["period_source"] == "detected"
    assert forecast.attrs["period"] == pytest.approx(pd.Timedelta("10h"), abs=pd.Timedelta("15min"))
    assert "cycles" in forecast.attrs["period_reason"]
    kept = fourier_forecast(series, "6h", default_period="10h")
    assert kept.attrs["period"] == pytest.approx(pd.Timedelta("10h"), abs=pd.Timedelta("15min"))


def test_twenty_minutes_of_history_forecasts_a_finite_band_without_daily_harmonics():
    """A sliver of a daily cycle: sin/cos of 24 h over 20 minutes are collinear with the trend, and
    the predicted variance came out negative (NaN bounds broke sensor_forecast's NOT NULL)."""
    readings = ReadingGenerator(1, seed=3).simulate("2024-01-01", 20, "1min")
    series = pd.Series(readings.value.to_numpy(), index=pd.DatetimeIndex(readings.ts))
    forecast = fourier_forecast(series, "6h")
    assert forecast.attrs["harmonics"] == 0
    assert np.isfinite(forecast[["yhat", "lower", "upper"]].to_numpy()).all()
    assert (forecast["lower"] < forecast["upper"]).all()
