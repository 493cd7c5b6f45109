"""End to end as a user runs it: ``dagster dev`` (webserver + daemon), automation on by default.

A file dropped in landing must be picked up by the daemon's sensor and its run must succeed, as
seen through the webserver's GraphQL API, with the rows in the DuckDB warehouse; then, with nobody
pressing a button, the daily aggregate, the forecasts and the report index must follow.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tsplatform.settings import DataPaths
from tsplatform.warehouse import invoices as invoice_table
from tsplatform.warehouse import open_warehouse
from tsplatform_tests.conftest import csv_text, land
from tsplatform_tests.processes import stop_groups

PROJECT = Path(__file__).resolve().parent.parent
REPORT_QUERY = """
query { assetOrError(assetKey: {path: ["forecast_report"]}) {
  ... on Asset { assetMaterializations(limit: 1) { runId } } } }
"""
RUNS_QUERY = """
query { runsOrError(filter: {tags: [{key: "dagster/sensor_name", value: "landing_sensor"}]}) {
  ... on Runs { results { runId status tags { key value } } } } }
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_dagster_dev_picks_up_a_dropped_file_and_materialises_it(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT / "dagster.yaml", home / "dagster.yaml")
    paths = DataPaths(tmp_path / "data").ensure()
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "TSPLATFORM_DATA_DIR": str(paths.root)}
    env.pop("TSPLATFORM_WAREHOUSE_URL", None)
    days = [f"2024-{month:02d}-{day:02d},p1,A,{10 + day % 7}" for month in (1, 2) for day in range(1, 29)]
    land(paths, "e2e.csv", csv_text(*days))
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster"), "dev", "--host", "127.0.0.1", "--port", str(port),
         "--workspace", str(PROJECT / "workspace.yaml")],
        cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        statuses = wait_for_runs(port, deadline=time.monotonic() + 150)
        assert statuses == ["SUCCESS"]
        with open_warehouse(f"duckdb:///{paths.default_warehouse}").transaction() as session:
            rows = invoice_table.read_invoices(session)
        assert len(rows) == 56
        assert list(paths.landing.iterdir()) == []
        wait_for_report(port, deadline=time.monotonic() + 300)
        index = paths.reports / "forecasts" / "index.html"
        assert index.exists() and ">A<" in index.read_text()
    finally:
        stop_groups([process], seconds=30, stop_signal=signal.SIGINT)


def wait_for_report(port: int, deadline: float) -> None:
    """Automation: invoice_data -> daily_category_sales (eager*) -> forecasts (refresh sensor: one
    category_forecast_job run) -> report (eager*); * not held back by missing upstream partitions."""
    while time.monotonic() < deadline:
        try:
            response = requests.post(f"http://127.0.0.1:{port}/graphql", json={"query": REPORT_QUERY}, timeout=10)
            if response.json()["data"]["assetOrError"]["assetMaterializations"]:
                return
        except (requests.ConnectionError, KeyError, TypeError, ValueError):
            pass
        time.sleep(3)
    raise AssertionError("forecast_report was not materialised by automation in time")


def wait_for_runs(port: int, deadline: float) -> list[str]:
    statuses: list[str] = []
    while time.monotonic() < deadline:
        try:
            response = requests.post(f"http://127.0.0.1:{port}/graphql", json={"query": RUNS_QUERY}, timeout=10)
            statuses = [run["status"] for run in response.json()["data"]["runsOrError"]["results"]]
        except (requests.ConnectionError, KeyError, TypeError, ValueError):
            statuses = []
        if statuses and all(s in ("SUCCESS", "FAILURE", "CANCELED") for s in statuses):
            return statuses
        time.sleep(2)
    raise AssertionError(f"no finished run from the landing sensor in time (last seen: {statuses})")
