"""Rolling-origin windows, summary and model choice."""

import math

import numpy as np
import pandas as pd
import pytest

from tsplatform.forecasting import backtest, choose_best, summarize_backtest

from .synthetic import weekly_trend_series

FAST = ("holt_winters",)  # window arithmetic does not depend on the model


@pytest.mark.parametrize("origins", [3, 5])
def test_windows_are_consecutive_non_overlapping_and_end_at_the_series_end(origins):
    series = weekly_trend_series(100)
    horizon = 10
    scores = backtest(series, horizon, models=FAST, origins=origins)
    windows = scores.attrs["windows"]

    assert len(windows) == origins
    assert pd.Timestamp(windows[-1]["test_end"]) == series.index[-1]
    for number, window in enumerate(windows, start=1):
        start, end = pd.Timestamp(window["test_start"]), pd.Timestamp(window["test_end"])
        assert window["number"] == number
        assert len(pd.date_range(start, end, freq="D")) == horizon
        assert pd.Timestamp(window["origin"]) == start - pd.Timedelta(days=1)
        assert window["train_points"] == 100 - (origins - number + 1) * horizon
    for earlier, later in zip(windows, windows[1:]):
        assert pd.Timestamp(later["test_start"]) == pd.Timestamp(earlier["test_end"]) + pd.Timedelta(days=1)

    assert list(scores.columns) == ["model", "origin", "smape", "mase", "coverage", "n"]
    assert len(scores) == origins * 2  # the model and the ensemble at every origin
    assert set(scores["model"]) == {"holt_winters", "ensemble"}
    assert (scores["n"] == horizon).all()
    assert list(scores["origin"].unique()) == [pd.Timestamp(w["origin"]) for w in windows]


def test_short_series_gets_fewer_windows_and_says_so():
    scores = backtest(weekly_trend_series(12), 5, models=FAST, origins=3)
    assert len(scores.attrs["windows"]) == 2  # 12 points: training of 7 and 2 points
    assert "only 2 of 3" in scores.attrs["note"]


def test_only_observed_test_points_are_scored():
    series = weekly_trend_series(70)
    with_gaps = series.drop(series.index[[66, 68]])  # both inside the last window
    scores = backtest(with_gaps, 7, models=FAST, origins=3)
    last_origin = scores["origin"].max()
    assert (scores.loc[scores["origin"] == last_origin, "n"] == 5).all()
    assert (scores.loc[scores["origin"] < last_origin, "n"] == 7).all()


def test_summary_and_choice_hand_built():
    frame = pd.DataFrame(
        {
            "model": ["a", "b", "ensemble"] * 2,
            "origin": pd.to_datetime(["2023-01-07"] * 3 + ["2023-01-14"] * 3),
            "smape": [10.0, 8.0, 9.0, 12.0, 8.0, 9.0],
            "mase": [1.0, 0.9, 0.7, 1.2, 0.9, 0.8],
            "coverage": [1.0, 0.5, 1.0, 0.5, 0.5, 1.0],
            "n": [7] * 6,
        }
    )
    summary = summarize_backtest(frame).set_index("model")
    assert summary.loc["a", "mase"] == pytest.approx(1.1)  # (1.0 + 1.2) / 2
    assert summary.loc["a", "smape"] == pytest.approx(11.0)
    assert summary.loc["b", "coverage"] == pytest.approx(0.5)
    assert summary.loc["ensemble", "origins"] == 2 and summary.loc["ensemble", "n"] == 14
    assert choose_best(summary.reset_index()) == "ensemble"  # 0.75 beats 0.9 and 1.1


def test_choose_best_ties_and_missing_scores():
    tie = pd.DataFrame({"model": ["x", "y"], "smape": [5.0, 4.0], "mase": [0.8, 0.8], "coverage": [1, 1]})
    assert choose_best(tie) == "y"  # equal MASE: lower sMAPE wins
    nothing = pd.DataFrame({"model": ["x"], "smape": [math.nan], "mase": [math.nan], "coverage": [math.nan]})
    assert choose_best(nothing) == "ensemble"
    assert choose_best(summarize_backtest(pd.DataFrame(columns=["model", "origin", "smape", "mase", "coverage", "n"]))) == "ensemble"


def test_backtest_metrics_match_a_manual_refit():
    """The numbers for one origin equal forecasting the truncated series by hand."""
    from tsplatform.forecasting import forecast, mase, smape

    series = weekly_trend_series(60)
    scores = backtest(series, 7, models=FAST, origins=3)
    first = scores.attrs["windows"][0]
    train = series[: first["train_points"]]
    test = series[first["train_points"] : first["train_points"] + 7]
    manual = forecast(train, 7, models=FAST)
    yhat = manual.loc[manual["model"] == "holt_winters", "yhat"].to_numpy()
    row = scores[(scores["model"] == "holt_winters")].iloc[0]
    assert row["smape"] == pytest.approx(smape(test.to_numpy(), yhat))
    assert row["mase"] == pytest.approx(mase(test.to_numpy(), yhat, train.to_numpy(), 7))
    assert np.isfinite(scores[["smape", "mase", "coverage"]].to_numpy()).all()
