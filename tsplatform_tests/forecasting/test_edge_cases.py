"""Awkward real-world inputs: every one yields a finite forecast, flagged where appropriate."""

import warnings

import numpy as np
import pandas as pd
import pytest

from tsplatform.forecasting import flags as F
from tsplatform.forecasting import forecast

from .synthetic import intermittent_series, weekly_trend_series

HORIZON = 7


def days(n: int, start: str = "2023-01-01") -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq="D")


def assert_well_formed(frame: pd.DataFrame, horizon: int = HORIZON) -> None:
    values = frame[["yhat", "lower", "upper"]].to_numpy()
    assert np.isfinite(values).all()
    assert (frame["lower"] <= frame["yhat"]).all() and (frame["yhat"] <= frame["upper"]).all()
    assert list(frame.columns) == ["model", "ds", "yhat", "lower", "upper", "flag"]
    assert (frame.groupby("model").size() == horizon).all()
    assert "ensemble" in set(frame["model"])


def flags_of(frame: pd.DataFrame) -> set[str]:
    return {flag for value in frame["flag"] for flag in F.split_flags(value)}


def test_handful_of_points_gives_flagged_naive_forecast():
    frame = forecast(pd.Series([3.0, 5.0, 4.0, 6.0, 5.0], index=days(5)), HORIZON)
    assert_well_formed(frame)
    assert frame["flag"].map(lambda f: F.NAIVE_SHORT_SERIES in F.split_flags(f)).all()
    assert (frame["yhat"] == 5.0).all()  # last value carried forward
    assert (frame["upper"] > frame["lower"]).all()  # random-walk interval from the differences


def test_single_point():
    frame = forecast(pd.Series([7.0], index=days(1)), 3)
    assert_well_formed(frame, 3)
    assert (frame["yhat"] == 7.0).all()
    assert F.NAIVE_SHORT_SERIES in flags_of(frame)


def test_shorter_than_two_seasons_has_no_seasonal_term():
    rng = np.random.default_rng(0)
    frame = forecast(pd.Series(20 + rng.normal(0, 1, 11), index=days(11)), HORIZON)
    assert_well_formed(frame)
    assert frame["flag"].map(lambda f: F.NO_SEASONAL_TERM in F.split_flags(f)).all()
    settings = frame.attrs["settings"]
    assert settings["prophet"]["weekly_seasonality"] is False
    assert settings["holt_winters"].get("seasonal") is None


@pytest.mark.parametrize("value", [3.5, 0.0])
def test_constant_and_all_zero_series(value):
    frame = forecast(pd.Series(np.full(40, value), index=days(40)), HORIZON)
    assert_well_formed(frame)
    assert frame["flag"].map(lambda f: F.CONSTANT_SERIES in F.split_flags(f)).all()
    assert (frame[["yhat", "lower", "upper"]] == value).all().all()


def test_intermittent_series():
    frame = forecast(intermittent_series(120, seed=2), HORIZON)
    assert_well_formed(frame)
    assert F.INTERMITTENT_SERIES in flags_of(frame)
    assert (frame[["yhat", "lower", "upper"]] >= 0).all().all()


def test_gaps_are_filled_flagged_and_the_forecast_continues_the_calendar():
    series = weekly_trend_series(98)
    with_gaps = series.drop(series.index[[10, 11, 12, 40, 70]])
    frame = forecast(with_gaps, HORIZON)
    assert_well_formed(frame)
    assert F.GAPS_FILLED in flags_of(frame)
    assert frame.attrs["settings"]["series"]["filled_points"] == 5
    expected_days = pd.date_range(series.index[-1] + pd.Timedelta(days=1), periods=HORIZON, freq="D")
    assert list(frame.loc[frame["model"] == "ensemble", "ds"]) == list(expected_days)


def test_weekly_data_with_gaps():
    index = pd.date_range("2022-01-02", periods=60, freq="W-SUN")
    rng = np.random.default_rng(3)
    series = pd.Series(200 + rng.normal(0, 5, 60), index=index).drop(index[[5, 6, 30]])
    frame = forecast(series, 4)
    assert_well_formed(frame, 4)
    assert frame.attrs["settings"]["series"]["freq"] == "W-SUN"
    assert frame["ds"].iloc[0] == index[-1] + pd.Timedelta(weeks=1)
    assert {F.GAPS_FILLED, F.NO_SEASONAL_TERM} <= flags_of(frame)  # weekly data: yearly needs 2 years


def test_nonnegative_series_are_clipped_at_zero_unless_disabled():
    # sales falling towards zero: a trend model would continue below zero
    series = pd.Series(np.linspace(30, 1, 60) + np.tile([0.5, -0.5], 30), index=days(60))
    clipped = forecast(series, 14)
    assert_well_formed(clipped, 14)
    assert (clipped[["yhat", "lower", "upper"]] >= 0).all().all()
    unclipped = forecast(series, 14, nonnegative=False)
    assert (unclipped["lower"] < 0).any()


def test_series_with_negative_values_are_not_clipped():
    series = pd.Series(-50 + np.sin(np.arange(60)), index=days(60))
    frame = forecast(series, HORIZON, models=("holt_winters",))
    assert_well_formed(frame)
    assert (frame["yhat"] < 0).all()


def test_absurd_fit_falls_back_to_seasonal_naive():
    """Exponential growth e^(t/3): over 14 days the trend models extrapolate it beyond the
    sanity range (the history's range plus three ranges, i.e. ~4x the last value), so they
    are replaced by the seasonal naive forecast."""
    values = np.exp(np.arange(60) / 3.0)
    frame = forecast(pd.Series(values, index=days(60)), 14, models=("sarimax", "holt_winters"))
    assert_well_formed(frame, 14)
    fell_back = frame[frame["flag"].map(lambda f: F.FALLBACK_SEASONAL_NAIVE in F.split_flags(f))]
    assert not fell_back.empty
    for model, block in fell_back.groupby("model"):
        np.testing.assert_allclose(block["yhat"].to_numpy(), np.tile(values[-7:], 2))  # last week repeated
        if model == "ensemble":
            continue
        assert any("fell back to seasonal naive" in m for m in frame.attrs["warnings"][model])
        assert "fallback_reason" in frame.attrs["settings"][model]


@pytest.mark.parametrize("scale", [1e12, 1e-12])
def test_extreme_magnitudes(scale):
    frame = forecast(weekly_trend_series(60) * scale, HORIZON, models=("sarimax", "holt_winters"))
    assert_well_formed(frame)
    assert np.allclose(frame["yhat"] / scale, 100 + 0.2 * 62, rtol=0.3)


def test_fit_warnings_are_recorded_not_emitted(capfd):
    alternating = pd.Series(np.tile([0.0, 1e6], 30), index=days(60))
    with warnings.catch_warnings(record=True) as escaped:
        warnings.simplefilter("always")
        frame = forecast(alternating, HORIZON)
    assert_well_formed(frame)
    assert escaped == []
    assert any(frame.attrs["warnings"].values())
    assert set(frame.attrs["warnings"]) == {"prophet", "sarimax", "holt_winters", "naive", "seasonal_naive", "theta"}
    output = capfd.readouterr()
    assert "cmdstanpy" not in output.err + output.out
    assert "Chain" not in output.err + output.out


def test_bad_arguments_are_rejected():
    series = weekly_trend_series(30)
    with pytest.raises(ValueError):
        forecast(series, 0)
    with pytest.raises(ValueError):
        forecast(series, 7, interval=1.5)
    with pytest.raises(ValueError):
        forecast(series, 7, models=("arima_magic",))
    with pytest.raises(ValueError):
        forecast(pd.Series([np.nan, np.nan], index=days(2)), 7)
    with pytest.raises(TypeError):
        forecast(pd.Series([1.0, 2.0], index=["a", "b"]), 7)
