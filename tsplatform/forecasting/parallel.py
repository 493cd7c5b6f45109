"""Forecast and backtest many series in one process pool.

Work is split finer than one series: each series gives one task for the final forecast
and one per backtest origin, so a few long series cannot leave a core idle at the end.
Tasks are queued longest-first (a greedy longest-processing-time schedule). Workers run
OpenBLAS single-threaded; only data (series in, frames out) crosses the process boundary.

Workers come from a ``forkserver``: a fresh single-threaded process that imports Prophet and
statsmodels once (about 1.8 CPU s) and forks every worker from there, so the imports are paid
once per process instead of once per worker, and later pools in the same process start at once.
Forking the caller itself is not safe: it already runs threads (Dagster does), which can
deadlock a forked child.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Hashable, Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .backtesting import assemble_backtest, backtest_window, choose_best, flag_best, plan_windows, summarize_backtest
from .evidence import finish_forecast
from .forecaster import DEFAULT_MODELS, check_horizon, check_interval, forecast, normalize_models
from .preparation import prepare_series
from .quiet import MAX_MESSAGES_PER_MODEL


@dataclass
class CategoryForecast:
    """Everything computed for one series."""

    key: Hashable
    forecast: pd.DataFrame  # columns model, ds, yhat, lower, upper, flag
    backtest: pd.DataFrame  # columns model, origin, smape, mase, coverage, n
    summary: pd.DataFrame  # one row per model: smape, mase, coverage, origins, n
    best_model: str
    warnings: dict[str, list[str]] = field(default_factory=dict)  # forecast + backtest fits, per model
    flags: dict[str, str] = field(default_factory=dict)  # flag of each model's forecast block
    settings: dict = field(default_factory=dict)  # forecast.attrs["settings"]
    fit_seconds: float = 0.0  # compute time of this series' tasks (sum over its forecast + origins)
    error: str | None = None  # set when the series could not be processed at all


@dataclass(frozen=True)
class _Task:
    key: Hashable
    number: int  # 0 = final forecast, k >= 1 = backtest window k
    size: int  # training points, for longest-first ordering
    series: pd.Series
    horizon: int
    models: tuple[str, ...]
    interval: float
    origins: int
    nonnegative: bool | None


@dataclass
class _Outcome:
    key: Hashable
    number: int
    payload: Any = None  # the final forecast frame (number 0) or a backtest WindowResult
    seconds: float = 0.0
    error: str | None = None


def forecast_categories(
    series_by_key: Mapping[Hashable, pd.Series],
    horizon: int,
    interval: float = 0.95,
    models: Iterable[str] = DEFAULT_MODELS,
    max_workers: int | None = None,
    *,
    origins: int = 3,
    nonnegative: bool | None = None,
    start_method: str = "forkserver",
) -> dict[Hashable, CategoryForecast]:
    """``forecast`` + ``backtest`` + summary + best model for every series, in parallel.

    ``max_workers`` defaults to the usable cores; ``max_workers=1`` runs in this process
    (no pool). Results come back in the order of ``series_by_key`` and are identical to
    calling ``forecast``/``backtest`` per series (the ensemble formed from the backtest, every
    interval calibrated from it: ``evidence.finish_forecast``), plus ``flag_best``'s flag on the
    chosen model's rows. The ``backtest`` coverage is the RAW models' coverage per window: it is
    what the calibration learns from; calibrated coverage is measured out of sample
    (benchmarks/accuracy.py).
    A series that cannot be processed gets ``error`` set and empty frames instead of failing the
    whole batch.
    """
    horizon = check_horizon(horizon)
    interval = check_interval(interval)
    names = normalize_models(models)
    tasks, errors = _plan_tasks(series_by_key, horizon, names, interval, origins, nonnegative)
    workers = min(max_workers or _usable_cores(), max(len(tasks), 1))

    if workers <= 1:
        outcomes = [_run_task(task) for task in tasks]
    else:
        outcomes = []
        context = multiprocessing.get_context(start_method)
        if start_method == "forkserver":
            context.set_forkserver_preload(list(WORKER_IMPORTS))
        with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_prepare_worker) as pool:
            futures = [pool.submit(_run_task, task) for task in tasks]
            for future in as_completed(futures):
                outcomes.append(future.result())
    return {key: _assemble(key, outcomes, errors.get(key), origins, series) for key, series in series_by_key.items()}


def _plan_tasks(series_by_key, horizon, names, interval, origins, nonnegative):
    tasks: list[_Task] = []
    errors: dict[Hashable, str] = {}
    for key, series in series_by_key.items():
        try:
            prepared = prepare_series(series, nonnegative=nonnegative)
            windows = plan_windows(prepared, horizon, origins)
        except (TypeError, ValueError) as exc:
            errors[key] = f"{type(exc).__name__}: {exc}"
            continue
        common = dict(series=series, horizon=horizon, models=names, interval=interval, origins=origins, nonnegative=nonnegative)
        tasks.append(_Task(key, 0, prepared.n, **common))
        tasks.extend(_Task(key, w.number, w.train_points, **common) for w in windows)
    tasks.sort(key=lambda task: task.size, reverse=True)
    return tasks, errors


def _usable_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(len(os.sched_getaffinity(0)), 1)
    return max(os.cpu_count() or 1, 1)


# what every task needs, imported before the first task (by the forkserver, or by each worker)
WORKER_IMPORTS = (
    "prophet",
    "statsmodels.tsa.exponential_smoothing.ets",
    "statsmodels.tsa.forecasting.theta",
    "statsmodels.tsa.seasonal",
    "statsmodels.tsa.statespace.sarimax",
    "statsmodels.tsa.stattools",
    "tsplatform.forecasting.parallel",
)


def _prepare_worker() -> None:
    """Runs once per worker: the heavy imports (free when the forkserver has them), quiet
    loggers, one BLAS thread."""
    import importlib

    for module in WORKER_IMPORTS:
        importlib.import_module(module)

    from .blas_threads import set_single_threaded_blas
    from .quiet import silence_prophet_logging

    silence_prophet_logging()
    set_single_threaded_blas()


def _run_task(task: _Task) -> _Outcome:
    started = time.perf_counter()
    outcome = _Outcome(task.key, task.number)
    try:
        if task.number == 0:
            outcome.payload = forecast(
                task.series, task.horizon, task.models, task.interval, nonnegative=task.nonnegative,
                origins=0,  # the raw fits: this pool runs the windows as tasks of their own
            )
        else:
            outcome.payload = backtest_window(
                task.series,
                task.horizon,
                task.number,
                task.models,
                task.interval,
                task.origins,
                nonnegative=task.nonnegative,
            )
    except Exception as exc:  # one bad series must not sink the batch
        outcome.error = f"{type(exc).__name__}: {exc}"
    outcome.seconds = time.perf_counter() - started
    return outcome


def _assemble(key, outcomes: list[_Outcome], planning_error: str | None, origins: int, series: pd.Series) -> CategoryForecast:
    mine = sorted((o for o in outcomes if o.key == key), key=lambda o: o.number)
    errors = [planning_error] if planning_error else []
    errors += [f"task {o.number}: {o.error}" for o in mine if o.error]
    seconds = sum(o.seconds for o in mine)
    final = next((o.payload for o in mine if o.number == 0 and o.error is None), None)
    windows = [o.payload for o in mine if o.number > 0 and o.error is None]
    if final is None:
        empty = pd.DataFrame()
        return CategoryForecast(key, empty, empty, empty, "ensemble", fit_seconds=seconds, error="; ".join(errors))

    final, windows = finish_forecast(final, windows, series)  # the ensemble from evidence, calibrated intervals
    backtest_frame = assemble_backtest(windows, requested_origins=origins)
    summary = summarize_backtest(backtest_frame)
    best_model = choose_best(summary)
    final = flag_best(final, best_model)
    return CategoryForecast(
        key=key,
        forecast=final,
        backtest=backtest_frame,
        summary=summary,
        best_model=best_model,
        warnings=_merge_warnings(final, backtest_frame),
        flags={model: str(block["flag"].iloc[0]) for model, block in final.groupby("model", sort=False)},
        settings=final.attrs.get("settings", {}),
        fit_seconds=seconds,
        error="; ".join(errors) or None,
    )


def _merge_warnings(final: pd.DataFrame, backtest_frame: pd.DataFrame) -> dict[str, list[str]]:
    """Forecast warnings, then backtest ones prefixed with their origin; capped per model."""
    merged: dict[str, list[str]] = {model: list(messages) for model, messages in final.attrs.get("warnings", {}).items()}
    for origin, by_model in backtest_frame.attrs.get("warnings", {}).items():
        for model, messages in by_model.items():
            merged.setdefault(model, []).extend(f"backtest origin {origin}: {m}" for m in messages)
    for model, messages in merged.items():
        if len(messages) > 2 * MAX_MESSAGES_PER_MODEL:
            extra = len(messages) - 2 * MAX_MESSAGES_PER_MODEL
            merged[model] = messages[: 2 * MAX_MESSAGES_PER_MODEL] + [f"... {extra} more"]
    return merged
