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
