"""The MQTT bridge for devices: subscribe to a topic with QoS 1 on a persistent session and append
every message to the configured stream (the JSON Lines folder or JetStream) before acknowledging it.

Why this order: a message is PUBACKed to the MQTT broker only after the stream holds it, so a bridge
killed at any point loses nothing (the broker redelivers what was not acknowledged when the same
client id reconnects; readings published while it is down are queued in its session). A message
delivered twice lands twice in the stream at worst: JetStream drops a repeat of the same payload
(message id), and storing is idempotent on (sensor_id, ts) either way.

Every message is forwarded as one line, valid or not: the ingest run judges it with the same rules
as a line of a file, and a malformed one lands in ``rejected_readings`` with its reason and position.
Newlines inside a payload become spaces (the only place JSON allows them is between tokens).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

DEFAULT_CLIENT_ID = "tsplatform-bridge"


@dataclass(frozen=True)
class MqttAddress:
    host: str
    port: int
    topic: str


def mqtt_address(url: str) -> MqttAddress:
    """``mqtt://host:port/TOPIC`` (the topic may hold ``/``, ``+`` and ``#``)."""
    parts = urlsplit(url)
    topic = unquote(parts.path[1:]) if parts.path.startswith("/") else ""
    if parts.scheme != "mqtt" or not parts.hostname or not topic:
        raise ValueError(f"expected mqtt://host:port/TOPIC, got {url!r}")
    return MqttAddress(parts.hostname, parts.port or 1883, topic)


def as_line(payload: bytes) -> bytes:
    """The payload as one stream line (newline-terminated)."""
    return payload.replace(b"\r\n", b" ").replace(b"\n", b" ").strip(b" ") + b"\n"


class Bridge:
    """Forwards messages to ``writer`` (a ``SegmentWriter`` or ``JetStreamWriter``), acking each after."""

    def __init__(self, address: MqttAddress, writer, *, client_id: str = DEFAULT_CLIENT_ID, on_ready=None) -> None:
        import paho.mqtt.client as mqtt

        self.address = address
        self.writer = writer
        self.forwarded = 0
        self.failure: BaseException | None = None
        self.connected = threading.Event()
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False,
                                  manual_ack=True)
        self.on_ready = on_ready
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self.failure = ConnectionError(f"MQTT broker refused the bridge: {reason_code}")
            return
        client.subscribe(self.address.topic, qos=1)
        self.connected.set()

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        if any(code.is_failure for code in reason_codes):
            self.failure = ConnectionError(f"MQTT broker refused the subscription to {self.address.topic}: {reason_codes}")
        elif self.on_ready is not None:
            self.on_ready()

    def _on_message(self, client, userdata, message) -> None:
        if self.failure is not None:
            return  # not acknowledged: the broker delivers it again to the next bridge
        try:
            with self._lock:
                line = as_line(message.payload)
                if hasattr(self.writer, "append_lines"):
                    self.writer.append_lines([line])
                else:
                    self.writer.publish([(self._subject(message.topic), line[:-1])])
                self.forwarded += 1
        except BaseException as error:  # noqa: BLE001 - stop the bridge; the message stays unacknowledged
            self.failure = error
            return
        client.ack(message.mid, message.qos)

    def _subject(self, topic: str) -> str:
        """The JetStream subject: ``<prefix>.mqtt`` (the payload names the sensor)."""
        return f"{self.writer.stream.subject_prefix}.mqtt"

    def run(self, stop) -> None:
        """Until ``stop.requested`` (a ``StopSignal``) or a failure, which is raised."""
        self.client.connect(self.address.host, self.address.port, keepalive=30)
        self.client.loop_start()
        try:
            while not stop.requested and self.failure is None:
                stop.sleep(0.2)
        finally:
            self.client.disconnect()
            self.client.loop_stop()
        if self.failure is not None:
            raise self.failure
