"""The compose file's processes, run here against the local PostgreSQL (there is no Docker engine):
a user-code gRPC server, the webserver and the daemon, each its own process, Dagster's storage and
the warehouse in PostgreSQL. A CSV dropped in landing must travel sensor -> run -> warehouse, seen
through the webserver's GraphQL API; then a real headless Chromium opens the UI."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from dagster_graphql import DagsterGraphQLClient

from tsplatform.settings import DataPaths
from tsplatform.supervision import default_stop_signals
from tsplatform.warehouse.provisioning import ensure_postgres_database
from tsplatform_tests.conftest import POSTGRES_URL, csv_text, land
from tsplatform_tests.processes import chromium as find_chromium
from tsplatform_tests.processes import wait_for

PROJECT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ARTIFACTS = PROJECT / "artifacts"
RUNS_QUERY = """
query { runsOrError(filter: {tags: [{key: "dagster/sensor_name", value: "landing_sensor"}]}) {
  ... on Runs { results { runId status } } } }
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_url_parts():
    from urllib.parse import urlsplit

    parts = urlsplit(POSTGRES_URL)
    return parts.hostname or "127.0.0.1", str(parts.port or 5432), parts.username or "postgres", parts.password or ""


@pytest.fixture
def databases():
    """A fresh database for Dagster's storage and one for the warehouse, dropped afterwards."""
    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=5).close()
    except psycopg.OperationalError as error:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI: {error}")
        pytest.skip(f"PostgreSQL not reachable: {error}")
    suffix = uuid.uuid4().hex[:10]
    base = POSTGRES_URL.rsplit("/", 1)[0]
    names = {"dagster": f"e2e_dagster_{suffix}", "warehouse": f"e2e_warehouse_{suffix}"}
    for name in names.values():
        ensure_postgres_database(f"{base}/{name}")
    yield {role: (name, f"{base}/{name}") for role, name in names.items()}
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        for name in names.values():
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Processes:
    def __init__(self):
        self.running: dict[str, subprocess.Popen] = {}

    def start(self, name, args, env, log_dir):
        log = open(log_dir / f"{name}.log", "w")
        self.running[name] = subprocess.Popen(
            args, cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=default_stop_signals,  # SIGTERM must stop them even when this run started with SIGINT ignored
        )

    def stop_all(self, timeout=60) -> dict[str, int | None]:
        for process in self.running.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        codes = {}
        for name, process in self.running.items():
            try:
                codes[name] = process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                codes[name] = None
        return codes


@pytest.mark.slow
def test_compose_processes_on_postgres_ingest_a_dropped_file(tmp_path, databases):
    host, port, user, password = server_url_parts()
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT / "deploy" / "dagster.postgres.yaml", home / "dagster.yaml")
    paths = DataPaths(tmp_path / "data").ensure()
    code_port, web_port = free_port(), free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "DAGSTER_POSTGRES_HOST": host, "DAGSTER_POSTGRES_PORT": port,
        "DAGSTER_POSTGRES_USER": user, "DAGSTER_POSTGRES_PASSWORD": password,
        "DAGSTER_POSTGRES_DB": databases["dagster"][0],
        "TSPLATFORM_WAREHOUSE_URL": databases["warehouse"][1],
        "TSPLATFORM_DATA_DIR": str(paths.root),
        "TSPLATFORM_CODE_SERVER_HOST": "127.0.0.1",
        "TSPLATFORM_CODE_SERVER_PORT": str(code_port),
    }
    workspace = str(PROJECT / "deploy" / "workspace.yaml")
    subprocess.run([str(BIN / "tsplatform"), "db", "init"], env=env, check=True, capture_output=True, timeout=120)
    processes = Processes()
    try:
        processes.start("user_code", [str(BIN / "dagster"), "code-server", "start", "--host", "127.0.0.1", "--port",
                                      str(code_port), "--module-name", "tsplatform.definitions", "--location-name", "tsplatform"],
                                     env, tmp_path)
        wait_for(lambda: subprocess.run([str(BIN / "dagster"), "api", "grpc-health-check", "--port", str(code_port)],
                                        capture_output=True, env=env).returncode == 0, 120, "code server health")
        processes.start("webserver", [str(BIN / "dagster-webserver"), "--host", "127.0.0.1", "--port", str(web_port),
                                      "--workspace", workspace], env, tmp_path)
        processes.start("daemon", [str(BIN / "dagster-daemon"), "run", "--workspace", workspace], env, tmp_path)
        client = DagsterGraphQLClient("127.0.0.1", port_number=web_port, timeout=30)
        wait_for(lambda: _graphql_up(client), 120, "webserver")

        land(paths, "e2e.csv", csv_text("2024-03-01,p1,Toys,4", "2024-03-02,p1,Toys,"))
        runs = wait_for(lambda: _finished_runs(client), 180, "a finished run launched by the landing sensor")
        assert [r["status"] for r in runs] == ["SUCCESS"]
        assert client.get_run_status(runs[0]["runId"]).value == "SUCCESS"

        with psycopg.connect(databases["warehouse"][1]) as warehouse:
            rows = warehouse.execute("SELECT product_id, sales, is_imputed FROM invoice_data ORDER BY date").fetchall()
        assert rows == [("p1", 4.0, False), ("p1", 4.0, True)]
        with psycopg.connect(databases["dagster"][1]) as storage:
            stored = storage.execute("SELECT run_id, status FROM runs").fetchall()
        assert (runs[0]["runId"], "SUCCESS") in stored

        check_ui_in_chromium(web_port, runs[0]["runId"])
    finally:
        codes = processes.stop_all()
    assert all(code is not None for code in codes.values()), f"a process did not stop on SIGTERM: {codes}"


def _graphql_up(client) -> bool:
    try:
        client._execute("{ version }")  # noqa: SLF001 - the client's own query helper
        return True
    except Exception:
        return False


def _finished_runs(client):
    try:
        runs = client._execute(RUNS_QUERY)["runsOrError"]["results"]  # noqa: SLF001
    except Exception:
        return None
    if runs and all(r["status"] in ("SUCCESS", "FAILURE", "CANCELED") for r in runs):
        return runs
    return None


CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--window-size=1600,1000", "--virtual-time-budget=20000",
]


def check_ui_in_chromium(web_port: int, run_id: str) -> None:
    """Debian's chromium, headless: the asset list names our assets; screenshots kept as artifacts."""
    chromium = find_chromium()
    ARTIFACTS.mkdir(exist_ok=True)
    base = f"http://127.0.0.1:{web_port}"
    with_profile = lambda name: [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={ARTIFACTS / ('.profile-' + name)}"]  # noqa: E731
    dom = subprocess.run([*with_profile("dom"), "--dump-dom", f"{base}/assets"], capture_output=True, text=True, timeout=120).stdout
    for asset in ("invoice_data", "rejected_rows", "upload_metadata"):
        assert asset in dom, f"{asset} not listed on the assets page"
    for name, page in (("asset-graph", f"{base}/asset-groups/invoices"), ("run", f"{base}/runs/{run_id}")):
        target = ARTIFACTS / f"{name}.png"
        subprocess.run([*with_profile(name), f"--screenshot={target}", page], capture_output=True, timeout=120)
        assert target.exists() and target.stat().st_size > 10_000, f"no screenshot of {page}"
    for profile in ARTIFACTS.glob(".profile-*"):
        shutil.rmtree(profile, ignore_errors=True)
