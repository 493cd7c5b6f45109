"""The code location as Dagster sees it: loads, fast, automation on by default."""

import subprocess
import sys

import dagster as dg

from tsplatform.definitions import defs


def test_definitions_load_and_name_the_documented_assets():
    definitions = defs()
    keys = {key.to_user_string() for key in definitions.resolve_asset_graph().get_all_asset_keys()}
    assert {"invoice_data", "rejected_rows", "upload_metadata"} <= keys
    definitions.resolve_job_def("invoice_ingest_job")


def test_sensors_and_schedules_are_on_by_default():
    definitions = defs()
    for sensor in definitions.sensors or []:
        assert sensor.default_status == dg.DefaultSensorStatus.RUNNING, sensor.name
    for schedule in definitions.schedules or []:
        assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING, schedule.name


def test_loading_the_code_location_does_not_import_the_heavy_libraries():
    """Every step process and the code server import the package: model libraries load lazily."""
    code = (
        "import sys; from tsplatform.definitions import defs; defs(); "
        "print(sorted(m for m in ('prophet', 'statsmodels', 'plotly', 'cmdstanpy') if m in sys.modules))"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"


FORECAST_TABLES = ("daily_category_sales", "forecast_data", "forecast_metrics")


def test_forecast_table_assets_describe_their_tables():
    from tsplatform.warehouse import catalog

    definitions = defs()
    for table in FORECAST_TABLES:
        key = dg.AssetKey(table)
        spec = definitions.resolve_assets_def(key).specs_by_key[key]
        schema = spec.metadata["dagster/column_schema"]
        assert [c.name for c in schema.columns] == [c.name for c in catalog.table_columns(table)], table
        assert spec.metadata["dagster/table_name"] == table
        assert "duckdb" in spec.kinds, table  # the tests load with the DuckDB warehouse
        assert spec.owners and spec.tags.get("domain") == "forecasts", table


def test_forecast_storage_kind_follows_the_warehouse_the_code_location_loads_with():
    code = (
        "import dagster as dg; from tsplatform.definitions import defs; d = defs(); "
        f"print(sorted({{k for t in {FORECAST_TABLES!r} "
        "for k in d.resolve_assets_def(dg.AssetKey(t)).specs_by_key[dg.AssetKey(t)].kinds} & {'duckdb', 'postgres'}))"
    )
    import os

    env = {**os.environ, "TSPLATFORM_WAREHOUSE_URL": "postgresql://postgres@127.0.0.1:5432/postgres"}
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert output.strip().splitlines()[-1] == "['postgres']"


def test_every_forecast_writer_is_in_the_warehouse_writer_pool_and_the_check_gates_the_report():
    from tsplatform.defs.resources import WAREHOUSE_WRITER_POOL

    definitions = defs()
    for key in ("daily_category_sales", "forecast_data", "forecast_report"):
        assert definitions.resolve_assets_def(dg.AssetKey(key)).op.pool == WAREHOUSE_WRITER_POOL, key
    forecasts = definitions.resolve_assets_def(dg.AssetKey("forecast_data"))
    assert forecasts.can_subset
    [check] = forecasts.check_specs
    assert check.name == "forecasts_are_plausible" and check.blocking


def test_forecast_schedule_and_sensor_target_the_named_job():
    definitions = defs()
    definitions.get_repository_def().load_all_definitions()  # validates every schedule's and sensor's target
    schedule = definitions.resolve_schedule_def("daily_forecast_schedule")
    sensor = definitions.resolve_sensor_def("forecast_refresh_sensor")
    assert schedule.job_name == "category_forecast_job"
    assert [target.job_name for target in sensor.targets] == ["category_forecast_job"]


def test_dg_check_defs_passes():
    """``dg`` (dagster-dg-cli) is installed and accepts the project ([tool.dg] in pyproject.toml)."""
    from pathlib import Path

    project = Path(__file__).resolve().parent.parent
    dg_cli = str(Path(sys.executable).parent / "dg")
    checked = subprocess.run([dg_cli, "check", "defs"], cwd=project, capture_output=True, text=True, timeout=300)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    listed = subprocess.run([dg_cli, "list", "defs", "--json"], cwd=project, capture_output=True, text=True, timeout=300)
    assert listed.returncode == 0, listed.stderr
    assert "category_forecast_job" in listed.stdout and "daily_forecast_schedule" in listed.stdout
