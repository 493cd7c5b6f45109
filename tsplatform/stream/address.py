"""Which stream the platform reads and writes: ``TSPLATFORM_STREAM_URL``.

Unset or empty: the JSON Lines folder (``data_paths().stream``), as before.
``nats://host:port/STREAM`` (optionally ``?subject=PREFIX``, default ``readings``): the NATS
JetStream stream ``STREAM``, messages on ``PREFIX.<sensor_id>``. Read when a sensor tick, a run or
a command starts, so every process of a deployment follows the same variable.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tsplatform.stream.cursor import is_stream_name
from tsplatform.stream.jetstream import DEFAULT_SUBJECT_PREFIX, JetStreamSource, JetStreamWriter, NatsStream
from tsplatform.stream.source import JsonlSegmentSource, ReadingSource

STREAM_URL_VARIABLE = "TSPLATFORM_STREAM_URL"


def stream_url() -> str:
    return os.environ.get(STREAM_URL_VARIABLE, "").strip()


def nats_stream(url: str | None = None) -> NatsStream | None:
    """The broker stream ``url`` (default: ``TSPLATFORM_STREAM_URL``) names; None for the folder."""
    url = stream_url() if url is None else url.strip()
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("nats", "tls"):
        raise ValueError(f"{STREAM_URL_VARIABLE} must be empty (the stream folder) or nats://host:port/STREAM, got {url!r}")
    name = parts.path.strip("/")
    if not parts.hostname or not is_stream_name(name):
        raise ValueError(f"{STREAM_URL_VARIABLE} needs a host and a stream name (letters, digits, _ or -): {url!r}")
    prefix = parse_qs(parts.query).get("subject", [DEFAULT_SUBJECT_PREFIX])[0]
    if not prefix or any(char in prefix for char in " *>") or prefix.endswith("."):
        raise ValueError(f"subject prefix {prefix!r} of {STREAM_URL_VARIABLE} is not a plain subject")
    server = f"{parts.scheme}://{parts.netloc}"
    return NatsStream(server, name, prefix)


def open_source(folder: Path | str, url: str | None = None) -> ReadingSource:
    """The configured stream to read: the JetStream stream, or the JSON Lines segments in ``folder``."""
    stream = nats_stream(url)
    return JetStreamSource(stream) if stream is not None else JsonlSegmentSource(folder)


def describe(folder: Path | str, url: str | None = None) -> str:
    stream = nats_stream(url)
    return f"stream {stream.name} on {stream.server}" if stream is not None else str(folder)


__all__ = ["STREAM_URL_VARIABLE", "JetStreamWriter", "nats_stream", "open_source", "stream_url", "describe"]
