"""The forecast path as Dagster runs it, on both warehouse backends: upload -> invoice_data ->
daily_category_sales -> one multi-category forecast run -> forecast_data, forecast_metrics, charts."""

import json

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from tsplatform.definitions import defs
from tsplatform.defs.forecasts.assets import daily_category_sales, forecast_report
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
        assert sorted(rows["model_type"].unique()) == ["ensemble", "holt_winters", "prophet", "sarimax"]
        assert (rows.groupby("model_type").size() == 7).all()
        assert rows.groupby("model_type")["is_best"].first().sum() == 1
        assert (rows["lower_bound"] <= rows["forecast_value"]).all() and (rows["forecast_value"] <= rows["upper_bound"]).all()
        assert np.isfinite(rows[["forecast_value", "lower_bound", "upper_bound"]].to_numpy()).all()
        assert rows["forecast_date"].min() == pd.Timestamp("2024-03-11")  # the day after the last sale
        scored = metrics[metrics["category"] == category]
        assert scored["origin"].nunique() >= 3 and set(scored["model_type"]) == set(rows["model_type"])
        best_by_mase = scored.groupby("model_type")["mase"].mean().idxmin()
        assert rows[rows["is_best"]]["model_type"].iloc[0] == best_by_mase

    check = [e for e in result.get_asset_check_evaluations() if e.check_name == "forecasts_are_finite_and_ordered"]
    assert check and check[0].passed
    pages = json.loads(json.dumps(result.asset_materializations_for_node("category_forecasts")[0].metadata["charts"].value))
    hostile_page = open(pages[HOSTILE]).read()
    assert HOSTILE not in hostile_page and "&lt;script&gt;" in hostile_page

    report = dg.materialize([forecast_report], instance=instance, resources=defs().resources)
    index = open(report.asset_materializations_for_node("forecast_report")[0].metadata["index"].value).read()
    assert "Toys" in index and HOSTILE not in index


def test_refresh_sensor_requests_only_changed_categories_in_one_backfill(data_paths, warehouse, instance):
    land(data_paths, "jan.csv", sales_csv(["Toys", "Books"], days=40))
    ingest(instance, data_paths, warehouse)
    aggregate(instance)
    definitions = defs()
    sensor = definitions.resolve_sensor_def("forecast_refresh_sensor")

    def evaluate(cursor):
        with dg.build_sensor_context(instance=instance, cursor=cursor, repository_def=definitions.get_repository_def()) as context:
            result = sensor.evaluate_tick(context)
        return result

    first = evaluate(None)
    [request] = first.run_requests
    partitions = {p.partition_key for p in request.asset_graph_subset.iterate_asset_partitions()}
    assert partitions == {"Toys", "Books"}

    nothing_new = evaluate(first.cursor)
    assert not nothing_new.run_requests

    land(data_paths, "books-feb.csv", sales_csv(["Books"], days=5, start="2024-02-10", seed=3))
    ingest(instance, data_paths, warehouse)
    assert aggregate(instance)["changed_categories"].value == ["Books"]
    [only_books] = evaluate(first.cursor).run_requests
    assert {p.partition_key for p in only_books.asset_graph_subset.iterate_asset_partitions()} == {"Books"}


def test_a_category_without_sales_fails_the_run_with_a_clear_message(data_paths, warehouse, instance):
    instance.add_dynamic_partitions("categories", ["Ghost"])
    job = defs().resolve_job_def("category_forecast_job")
    result = job.execute_in_process(run_config=FAST_CONFIG, instance=instance, partition_key="Ghost", raise_on_error=False)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert "no daily sales for Ghost" in failure.message
