"""A real ``tsplatform serve`` (uvicorn, a subprocess) on a private data folder and instance."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tsplatform.settings import DataPaths

TSPLATFORM = str(Path(sys.executable).parent / "tsplatform")
TOKEN = "test-token-3f9a"
UPLOAD_LIMIT = 4096  # bytes: small, so the 413 paths are cheap to reach


@dataclass
class Served:
    url: str
    env: dict[str, str]
    paths: DataPaths
    log: Path

    def client(self, token: str | None = TOKEN) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """``tsplatform ...`` on the server's data folder, warehouse and instance."""
        result = subprocess.run(
            [TSPLATFORM, *args], env=self.env, cwd=self.paths.root.parent, capture_output=True, text=True, timeout=300
        )
        if check and result.returncode != 0:
            raise AssertionError(f"tsplatform {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
        return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Served:
    root = tmp_path_factory.mktemp("served")
    (root / "dagster_home").mkdir()
    paths = DataPaths(root / "data")
    env = {
        **os.environ,
        "TSPLATFORM_DATA_DIR": str(paths.root),
        "DAGSTER_HOME": str(root / "dagster_home"),
        "TSPLATFORM_API_TOKEN": TOKEN,
        "TSPLATFORM_API_MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT),
    }
    env.pop("TSPLATFORM_WAREHOUSE_URL", None)
    port = free_port()
    log = root / "server.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [TSPLATFORM, "serve", "--port", str(port)], env=env, cwd=root, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_listening(url, process, log)
        yield Served(url, env, paths, log)
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # uvicorn shuts down gracefully on SIGTERM
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)


def _wait_until_listening(url: str, process: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"tsplatform serve exited {process.returncode}:\n{log.read_text()}")
        try:
            httpx.get(f"{url}/openapi.json", timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"tsplatform serve did not listen within {seconds} s:\n{log.read_text()}")
