"""Assets of the forecast path: daily totals, per-category forecasts and metrics, the report index."""

import os

import dagster as dg
from pydantic import Field

from tsplatform.aggregation import category_series, changed_categories, fill_daily_gaps, series_fingerprints
from tsplatform.defs.forecasts.partitions import category_partitions
from tsplatform.defs.resources import WAREHOUSE_WRITER_POOL, DataFolderResource, WarehouseResource
from tsplatform.warehouse import forecasts as forecast_table

DAILY_CATEGORY_SALES = dg.AssetKey("daily_category_sales")
FORECAST_DATA = dg.AssetKey("forecast_data")
FORECAST_METRICS = dg.AssetKey("forecast_metrics")
FORECAST_REPORT = dg.AssetKey("forecast_report")
FORECASTS_ARE_SANE_CHECK = "forecasts_are_finite_and_ordered"
MODEL_TYPES = ("prophet", "sarimax", "holt_winters", "ensemble")
HISTORY_DAYS_IN_CHART = 180


@dg.asset(
    key=DAILY_CATEGORY_SALES,
    deps=[dg.AssetKey("invoice_data")],
    group_name="forecasts",
    kinds={"pandas"},
    pool=WAREHOUSE_WRITER_POOL,
    automation_condition=dg.AutomationCondition.eager(),
    description="Total sales per category per day from invoice_data; days without sales are 0 "
    "between each category's first and last day. Adds new categories as forecast partitions.",
    metadata={"dagster/table_name": "daily_category_sales"},
)
def daily_category_sales(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    store = warehouse.open()
    with store.transaction() as session:
        daily = fill_daily_gaps(forecast_table.invoice_totals_by_day(session))
        forecast_table.replace_daily_category_sales(session, daily)
    fingerprints = series_fingerprints(daily)
    changed = changed_categories(fingerprints, _previous_fingerprints(context))
    new = [c for c in fingerprints if not context.instance.has_dynamic_partition(category_partitions.name, c)]
    if new:
        context.instance.add_dynamic_partitions(category_partitions.name, new)
        context.log.info(f"new forecast partitions: {', '.join(new)}")
    context.log.info(f"{len(fingerprints)} categories, {len(changed)} changed since the last aggregation")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(daily),
            "categories": len(fingerprints),
            "changed_categories": dg.MetadataValue.json(changed),
            "fingerprints": dg.MetadataValue.json(fingerprints),
            "first_day": str(daily["date"].min().date()) if len(daily) else "",
            "last_day": str(daily["date"].max().date()) if len(daily) else "",
        }
    )


def _previous_fingerprints(context: dg.AssetExecutionContext) -> dict[str, str]:
    event = context.instance.get_latest_materialization_event(DAILY_CATEGORY_SALES)
    if event is None or event.asset_materialization is None:
        return {}
    value = event.asset_materialization.metadata.get("fingerprints")
    return dict(value.value) if value is not None else {}


class ForecastConfig(dg.Config):
    horizon: int = Field(default=30, ge=1, le=730, description="Days ahead to forecast.")
    interval: float = Field(default=0.95, gt=0.5, lt=1.0, description="Prediction interval level.")
    models: list[str] = Field(default=["prophet", "sarimax", "holt_winters"], description="Models to fit (plus their ensemble).")
    backtest_origins: int = Field(default=3, ge=3, le=10, description="Rolling-origin backtest windows, each one horizon long.")
    max_workers: int = Field(default=0, ge=0, description="Worker processes; 0 = all cores.")


@dg.multi_asset(
    name="category_forecasts",
    specs=[
        dg.AssetSpec(
            FORECAST_DATA,
            deps=[DAILY_CATEGORY_SALES],
            group_name="forecasts",
            kinds={"prophet", "statsmodels"},
            description="Forecasts per category: prophet, sarimax, holt_winters and their ensemble, with "
            "prediction intervals; is_best marks the model with the lowest backtest MASE. Replaced on refresh.",
            metadata={"dagster/table_name": "forecast_data"},
        ),
        dg.AssetSpec(
            FORECAST_METRICS,
            deps=[DAILY_CATEGORY_SALES],
            group_name="forecasts",
            description="Rolling-origin backtest per category, model and origin: sMAPE, MASE, interval coverage.",
            metadata={"dagster/table_name": "forecast_metrics"},
        ),
    ],
    check_specs=[dg.AssetCheckSpec(FORECASTS_ARE_SANE_CHECK, asset=FORECAST_DATA, description="Every value finite, lower <= forecast <= upper, all four model types present.")],
    partitions_def=category_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def category_forecasts(
    context: dg.AssetExecutionContext, config: ForecastConfig, warehouse: WarehouseResource, data_folder: DataFolderResource
):
    """Forecast, backtest and chart every category of this run, in one process pool (all cores)."""
    from tsplatform.forecasting import forecast_categories

    categories = list(context.partition_keys)
    store = warehouse.open()
    with store.transaction() as session:
        daily = forecast_table.read_daily_category_sales(session, categories)
    series = {c: category_series(daily, c) for c in categories if (daily["category"] == c).any()}
    missing = sorted(set(categories) - set(series))
    if missing:
        raise dg.Failure(f"no daily sales for {', '.join(missing)}; materialise daily_category_sales first")
    context.log.info(f"forecasting {len(series)} categories, horizon {config.horizon}, interval {config.interval:.0%}")
    results = forecast_categories(
        series, config.horizon, config.interval, config.models,
        max_workers=config.max_workers or os.cpu_count(), origins=config.backtest_origins,
    )
    failed = {c: r.error for c, r in results.items() if r.error}
    if failed:
        raise dg.Failure("forecasting failed for " + "; ".join(f"{c}: {e}" for c, e in failed.items()))

    reports = data_folder.paths().reports / "forecasts"
    pages, summaries, all_rows = {}, [], []
    with store.transaction() as session:
        for category, result in results.items():
            rows = forecast_table.forecast_rows(result.forecast, result.best_model, config.interval)
            forecast_table.replace_category_forecasts(
                session, category, rows, forecast_table.metric_rows(result.backtest, result.best_model, config.horizon), context.run_id
            )
            all_rows.append(rows)
            summaries.append(result.summary.assign(category=category, is_best=result.summary["model"] == result.best_model))
    for category, result in results.items():
        pages[category] = _render_chart(category, series[category], result, reports)
        for model, messages in result.warnings.items():
            context.log.debug(f"{category} / {model}: {len(messages)} warning(s), first: {messages[0] if messages else ''}")
    yield from _forecast_results(results, summaries, all_rows, pages, config)


def _render_chart(category, history, result, folder):
    from tsplatform.forecasting import page_filename, render_category_chart

    return render_category_chart(
        category, history.iloc[-HISTORY_DAYS_IN_CHART:], result.forecast, result.summary, result.best_model,
        folder / page_filename(category),
    )


def _forecast_results(results, summaries, all_rows, pages, config):
    import pandas as pd

    summary = pd.concat(summaries, ignore_index=True)
    rows = pd.concat(all_rows, ignore_index=True)
    table = summary[["category", "model", "mase", "smape", "coverage", "is_best"]].round(3)
    yield dg.MaterializeResult(
        asset_key=FORECAST_DATA,
        metadata={
            "dagster/row_count": len(rows),
            "categories": len(results),
            "horizon": config.horizon,
            "interval": config.interval,
            "best_models": dg.MetadataValue.json({c: r.best_model for c, r in results.items()}),
            "flags": dg.MetadataValue.json({c: r.flags for c, r in results.items() if any(r.flags.values())}),
            "warnings": dg.MetadataValue.json({c: {m: len(w) for m, w in r.warnings.items() if w} for c, r in results.items()}),
            "fit_seconds": dg.MetadataValue.json({c: round(r.fit_seconds, 2) for c, r in results.items()}),
            "charts": dg.MetadataValue.json({c: str(p) for c, p in pages.items()}),
            **({"chart": dg.MetadataValue.path(str(next(iter(pages.values()))))} if len(pages) == 1 else {}),
            "metrics": dg.MetadataValue.md(table.to_markdown(index=False)),
        },
    )
    yield dg.MaterializeResult(
        asset_key=FORECAST_METRICS,
        metadata={"metrics": dg.MetadataValue.md(table.to_markdown(index=False)), "categories": len(results)},
    )
    yield _sanity_check(rows, config.models)


def _sanity_check(rows, models) -> dg.AssetCheckResult:
    import numpy as np

    values = rows[["forecast_value", "lower_bound", "upper_bound"]].to_numpy()
    finite = bool(np.isfinite(values).all())
    ordered = bool(((rows["lower_bound"] <= rows["forecast_value"]) & (rows["forecast_value"] <= rows["upper_bound"])).all())
    complete = set(rows["model_type"]) >= {*models, "ensemble"}
    return dg.AssetCheckResult(
        asset_key=FORECAST_DATA,
        check_name=FORECASTS_ARE_SANE_CHECK,
        passed=finite and ordered and complete,
        metadata={"finite": finite, "ordered": ordered, "model_types": sorted(set(rows["model_type"]))},
    )


@dg.asset(
    key=FORECAST_REPORT,
    deps=[FORECAST_DATA, FORECAST_METRICS],
    group_name="forecasts",
    kinds={"plotly", "html"},
    automation_condition=dg.AutomationCondition.eager(),
    description="Index page of all category forecast charts (data/reports/forecasts/index.html).",
)
def forecast_report(warehouse: WarehouseResource, data_folder: DataFolderResource) -> dg.MaterializeResult:
    from tsplatform.forecasting import page_filename, render_index

    with warehouse.open().transaction() as session:
        metrics = forecast_table.read_metrics(session)
    folder = data_folder.paths().reports / "forecasts"
    entries = []
    if len(metrics):
        means = metrics.groupby(["category", "model_type"], as_index=False)[["mase", "smape", "coverage"]].mean()
        best = metrics[metrics["is_best"]].groupby("category")["model_type"].first()
        for category, model in best.items():
            row = means[(means["category"] == category) & (means["model_type"] == model)].iloc[0]
            entries.append({"category": category, "path": folder / page_filename(category), "best_model": model,
                            "mase": row["mase"], "smape": row["smape"], "coverage": row["coverage"]})
    index = render_index(entries, folder / "index.html")
    return dg.MaterializeResult(metadata={"index": dg.MetadataValue.path(str(index)), "categories": len(entries),
                                          "url": dg.MetadataValue.url(index.resolve().as_uri())})
