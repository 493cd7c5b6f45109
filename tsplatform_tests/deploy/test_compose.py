"""docker-compose.yml checked against the code, since no Docker engine runs here: every command
exists, ports and environment names agree with the Dagster configs, the Dockerfile installs the
package, and the api service's own command and health check answer when run here."""

import json
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

from tsplatform_tests.processes import missing_in_ci, stop_groups

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


@pytest.mark.parametrize("name", ["user_code", "webserver", "daemon", "stream", "migrate", "api", "bridge", "celery_worker"])
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
    for name in ("user_code", "daemon", "stream", "api", "bridge"):
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


# --- the sensor stream's brokers ---------------------------------------------------------------

def mosquitto_settings(path: Path) -> dict[str, str]:
    return dict(line.split(None, 1) for line in path.read_text().splitlines() if line.strip() and not line.startswith("#"))


def test_the_stream_runs_on_the_nats_service_and_devices_reach_it_through_the_bridge(compose):
    services = compose["services"]
    nats, mosquitto, bridge = services["nats"], services["mosquitto"], services["bridge"]
    assert "-js" in nats["command"] and any(v.endswith(":" + option(nats["command"], "-sd")) for v in nats["volumes"])
    nats_port = option(nats["command"], "-p")
    for name in ("user_code", "daemon", "stream", "bridge"):  # the sensor, its runs, the publishers
        url = environment_of(services[name])["TSPLATFORM_STREAM_URL"]
        assert re.fullmatch(rf"\$\{{TSPLATFORM_STREAM_URL:-nats://nats:{nats_port}/\w+\}}", url), f"{name}: {url}"
    config = PROJECT / "deploy" / "mosquitto.conf"
    assert any(v.startswith("./deploy/mosquitto.conf:") for v in mosquitto["volumes"])
    settings = mosquitto_settings(config)
    assert settings["persistence"] == "true" and any(settings["persistence_location"].rstrip("/") in v for v in mosquitto["volumes"])
    listener = settings["listener"].split()[0]
    assert bridge["command"][:3] == ["tsplatform", "stream", "bridge"]
    assert re.fullmatch(rf"mqtt://mosquitto:{listener}/[\w/]+", bridge["command"][3])
    for name in ("stream", "bridge", "daemon"):
        assert services[name]["depends_on"]["nats"]["condition"] == "service_healthy", name
    assert bridge["depends_on"]["mosquitto"]["condition"] == "service_healthy"
    assert "healthcheck" in nats and "healthcheck" in mosquitto


def _binary(name: str) -> str:
    found = shutil.which(name) or next((p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.path.exists(p)), None)
    if found is None:
        missing_in_ci(f"{name} is not installed")
    return found


def _free_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _wait(probe, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not probe():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@pytest.mark.slow
def test_the_broker_services_and_the_bridge_run_here(compose, tmp_path):
    """nats and mosquitto with the services' own arguments and config file (ports and folders
    moved), the nats health check, then the bridge service's command: a device's QoS 1 readings
    land in the JetStream stream the platform reads."""
    import asyncio

    import nats as nats_client
    import paho.mqtt.client as mqtt

    services = compose["services"]
    nats_port, monitor_port, mqtt_port = _free_port(), _free_port(), _free_port()
    command = list(services["nats"]["command"])
    command[command.index("-p") + 1], command[command.index("-m") + 1] = nats_port, monitor_port
    command[command.index("-sd") + 1] = str(tmp_path / "nats")
    config = tmp_path / "mosquitto.conf"
    text = (PROJECT / "deploy" / "mosquitto.conf").read_text()
    text = re.sub(r"^listener \d+ \S+$", f"listener {mqtt_port} 127.0.0.1", text, flags=re.M)
    config.write_text(re.sub(r"^persistence_location .*$", f"persistence_location {tmp_path}/", text, flags=re.M))
    processes = [
        subprocess.Popen([_binary("nats-server"), "-a", "127.0.0.1", *command], start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen([_binary("mosquitto"), "-c", str(config)], start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]
    try:
        [check] = [w for w in services["nats"]["healthcheck"]["test"] if w.startswith("http://")]
        health = check.replace("localhost:8222", f"127.0.0.1:{monitor_port}")

        def healthy() -> bool:
            try:
                return httpx.get(health, timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        _wait(healthy, 30, "the nats health check")
        bridge = list(services["bridge"]["command"])
        topic = bridge[3].split("/", 3)[3]
        bridge[3] = f"mqtt://127.0.0.1:{mqtt_port}/{topic}"
        stream = environment_of(services["bridge"])["TSPLATFORM_STREAM_URL"].split(":-", 1)[1].rstrip("}").rsplit("/", 1)[1]
        env = {**os.environ, "TSPLATFORM_DATA_DIR": str(tmp_path / "data"),
               "TSPLATFORM_STREAM_URL": f"nats://127.0.0.1:{nats_port}/{stream}"}
        processes.append(subprocess.Popen([str(BIN / bridge[0]), *bridge[1:]], env=env, start_new_session=True,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        _wait(lambda: _listening(int(mqtt_port)), 30, "mosquitto")
        device = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="compose-test-device")
        device.connect("127.0.0.1", int(mqtt_port))
        device.loop_start()
        time.sleep(2)  # the bridge subscribes; its session is persistent, so later messages queue anyway
        readings = [{"sensor_id": "plant_1", "ts": f"2026-12-03T10:00:{second:02d}Z", "value": float(second)} for second in range(20)]
        for reading in readings:
            device.publish(topic, json.dumps(reading), qos=1).wait_for_publish(timeout=10)
        device.loop_stop()

        async def stored() -> list[dict]:
            connection = await nats_client.connect(f"nats://127.0.0.1:{nats_port}")
            try:
                manager = connection.jsm()
                try:
                    info = await manager.stream_info(stream)
                except Exception:
                    return []
                return [json.loads((await manager.get_msg(stream, seq)).data) for seq in range(1, info.state.last_seq + 1)]
            finally:
                await connection.close()

        _wait(lambda: len(asyncio.run(stored())) >= len(readings), 60, "the bridged readings in JetStream")
        assert sorted(asyncio.run(stored()), key=lambda r: r["ts"]) == readings
    finally:
        stop_groups(processes, seconds=15)


# --- celery mode: the rabbitmq broker and the scalable celery_worker service ------------------------

def _default(value: str) -> str:
    """The default of a ``${NAME:-default}`` compose value (the value itself when it has none)."""
    match = re.fullmatch(r"\$\{\w+:-(.*)\}", value)
    return match.group(1) if match else value


def test_forecast_steps_go_to_scalable_celery_workers_over_rabbitmq(compose):
    from tsplatform.scale_out import CELERY, DEFAULT_QUEUE

    services = compose["services"]
    rabbitmq, worker = services["rabbitmq"], services["celery_worker"]
    assert "healthcheck" in rabbitmq and any(v.endswith(":/var/lib/rabbitmq") for v in rabbitmq["volumes"])
    # `docker compose up --scale celery_worker=N` needs no fixed name and no published port
    assert "container_name" not in worker and "ports" not in worker
    assert worker["command"][:3] == ["dagster-celery", "worker", "start"]
    assert option(worker["command"], "--app") == "dagster_celery.app"
    assert option(worker["command"], "--queue") == DEFAULT_QUEUE  # where celery_executor_config() sends steps
    config = option(worker["command"], "--config-yaml")
    assert (PROJECT / config).exists() and f"COPY {config} ./{config}" in (PROJECT / "Dockerfile").read_text()
    assert yaml.safe_load((PROJECT / config).read_text())["execution"]["config"]["broker"] == {"env": "TSPLATFORM_CELERY_BROKER"}
    for name in ("postgres", "rabbitmq"):
        assert worker["depends_on"][name]["condition"] == "service_healthy"
    assert services["daemon"]["depends_on"]["rabbitmq"]["condition"] == "service_healthy"
    user = _default(environment_of(rabbitmq)["RABBITMQ_DEFAULT_USER"])  # guest may only connect from localhost
    for name in ("user_code", "daemon", "celery_worker"):  # the runs, their launcher, the step executors
        env = environment_of(services[name])
        assert _default(env["TSPLATFORM_EXECUTOR"]) == CELERY, name
        broker = re.fullmatch(r"pyamqp://\$\{RABBITMQ_USER:-(\w+)\}:\$\{RABBITMQ_PASSWORD:\?[^}]*\}@(\w+):5672//",
                              env["TSPLATFORM_CELERY_BROKER"])
        assert broker and broker.group(2) == "rabbitmq" and broker.group(1) == user, (name, env["TSPLATFORM_CELERY_BROKER"])
        assert int(_default(env["TSPLATFORM_FORECAST_CATEGORIES_PER_RUN"])) >= 1
        assert env["TSPLATFORM_WAREHOUSE_URL"].startswith("postgresql://"), name  # DuckDB has one writer
        assert any(v.startswith("./data:") for v in services[name]["volumes"]), name  # the chart pages


@pytest.mark.slow
def test_the_celery_worker_service_command_runs_here_and_answers_on_its_queue(compose, tmp_path):
    """The celery_worker service's command as written, its queue renamed (a private one) and the
    broker the local RabbitMQ: the worker comes up and answers a ping over the broker."""
    from tsplatform_tests.test_celery_executor import BROKER, queue_action, reachable_broker

    reachable_broker()
    queue = f"tsplatform-compose-test-{os.getpid()}-{int(time.time())}"
    command = list(compose["services"]["celery_worker"]["command"])
    command[command.index("--queue") + 1] = queue
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home), "TSPLATFORM_CELERY_BROKER": BROKER,
           "TSPLATFORM_DATA_DIR": str(tmp_path / "data"), "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    name = f"compose-{os.getpid()}"
    worker = subprocess.Popen([str(BIN / command[0]), *command[1:], "--name", name, "--loglevel", "WARNING"],
                              cwd=PROJECT, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        from celery import Celery

        app = Celery("compose-test", broker=BROKER, backend="rpc://")  # any app on the broker can ping

        def answers() -> bool:
            assert worker.poll() is None, "the worker exited"
            replies = app.control.ping(destination=[f"{name}@{socket.gethostname()}"], timeout=1)
            return any(f"{name}@" in key for reply in replies for key in reply)

        _wait(answers, 60, "the celery worker to answer")
        queues = app.control.inspect(destination=[f"{name}@{socket.gethostname()}"], timeout=2).active_queues() or {}
        assert [q["name"] for q in next(iter(queues.values()), [])] == [queue]
    finally:
        stop_groups([worker], seconds=20)
        queue_action(queue, "delete")
