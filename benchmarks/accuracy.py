"""Case 7: how accurate ``forecast()`` is on real series, scored the way M4 scored its entries.

    python -m benchmarks --only accuracy          # in the suite's one table
    python -m benchmarks.accuracy [--quick | --full] [--markdown]   # alone, as one wide table
    python -m benchmarks.accuracy --models prophet       # some models only (their ensemble beside)

Data sets: the shared M4 weekly (horizon 13, m = 1) and hourly (horizon 48, m = 24) series, and
generated daily sales (the suite's ``category_series``, horizon 30, m = 7). Each series is cut as M4
cut it (the model sees the history, is scored on the next ``horizon`` values) and forecast as
``tsplatform.forecasting.forecast(series, horizon, models=DEFAULT_MODELS, interval=0.95)`` forecasts
it by default: every model fitted, 3 rolling-origin backtest windows, the ensemble formed from them
(``evidence.py``), every interval calibrated from them (``calibration.py``). Every model type it
returns is scored (prophet, sarimax, holt_winters, the benchmarks naive, seasonal_naive and theta,
and the ensemble), beside three reference forecasts computed here and labelled "(reference)": M4's
Naive2, the seasonal naive and statsmodels' Theta.

Beside each model: ``<model> raw 95%`` (the raw fits, the ensemble the equal mean of the fitted
models: what ``forecast()`` returned before issue 12), ``<model> raw 80%`` and ``<model> calibrated
80%``. The factor column is the median calibration factor.

Per data set and model: sMAPE, MASE, OWA against Naive2 on the same series, interval coverage,
MSIS, and CPU seconds per series (this process and its children, e.g. cmdstan). A model's CPU is its
own fit (``forecast(models=(name,), origins=0)``); the ensemble's is ``forecast()``'s whole work.
The published OWAs of the M4 paper are shown beside, labelled: they are for the full sets (359
weekly series), not for the subset measured here.

Default run, a fixed subset that stays within about 6 minutes on 2 cores: every 3rd weekly series
(W1, W7, ...: 60 of 180), every 6th hourly series (H1, H7, ...: 69 of 414), 20 generated daily
series. ``--full`` (or ``TSPLATFORM_ACCURACY_FULL=1`` for the suite): all 180 + 414 and 50 daily.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

from benchmarks import m4
from benchmarks.common import Sizes, Stopwatch, cores
from benchmarks.report import Figure, text_table

CASE = "7 accuracy"
INTERVAL = 0.95
ENSEMBLE = "ensemble"
# the references' row names, apart from forecast()'s model names (which include naive, seasonal_naive, theta)
NAIVE2, SEASONAL_NAIVE, THETA = "Naive2 (reference)", "seasonal naive (reference)", "Theta (reference)"
REFERENCES = (THETA, SEASONAL_NAIVE, NAIVE2)
DAILY = "daily sales (generated)"
DAILY_HORIZON, DAILY_SEASON = 30, 7
FULL_ENVIRONMENT = "TSPLATFORM_ACCURACY_FULL"

# The M4 paper's OWA on the full sets (datasets README); never measured here.
PUBLISHED_OWA = {
    m4.WEEKLY.name: {"Naive2": 1.000, "Theta": 0.971, "Comb": 0.926, "Damped": 0.917, "winner (Smyl)": 0.851,
                     "best weekly entry": 0.739},
    m4.HOURLY.name: {"winner (Smyl)": 0.440},
}
PUBLISHED_NAME = {NAIVE2: "Naive2", THETA: "Theta"}
# issue 12's targets for the ensemble, shown as met / NO (the models are not tuned yet)
ENSEMBLE_MAX_OWA = {m4.WEEKLY.name: 0.88}
COVERAGE_RANGE = (0.92, 0.97)
# the pipeline's rows (issue 12): intervals calibrated from ORIGINS backtest windows, at two levels
ORIGINS = 3
LOW_LEVEL = 0.80
LEVELS = (INTERVAL, LOW_LEVEL)
RAW, CALIBRATED = "raw", "calibrated"
COVERAGE_RANGES = {INTERVAL: COVERAGE_RANGE, LOW_LEVEL: (0.76, 0.84)}


@dataclass(frozen=True)
class Subset:
    """Which series a run scores: every k-th of each M4 set, and how many generated daily series."""

    weekly_every: int
    hourly_every: int
    daily_series: int
    daily_days: int

    def describe(self, counts: dict[str, int]) -> str:
        return (f"weekly 1 in {self.weekly_every} ({counts.get(m4.WEEKLY.name, 0)}), hourly 1 in {self.hourly_every} "
                f"({counts.get(m4.HOURLY.name, 0)}), {counts.get(DAILY, 0)} daily x {self.daily_days} days")


DEFAULT = Subset(weekly_every=3, hourly_every=6, daily_series=20, daily_days=730)
FULL = Subset(weekly_every=1, hourly_every=1, daily_series=50, daily_days=730)
QUICK = Subset(weekly_every=90, hourly_every=207, daily_series=2, daily_days=180)


@dataclass(frozen=True)
class Task:
    """One series to forecast and score; only plain data crosses to the pool's workers."""

    dataset: str
    key: str
    train: np.ndarray
    test: np.ndarray
    start: str
    freq: str
    season_length: int
    models: tuple[str, ...] = ()  # forecast()'s models; empty: DEFAULT_MODELS

    @property
    def horizon(self) -> int:
        return len(self.test)


# --- the work of one series (runs in a pool worker) -------------------------------------------------


def score_series(task: Task) -> list[dict]:
    """One row per model and reference: the M4 scores of this series and the CPU seconds spent.

    The plain model rows are what ``forecast()`` returns by default (and the pipeline stores): the
    ensemble formed from the backtest, every interval calibrated from it. Built here from its
    parts (the raw fits, the backtest windows, ``evidence.finish_forecast``) so the raw intervals
    can be scored beside them without fitting twice."""
    import pandas as pd

    from benchmarks import reference_forecasts
    from benchmarks.m4_scoring import naive2
    from tsplatform.forecasting import DEFAULT_MODELS, forecast
    from tsplatform.forecasting.backtesting import backtest_window, plan_windows
    from tsplatform.forecasting.evidence import finish_forecast
    from tsplatform.forecasting.flags import FALLBACK_SEASONAL_NAIVE, split_flags
    from tsplatform.forecasting.preparation import prepare_series

    history = pd.Series(task.train, index=pd.date_range(task.start, periods=len(task.train), freq=task.freq))
    h, m = task.horizon, task.season_length
    models = task.models or DEFAULT_MODELS
    cpu = {}
    if len(models) > 1:
        for name in models:  # each model's own fit, no backtest: what one model costs
            with _CpuTimer() as alone:
                forecast(history, h, models=(name,), interval=INTERVAL, origins=0)
            cpu[name] = alone.seconds
    with _CpuTimer() as together:  # forecast()'s whole work: raw fits, windows, ensemble, calibration
        raw = forecast(history, h, models=models, interval=INTERVAL, origins=0)
        windows = [backtest_window(history, h, w.number, models, INTERVAL, ORIGINS)
                   for w in plan_windows(prepare_series(history), h, ORIGINS)]
        frame, windows = finish_forecast(raw, windows, history)
    cpu[ENSEMBLE] = together.seconds
    cpu.setdefault(models[0], together.seconds)  # one model: the call is that model alone
    rows = []
    factors = frame.attrs["settings"].get("calibration", {})
    for model, block in frame.groupby("model", sort=False):  # every model type forecast() returns
        fell_back = any(FALLBACK_SEASONAL_NAIVE in split_flags(flag) for flag in block["flag"])
        rows.append({"model": model, "cpu": cpu.get(model, float("nan")), "fallback": fell_back,
                     "factor": (factors.get(model) or {}).get("factor"),
                     **_scores(task, block["yhat"], block["lower"], block["upper"])})
    rows += variant_rows(task, history, raw, windows, models)

    references = {
        NAIVE2: lambda: naive2(task.train, h, m, INTERVAL),
        SEASONAL_NAIVE: lambda: reference_forecasts.seasonal_naive(task.train, h, m, INTERVAL),
        THETA: lambda: reference_forecasts.theta(history, h, m, INTERVAL),
    }
    for name, compute in references.items():
        with _CpuTimer() as timer:
            mean, lower, upper = compute()
        rows.append({"model": name, "cpu": timer.seconds, **_scores(task, mean, lower, upper), "fallback": False})
    return [{"dataset": task.dataset, "series": task.key, **row} for row in rows]


def variant_rows(task: Task, history, raw: pd.DataFrame, windows: list, models) -> list[dict]:
    """Beside the default: the raw 95% fits (equal mean of the fitted models as the ensemble, no
    calibration: what forecast() returned before), and the 80% level raw and calibrated. The
    calibrated 80% reuses the 95% windows (the scores are relative to the raw interval, so any
    target level can be calibrated from them); the raw 80% comes from its own fits."""
    from tsplatform.forecasting import forecast
    from tsplatform.forecasting.evidence import finish_forecast

    raw_low = forecast(history, task.horizon, models=models, interval=LOW_LEVEL, origins=0)
    frames = {(RAW, INTERVAL): raw, (RAW, LOW_LEVEL): raw_low,
              (CALIBRATED, LOW_LEVEL): finish_forecast(raw, windows, history, interval=LOW_LEVEL)[0]}
    rows = []
    for (kind, level), frame in frames.items():
        factors = frame.attrs["settings"].get("calibration", {})
        for model, block in frame.groupby("model", sort=False):
            rows.append({"model": pipeline_name(model, kind, level), "cpu": float("nan"), "fallback": False,
                         "factor": (factors.get(model) or {}).get("factor"),
                         **_scores(task, block["yhat"], block["lower"], block["upper"], level)})
    return rows


def pipeline_name(model: str, kind: str, level: float) -> str:
    return f"{model} {kind} {level:.0%}"


def _scores(task: Task, mean, lower, upper, level: float = INTERVAL) -> dict:
    from benchmarks.m4_scoring import interval_coverage, mase, msis, smape

    mean, lower, upper = (np.asarray(a, dtype=float) for a in (mean, lower, upper))
    m = task.season_length
    return {"smape": smape(task.test, mean), "mase": mase(task.test, mean, task.train, m),
            "coverage": interval_coverage(task.test, lower, upper), "level": level,
            "msis": msis(task.test, lower, upper, task.train, m, alpha=1 - level)}


class _CpuTimer:
    """CPU seconds of this process and the children it waited for (cmdstan runs as one)."""

    def __enter__(self) -> _CpuTimer:
        self._start = _cpu_now()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = _cpu_now() - self._start


def _cpu_now() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


# --- planning and the pool --------------------------------------------------------------------------


def plan(subset: Subset, models: tuple[str, ...] = ()) -> list[Task]:
    """Every series of the subset, longest history first (so no long one is left for the end)."""
    from benchmarks.forecast import category_series

    tasks = []
    for m4_set, every in ((m4.WEEKLY, subset.weekly_every), (m4.HOURLY, subset.hourly_every)):
        for series in m4.every_kth(m4.load(m4_set), every):
            tasks.append(Task(m4_set.name, series.key, series.train, series.test, m4_set.start, m4_set.freq,
                              m4_set.season_length, models))
    for key, series in category_series(subset.daily_series, subset.daily_days).items():
        values = series.to_numpy(dtype=float)
        tasks.append(Task(DAILY, str(key), values[:-DAILY_HORIZON], values[-DAILY_HORIZON:],
                          str(series.index[0].date()), "D", DAILY_SEASON, models))
    return sorted(tasks, key=lambda task: len(task.train), reverse=True)


WORKER_IMPORTS = ("benchmarks.m4_scoring", "benchmarks.reference_forecasts", "statsmodels.tsa.forecasting.theta")


def run_tasks(tasks: list[Task], workers: int) -> list[dict]:
    """Score every task in a forkserver pool (heavy imports paid once, as ``forecast_categories`` does)."""
    from tsplatform.forecasting.parallel import WORKER_IMPORTS as FORECAST_IMPORTS

    if workers <= 1:
        _prepare_worker()
        return [row for task in tasks for row in score_series(task)]
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([*FORECAST_IMPORTS, *WORKER_IMPORTS])
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_prepare_worker) as pool:
        return [row for rows in pool.map(score_series, tasks) for row in rows]


def _prepare_worker() -> None:
    import warnings

    from tsplatform.forecasting.blas_threads import set_single_threaded_blas
    from tsplatform.forecasting.quiet import silence_prophet_logging

    warnings.simplefilter("ignore")
    silence_prophet_logging()
    set_single_threaded_blas()


# --- the summary ------------------------------------------------------------------------------------


def summarize(rows: list[dict]):
    """One row per (data set, model): means over its series, and OWA against Naive2 on the same series."""
    import pandas as pd

    frame = pd.DataFrame(rows)
    if "factor" not in frame:
        frame["factor"] = np.nan
    if "level" not in frame:  # rows scored before intervals had a level column: the 95% ones
        frame["level"] = INTERVAL
    frame["factor"] = pd.to_numeric(frame["factor"], errors="coerce")
    summary = frame.groupby(["dataset", "model"]).agg(
        smape=("smape", "mean"), mase=("mase", "mean"), coverage=("coverage", "mean"), msis=("msis", "mean"),
        cpu=("cpu", "mean"), series=("series", "nunique"), fallbacks=("fallback", "sum"),
        level=("level", "first"), factor=("factor", "median"))
    naive2 = summary.xs(NAIVE2, level="model")
    datasets = summary.index.get_level_values("dataset")
    summary["owa"] = 0.5 * (summary["smape"] / naive2.loc[datasets, "smape"].to_numpy()
                            + summary["mase"] / naive2.loc[datasets, "mase"].to_numpy())
    # the ensemble, forecast()'s models in their order, then the references
    order = {ENSEMBLE: -1, **{name: 1000 + i for i, name in enumerate(REFERENCES)}}
    order.update({name: i for i, name in enumerate(dict.fromkeys(frame["model"])) if name not in order
                  and not name.endswith("%")})
    for model in list(order):  # a model's pipeline rows right after it
        for i, (kind, level) in enumerate([(RAW, INTERVAL), (RAW, LOW_LEVEL), (CALIBRATED, LOW_LEVEL)]):
            order[pipeline_name(model, kind, level)] = order[model] + 0.1 * (1 + i)
    dataset_order = {name: i for i, name in enumerate((m4.WEEKLY.name, m4.HOURLY.name, DAILY))}
    return summary.sort_index(key=lambda level: level.map(order if level.name == "model" else dataset_order))


def figures(summary, subset_line: str, wall: float, cpu: float, workers: int) -> list[Figure]:
    rows = []
    for (dataset, model), r in summary.iterrows():
        published = PUBLISHED_OWA.get(dataset, {}).get(PUBLISHED_NAME.get(model, ""))
        note = (f"sMAPE {r.smape:.2f}, MASE {r.mase:.3f}, {r.level:.0%} coverage {r.coverage:.3f}, MSIS {r.msis:.2f}, "
                f"{r.cpu:.2f} CPU s/series, {int(r.series)} series"
                + (f", {int(r.fallbacks)} fell back to seasonal naive" if r.fallbacks else "")
                + (f"; published on the full set: {published:.3f}" if published is not None else ""))
        target, met = "", None
        if model == ENSEMBLE:
            limit = ENSEMBLE_MAX_OWA.get(dataset)
            target, met = (f"<= {limit}", bool(r.owa <= limit)) if limit else ("< 1 (beats Naive2)", bool(r.owa < 1))
        rows.append(Figure(CASE, f"{dataset}: {model} OWA", float(r.owa), baseline=1.0,
                           baseline_label="Naive2, same series", ratio=float(1 / r.owa) if r.owa > 0 else None,
                           target=target, met=met, note=note))
        if model == ENSEMBLE or model.startswith(f"{ENSEMBLE} "):
            low, high = COVERAGE_RANGES[round(r.level, 2)]
            rows.append(Figure(CASE, f"{dataset}: {model} {r.level:.0%} interval coverage", float(r.coverage),
                               target=f"{low}-{high}", met=bool(low <= r.coverage <= high)))
    for dataset, published in PUBLISHED_OWA.items():
        for name, value in published.items():
            rows.append(Figure(CASE, f"{dataset}: {name} OWA, PUBLISHED on the full set (M4 paper)", value))
    n = int(summary.xs(ENSEMBLE, level="model")["series"].sum())
    rows.append(Figure(CASE, "wall time, all series", wall, "s",
                       note=f"{n} series ({subset_line}) over {workers} workers; {cpu:.0f} CPU s in all"))
    return rows


def wide_table(summary, markdown: bool = False) -> str:
    """The per data set, per model table, with the published OWA beside the measured one."""
    header = ["data set", "model", "series", "sMAPE", "MASE", "OWA", "coverage / nominal", "MSIS", "factor (median)",
              "CPU s/series", "published OWA (full set)"]
    body = []
    for (dataset, model), r in summary.iterrows():
        published = PUBLISHED_OWA.get(dataset, {}).get(PUBLISHED_NAME.get(model, ""))
        body.append([dataset, model, str(int(r.series)), f"{r.smape:.2f}", f"{r.mase:.3f}", f"{r.owa:.3f}",
                     f"{r.coverage:.3f} / {r.level:.2f}", f"{r.msis:.2f}",
                     f"{r.factor:.2f}" if np.isfinite(r.factor) else "", f"{r.cpu:.2f}",
                     f"{published:.3f}" if published else ""])
    for dataset, published in PUBLISHED_OWA.items():
        for name, value in published.items():
            if name not in PUBLISHED_NAME.values():
                body.append([dataset, f"{name} (published)", "", "", "", "", "", "", "", "", f"{value:.3f}"])
    return text_table(header, body, markdown)


def measure(subset: Subset, workers: int | None = None, models: tuple[str, ...] = ()):
    """(summary, subset line, wall s, CPU s, workers) of one run over ``subset`` (``models``: forecast()'s)."""
    tasks = plan(subset, models)
    workers = min(workers or cores(), len(tasks))
    with Stopwatch() as clock:
        rows = run_tasks(tasks, workers)
    counts = {}
    for task in tasks:
        counts[task.dataset] = counts.get(task.dataset, 0) + 1
    return summarize(rows), subset.describe(counts), clock.wall, clock.cpu, workers


def chosen_subset(quick: bool, full: bool = False) -> Subset:
    if quick:
        return QUICK
    return FULL if full or os.environ.get(FULL_ENVIRONMENT) == "1" else DEFAULT


def run(sizes: Sizes) -> list[Figure]:
    """The suite's entry: figures for the one table (``--quick``: one or two series per data set)."""
    summary, subset_line, wall, cpu, workers = measure(chosen_subset(sizes.quick))
    print(wide_table(summary, markdown=True), flush=True)  # into the job's log (kept with --keep)
    return figures(summary, subset_line, wall, cpu, workers)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.accuracy", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one or two series per data set: a smoke run")
    parser.add_argument("--full", action="store_true", help="all 180 weekly and 414 hourly series, 50 daily")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--workers", type=int, help="pool size (default: the usable cores)")
    parser.add_argument("--models", help="comma-separated models to forecast with (default: all of forecast()'s)")
    args = parser.parse_args(argv)

    from benchmarks.report import machine, machine_lines

    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    models = tuple(name.strip() for name in args.models.split(",")) if args.models else ()
    summary, subset_line, wall, cpu, workers = measure(chosen_subset(args.quick, args.full), args.workers, models)
    print(wide_table(summary, markdown=args.markdown))
    print()
    print(f"{started}; {subset_line}; wall {wall:.0f} s over {workers} workers, {cpu:.0f} CPU s in all")
    print("\n".join(machine_lines(machine())))
    return 0


if __name__ == "__main__":
    # through the module's own name, so the pool pickles ``benchmarks.accuracy.score_series``, not ``__main__``'s
    from benchmarks.accuracy import main as accuracy_main

    sys.exit(accuracy_main())
