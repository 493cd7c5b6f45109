"""A backlog into ``sensor_readings`` the way the sensor's runs store it, for either source.

Write (or publish, each reading acknowledged) N readings, then store them range by range: the
ranges the sensor would ask for (``plan_ranges`` on the segment sizes, ``plan_sequence_ranges``
on a broker's sequence), each through ``ingest_range`` (the ingest step's own function: range read
+ one transaction) on a fresh DuckDB warehouse. Dagster's run overhead is left out on purpose: it
is the same for both sources and case 4 measures it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import Stopwatch
from benchmarks.stream_sources import TimedSource, broker_cpu_seconds, write_backlog


@dataclass
class Backlog:
    source: str  # "JSONL" or "NATS"
    readings: int  # written (acknowledged, for NATS)
    write_wall: float
    write_cpu: float
    store_wall: float  # every range: read + store
    store_cpu: float
    read_wall: float  # of which the range reads
    ranges: int
    stored: int  # rows in sensor_readings afterwards
    distinct: int  # distinct (sensor_id, ts) among them
    broker_cpu: float | None = None  # nats-server's CPU over the store, when it runs here

    @property
    def exactly_once(self) -> bool:
        return self.stored == self.distinct == self.readings


def measure(root: Path, readings: int, sensors: int, stream_url: str | None = None) -> Backlog:
    """The JSONL folder under ``root`` (``stream_url`` None) or the JetStream stream it names."""
    from tsplatform.stream.range_ingest import ingest_range  # imported before the clock starts
    from tsplatform.warehouse import open_warehouse

    root.mkdir(parents=True, exist_ok=True)
    warehouse = open_warehouse(f"duckdb:///{root / 'warehouse.duckdb'}")
    writer, source, split = _source(root / "stream", stream_url)
    with Stopwatch() as writing, writer:
        written = write_backlog(writer, readings, sensors)
    timed = TimedSource(source)
    ranges = split(source)
    broker_before = broker_cpu_seconds() if stream_url else None
    with Stopwatch() as storing:
        for number, (start, end) in enumerate(ranges):
            ingest_range(warehouse, timed, start.to_string(), end.to_string(), f"benchmark-{number}")
    broker_after = broker_cpu_seconds() if stream_url else None
    with warehouse.transaction() as session:
        stored, distinct = session.fetch_one(
            "SELECT count(*), count(DISTINCT (sensor_id, ts)) FROM sensor_readings")
    broker = broker_after - broker_before if broker_before is not None and broker_after is not None else None
    return Backlog("NATS" if stream_url else "JSONL", written, writing.wall, writing.cpu, storing.wall, storing.cpu,
                   timed.read_seconds, len(ranges), int(stored), int(distinct), broker)


def _source(folder: Path, stream_url: str | None):
    """(writer, source, split) for one source; ``split(source)`` gives the sensor's ranges."""
    from tsplatform.stream import Cursor, JsonlSegmentSource, SegmentWriter
    from tsplatform.stream.address import nats_stream
    from tsplatform.stream.jetstream import JetStreamSource, JetStreamWriter
    from tsplatform.stream.range_planning import plan_ranges, plan_sequence_ranges

    unlimited = 1_000_000  # the sensor asks for 4 at a time and the next ones later: the same ranges
    if stream_url is None:
        folder.mkdir(parents=True, exist_ok=True)

        def split_folder(source):
            sizes = [(name, (folder / name).stat().st_size) for name in source.segments()]
            return plan_ranges(Cursor(), source.latest_cursor(), sizes, max_ranges=unlimited)

        return SegmentWriter(folder), JsonlSegmentSource(folder), split_folder
    stream = nats_stream(stream_url)

    def split_sequence(source):
        return plan_sequence_ranges(source.earliest_cursor(), source.latest_cursor(), max_ranges=unlimited)

    return JetStreamWriter(stream), JetStreamSource(stream), split_sequence
