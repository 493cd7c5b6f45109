"""A second code location that depends on ``forecast_data``, under a real ``dagster-daemon run``.

The workspace lists two locations: ``tsplatform.definitions`` and the README's
``downstream_location.py`` (its code block, run as written). Uploads go through the landing
sensor; forecasts follow; the downstream asset must then be materialised by its automation sensor,
from its own location, with a value read from the forecast table. A second upload refreshes one
category's forecasts and the downstream asset must follow again, reading the refreshed rows.
"""

import re
import signal
import subprocess
import uuid

import dagster as dg
import pytest

from tsplatform.defs.dagster_tags import SENSOR_NAME_TAG
from tsplatform.warehouse import forecasts as forecast_table
from tsplatform_tests.conftest import land
from tsplatform_tests.forecasts_dagster.test_forecast_automation_daemon import read_or_none, sales_csv
from tsplatform_tests.processes import MARKER, kill_leftovers, wait_until_gone
from tsplatform_tests.reliability.test_daemon_faults import BIN, PROJECT, daemon_environment, kill_group, wait_until

FORECAST_DATA = dg.AssetKey("forecast_data")
DOWNSTREAM = dg.AssetKey("downstream_report")
DOWNSTREAM_SENSOR = "downstream_automation_sensor"


def readme_block(language: str, first_line: str) -> str:
    """The README's code block that starts with ``first_line``, as a user would copy it."""
    text = (PROJECT / "README.md").read_text(encoding="utf-8")
    [block] = re.findall(rf"```{language}\n({re.escape(first_line)}.*?)```", text, flags=re.DOTALL)
    return block


def write_workspace(folder) -> str:
    """The README's two files, in a folder of their own (the package is installed, not the cwd)."""
    (folder / "downstream_location.py").write_text(readme_block("python", "# downstream_location.py"))
    workspace = folder / "downstream_workspace.yaml"
    workspace.write_text(readme_block("yaml", "# downstream_workspace.yaml"))
    return str(workspace)


def latest(instance, key):
    records = instance.fetch_materializations(key, limit=1).records
    return records[0] if records else None


def downstream_after(instance, storage_id):
    """The newest downstream materialisation recorded after ``storage_id``, if any."""
    record = latest(instance, DOWNSTREAM)
    return record if record is not None and record.storage_id > storage_id else None


def stored_forecasts(url):
    return read_or_none(url, forecast_table.read_forecasts)


def assert_read_the_table(instance, record, url):
    """The downstream run came from automation in its own location, and its value was the table."""
    run = wait_until(lambda: (r := instance.get_run_by_id(record.run_id)).is_finished and r, 60, "the downstream run to end")
    assert run.status == dg.DagsterRunStatus.SUCCESS
    assert run.tags.get(SENSOR_NAME_TAG) == DOWNSTREAM_SENSOR, run.tags
    assert run.remote_job_origin.location_name == "downstream"
    [stored] = wait_until(lambda: (f := stored_forecasts(url)) is not None and [f], 60, "a read of forecast_data")
    metadata = record.asset_materialization.metadata
    assert metadata["rows"].value == len(stored) > 0
    assert metadata["categories"].value == sorted(stored["category"].unique())
    assert metadata["forecast_runs"].value == sorted(stored["run_id"].unique())


@pytest.mark.slow
def test_a_downstream_code_location_follows_forecast_refreshes_under_the_daemon(tmp_path):
    mark = uuid.uuid4().hex
    home, paths, url, env = daemon_environment(
        tmp_path, TSPLATFORM_FORECAST_REFRESH_CRON="0 0 1 1 *", **{MARKER: mark}  # no schedule tick: data only
    )
    workspace = write_workspace(tmp_path)
    instance = dg.DagsterInstance.from_config(str(home))
    log = (tmp_path / "daemon.log").open("ab")
    daemon = subprocess.Popen([str(BIN / "dagster-daemon"), "run", "--workspace", workspace], cwd=tmp_path, env=env,
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        # 1. an upload of A and B: ingested, aggregated, forecast; then the downstream asset follows
        land(paths, "first.csv", sales_csv(["A", "B"], days=90, start="2025-01-01", seed=1))
        wait_until(lambda: (f := stored_forecasts(url)) is not None and set(f["category"]) == {"A", "B"}, 480,
                   "forecasts of A and B")
        forecasts = wait_until(lambda: latest(instance, FORECAST_DATA), 60, "forecast_data's materialisation")
        first = wait_until(lambda: downstream_after(instance, forecasts.storage_id), 240,
                           "downstream_report after the first forecasts")
        assert_read_the_table(instance, first, url)

        # 2. new days of B: B's forecasts are refreshed by a new run; downstream_report follows it
        before = set(stored_forecasts(url)["run_id"])
        land(paths, "second.csv", sales_csv(["B"], days=30, start="2025-04-01", seed=2))
        refreshed = wait_until(
            lambda: (f := stored_forecasts(url)) is not None and set(f[f["category"] == "B"]["run_id"]) - before,
            480, "B's forecasts refreshed",
        )
        [refresh_run] = refreshed
        refresh = wait_until(lambda: (r := latest(instance, FORECAST_DATA)) and r.run_id == refresh_run and r, 120,
                             "the refresh run's forecast_data materialisation")
        second = wait_until(lambda: downstream_after(instance, refresh.storage_id), 240,
                            "downstream_report after the refresh")
        assert refresh_run in second.asset_materialization.metadata["forecast_runs"].value
        assert_read_the_table(instance, second, url)
        # let the runs that follow (forecast_report) end, so the teardown interrupts none
        wait_until(lambda: all(r.is_finished for r in instance.get_runs()), 180, "every run to end")
    finally:
        kill_group(daemon, signal.SIGINT)
        log.close()
        left = wait_until_gone(mark, 30)
        kill_leftovers(mark)
    assert left == {}, f"processes left after the daemon stopped: {left}"
