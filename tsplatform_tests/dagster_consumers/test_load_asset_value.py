"""Dagster-native consumers of the tables, on both warehouse backends: ``load_asset_value`` and
plain ``def my_asset(forecast_data: pd.DataFrame)`` inputs get the warehouse table (a partition's
rows where the asset is partitioned), and nothing is pickled into Dagster's storage."""

from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from tsplatform.dagster_io import TABLE_LOADS, WAREHOUSE_IO_MANAGER_KEY
from tsplatform.definitions import defs
from tsplatform.defs.forecasts.assets import category_forecasts
from tsplatform.defs.forecasts.partitions import category_partitions
from tsplatform.warehouse import catalog
from tsplatform.warehouse import forecasts as forecast_table
from tsplatform.warehouse import invoices as invoice_table
from tsplatform_tests.conftest import land
from tsplatform_tests.forecasts_dagster.test_forecast_assets import aggregate, forecast_all, ingest, sales_csv


def table_assets(definitions: dg.Definitions) -> dict[dg.AssetKey, str]:
    """Every asset that says it is a warehouse table (``dagster/table_name``), with its table."""
    found = {}
    for key in definitions.resolve_asset_graph().get_all_asset_keys():
        table = definitions.resolve_assets_def(key).specs_by_key[key].metadata.get("dagster/table_name")
        if table is not None:
            found[key] = table
    return found


def test_every_table_asset_loads_its_table_through_the_warehouse_io_manager(warehouse, instance):
    definitions = defs()
    tables = table_assets(definitions)
    assert {key.to_user_string() for key in tables} == set(TABLE_LOADS)  # every table asset, nothing else
    for key, table in tables.items():
        assets_def = definitions.resolve_assets_def(key)
        assert assets_def.get_io_manager_key_for_asset_key(key) == WAREHOUSE_IO_MANAGER_KEY, key
        frame = definitions.load_asset_value(key, instance=instance)  # empty, migrated warehouse
        assert isinstance(frame, pd.DataFrame) and frame.empty, key
        assert set(frame.columns) == {c.name for c in catalog.table_columns(table)}, key


def test_load_asset_value_and_downstream_inputs_read_the_tables(data_paths, warehouse, instance):
    land(data_paths, "first.csv", sales_csv(["Toys", "Books"], days=60, seed=1))
    ingest(instance, data_paths, warehouse)
    land(data_paths, "second.csv", sales_csv(["Toys"], days=10, start="2024-02-20", seed=2))  # changes 10 Toys days
    ingest(instance, data_paths, warehouse)
    aggregate(instance)
    categories = instance.get_dynamic_partitions(category_partitions.name)
    assert forecast_all(instance, categories).success
    definitions = defs()
    first, second = instance.get_dynamic_partitions("upload_batches")

    def load(asset, partition=None):
        return definitions.load_asset_value(dg.AssetKey(asset), partition_key=partition, instance=instance)

    with warehouse.transaction() as session:
        invoices = invoice_table.read_invoices(session)
        toys = forecast_table.read_forecasts(session, "Toys")
        daily = forecast_table.read_daily_category_sales(session)
        books_metrics = forecast_table.read_metrics(session, "Books")
    pd.testing.assert_frame_equal(load("forecast_data", "Toys"), toys)
    assert set(toys["category"]) == {"Toys"} and len(toys) > 0
    pd.testing.assert_frame_equal(load("forecast_metrics", "Books"), books_metrics)
    pd.testing.assert_frame_equal(load("invoice_data"), invoices)
    pd.testing.assert_frame_equal(load("daily_category_sales"), daily)
    # a batch's partition: the rows it last changed; the second upload took 10 Toys days from the first
    assert len(load("invoice_data", first)) == (invoices["batch_num"] == first).sum() == 2 * 60 - 10
    assert set(load("invoice_data", second)["batch_num"]) == {second} and len(load("invoice_data", second)) == 10
    assert load("upload_metadata", second)[["batch_num", "status"]].values.tolist() == [[second, "completed"]]
    assert load("rejected_rows", first).empty

    @dg.asset(partitions_def=category_partitions)
    def category_summary(forecast_data: pd.DataFrame) -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata={"rows": len(forecast_data), "categories": sorted(set(forecast_data["category"]))})

    @dg.asset
    def all_forecasts_summary(forecast_data: pd.DataFrame) -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata={"rows": len(forecast_data), "categories": sorted(set(forecast_data["category"]))})

    resources = definitions.resources
    one = dg.materialize([category_forecasts, category_summary], selection=[category_summary], partition_key="Toys",
                         instance=instance, resources=resources)
    [event] = one.asset_materializations_for_node("category_summary")
    assert (event.metadata["rows"].value, event.metadata["categories"].value) == (len(toys), ["Toys"])
    every = dg.materialize([category_forecasts, all_forecasts_summary], selection=[all_forecasts_summary],
                           instance=instance, resources=resources)
    [event] = every.asset_materializations_for_node("all_forecasts_summary")
    with warehouse.transaction() as session:
        stored = forecast_table.read_forecasts(session)
    assert (event.metadata["rows"].value, event.metadata["categories"].value) == (len(stored), sorted(categories))

    storage = Path(instance.storage_directory())
    pickled = [key for key in TABLE_LOADS if (storage / key).exists()]
    assert pickled == []  # the table assets left nothing for the fs I/O manager


def test_an_asset_returning_a_frame_to_the_warehouse_io_manager_fails_with_a_reason(warehouse, instance):
    @dg.asset(io_manager_key=WAREHOUSE_IO_MANAGER_KEY)
    def a_frame() -> pd.DataFrame:
        return pd.DataFrame({"x": [1]})

    result = dg.materialize([a_frame], instance=instance, resources=defs().resources, raise_on_error=False)
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert "writes itself" in str(failure.step_failure_data.error)


def test_loading_a_table_that_is_not_partitioned_by_partition_fails_clearly(warehouse, instance):
    from tsplatform.dagster_io import load_table

    with pytest.raises(ValueError, match="not partitioned"):
        load_table("daily_category_sales", ["Toys"])
    with pytest.raises(ValueError, match="not a warehouse table"):
        load_table("forecast_report")
