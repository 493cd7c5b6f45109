"""Split-conformal calibration: the factor by hand, its direction on real fits, and coverage out of sample."""

import numpy as np
import pandas as pd
import pytest

from tsplatform.forecasting import forecast, forecast_categories
from tsplatform.forecasting.backtesting import backtest_window, plan_windows
from tsplatform.forecasting.calibration import (
    FACTOR_RANGE,
    TAIL_PRIOR_SCORES,
    calibrate,
    calibrate_from_windows,
    conformal_factor,
    nonconformity_scores,
    shrunk_factor,
)
from tsplatform.forecasting.metrics import interval_coverage
from tsplatform.forecasting.preparation import prepare_series

from .synthetic import daily_index

HORIZON = 14
MODELS = ("holt_winters",)


def _points(actuals) -> pd.DataFrame:
    # one model, yhat 10, raw interval [6, 12]: half-width 4 below, 2 above
    n = len(actuals)
    return pd.DataFrame({"model": "m", "step": np.arange(1, n + 1), "y": actuals, "yhat": 10.0, "lower": 6.0,
                         "upper": 12.0})


def _frame(yhat, lower, upper, nonnegative=False) -> pd.DataFrame:
    frame = pd.DataFrame({"model": "m", "ds": daily_index(1), "yhat": [yhat], "lower": [lower], "upper": [upper],
                          "flag": ""})
    frame.attrs["settings"] = {"series": {"nonnegative": nonnegative}, "interval": 0.95}
    return frame


def test_hand_checked_scores_factor_and_bounds():
    # y:      11   13   8    4    10  12   7     14   9
    # score: 1/2  3/2  2/4  6/4   0   2/2  3/4   4/2  1/4   (above: (y-10)/2, below: (10-y)/4)
    # sorted: 0, .25, .5, .5, .75, 1, 1.5, 1.5, 2   (n = 9)
    # q = 0.8: rank ceil(10 * 0.8) = 8 -> 1.5;  q = 0.5: rank ceil(5) = 5 -> 0.75;  q = 0.95: rank 10 > 9 -> None
    scores = nonconformity_scores(_points([11, 13, 8, 4, 10, 12, 7, 14, 9]))
    assert scores["score"].tolist() == [0.5, 1.5, 0.5, 1.5, 0.0, 1.0, 0.75, 2.0, 0.25]
    assert conformal_factor(scores["score"], 0.8) == 1.5
    assert conformal_factor(scores["score"], 0.5) == 0.75
    assert conformal_factor(scores["score"], 0.95) is None  # too few scores: the raw interval stays

    # the factor applied is pulled toward the raw interval's own for the level (shrunk_factor):
    # q = 0.8 from a raw 95% interval: prior z(0.8) / z(0.95) = 1.281552 / 1.959964 = 0.653868;
    # n (1 - q) = 1.8 scores beyond the quantile, TAIL_PRIOR_SCORES 0.5: weight 1.8 / 2.3 = 0.782609;
    # factor 0.782609 * 1.5 + 0.217391 * 0.653868 = 1.316058
    assert TAIL_PRIOR_SCORES == 0.5
    assert shrunk_factor(1.5, 9, 0.8, 0.95) == pytest.approx(1.316058, abs=1e-5)
    assert shrunk_factor(1.5, 9, 0.8, 0.8) == pytest.approx(0.782609 * 1.5 + 0.217391, abs=1e-5)  # own level: prior 1
    # forecast yhat 20 in [16, 21]: [20 - 1.316058 * 4, 20 + 1.316058 * 1] = [14.735768, 21.316058]
    calibrated = calibrate(_frame(20.0, 16.0, 21.0), scores, 0.8)
    assert calibrated[["yhat", "lower", "upper"]].iloc[0].tolist() == pytest.approx([20.0, 14.735768, 21.316058], abs=1e-5)
    assert calibrated.attrs["settings"]["calibration"] == {"m": {"factor": 1.3161, "conformal_factor": 1.5, "scores": 9}}
    # an envelope stops the widening: lower max(14.736, min(16, 15.5)) = 15.5, upper min(21.316, max(21, 21.1)) = 21.1
    limited = calibrate(_frame(20.0, 16.0, 21.0), scores, 0.8, envelope=(15.5, 21.1))
    assert limited[["lower", "upper"]].iloc[0].tolist() == [15.5, 21.1]
    # too few scores for the level: untouched, and the record says how many there were
    kept = calibrate(_frame(20.0, 16.0, 21.0), scores, 0.95)
    assert kept[["lower", "upper"]].iloc[0].tolist() == [16.0, 21.0]
    assert kept.attrs["settings"]["calibration"] == {"m": {"factor": None, "scores": 9}}
    # the raw points are accepted too; q = 0.5: prior 0.674490 / 1.959964 = 0.344134, weight 4.5 / 5,
    # factor 0.9 * 0.75 + 0.1 * 0.344134 = 0.709413 -> [20 - 2.837654, 20 + 0.709413]
    narrowed = calibrate(_frame(20.0, 16.0, 21.0), _points([11, 13, 8, 4, 10, 12, 7, 14, 9]), 0.5)
    assert narrowed[["lower", "upper"]].iloc[0].tolist() == pytest.approx([17.162346, 20.709413], abs=1e-5)


def test_factor_is_capped_and_nonnegative_bounds_stay_clipped():
    tiny = nonconformity_scores(_points([10.0] * 20))  # all inside: 0 -> the lower cap
    assert conformal_factor(tiny["score"], 0.9) == FACTOR_RANGE[0]
    # score (10 - 2) / 4 = 2 everywhere; shrunk: weight 2 / 2.5, prior z(0.9) / z(0.95) = 0.839227,
    # factor 0.8 * 2 + 0.2 * 0.839227 = 1.767845: [1 - 1.414, 1 + 1.767845], clipped to [0, 2.767845]
    wide = calibrate(_frame(1.0, 0.2, 2.0, nonnegative=True), _points([2.0] * 20), 0.9)
    assert wide["lower"].iloc[0] == 0.0 and wide["upper"].iloc[0] == pytest.approx(2.767845, abs=1e-5)


def _shifting_noise(before: float, after: float, change: int, n: int = 196, seed: int = 0) -> pd.Series:
    rng = np.random.default_rng(seed)
    sd = np.where(np.arange(n) < change, before, after)
    return pd.Series(100 + rng.normal(0, 1, n) * sd, index=daily_index(n))


def _factors(series: pd.Series) -> dict:
    windows = [backtest_window(series, HORIZON, w.number, MODELS, 0.95)
               for w in plan_windows(prepare_series(series), HORIZON, 3)]
    calibrated = calibrate_from_windows(forecast(series, HORIZON, MODELS, 0.95, origins=0), windows)
    return calibrated.attrs["settings"]["calibration"]


def test_over_narrow_model_widens_and_over_wide_model_narrows():
    # noise sd 1 -> 4 late in the history: the fit (mostly quiet data) is too narrow for the backtest
    narrow = _factors(_shifting_noise(1.0, 4.0, change=120))
    # noise sd 4 -> 1: the fit (mostly loud data) is too wide
    wide = _factors(_shifting_noise(4.0, 1.0, change=140))
    for model in ("holt_winters", "ensemble"):
        assert narrow[model]["scores"] == 3 * HORIZON
        assert narrow[model]["factor"] > 1.2
        assert wide[model]["factor"] < 0.8


def test_calibrated_coverage_out_of_sample_is_near_nominal():
    # heavy tails (Student t, 3 df): the Gaussian 80% interval over-covers; 30 series, 14 held-out steps each
    rng = np.random.default_rng(7)
    n, count, level = 196, 30, 0.8
    full = {k: pd.Series(100 + 2 * rng.standard_t(3, n + HORIZON), index=daily_index(n + HORIZON))
            for k in range(count)}
    results = forecast_categories({k: s[:n] for k, s in full.items()}, HORIZON, level, MODELS, max_workers=1)
    raw_hits, calibrated_hits = [], []
    for key, series in full.items():
        actual = series[n:].to_numpy()
        raw = forecast(series[:n], HORIZON, MODELS, level, origins=0).query("model == 'holt_winters'")
        calibrated = results[key].forecast.query("model == 'holt_winters'")
        raw_hits.append(interval_coverage(actual, raw["lower"].to_numpy(), raw["upper"].to_numpy()))
        calibrated_hits.append(interval_coverage(actual, calibrated["lower"].to_numpy(), calibrated["upper"].to_numpy()))
        assert results[key].settings["calibration"]["holt_winters"]["scores"] == 3 * HORIZON
    raw_coverage, calibrated_coverage = np.mean(raw_hits), np.mean(calibrated_hits)
    assert raw_coverage > 0.84
    assert abs(calibrated_coverage - level) < 0.04
    assert abs(calibrated_coverage - level) < abs(raw_coverage - level)


def test_short_series_without_windows_keeps_its_interval():
    short = pd.Series(np.arange(10, dtype=float) + 5, index=daily_index(10))
    result = forecast_categories({"short": short}, HORIZON, 0.95, MODELS, max_workers=1)["short"]
    expected = forecast(short, HORIZON, MODELS, 0.95)
    assert result.backtest.empty
    pd.testing.assert_frame_equal(result.forecast, expected)
    assert result.flags == {m: str(b["flag"].iloc[0]) for m, b in expected.groupby("model", sort=False)}
    assert result.settings["calibration"] == {"holt_winters": {"factor": None, "scores": 0},
                                              "ensemble": {"factor": None, "scores": 0}}
