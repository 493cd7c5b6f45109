"""End to end as a user runs it: ``dagster dev`` (webserver + daemon) with the sensor on by default.

A file dropped in landing must be picked up by the daemon's sensor and its run must succeed, as
seen through the webserver's GraphQL API, with the rows in the DuckDB warehouse.
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

PROJECT = Path(__file__).resolve().parent.parent
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
    land(paths, "e2e.csv", csv_text("2024-01-01,p1,A,1", "2024-01-02,p1,A,2"))
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
        assert rows["sales"].tolist() == [1.0, 2.0]
        assert list(paths.landing.iterdir()) == []
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


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
