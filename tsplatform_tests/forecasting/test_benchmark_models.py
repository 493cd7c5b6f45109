"""The benchmarks (naive, seasonal naive, Theta) as models: known answers, intervals, and the
seasonal naive as the best model when nothing beats it."""

import json

import numpy as np
import pandas as pd
import pytest

from tsplatform.forecasting import DEFAULT_MODELS, choose_best, forecast, forecast_categories, summarize_backtest
from tsplatform.forecasting.backtesting import flag_best
from tsplatform.forecasting.flags import NO_MODEL_BEATS_SEASONAL_NAIVE, split_flags
from tsplatform.forecasting.models import BENCHMARK_MODELS, MODEL_NAMES

from .synthetic import WEEKLY_PATTERN, daily_index, random_walk_series

HORIZON = 14


def block(frame: pd.DataFrame, model: str) -> pd.DataFrame:
    return frame[frame["model"] == model].reset_index(drop=True)


def half_widths(rows: pd.DataFrame) -> np.ndarray:
    return (rows["upper"] - rows["lower"]).to_numpy() / 2


def assert_interval_contains_and_never_narrows(rows: pd.DataFrame) -> None:
    assert (rows["lower"] <= rows["yhat"]).all() and (rows["yhat"] <= rows["upper"]).all()
    widths = half_widths(rows)
    assert widths[0] > 0
    assert np.all(np.diff(widths) >= -1e-9)
    assert widths[-1] > widths[0]


def seasonal_random_walk(n: int, seed: int = 0, sd: float = 0.5) -> pd.Series:
    """y[t] = y[t-7] + noise: the weekly shape drifts, so the last week is the best forecast."""
    rng = np.random.default_rng(seed)
    values = np.zeros(n)
    values[:7] = 100 + WEEKLY_PATTERN
    for t in range(7, n):
        values[t] = values[t - 7] + rng.normal(0, sd)
    return pd.Series(values, index=daily_index(n))


def test_benchmarks_are_registered_default_models():
    assert set(BENCHMARK_MODELS) == {"naive", "seasonal_naive", "theta"}
    assert set(BENCHMARK_MODELS) < set(MODEL_NAMES)
    assert tuple(DEFAULT_MODELS) == tuple(MODEL_NAMES)


def test_naive_on_a_random_walk_repeats_the_last_value_with_sqrt_h_interval():
    series = random_walk_series(200)
    rows = block(forecast(series, HORIZON, models=("naive",), origins=0), "naive")

    assert np.allclose(rows["yhat"], series.iloc[-1])
    assert_interval_contains_and_never_narrows(rows)
    sigma = np.sqrt(np.mean(np.diff(series.to_numpy()) ** 2))
    assert half_widths(rows) == pytest.approx(1.959964 * sigma * np.sqrt(np.arange(1, HORIZON + 1)), rel=1e-4)


def test_seasonal_naive_on_a_pure_weekly_pattern_repeats_the_last_week():
    n = 70
    pure = pd.Series(100 + WEEKLY_PATTERN[np.arange(n) % 7], index=daily_index(n))
    rows = block(forecast(pure, HORIZON, models=("seasonal_naive",), origins=0), "seasonal_naive")
    assert rows["yhat"].to_numpy() == pytest.approx(np.tile(pure.to_numpy()[-7:], 2))

    noisy = pure + np.random.default_rng(1).normal(0, 0.5, n)
    rows = block(forecast(noisy, HORIZON, models=("seasonal_naive",), origins=0), "seasonal_naive")
    assert rows["yhat"].to_numpy() == pytest.approx(np.tile(noisy.to_numpy()[-7:], 2))
    assert_interval_contains_and_never_narrows(rows)
    widths = half_widths(rows)
    assert np.allclose(widths[:7], widths[0]) and np.allclose(widths[7:], widths[0] * np.sqrt(2))  # one more season


def test_seasonal_naive_without_a_season_is_the_naive_forecast():
    weekly = random_walk_series(60)
    weekly.index = pd.date_range("2020-01-05", periods=60, freq="W-SUN")  # weekly data: no short cycle
    frame = forecast(weekly, 8, models=("naive", "seasonal_naive"), origins=0)
    for column in ("yhat", "lower", "upper"):
        assert block(frame, "seasonal_naive")[column].to_numpy() == pytest.approx(block(frame, "naive")[column].to_numpy())


def test_theta_on_a_linear_trend_continues_it_with_its_interval():
    """Theta (theta = 2) is SES with drift: it goes on rising at half the fitted slope
    (Hyndman & Billah 2003), from the last level. Weekly data: no short cycle to adjust for."""
    t = np.arange(100)
    index = pd.date_range("2020-01-05", periods=100, freq="W-SUN")
    series = pd.Series(10 + 2.0 * t + np.random.default_rng(0).normal(0, 1, 100), index=index)
    frame = forecast(series, HORIZON, models=("theta",), origins=0)
    rows = block(frame, "theta")

    steps = np.diff(rows["yhat"].to_numpy())
    assert np.allclose(steps, 1.0, atol=0.05)  # half of the slope 2
    assert rows["yhat"].iloc[0] == pytest.approx(series.iloc[-1] + 1.0, abs=2.5)
    assert_interval_contains_and_never_narrows(rows)
    settings = frame.attrs["settings"]["theta"]
    assert settings["drift"] == pytest.approx(1.0, abs=0.05) and settings["period"] == 1


def test_without_evidence_the_ensemble_is_formed_from_the_fitted_models_only():
    """origins=0 (and a series too short for a window): no backtest to choose members by."""
    frame = forecast(random_walk_series(120), 7, models=("holt_winters", "naive", "seasonal_naive", "theta"), origins=0)
    assert frame.attrs["settings"]["ensemble"]["members"] == ["holt_winters"]
    for column in ("yhat", "lower", "upper"):
        assert block(frame, "ensemble")[column].to_numpy() == pytest.approx(block(frame, "holt_winters")[column].to_numpy())
    only_benchmarks = forecast(random_walk_series(120), 7, models=("naive", "theta"), origins=0)
    assert only_benchmarks.attrs["settings"]["ensemble"]["members"] == ["naive", "theta"]


def test_seasonal_naive_is_best_and_flagged_when_no_model_beats_it():
    """A drifting weekly shape: every fitted model (and the ensemble) scores a higher mean
    backtest MASE than repeating the last week, so the benchmark is chosen and flagged."""
    result = forecast_categories({"drifting": seasonal_random_walk(56)}, 7, max_workers=1)["drifting"]
    mase = result.summary.set_index("model")["mase"]

    assert set(mase.index) == {*MODEL_NAMES, "ensemble"}
    # every single model scores worse; the ensemble (chosen on these windows) does not count
    assert (mase.drop(["seasonal_naive", "ensemble"]) >= mase["seasonal_naive"]).all()
    assert result.best_model == "seasonal_naive" == choose_best(result.summary)
    assert NO_MODEL_BEATS_SEASONAL_NAIVE in split_flags(result.flags["seasonal_naive"])
    chosen = block(result.forecast, "seasonal_naive")
    assert all(NO_MODEL_BEATS_SEASONAL_NAIVE in split_flags(flag) for flag in chosen["flag"])
    others = result.forecast[result.forecast["model"] != "seasonal_naive"]
    assert not any(NO_MODEL_BEATS_SEASONAL_NAIVE in split_flags(flag) for flag in others["flag"])


def test_a_model_that_beats_the_seasonal_naive_is_chosen_unflagged():
    backtest_frame = pd.DataFrame(
        {
            "model": ["theta", "seasonal_naive", "sarimax", "ensemble"] * 2,
            "origin": pd.to_datetime(["2023-01-07"] * 4 + ["2023-01-14"] * 4),
            "smape": [5.0, 6.0, 7.0, 6.5] * 2,
            "mase": [0.8, 0.9, 1.1, 0.95, 0.9, 0.9, 1.0, 0.9],
            "coverage": [1.0] * 8,
            "n": [7] * 8,
        }
    )
    summary = summarize_backtest(backtest_frame)
    assert choose_best(summary) == "theta"  # 0.85 < 0.9
    tie = summary.assign(mase=[0.9, 0.9, 1.05, 0.925])
    assert choose_best(tie) == "seasonal_naive"  # equal MASE does not beat it (theta's sMAPE is lower)
    frame = forecast(random_walk_series(60), 7, models=("seasonal_naive", "theta"), origins=0)
    assert flag_best(frame, "theta")["flag"].tolist() == frame["flag"].tolist()
    assert flag_best(frame, "seasonal_naive").attrs["settings"] == frame.attrs["settings"]


def test_forecasts_command_accepts_the_benchmark_models(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from tsplatform.cli.main import main
    from tsplatform.warehouse import forecasts as forecast_table
    from tsplatform.warehouse import open_warehouse

    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    monkeypatch.setenv("TSPLATFORM_WAREHOUSE_URL", url)
    frame = forecast(random_walk_series(60), 5, models=("sarimax", "naive", "seasonal_naive", "theta"))
    with open_warehouse(url).transaction() as session:
        rows = forecast_table.forecast_rows(frame, "theta", 0.95)
        forecast_table.replace_category_forecasts(session, "Toys", rows, pd.DataFrame(), "run-1")

    runner = CliRunner()
    for model in BENCHMARK_MODELS:
        result = runner.invoke(main, ["forecasts", "--model", model, "--format", "json"])
        assert result.exit_code == 0, result.output
        records = json.loads(result.output)
        assert len(records) == 5 and {r["model_type"] for r in records} == {model}
    best = json.loads(runner.invoke(main, ["forecasts", "--best", "--format", "json"]).output)
    assert {r["model_type"] for r in best} == {"theta"}
    assert runner.invoke(main, ["forecasts", "--model", "arima_magic"]).exit_code == 2
