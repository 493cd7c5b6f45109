"""Assets of the forecast path: daily totals, per-category forecasts and metrics, the report index."""

import dagster as dg
from pydantic import Field

from tsplatform.aggregation import category_series, changed_categories, fill_daily_gaps, series_fingerprints
from tsplatform.defs.forecasts.partitions import CATEGORY_PARTITIONS, category_partitions
from tsplatform.defs.report_links import chart_links, report_link
from tsplatform.defs.resources import WAREHOUSE_IO_MANAGER_KEY, WAREHOUSE_WRITER_POOL, DataFolderResource, WarehouseResource
from tsplatform.defs.table_metadata import table_asset_attributes, table_asset_spec
from tsplatform.forecasting.models import MODEL_NAMES
from tsplatform.scale_out import forecast_backfill_policy, step_max_workers
from tsplatform.warehouse import forecasts as forecast_table

DAILY_CATEGORY_SALES = dg.AssetKey("daily_category_sales")
FORECAST_DATA = dg.AssetKey("forecast_data")
FORECAST_METRICS = dg.AssetKey("forecast_metrics")
FORECAST_REPORT = dg.AssetKey("forecast_report")
FORECASTS_ARE_PLAUSIBLE_CHECK = "forecasts_are_plausible"
DOMAIN = "forecasts"
MODEL_TYPES = (*MODEL_NAMES, "ensemble")  # prophet, sarimax, holt_winters, naive, seasonal_naive, theta
HISTORY_DAYS_IN_CHART = 180

# eager, but a missing upstream partition does not hold it back: a failed upload batch leaves its
# invoice_data partition missing for good, and every later good upload must still be aggregated.
# An upstream run in progress still defers it (any_deps_in_progress stays).
FOLLOWS_EVERY_GOOD_UPLOAD = dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing())
# the index waits while a category's forecasts fail forecasts_are_plausible (a blocking check)
REPORT_CONDITION = FOLLOWS_EVERY_GOOD_UPLOAD & dg.AutomationCondition.all_deps_blocking_checks_passed()


@dg.asset(
    key=DAILY_CATEGORY_SALES,
    deps=[dg.AssetKey("invoice_data")],
    group_name="forecasts",
    pool=WAREHOUSE_WRITER_POOL,
    io_manager_key=WAREHOUSE_IO_MANAGER_KEY,
    automation_condition=FOLLOWS_EVERY_GOOD_UPLOAD,
    description="Total sales per category per day from invoice_data; days without sales are 0 "
    "between each category's first and last day. Adds new categories as forecast partitions. "
    "Runs after every good upload, even when an earlier upload's batch failed.",
    **table_asset_attributes("daily_category_sales", DOMAIN, {"pandas"}),
)
def daily_category_sales(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    store = warehouse.open()
    with store.transaction() as session:
        daily = fill_daily_gaps(forecast_table.invoice_totals_by_day(session))
        forecast_table.replace_daily_category_sales(session, daily)
    fingerprints = series_fingerprints(daily)
    changed = changed_categories(fingerprints, _previous_fingerprints(context))
    # one read of the partition keys, not one query per category (100,000 categories: ~0.7 s, not ~10 min)
    known = set(context.instance.get_dynamic_partitions(CATEGORY_PARTITIONS))
    new = [c for c in fingerprints if c not in known]
    if new:
        context.instance.add_dynamic_partitions(CATEGORY_PARTITIONS, new)
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
    models: list[str] = Field(
        default=list(MODEL_NAMES),
        description="Models to fit (plus their ensemble of prophet, sarimax and holt_winters); the benchmarks "
        "naive, seasonal_naive and theta are candidates for is_best like the others.",
    )
    backtest_origins: int = Field(default=3, ge=3, le=10, description="Rolling-origin backtest windows, each one horizon long.")
    max_workers: int = Field(default=0, ge=0, description="Worker processes; 0 = TSPLATFORM_FORECAST_MAX_WORKERS, else "
                             "all cores (1 for a step on a Celery worker, TSPLATFORM_EXECUTOR=celery: the workers are the parallelism).")


@dg.multi_asset(
    name="category_forecasts",
    specs=[
        table_asset_spec(
            FORECAST_DATA, "forecast_data", DOMAIN, kinds={"prophet", "statsmodels"}, deps=[DAILY_CATEGORY_SALES],
            group_name="forecasts",
            description="Forecasts per category: prophet, sarimax, holt_winters, their ensemble and the benchmarks "
            "naive, seasonal_naive and theta, with prediction intervals; is_best marks the model with the lowest "
            "backtest MASE, the seasonal naive (flag no_model_beats_seasonal_naive) when no model beats it. "
            "Replaced on refresh.",
        ),
        table_asset_spec(
            FORECAST_METRICS, "forecast_metrics", DOMAIN, kinds={"statsmodels"}, deps=[DAILY_CATEGORY_SALES],
            group_name="forecasts",
            description="Rolling-origin backtest per category, model and origin: sMAPE, MASE, interval coverage.",
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            FORECASTS_ARE_PLAUSIBLE_CHECK,
            asset=FORECAST_DATA,
            blocking=True,
            description="Every forecast value within [min - 2 x range, max + 2 x range] of the category's "
            "history, every interval bound within 5 ranges (for the benchmarks naive, seasonal_naive and theta the "
            "forecast value only: their closed-form intervals are honestly wide); the best model's and the ensemble's "
            "mean daily forecast over 30 days at most 3 x the highest "
            "30-day mean of the history. Failing categories and models are in the metadata; blocking: gates forecast_report.",
        )
    ],
    partitions_def=category_partitions,
    backfill_policy=forecast_backfill_policy(),  # single run unless TSPLATFORM_FORECAST_CATEGORIES_PER_RUN / celery mode
    can_subset=True,
    pool=WAREHOUSE_WRITER_POOL,
)
def category_forecasts(
    context: dg.AssetExecutionContext, config: ForecastConfig, warehouse: WarehouseResource, data_folder: DataFolderResource
):
    """Forecast, backtest and chart every category of this run, in one process pool (all cores).

    Both tables are written together (one fit feeds both); a run that selects only one of the two
    assets reports only that one (``dagster asset materialize --select forecast_data``)."""
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
    pool_processes = step_max_workers(config.max_workers)
    results = forecast_categories(
        series, config.horizon, config.interval, config.models,
        max_workers=pool_processes, origins=config.backtest_origins,
    )
    failed = {c: r.error for c, r in results.items() if r.error}
    if failed:
        raise dg.Failure("forecasting failed for " + "; ".join(f"{c}: {e}" for c, e in failed.items()))

    reports_root = data_folder.paths().reports
    reports = reports_root / "forecasts"
    pages, summaries, all_rows = {}, [], []
    with store.transaction() as session:
        for category, result in results.items():
            rows = forecast_table.forecast_rows(result.forecast, result.best_model, config.interval)
            forecast_table.replace_category_forecasts(
                session, str(category), rows, forecast_table.metric_rows(result.backtest, result.best_model, config.horizon), context.run_id
            )
            all_rows.append(rows.assign(category=category))
            summaries.append(result.summary.assign(category=category, is_best=result.summary["model"] == result.best_model))
    for category, result in results.items():
        pages[category] = _render_chart(category, series[category], result, reports, config.interval)
        for model, messages in result.warnings.items():
            context.log.debug(f"{category} / {model}: {len(messages)} warning(s), first: {messages[0] if messages else ''}")
    yield from _forecast_results(context, results, summaries, all_rows, pages, config, series, reports_root, pool_processes)


def _render_chart(category, history, result, folder, interval):
    from tsplatform.forecasting import page_filename, render_category_chart

    return render_category_chart(
        category, history.iloc[-HISTORY_DAYS_IN_CHART:], result.forecast, result.summary, result.best_model,
        folder / page_filename(category), interval=interval,
    )


def _measured_coverage(results) -> dict[str, dict[str, float | None]]:
    """Backtest interval coverage per category and model (None where nothing was scored), to read
    against the nominal ``interval``; a category too short for a backtest maps to {}."""
    import math

    coverage = {}
    for category, result in results.items():
        rows = result.summary.to_dict("records") if len(result.summary) else []
        values = {str(r["model"]): float(r["coverage"]) for r in rows if r.get("coverage") is not None}
        coverage[category] = {m: (round(v, 3) if math.isfinite(v) else None) for m, v in values.items()}
    return coverage


def _forecast_results(context, results, summaries, all_rows, pages, config, series, reports_root, pool_processes=None):
    import pandas as pd

    summary = pd.concat(summaries, ignore_index=True)
    rows = pd.concat(all_rows, ignore_index=True)
    table = summary[["category", "model", "mase", "smape", "coverage", "is_best"]].round(3)
    selected = context.selected_asset_keys
    if FORECAST_DATA in selected:
        yield dg.MaterializeResult(
            asset_key=FORECAST_DATA,
            metadata={
                "dagster/row_count": len(rows),
                "categories": len(results),
                "horizon": config.horizon,
                "interval": config.interval,
                "coverage": dg.MetadataValue.json(_measured_coverage(results)),
                "best_models": dg.MetadataValue.json({c: r.best_model for c, r in results.items()}),
                # how each category's ensemble was formed and how much each interval was rescaled
                "ensemble_members": dg.MetadataValue.json(
                    {c: r.settings.get("ensemble", {}).get("members", []) for c, r in results.items()}),
                "interval_factors": dg.MetadataValue.json(
                    {c: {m: f.get("factor") for m, f in r.settings.get("calibration", {}).items()} for c, r in results.items()}),
                "flags": dg.MetadataValue.json({c: r.flags for c, r in results.items() if any(r.flags.values())}),
                "warnings": dg.MetadataValue.json({c: {m: len(w) for m, w in r.warnings.items() if w} for c, r in results.items()}),
                "fit_seconds": dg.MetadataValue.json({c: round(r.fit_seconds, 2) for c, r in results.items()}),
                # processes of the step's pool: all cores by default, 1 on a Celery worker (tsplatform/scale_out.py)
                **({"pool_processes": pool_processes} if pool_processes else {}),
                "charts": dg.MetadataValue.json({c: str(p) for c, p in pages.items()}),
                **({"chart": dg.MetadataValue.path(str(next(iter(pages.values()))))} if len(pages) == 1 else {}),
                **chart_links(pages, reports_root),
                "index_url": report_link(reports_root / "forecasts" / "index.html", reports_root),  # forecast_report writes it
                "metrics": dg.MetadataValue.md(table.to_markdown(index=False)),
            },
        )
    if FORECAST_METRICS in selected:
        yield dg.MaterializeResult(
            asset_key=FORECAST_METRICS,
            metadata={
                "dagster/row_count": int(sum(len(r.backtest) for r in results.values())),
                "metrics": dg.MetadataValue.md(table.to_markdown(index=False)),
                "categories": len(results),
            },
        )
    if dg.AssetCheckKey(FORECAST_DATA, FORECASTS_ARE_PLAUSIBLE_CHECK) in context.selected_asset_check_keys:
        yield plausibility_check(rows, series)


def plausibility_check(rows, histories) -> dg.AssetCheckResult:
    """The forecasts_are_plausible check on forecast rows (with category) and each category's history."""
    from tsplatform.forecasting.plausibility import BOUND_SLACK, MAX_LEVEL_RATIO, RANGE_SLACK, implausible_forecasts

    problems = implausible_forecasts(rows, histories)
    return dg.AssetCheckResult(
        asset_key=FORECAST_DATA,
        check_name=FORECASTS_ARE_PLAUSIBLE_CHECK,
        passed=problems.empty,
        metadata={
            "failing_categories": dg.MetadataValue.json(sorted(problems["category"].unique().tolist())),
            "failing": dg.MetadataValue.md(problems.to_markdown(index=False) if len(problems) else "none"),
            "range_slack": RANGE_SLACK,
            "bound_slack": BOUND_SLACK,
            "max_level_ratio": MAX_LEVEL_RATIO,
        },
    )


@dg.asset(
    key=FORECAST_REPORT,
    deps=[FORECAST_DATA, FORECAST_METRICS],
    group_name="forecasts",
    kinds={"plotly", "html"},
    owners=["team:data-platform"],
    tags={"domain": DOMAIN},
    pool=WAREHOUSE_WRITER_POOL,
    automation_condition=REPORT_CONDITION,
    description="Index page of all category forecast charts (data/reports/forecasts/index.html).",
)
def forecast_report(warehouse: WarehouseResource, data_folder: DataFolderResource) -> dg.MaterializeResult:
    from tsplatform.forecasting import render_index
    from tsplatform.forecasting.report_index import index_entries

    with warehouse.open().transaction() as session:
        forecasts, metrics = forecast_table.read_forecasts(session), forecast_table.read_metrics(session)
    reports = data_folder.paths().reports
    folder = reports / "forecasts"
    entries = index_entries(forecasts, metrics, folder)
    index = render_index(entries, folder / "index.html")
    return dg.MaterializeResult(metadata={"index": dg.MetadataValue.path(str(index)), "categories": len(entries),
                                          "url": report_link(index, reports)})
