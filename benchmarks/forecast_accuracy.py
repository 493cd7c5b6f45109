"""Forecast benchmark (issue 3): parallel wall time against the single-series sum, and accuracy.

    python -m benchmarks.forecast_accuracy [--series 50] [--days 730] [--horizon 30] [--quick]

Prints (1) the wall time of forecasting + backtesting all series in one process pool against the
sum of the single-series fit times divided by the cores, and (2) backtest sMAPE, MASE and OWA per
model against a seasonal naive forecast scored on the same windows (OWA = mean of the two ratios to
the seasonal naive; below 1 beats it). The series are generated: weekly and yearly seasonality,
trend, noise, a few zero days, at different levels.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd


def generated_series(count: int, days: int, seed: int = 42) -> dict[str, pd.Series]:
    rng = np.random.default_rng(seed)
    index = pd.date_range("2023-01-01", periods=days, freq="D")
    t = np.arange(days)
    series = {}
    for i in range(count):
        level = rng.uniform(50, 5000)
        weekly = rng.uniform(0.05, 0.4) * np.sin(2 * np.pi * (t + rng.integers(7)) / 7)
        yearly = rng.uniform(0.0, 0.3) * np.sin(2 * np.pi * (t + rng.integers(365)) / 365.25)
        trend = rng.uniform(-0.2, 0.6) * t / 365
        noise = rng.normal(0, rng.uniform(0.03, 0.15), days)
        values = level * np.clip(1 + weekly + yearly + trend + noise, 0.02, None)
        values[rng.random(days) < 0.01] = 0.0
        series[f"series_{i:03d}"] = pd.Series(values, index=index)
    return series


def seasonal_naive_scores(series: pd.Series, backtest: pd.DataFrame, horizon: int, season: int = 7) -> pd.DataFrame:
    """sMAPE and MASE of 'same day last week' on each backtest window of the models."""
    from tsplatform.forecasting.metrics import mase, smape

    rows = []
    for origin in sorted(pd.to_datetime(backtest["origin"].unique())):
        train = series[series.index <= origin]
        test = series[series.index > origin].iloc[:horizon]
        last_season = train.iloc[-season:].to_numpy()
        predicted = np.resize(last_season, len(test))
        rows.append({"origin": origin, "smape": smape(test.to_numpy(), predicted),
                     "mase": mase(test.to_numpy(), predicted, train.to_numpy(), season_length=season)})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", type=int, default=50)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--horizon", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="6 series of 200 days: a smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.series, args.days, args.horizon = 6, 200, 14

    from tsplatform.forecasting import forecast_categories, summarize_backtest

    cores = os.cpu_count() or 1
    data = generated_series(args.series, args.days)
    started = time.perf_counter()
    results = forecast_categories(data, args.horizon, 0.95, max_workers=cores)
    wall = time.perf_counter() - started
    single_sum = sum(r.fit_seconds for r in results.values())
    ideal = single_sum / cores
    print(f"\nforecast + backtest of {args.series} series x {args.days} days, horizon {args.horizon}, {cores} cores")
    print(f"  wall time                         {wall:8.1f} s")
    print(f"  sum of single-series fit times    {single_sum:8.1f} s   / {cores} cores = {ideal:.1f} s")
    print(f"  wall / (sum / cores)              {wall / ideal:8.2f}    (efficiency {ideal / wall:.2f}; start-up included)")

    summaries, naive = [], []
    for key, result in results.items():
        summaries.append(summarize_backtest(result.backtest).assign(series=key))
        naive.append(seasonal_naive_scores(data[key], result.backtest, args.horizon).assign(series=key))
    models = pd.concat(summaries).groupby("model")[["smape", "mase", "coverage"]].mean()
    reference = pd.concat(naive)[["smape", "mase"]].mean()
    models["owa"] = 0.5 * (models["smape"] / reference["smape"] + models["mase"] / reference["mase"])
    models.loc["seasonal_naive"] = [reference["smape"], reference["mase"], np.nan, 1.0]
    best = pd.Series({k: r.best_model for k, r in results.items()}).value_counts()
    print("\nbacktest accuracy (mean over series and origins; OWA against the seasonal naive)")
    print(models.round(3).sort_values("owa").to_string())
    print("\nchosen model per series:", ", ".join(f"{m} {n}" for m, n in best.items()))


if __name__ == "__main__":
    main()
