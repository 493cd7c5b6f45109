"""``tsplatform stream bridge`` against the real Mosquitto and NATS servers: the bridge is killed
with SIGKILL and started again while a device keeps publishing with QoS 1; every reading the MQTT
broker acknowledged (PUBACK) is stored exactly once, and malformed messages are rejected once."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pandas as pd
import pytest

from tsplatform.settings import warehouse_url
from tsplatform.stream import ReadingGenerator
from tsplatform.stream.address import open_source
from tsplatform.stream.codec import encode_readings
from tsplatform.stream.range_ingest import ingest_range
from tsplatform.warehouse import open_warehouse, stream_tables

from .nats_helpers import checksum, missing, reachable

TSPLATFORM = str(Path(sys.executable).parent / "tsplatform")
MQTT_URL = os.environ.get("TSPLATFORM_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")


def start_bridge(url: str, client_id: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen([TSPLATFORM, "stream", "bridge", url, "--client-id", client_id], env=dict(os.environ),
                            stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_the_bridge_killed_and_restarted_while_a_device_publishes_stores_every_acknowledged_reading_once(
    shared_nats_stream_url, data_paths, tmp_path
):
    import paho.mqtt.client as mqtt

    if not reachable(MQTT_URL.replace("mqtt://", "tcp://")):
        missing(f"no MQTT broker at {MQTT_URL} (TSPLATFORM_TEST_MQTT_URL)")
    host, port = MQTT_URL.split("://", 1)[1].rsplit(":", 1)
    tag = uuid.uuid4().hex[:10]
    topic, client_id = f"tsp-test/{tag}/readings", f"tsp-bridge-{tag}"
    bridge_url = f"{MQTT_URL}/{topic}"
    source = open_source(data_paths.stream)
    log = tmp_path / "bridge.log"

    device = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"tsp-device-{tag}")
    device.connect(host, int(port))
    device.loop_start()
    lines = encode_readings(ReadingGenerator(2, seed=9, spike_probability=0.0).simulate("2024-03-01", 600, "1s"))
    acknowledged: list[bytes] = []
    stop = threading.Event()

    def publish(payload: bytes) -> None:
        info = device.publish(topic, payload, qos=1)
        info.wait_for_publish(timeout=10)
        if info.is_published():  # PUBACK received: the broker owns it now
            acknowledged.append(payload)

    def keep_publishing():
        for number, line in enumerate(lines[1:], start=1):
            if stop.is_set():
                break
            publish(line[:-1] if number % 2 else line)  # with and without a trailing newline
            if number % 97 == 0:
                publish(b"garbage from device %d" % number)
            time.sleep(0.01)

    bridge = start_bridge(bridge_url, client_id, log)
    publisher = threading.Thread(target=keep_publishing)
    try:
        wait_for(lambda: "Subscribed to" in log.read_text(), 60, "the bridge's subscription (its session)")
        publish(lines[0])
        wait_for(lambda: source.latest_cursor().seq >= 1, 60, "the bridge to forward a first reading")
        publisher.start()
        time.sleep(3)
        os.killpg(bridge.pid, signal.SIGKILL)
        bridge.wait(timeout=30)
        killed_at = len(acknowledged)
        time.sleep(2)  # the device keeps publishing: the broker queues for the bridge's session
        bridge = start_bridge(bridge_url, client_id, log)
        publisher.join(timeout=300)
        assert len(acknowledged) > killed_at + 50
        valid = [payload for payload in acknowledged if not payload.startswith(b"garbage")]
        wait_for(lambda: len(source.read_range(source.earliest_cursor(), source.latest_cursor()).records) >= len(valid),
                 120, f"{len(valid)} acknowledged readings in the stream")
        time.sleep(2)
    finally:
        stop.set()
        if publisher.is_alive():
            publisher.join(timeout=60)
        os.killpg(bridge.pid, signal.SIGINT)
        bridge.wait(timeout=30)
        device.loop_stop()
        cleaner = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
        cleaner.connect(host, int(port))  # drops the test's persistent session from the shared broker
        cleaner.disconnect()

    warehouse = open_warehouse(warehouse_url())
    outcome = ingest_range(warehouse, source, "", "", "bridge-test")
    with warehouse.transaction() as session:
        stored = stream_tables.read_readings(session)
        rejected = stream_tables.read_rejected_readings(session)
    expected = pd.DataFrame([json.loads(payload) for payload in valid])
    garbage = sum(payload.startswith(b"garbage") for payload in acknowledged)
    print(f"acknowledged {len(acknowledged)} ({len(valid)} readings, {garbage} malformed); killed after {killed_at}; "
          f"stream messages {source.latest_cursor().seq}; stored {len(stored)}; counts {outcome.counts}")
    assert len(stored) == len(valid) and not stored.duplicated(["sensor_id", "ts"]).any()
    assert checksum(stored) == checksum(expected.assign(ts=pd.to_datetime(expected["ts"], utc=True)))
    malformed = rejected[rejected["reason"] == "bad JSON"]
    assert len(malformed) == garbage and malformed["line"].is_unique
    assert set(rejected["reason"]) <= {"bad JSON"}, rejected["reason"].value_counts()


def test_the_bridge_appends_messages_to_the_stream_folder_and_malformed_ones_are_rejected_with_a_reason(
    stream_folder, tmp_path, monkeypatch
):
    import paho.mqtt.client as mqtt

    from tsplatform.stream import Cursor, JsonlSegmentSource

    if not reachable(MQTT_URL.replace("mqtt://", "tcp://")):
        missing(f"no MQTT broker at {MQTT_URL} (TSPLATFORM_TEST_MQTT_URL)")
    monkeypatch.delenv("TSPLATFORM_STREAM_URL", raising=False)
    host, port = MQTT_URL.split("://", 1)[1].rsplit(":", 1)
    tag = uuid.uuid4().hex[:10]
    topic, log = f"tsp-test/{tag}/x", tmp_path / "bridge.log"
    bridge = start_bridge(f"{MQTT_URL}/{topic}", f"tsp-bridge-{tag}", log)
    try:
        wait_for(lambda: "Subscribed to" in log.read_text(), 60, "the bridge's subscription")
        device = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"tsp-device-{tag}")
        device.connect(host, int(port))
        device.loop_start()
        for payload in (b'{"sensor_id":"s1","ts":"2024-01-01T00:00:00Z","value":1.5}',
                        b'{"sensor_id":"s1",\n "ts":"2024-01-01T00:00:01Z", "value":2}', b"junk"):
            device.publish(topic, payload, qos=1).wait_for_publish(timeout=10)
        device.loop_stop()
        wait_for(lambda: "Forwarded" in log.read_text() or len(JsonlSegmentSource(stream_folder).read_since(Cursor())[0]) == 2,
                 30, "two readings in the folder")
    finally:
        os.killpg(bridge.pid, signal.SIGINT)
        bridge.wait(timeout=30)
        cleaner = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"tsp-bridge-{tag}", clean_session=True)
        cleaner.connect(host, int(port))
        cleaner.disconnect()
    assert bridge.returncode == 0, log.read_text()
    result = JsonlSegmentSource(stream_folder).read_range(Cursor(), JsonlSegmentSource(stream_folder).latest_cursor())
    assert result.records["value"].tolist() == [1.5, 2.0]
    assert result.rejects[["reason", "line"]].values.tolist() == [["bad JSON", "junk"]]
