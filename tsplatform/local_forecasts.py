"""Forecast now, in this process, recorded in the Dagster instance (``tsplatform forecast``).

Three runs, as the daemon would make them: the daily aggregate, one run forecasting the chosen
categories together (a partition range: one process pool over all cores), and the report index.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import dagster as dg
import pandas as pd

from tsplatform.defs.forecasts.assets import daily_category_sales, forecast_report
from tsplatform.defs.forecasts.partitions import category_partitions
from tsplatform.defs.forecasts.refresh import CATEGORY_FORECAST_JOB, TRIGGER_TAG, range_tags
from tsplatform.defs.resources import DataFolderResource, WarehouseResource


@dataclass
class ForecastOutcome:
    success: bool
    summary: pd.DataFrame
    run_ids: list[str]


def forecast_now(
    instance: dg.DagsterInstance,
    categories: list[str] | None,
    horizon: int = 30,
    interval: float = 0.95,
    echo: Callable[[str], None] = lambda message: None,
) -> ForecastOutcome:
    from tsplatform.definitions import defs

    definitions = defs()
    resources = {"warehouse": WarehouseResource(), "data_folder": DataFolderResource()}
    echo("aggregating daily sales per category...")
    aggregate = dg.materialize([daily_category_sales], instance=instance, resources=resources)
    known = instance.get_dynamic_partitions(category_partitions.name)
    chosen = categories or known
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise ValueError(f"unknown categories: {', '.join(unknown)} (known: {', '.join(known) or 'none'})")
    if not chosen:
        raise ValueError("no categories in invoice_data yet: upload and ingest sales first")

    job = definitions.resolve_job_def(CATEGORY_FORECAST_JOB)
    config = {"ops": {"category_forecasts": {"config": {"horizon": horizon, "interval": interval}}}}
    run_ids = [aggregate.run_id]
    success = aggregate.success
    for first, last in _contiguous_ranges(chosen, known):
        echo(f"forecasting {first}" + (f" .. {last}" if last != first else "") + " ...")
        result = job.execute_in_process(
            run_config=config,
            instance=instance,
            tags={**range_tags(first, last), TRIGGER_TAG: "cli"},
            raise_on_error=False,
        )
        run_ids.append(result.run_id)
        success = success and result.success
    report = dg.materialize([forecast_report], instance=instance, resources=resources)
    run_ids.append(report.run_id)
    return ForecastOutcome(success and report.success, _summary(chosen), run_ids)


def _contiguous_ranges(chosen: list[str], known: list[str]) -> list[tuple[str, str]]:
    """The chosen partitions as ranges of the partition order (all categories: one range, one run)."""
    wanted = set(chosen)
    ranges, start, previous = [], None, None
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


def _summary(categories: list[str]) -> pd.DataFrame:
    from tsplatform import settings
    from tsplatform.warehouse import forecasts as forecast_table
    from tsplatform.warehouse import open_warehouse

    with open_warehouse(settings.warehouse_url()).transaction() as session:
        metrics = forecast_table.read_metrics(session)
    metrics = metrics[metrics["category"].isin(categories)]
    if metrics.empty:
        return pd.DataFrame(columns=["category", "best_model", "mase", "smape", "coverage"])
    means = metrics.groupby(["category", "model_type"], as_index=False)[["mase", "smape", "coverage"]].mean()
    best = metrics[metrics["is_best"]][["category", "model_type"]].drop_duplicates()
    return best.merge(means, on=["category", "model_type"]).rename(columns={"model_type": "best_model"}).round(3)
