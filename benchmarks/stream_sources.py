"""The two stream sources of the NATS case side by side: a throwaway JetStream stream on the
shared server, the backlog written to either source, and a read timer around a real source.

Both sources get the same generated readings (same generator, same seed), so their figures
differ only by where the readings live.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from tsplatform.stream import ReadingSource

NATS_SERVER = os.environ.get("TSPLATFORM_TEST_NATS_URL", "nats://127.0.0.1:4222")
CHUNK_TICKS = 20_000  # generator ticks per append: one frame of CHUNK_TICKS x sensors readings


def nats_unavailable(server: str = NATS_SERVER) -> str | None:
    """None if the server accepts a connection, else why not (the case then reports it, not a crash)."""
    host, _, port = server.split("://", 1)[-1].rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=3):
            return None
    except (OSError, ValueError) as error:
        return f"no NATS server at {server} (TSPLATFORM_TEST_NATS_URL): {error}"


@contextlib.contextmanager
def throwaway_stream(server: str = NATS_SERVER) -> Iterator[str]:
    """A ``nats://host:port/BENCH…?subject=bench_…`` URL for a stream of this run only, deleted
    afterwards. Its own subject prefix: a JetStream server refuses two streams with overlapping
    subjects, so the default ``readings.>`` would break (or capture) tests sharing the server."""
    from tsplatform.stream.address import nats_stream

    token = uuid.uuid4().hex[:12]
    url = f"{server}/BENCH{token}?subject=bench_{token}"
    try:
        yield url
    finally:
        nats_stream(url).delete()


def write_backlog(writer, readings: int, sensors: int) -> int:
    """Append ``readings`` generated readings (1 s apart per sensor, from 2024-01-01) to ``writer``
    (a ``SegmentWriter`` or a ``JetStreamWriter``); returns how many it took."""
    import pandas as pd

    from tsplatform.stream import ReadingGenerator

    generator = ReadingGenerator(sensors, seed=1)
    ticks = readings // sensors
    for first in range(0, ticks, CHUNK_TICKS):
        count = min(CHUNK_TICKS, ticks - first)
        writer.append(generator.simulate(pd.Timestamp("2024-01-01") + pd.Timedelta(seconds=first), count, "1s"))
    return writer.records_written


class TimedSource(ReadingSource):
    """A real source that adds up the wall time of its ``read_range`` calls, so the store time of
    ``ingest_range`` splits into reading and storing without a second pass."""

    def __init__(self, inner: ReadingSource) -> None:
        self.inner = inner
        self.read_seconds = 0.0

    def latest_cursor(self):
        return self.inner.latest_cursor()

    def earliest_cursor(self):
        return self.inner.earliest_cursor()

    def parse_cursor(self, text):
        return self.inner.parse_cursor(text)

    def read_range(self, start, end, *, max_records=None):
        began = time.perf_counter()
        try:
            return self.inner.read_range(start, end, max_records=max_records)
        finally:
            self.read_seconds += time.perf_counter() - began


def broker_cpu_seconds() -> float | None:
    """CPU seconds used so far by the local nats-server (None unless exactly one runs here): the
    broker's share of the work, which the client's CPU figure leaves out."""
    found = []
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        if text[text.index("(") + 1 : text.rindex(")")] == "nats-server":
            fields = text[text.rindex(")") + 2 :].split()
            found.append(sum(int(value) for value in fields[11:13]) / tick)
    return found[0] if len(found) == 1 else None
