"""The forecasts_are_plausible rule: passes on sane forecasts, fails (naming them) on absurd ones."""

import numpy as np
import pandas as pd

from tsplatform.defs.forecasts.assets import FORECASTS_ARE_PLAUSIBLE_CHECK, plausibility_check
from tsplatform.forecasting.plausibility import implausible_forecasts

HISTORY = pd.Series(np.tile([10.0, 12.0, 14.0, 12.0], 30), index=pd.date_range("2025-01-01", periods=120))


def rows(category, model, values, spread=2.0, best=False):
    values = np.asarray(values, dtype="float64")
    return pd.DataFrame({
        "category": category, "model_type": model,
        "forecast_date": pd.date_range("2025-05-01", periods=len(values)),
        "forecast_value": values, "lower_bound": values - spread, "upper_bound": values + spread, "is_best": best,
    })


def test_sane_forecasts_pass():
    frame = pd.concat([rows("A", "prophet", [12.0] * 30, best=True), rows("A", "ensemble", [12.5] * 30)])
    assert implausible_forecasts(frame, {"A": HISTORY}).empty


def test_a_runaway_trend_an_exploding_interval_and_a_non_finite_value_fail_by_category_and_model():
    frame = pd.concat([
        rows("A", "prophet", np.linspace(12, 40, 30), best=True),  # range 10..14, span 4: ceiling 22
        rows("A", "sarimax", [12.0] * 30, spread=30.0),  # the interval alone breaks the range
        rows("A", "holt_winters", [12.0] * 29 + [np.inf]),
        rows("B", "ensemble", [12.0] * 30),
    ])
    problems = implausible_forecasts(frame, {"A": HISTORY, "B": HISTORY})
    assert sorted(map(tuple, problems[["category", "model_type", "rule"]].to_numpy())) == [
        ("A", "holt_winters", "range"), ("A", "prophet", "range"), ("A", "sarimax", "range"),
    ]


def test_benchmark_bounds_may_be_wide_but_their_forecasts_may_not_leave_the_range():
    """The naive's honest 30-day interval on daily sales with a weekly cycle is far wider than 2
    history ranges; that alone does not block the run. Its point forecast is still checked."""
    from tsplatform.forecasting import forecast
    from tsplatform.warehouse.forecasts import forecast_rows

    noisy = HISTORY + np.random.default_rng(0).normal(0, 0.5, len(HISTORY))
    frame = forecast(noisy, 30, models=("naive", "seasonal_naive", "theta"), origins=0)  # raw bounds
    real = forecast_rows(frame[frame["model"] != "ensemble"], "seasonal_naive", 0.95).assign(category="A")
    naive = real[real["model_type"] == "naive"]
    span = noisy.max() - noisy.min()
    assert naive["upper_bound"].max() > noisy.max() + 2 * span  # wide: the rule would have failed it
    assert implausible_forecasts(real, {"A": noisy}).empty

    runaway = pd.concat([rows("A", "theta", np.linspace(12, 40, 30)), rows("A", "naive", [12.0] * 30, spread=30.0)])
    problems = implausible_forecasts(runaway, {"A": HISTORY})
    assert problems[["model_type", "rule"]].to_numpy().tolist() == [["theta", "range"]]


def test_a_level_jump_of_the_best_model_fails_even_inside_a_wide_history_range():
    spiky = HISTORY.copy()
    spiky.iloc[10] = 1000.0  # one old spike widens the range to 2980; the highest 30-day mean is 45
    frame = pd.concat([rows("A", "sarimax", [200.0] * 30, best=True), rows("A", "prophet", [200.0] * 30)])
    problems = implausible_forecasts(frame, {"A": spiky})
    assert problems[["model_type", "rule"]].to_numpy().tolist() == [["sarimax", "level"]]


def test_the_check_result_names_the_offending_categories():
    frame = pd.concat([rows("Good", "ensemble", [12.0] * 30), rows("Bad", "ensemble", [500.0] * 30)])
    result = plausibility_check(frame, {"Good": HISTORY, "Bad": HISTORY})
    assert result.check_name == FORECASTS_ARE_PLAUSIBLE_CHECK and not result.passed
    assert result.metadata["failing_categories"].value == ["Bad"]
    assert plausibility_check(frame[frame["category"] == "Good"], {"Good": HISTORY}).passed


def test_an_intermittent_category_may_return_to_its_usual_level_after_a_quiet_month():
    quiet = HISTORY.copy()
    quiet.iloc[-30:] = 0.0
    quiet.iloc[-3:] = 12.0
    assert implausible_forecasts(rows("A", "ensemble", [12.0] * 30), {"A": quiet}).empty


def test_a_short_histories_honest_interval_does_not_block_the_run():
    """40 days of 6 products' sales with a 17-day cycle (the daemon test's uploads): no backtest fits
    in, so the 30-day intervals stay raw, Holt-Winters' reaching ~4 history ranges above the top.
    That failed every forecast refresh of such categories; the point forecasts are still held to 2."""
    from tsplatform.forecasting import forecast
    from tsplatform.warehouse.forecasts import forecast_rows

    days = pd.date_range("2025-01-01", periods=40, freq="D")
    short = pd.Series([sum((4 + product + day.day) % 17 + 0.5 for product in range(6)) for day in days], index=days)
    frame = forecast(short, 30)
    real = forecast_rows(frame, "ensemble", 0.95).assign(category="A")
    span = short.max() - short.min()
    assert real["upper_bound"].max() > short.max() + 2 * span  # the old rule would have failed it
    assert implausible_forecasts(real, {"A": short}).empty
