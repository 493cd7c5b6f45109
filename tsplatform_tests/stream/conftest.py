"""Every stream test gets its own data folder through TSPLATFORM_DATA_DIR, as the CLI would; the
broker tests get a fresh stream on the shared NATS server or a private server of their own."""

import os
import shutil

import pytest

from tsplatform.settings import data_paths
from tsplatform.stream.address import nats_stream

from .nats_helpers import SHARED_URL, PrivateNats, missing, reachable, unique_stream_url


@pytest.fixture
def stream_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("TSPLATFORM_DATA_DIR", str(tmp_path / "data"))
    folder = data_paths().stream
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def shared_nats_stream_url(monkeypatch):
    """A fresh stream on the shared server, named in TSPLATFORM_STREAM_URL; deleted afterwards."""
    if not reachable(SHARED_URL):
        missing(f"no NATS server at {SHARED_URL} (TSPLATFORM_TEST_NATS_URL)")
    url = unique_stream_url(SHARED_URL)
    monkeypatch.setenv("TSPLATFORM_STREAM_URL", url)
    yield url
    nats_stream(url).delete()


@pytest.fixture
def private_nats():
    binary = shutil.which("nats-server") or ("/usr/sbin/nats-server" if os.path.exists("/usr/sbin/nats-server") else None)
    if binary is None:
        missing("nats-server is not installed")
    server = PrivateNats(binary).start()
    try:
        yield server
    finally:
        server.stop()
