"""The forecast path as Dagster runs it, on both warehouse backends: upload -> invoice_data ->
daily_category_sales -> one multi-category forecast run -> forecast_data, forecast_metrics, charts."""

import json

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from tsplatform.definitions import defs
from tsplatform.defs.dagster_tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from tsplatform.defs.forecasts.assets import MODEL_TYPES, daily_category_sales, forecast_report
from tsplatform.forecasting.backtesting import choose_best
from tsplatform.forecasting.evidence import TOP_MEMBERS
from tsplatform.local_runs import ingest_landing_now
from tsplatform.warehouse import forecasts as forecast_table
from tsplatform_tests.conftest import land

HOSTILE = "<script>alert('x')</script>"
FAST_CONFIG = {"ops": {"category_forecasts": {"config": {"horizon": 7, "max_workers": 1}}}}


def sales_csv(categories, days=70, start="2024-01-01", seed=0):
    rng = np.random.default_rng(seed)
    lines = ["Date,product_id,category,sales"]
    for day in pd.date_range(start, periods=days):
        for c, category in enumerate(categories):
            weekly = 10 * (1 + 0.3 * np.sin(2 * np.pi * day.dayofweek / 7))
            lines.append(f'{day:%Y-%m-%d},p{c},"{category}",{weekly + rng.uniform(0, 2):.2f}')
    return "\n".join(lines) + "\n"


def ingest(instance, data_paths, warehouse):
    report = ingest_landing_now(instance, defs(), data_paths, warehouse)
    assert all(instance.get_run_by_id(r).is_success for r in report.run_ids.values())


def aggregate(instance):
    result = dg.materialize([daily_category_sales], instance=instance, resources=defs().resources)
    assert result.success
    return result.asset_materializations_for_node("daily_category_sales")[0].metadata


def forecast_all(instance, categories):
    job = defs().resolve_job_def("category_forecast_job")
    return job.execute_in_process(
        run_config=FAST_CONFIG,
        instance=instance,
        tags={ASSET_PARTITION_RANGE_START_TAG: categories[0], ASSET_PARTITION_RANGE_END_TAG: categories[-1]},
    )


def test_upload_to_charts_in_one_multi_category_run(data_paths, warehouse, instance):
    land(data_paths, "sales.csv", sales_csv(["Toys", HOSTILE]))
    ingest(instance, data_paths, warehouse)
    metadata = aggregate(instance)
    categories = instance.get_dynamic_partitions("categories")
    assert sorted(categories) == sorted(["Toys", HOSTILE])
    assert sorted(metadata["changed_categories"].value) == sorted(categories)

    result = forecast_all(instance, categories)
    assert result.success
    [run] = instance.get_runs(filters=dg.RunsFilter(run_ids=[result.run_id]))
    assert run.tags[ASSET_PARTITION_RANGE_END_TAG] == categories[-1]  # one run, all categories

    with warehouse.transaction() as session:
        daily = forecast_table.read_daily_category_sales(session)
        forecasts = forecast_table.read_forecasts(session)
        metrics = forecast_table.read_metrics(session)
    assert len(daily) == 2 * 70
    for category in categories:
        rows = forecasts[forecasts["category"] == category]
        assert sorted(rows["model_type"].unique()) == sorted(MODEL_TYPES)  # the benchmarks included
        assert (rows.groupby("model_type").size() == 7).all()
        assert rows.groupby("model_type")["is_best"].first().sum() == 1
        assert (rows["lower_bound"] <= rows["forecast_value"]).all() and (rows["forecast_value"] <= rows["upper_bound"]).all()
        assert np.isfinite(rows[["forecast_value", "lower_bound", "upper_bound"]].to_numpy()).all()
        assert rows["forecast_date"].min() == pd.Timestamp("2024-03-11")  # the day after the last sale
        scored = metrics[metrics["category"] == category]
        assert scored["origin"].nunique() >= 3 and set(scored["model_type"]) == set(rows["model_type"])
        means = scored.groupby("model_type", as_index=False)[["mase", "smape"]].mean().rename(columns={"model_type": "model"})
        assert rows[rows["is_best"]]["model_type"].iloc[0] == choose_best(means)  # lowest MASE, or the seasonal naive

    check = [e for e in result.get_asset_check_evaluations() if e.check_name == "forecasts_are_plausible"]
    assert check and check[0].passed
    metadata = next(m.metadata for m in result.asset_materializations_for_node("category_forecasts")
                    if m.asset_key == dg.AssetKey("forecast_data"))
    pages = json.loads(json.dumps(metadata["charts"].value))
    hostile_page = open(pages[HOSTILE]).read()
    assert HOSTILE not in hostile_page and "&lt;script&gt;" in hostile_page
    # measured backtest coverage per category and model, beside the nominal interval (metadata and page)
    assert metadata["interval"].value == 0.95 and "Coverage (nominal 95%)" in hostile_page
    coverage = metadata["coverage"].value
    assert set(coverage) == set(categories)
    for category in categories:
        scored = metrics[metrics["category"] == category].groupby("model_type")["coverage"].mean()
        assert set(coverage[category]) == set(scored.index)
        for model, value in coverage[category].items():
            assert 0 <= value <= 1 and value == pytest.approx(scored[model], abs=0.001)
        # the ensemble: the TOP_MEMBERS models with the lowest mean backtest MASE; every interval rescaled
        by_mase = metrics[(metrics["category"] == category) & (metrics["model_type"] != "ensemble")]
        lowest = by_mase.groupby("model_type")["mase"].mean().sort_values().index[:TOP_MEMBERS]
        assert sorted(metadata["ensemble_members"].value[category]) == sorted(lowest)
        assert set(metadata["interval_factors"].value[category]) == set(MODEL_TYPES)

    report = dg.materialize([forecast_report], instance=instance, resources=defs().resources)
    index = open(report.asset_materializations_for_node("forecast_report")[0].metadata["index"].value).read()
    assert "Toys" in index and HOSTILE not in index


def range_of(request: dg.RunRequest) -> tuple[str, str]:
    assert request.job_name == "category_forecast_job" and request.partition_key is None
    return request.tags[ASSET_PARTITION_RANGE_START_TAG], request.tags[ASSET_PARTITION_RANGE_END_TAG]


def test_refresh_sensor_requests_one_run_over_the_changed_categories(data_paths, warehouse, instance):
    land(data_paths, "jan.csv", sales_csv(["Toys", "Books", "Games"], days=40))
    ingest(instance, data_paths, warehouse)
    aggregate(instance)
    definitions = defs()
    sensor = definitions.resolve_sensor_def("forecast_refresh_sensor")

    def evaluate(cursor):
        with dg.build_sensor_context(instance=instance, cursor=cursor, repository_def=definitions.get_repository_def()) as context:
            result = sensor.evaluate_tick(context)
        return result

    order = instance.get_dynamic_partitions("categories")
    first = evaluate(None)
    [request] = first.run_requests
    assert range_of(request) == (order[0], order[-1])
    assert request.tags["tsplatform/trigger"] == "data"

    nothing_new = evaluate(first.cursor)
    assert not nothing_new.run_requests

    middle = order[1]
    land(data_paths, "feb.csv", sales_csv([middle], days=5, start="2024-02-10", seed=3))
    ingest(instance, data_paths, warehouse)
    assert aggregate(instance)["changed_categories"].value == [middle]
    only_middle = evaluate(first.cursor)
    [request] = only_middle.run_requests
    assert range_of(request) == (middle, middle)

    # a changed category and a new one: ONE run, from the first to the last of them in partition order
    land(data_paths, "mar.csv", sales_csv([middle, "Puzzles"], days=5, start="2024-03-10", seed=4))
    ingest(instance, data_paths, warehouse)
    assert sorted(aggregate(instance)["changed_categories"].value) == sorted([middle, "Puzzles"])
    assert instance.get_dynamic_partitions("categories") == [*order, "Puzzles"]
    both = evaluate(only_middle.cursor)
    [request] = both.run_requests
    assert range_of(request) == (middle, "Puzzles")
    assert request.run_key != only_middle.run_requests[0].run_key

    result = defs().resolve_job_def("category_forecast_job").execute_in_process(
        run_config=FAST_CONFIG, instance=instance, tags=request.tags
    )
    assert result.success
    with warehouse.transaction() as session:
        assert set(forecast_table.read_forecasts(session)["category"]) == {middle, order[2], "Puzzles"}


def test_daily_schedule_requests_one_run_of_the_named_job_over_every_category(data_paths, warehouse, instance):
    definitions = defs()
    schedule = definitions.resolve_schedule_def("daily_forecast_schedule")
    assert schedule.job_name == "category_forecast_job"
    assert schedule.cron_schedule == "0 5 * * *" and schedule.execution_timezone == "UTC"
    repository = definitions.get_repository_def()

    def tick(when):
        with dg.build_schedule_context(instance=instance, scheduled_execution_time=when, repository_def=repository) as context:
            return schedule.evaluate_tick(context)

    empty = tick(pd.Timestamp("2024-04-01 05:00", tz="UTC").to_pydatetime())
    assert not empty.run_requests and "no categories" in empty.skip_message

    land(data_paths, "sales.csv", sales_csv(["Toys", "Books", "Games"], days=40))
    ingest(instance, data_paths, warehouse)
    aggregate(instance)
    order = instance.get_dynamic_partitions("categories")
    [monday] = tick(pd.Timestamp("2024-04-01 05:00", tz="UTC").to_pydatetime()).run_requests
    [tuesday] = tick(pd.Timestamp("2024-04-02 05:00", tz="UTC").to_pydatetime()).run_requests
    assert range_of(monday) == range_of(tuesday) == (order[0], order[-1])
    assert monday.tags["tsplatform/trigger"] == "schedule"
    assert monday.run_key != tuesday.run_key

    result = definitions.resolve_job_def("category_forecast_job").execute_in_process(
        run_config=FAST_CONFIG, instance=instance, tags=monday.tags
    )
    assert result.success  # the run the schedule asks for (the old schedule's run failed: no partition)
    [run] = instance.get_runs(filters=dg.RunsFilter(run_ids=[result.run_id]))
    assert run.job_name == "category_forecast_job"
    with warehouse.transaction() as session:
        assert set(forecast_table.read_forecasts(session)["category"]) == set(order)


def test_the_cron_follows_the_environment(monkeypatch):
    import importlib

    import tsplatform.defs.forecasts.schedules as schedules

    monkeypatch.setenv("TSPLATFORM_FORECAST_REFRESH_CRON", "*/5 * * * *")
    try:
        assert importlib.reload(schedules).daily_forecast_schedule.cron_schedule == "*/5 * * * *"
    finally:
        monkeypatch.delenv("TSPLATFORM_FORECAST_REFRESH_CRON")
        importlib.reload(schedules)


def test_a_category_without_sales_fails_the_run_with_a_clear_message(data_paths, warehouse, instance):
    instance.add_dynamic_partitions("categories", ["Ghost"])
    job = defs().resolve_job_def("category_forecast_job")
    result = job.execute_in_process(run_config=FAST_CONFIG, instance=instance, partition_key="Ghost", raise_on_error=False)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert "no daily sales for Ghost" in failure.message
