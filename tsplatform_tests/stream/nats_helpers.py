"""Real NATS servers for the broker tests: the shared one (``TSPLATFORM_TEST_NATS_URL``, a fresh
stream per test, deleted after) and private ones (own port and store folder) that a test may kill.
A missing server or binary skips locally and fails in CI (``CI`` set)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pandas as pd

from tsplatform.stream.address import nats_stream
from tsplatform_tests.processes import missing_in_ci

SHARED_URL = os.environ.get("TSPLATFORM_TEST_NATS_URL", "nats://127.0.0.1:4222")


missing = missing_in_ci  # skip locally, fail in CI


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reachable(url: str) -> bool:
    host, port = url.split("://", 1)[1].rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return True
    except OSError:
        return False


def unique_stream_url(server: str) -> str:
    """A stream of its own on its own subjects: two streams may not capture the same subjects, so a
    stream another test or a benchmark left on the shared server cannot break this one."""
    tag = uuid.uuid4().hex[:12]
    return f"{server}/T{tag}?subject=t{tag}"


class PrivateNats:
    """``nats-server -js`` on a free port with its own store folder; ``restart`` keeps the store."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.folder = Path(tempfile.mkdtemp(prefix="tsp-nats-"))
        self.port = free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> PrivateNats:
        log = (self.folder / "server.log").open("ab")
        self.process = subprocess.Popen(
            [self.binary, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.folder / "store")],
            stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while not reachable(self.url):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"private nats-server did not start: {(self.folder / 'server.log').read_text()[-2000:]}")
            time.sleep(0.05)
        return self

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=30)

    def restart(self, down_seconds: float = 1.0, sig: int = signal.SIGKILL) -> None:
        self.kill(sig)
        time.sleep(down_seconds)
        self.start()

    def stop(self) -> None:
        try:
            self.kill()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def stream_contents(url: str) -> pd.DataFrame:
    """Every message of the stream, read with plain nats-py (get_msg, not the code under test),
    parsed with ``json``: sensor_id, ts (naive UTC), value, seq."""
    import json

    import nats

    stream = nats_stream(url)

    async def read():
        connection = await nats.connect(stream.server)
        try:
            manager = connection.jsm()
            info = await manager.stream_info(stream.name)
            rows = []
            for seq in range(info.state.first_seq, info.state.last_seq + 1):
                message = await manager.get_msg(stream.name, seq)
                rows.append({**json.loads(message.data), "seq": seq})
            return rows
        finally:
            await connection.close()

    frame = pd.DataFrame(asyncio.run(read()), columns=["sensor_id", "ts", "value", "seq"])
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True).dt.tz_localize(None)
    return frame


def checksum(readings: pd.DataFrame) -> str:
    """SHA-256 of (sensor_id, ts, value) rows in sorted order: equal sets give equal sums."""
    frame = readings[["sensor_id", "ts", "value"]].copy()
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    digest = hashlib.sha256()
    for sensor_id, ts, value in frame.sort_values(["sensor_id", "ts"]).itertuples(index=False):
        digest.update(f"{sensor_id}|{ts.isoformat()}|{float(value)!r}\n".encode())
    return digest.hexdigest()
