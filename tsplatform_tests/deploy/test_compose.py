"""docker-compose.yml checked against the code, since no Docker engine runs here: every command
exists, ports and environment names agree with the Dagster configs, the Dockerfile installs the
package, and the api service's own command and health check answer when run here."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((PROJECT / "docker-compose.yml").read_text())


def environment_of(service: dict) -> dict:
    env = service.get("environment", {})
    return env if isinstance(env, dict) else dict(item.split("=", 1) for item in env)


def test_services_of_the_production_shape(compose):
    assert {"postgres", "user_code", "webserver", "daemon", "stream", "api"} <= set(compose["services"])
    postgres = compose["services"]["postgres"]
    assert postgres["healthcheck"]["test"] and any("/var/lib/postgresql/data" in v for v in postgres["volumes"])


@pytest.mark.parametrize("name", ["user_code", "webserver", "daemon", "stream", "migrate", "api"])
def test_every_service_command_exists_here(compose, name):
    command = compose["services"][name]["command"]
    executable = BIN / command[0]
    assert executable.exists(), f"{name}: {command[0]} is not installed by the package"
    # the subcommand parses: the same words with --help exit 0 (options after it are not run)
    words = [w for w in command[1:] if not w.startswith("-")][:2]
    words = [w for w in words if re.fullmatch(r"[a-z-]+", w) and w not in ("workspace.yaml", "tsplatform.definitions")]
    result = subprocess.run([str(executable), *words, "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for option in (w for w in command[1:] if w.startswith("--")):
        assert option in result.stdout, f"{name}: {option} is not an option of {' '.join(command[:len(words) + 1])}"


def test_dependencies_wait_for_health(compose):
    services = compose["services"]
    for name in ("user_code", "webserver", "daemon"):
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["webserver"]["depends_on"]["user_code"]["condition"] == "service_healthy"
    assert services["daemon"]["depends_on"]["user_code"]["condition"] == "service_healthy"
    assert "healthcheck" in services["user_code"]


def test_ports_and_environment_agree_with_dagster_configs(compose):
    services = compose["services"]
    code_server_port = services["user_code"]["command"][services["user_code"]["command"].index("--port") + 1]
    workspace = yaml.safe_load((PROJECT / "deploy" / "workspace.yaml").read_text())
    grpc = workspace["load_from"][0]["grpc_server"]
    instance = yaml.safe_load((PROJECT / "deploy" / "dagster.postgres.yaml").read_text())
    needed = set(re.findall(r"env: (\w+)", (PROJECT / "deploy" / "dagster.postgres.yaml").read_text()))
    needed |= {grpc["host"]["env"], grpc["port"]["env"]}
    assert "postgres" in instance["storage"]
    for name in ("user_code", "webserver", "daemon"):
        env = environment_of(services[name])
        assert needed <= set(env), f"{name} lacks {needed - set(env)}"
        assert env[grpc["port"]["env"]] == code_server_port
        assert env[grpc["host"]["env"]] == "user_code"
        assert env["TSPLATFORM_WAREHOUSE_URL"].startswith("postgresql://")
    webserver = services["webserver"]
    assert webserver["command"][webserver["command"].index("--port") + 1] == "3000"
    assert any(p.startswith("127.0.0.1:") and p.endswith(":3000") for p in webserver["ports"])


def test_data_folder_is_mounted_and_no_secret_is_hard_coded(compose):
    text = (PROJECT / "docker-compose.yml").read_text()
    for name in ("user_code", "daemon", "stream", "api"):
        assert any(v.startswith("./data:") for v in compose["services"][name]["volumes"])
    assert "POSTGRES_PASSWORD:?" in text  # must come from .env
    example = dict(
        line.split("=", 1) for line in (PROJECT / ".env.example").read_text().splitlines() if "=" in line and not line.startswith("#")
    )
    used = set(re.findall(r"(?<!\$)\$\{(\w+)", text))  # $${X} is the container's own
    assert used <= set(example), f".env.example lacks {used - set(example)}"


def test_dockerfile_installs_the_package_and_copies_what_exists():
    text = (PROJECT / "Dockerfile").read_text()
    assert re.search(r"^RUN pip install \.$", text, re.M)
    for source in re.findall(r"^COPY (.+) \S+$", text, re.M):
        for path in source.split():
            assert (PROJECT / path).exists(), f"Dockerfile copies {path}, which does not exist"
    assert shutil.which("dagster", path=str(BIN))


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_chart_links_point_at_the_published_api_port(compose):
    services = compose["services"]
    api = services["api"]
    assert api["command"][:2] == ["tsplatform", "serve"] and option(api["command"], "--host") == "0.0.0.0"
    [published] = api["ports"]
    host, host_port, container_port = re.fullmatch(r"(127\.0\.0\.1):\$\{TSPLATFORM_API_PORT:-(\d+)\}:(\d+)", published).groups()
    assert container_port == option(api["command"], "--port")
    assert api["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert environment_of(api)["TSPLATFORM_WAREHOUSE_URL"].startswith("postgresql://")
    for name in ("user_code", "webserver", "daemon"):  # the processes that write or show asset metadata
        public = environment_of(services[name])["TSPLATFORM_PUBLIC_URL"]
        assert public == f"${{TSPLATFORM_PUBLIC_URL:-http://{host}:{host_port}}}", f"{name}: {public}"


def test_the_api_service_command_and_health_check_answer_here(compose, tmp_path):
    """The api service's command as written, only host and port changed, on a DuckDB warehouse."""
    api = compose["services"]["api"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    command = list(api["command"])
    command[command.index("--host") + 1], command[command.index("--port") + 1] = "127.0.0.1", port
    env = {**os.environ, "TSPLATFORM_DATA_DIR": str(tmp_path / "data")}
    for name in ("TSPLATFORM_WAREHOUSE_URL", "DAGSTER_HOME", "TSPLATFORM_API_PORT"):
        env.pop(name, None)
    check = [w.replace("localhost:8000", f"localhost:{port}") for w in api["healthcheck"]["test"][1:]]
    assert check[0] == "python"
    server = subprocess.Popen([str(BIN / command[0]), *command[1:]], env=env, cwd=tmp_path, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while subprocess.run([sys.executable, *check[1:]], capture_output=True, timeout=30).returncode != 0:
            assert server.poll() is None and time.monotonic() < deadline, "the api service did not become healthy"
            time.sleep(0.5)
        dashboard = httpx.get(f"http://127.0.0.1:{port}/dashboard", timeout=30)
        assert dashboard.status_code == 200 and "No forecasts yet" in dashboard.text
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        # docker stop sends SIGTERM: uvicorn shuts down, then exits by the signal it was sent
        assert server.wait(timeout=15) in (0, -signal.SIGTERM)
