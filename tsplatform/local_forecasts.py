"""Forecast now, in this process, recorded in the Dagster instance (``tsplatform forecast``).

Three runs, as the daemon would make them: the daily aggregate, one run forecasting the chosen
categories together (a partition range: one process pool over all cores), and the report index.
Dagster's console logger is quiet; ``echo`` gets what a person follows (``tsplatform.run_reports``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pandas as pd

from tsplatform.defs.forecasts.assets import daily_category_sales, forecast_report
from tsplatform.defs.forecasts.partitions import CATEGORY_PARTITIONS
from tsplatform.defs.forecasts.refresh import CATEGORY_FORECAST_JOB, TRIGGER_TAG, range_tags
from tsplatform.run_reports import QUIET, logger_config, timed_run


@dataclass
class ForecastOutcome:
    success: bool
    summary: pd.DataFrame  # category, best_model, mean backtest mase / smape / coverage, chart (its page)
    run_ids: list[str]
    index: Path | None = None  # the charts' index page, once written


def forecast_now(
    instance: dg.DagsterInstance,
    categories: list[str] | None,
    horizon: int = 30,
    interval: float = 0.95,
    echo: Callable[[str], None] = lambda message: None,
    log_level: str = QUIET,
) -> ForecastOutcome:
    from tsplatform.definitions import defs

    definitions = defs()
    resources = definitions.resources  # the warehouse, the data folder and the warehouse I/O manager
    logs = logger_config(log_level)
    echo("aggregating daily sales per category ...")
    aggregate = timed_run(lambda: dg.materialize(
        [daily_category_sales], instance=instance, resources=resources, run_config=logs, raise_on_error=False
    ), echo)
    if not aggregate.success:
        return ForecastOutcome(False, _summary([]), [aggregate.run_id])
    known = instance.get_dynamic_partitions(CATEGORY_PARTITIONS)
    chosen = categories or known
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise ValueError(f"unknown categories: {', '.join(unknown)} (known: {', '.join(known) or 'none'})")
    if not chosen:
        raise ValueError("no categories in invoice_data yet: upload and ingest sales first")

    job = definitions.resolve_job_def(CATEGORY_FORECAST_JOB)
    config = {"ops": {"category_forecasts": {"config": {"horizon": horizon, "interval": interval}}}, **logs}
    run_ids = [aggregate.run_id]
    success = True
    ranges = _contiguous_ranges(chosen, known)
    span = f" ({_span(*ranges[0])})" if len(ranges) == 1 else ""
    echo(f"forecasting {_count(len(chosen), 'category', 'categories')}{span} in {_count(len(ranges), 'run', 'runs')}, "
         f"{horizon} days ahead, {f'{interval:.1%}'.replace('.0%', '%')} intervals ...")
    for number, (first, last) in enumerate(ranges, start=1):
        if len(ranges) > 1:
            echo(f"  run {number} of {len(ranges)}: {_span(first, last)} ...")
        run = functools.partial(job.execute_in_process, run_config=config, instance=instance,
                                tags={**range_tags(first, last), TRIGGER_TAG: "cli"}, raise_on_error=False)
        result = timed_run(run, echo)
        run_ids.append(result.run_id)
        success = success and result.success
    echo("writing the charts' index page ...")
    report = timed_run(lambda: dg.materialize(
        [forecast_report], instance=instance, resources=resources, run_config=logs, raise_on_error=False
    ), echo)
    run_ids.append(report.run_id)
    index = _reports() / "index.html"
    return ForecastOutcome(success and report.success, _summary(chosen), run_ids, index if report.success else None)


def _span(first: str, last: str) -> str:
    return first if first == last else f"{first} .. {last}"


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


def _reports() -> Path:
    from tsplatform import settings

    return settings.data_paths().reports / "forecasts"


def _contiguous_ranges(chosen: Sequence[str], known: Sequence[str]) -> list[tuple[str, str]]:
    """The chosen partitions as ranges of the partition order (all categories: one range, one run)."""
    wanted = set(chosen)
    ranges: list[tuple[str, str]] = []
    start: str | None = None
    previous = ""
    for key in known:
        if key in wanted:
            start = start or key
            previous = key
        elif start is not None:
            ranges.append((start, previous))
            start = None
    if start is not None:
        ranges.append((start, previous))
    return ranges


def _summary(categories: Sequence[str]) -> pd.DataFrame:
    """Per category: the chosen model, its mean backtest scores and its chart page."""
    from tsplatform import read
    from tsplatform.forecasting.category_charts import page_filename

    metrics = read.forecast_metrics() if categories else pd.DataFrame(columns=["category"])
    metrics = metrics[metrics["category"].isin(categories)]
    if metrics.empty:
        return pd.DataFrame(columns=["category", "best_model", "mase", "smape", "coverage", "chart"])
    means = metrics.groupby(["category", "model_type"], as_index=False)[["mase", "smape", "coverage"]].mean()
    best = metrics[metrics["is_best"]][["category", "model_type"]].drop_duplicates()
    summary = best.merge(means, on=["category", "model_type"]).rename(columns={"model_type": "best_model"}).round(3)
    pages = [_reports() / page_filename(category) for category in summary["category"]]
    return summary.assign(chart=[str(page) if page.exists() else None for page in pages])
