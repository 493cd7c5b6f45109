"""Case 3: the full forecast of many categories, against the cores and against the classic fits.

Full forecast = what the ``category_forecasts`` asset computes: ``forecast_categories`` (Prophet,
SARIMAX and Holt-Winters, their ensemble, rolling-origin backtests, in a process pool over the
cores) and one chart page per category, plus the index page.

* Parallel efficiency = (sum of the single-series fit times / cores) / wall time of the whole run.
* CPU per category against a reference measured in the same process: the classic fixed-order fit,
  SARIMAX (2,1,2)(1,1,1,7) + Holt-Winters (additive, weekly) + Prophet, one fit each and no
  backtests, on a few of the same series (one BLAS thread, as the pool's workers use).

CPU time counts this process and its children (pool workers, cmdstan), from ``getrusage``.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from pathlib import Path

from benchmarks.common import Sizes, Stopwatch, cores, work_folder
from benchmarks.report import Figure

CASE = "3 forecast"
HORIZON = 30
MIN_EFFICIENCY = 0.8


def category_series(categories: int, days: int) -> dict:
    """Daily sales per category, as ``daily_category_sales`` holds them (generated, no gaps)."""
    from tsplatform.sample_data import SalesSpec, generate_sales

    frame = generate_sales(SalesSpec(categories=categories, products_per_category=2, days=days, missing_rate=0.0,
                                     messy_rows=0))
    frame["sales"] = frame["sales"].astype(float)
    frame["Date"] = frame["Date"].astype("datetime64[ns]")
    return {name: group.groupby("Date")["sales"].sum().asfreq("D") for name, group in frame.groupby("category", sort=True)}


def full_forecast(series: dict, folder: Path, workers: int | None = None) -> dict:
    """Forecasts, backtests, ensemble and charts for every series; returns the per-category results."""
    from tsplatform.forecasting import forecast_categories, page_filename, render_category_chart, render_index

    results = forecast_categories(series, HORIZON, max_workers=workers or cores())
    entries = []
    for category, result in results.items():
        if result.error:
            raise RuntimeError(f"forecast of {category} failed: {result.error}")
        page = render_category_chart(category, series[category].iloc[-180:], result.forecast, result.summary,
                                     result.best_model, folder / page_filename(category))
        entries.append({"category": category, "path": page, "best_model": result.best_model})
    render_index(entries, folder / "index.html")
    return results


def classic_fit(series, horizon: int = HORIZON) -> None:
    """The reference: fixed-order SARIMAX + Holt-Winters + Prophet, one fit each, with intervals."""
    import pandas as pd
    from prophet import Prophet
    from statsmodels.tsa.holtwinters import ExponentialSmoothing
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sarimax = SARIMAX(series, order=(2, 1, 2), seasonal_order=(1, 1, 1, 7)).fit(disp=False)
        sarimax.get_forecast(horizon).summary_frame(alpha=0.05)
        ExponentialSmoothing(series, trend="add", seasonal="add", seasonal_periods=7).fit().forecast(horizon)
        model = Prophet(interval_width=0.95)
        model.fit(pd.DataFrame({"ds": series.index, "y": series.to_numpy()}))
        model.predict(model.make_future_dataframe(horizon))


def _import_models() -> None:
    import prophet  # noqa: F401
    from statsmodels.tsa.holtwinters import ExponentialSmoothing  # noqa: F401
    from statsmodels.tsa.statespace.sarimax import SARIMAX  # noqa: F401


def run(sizes: Sizes) -> list[Figure]:
    from tsplatform.forecasting.blas_threads import set_single_threaded_blas
    from tsplatform.forecasting.quiet import silence_prophet_logging

    series = category_series(sizes.forecast_categories, sizes.forecast_days)
    folder = Path(tempfile.mkdtemp(prefix="forecast-", dir=work_folder()))
    try:
        with Stopwatch() as full:
            results = full_forecast(series, folder)
        fit_seconds = sum(r.fit_seconds for r in results.values())
        silence_prophet_logging()
        set_single_threaded_blas()
        _import_models()  # as the pool's workers do before their first task: imports are not fits
        reference_keys = list(series)[: sizes.reference_categories]
        with Stopwatch() as reference:
            for key in reference_keys:
                classic_fit(series[key])
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    n, usable = len(series), cores()
    ideal = fit_seconds / usable
    efficiency = ideal / full.wall
    ours_cpu, reference_cpu = full.cpu / n, reference.cpu / len(reference_keys)
    shape = f"{n} categories x {sizes.forecast_days} days, horizon {HORIZON}, 3 backtest origins"
    return [
        Figure(CASE, "full forecast wall time", full.wall, "s", baseline=ideal, baseline_label="sum of fits / cores",
               ratio=efficiency, target=f">= {MIN_EFFICIENCY} efficiency", met=efficiency >= MIN_EFFICIENCY,
               note=f"{shape}; sum of single-series fit times {fit_seconds:.1f} s over {usable} cores"),
        Figure(CASE, "CPU s per category, full set with backtests", ours_cpu, "s", baseline=reference_cpu,
               baseline_label="classic fit, no backtests", ratio=reference_cpu / ours_cpu,
               target="< classic fixed-order fit", met=ours_cpu < reference_cpu,
               note=f"reference: SARIMAX(2,1,2)(1,1,1,7) + Holt-Winters + Prophet on {len(reference_keys)} of the "
                    f"series, {reference.wall:.1f} s wall, {reference.cpu:.1f} CPU s"),
    ]
