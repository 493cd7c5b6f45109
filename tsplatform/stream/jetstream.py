"""The stream on a NATS JetStream broker: a ``ReadingSource`` read by sequence ranges, and a
publisher that waits for every acknowledgement.

A message is one reading in the JSON Lines format of ``codec`` (no trailing newline needed), on
the subject ``<prefix>.<sensor_id>`` (default ``readings.sensor_1``); the stream captures
``<prefix>.>``. A reader's position is a ``SequenceCursor``: ``[a, b)`` holds messages ``a+1 .. b``
whatever their subject, so every run of the same range reads the same messages, and a message that
is not a reading becomes a reject at (stream name, sequence).

nats-py is asyncio; the Dagster sensor and run are not. ``call`` runs one coroutine on a fresh
event loop (a tick or a run does a handful of calls); ``JetStreamWriter`` keeps one connection on a
loop in a background thread, which nats-py needs to reconnect while the generator sleeps.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import threading
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tsplatform.stream.codec import ParsedLines, encode_readings, parse_lines
from tsplatform.stream.cursor import SequenceCursor
from tsplatform.stream.source import MissingSegmentError, ReadingSource, ReadResult, _Collector

DEFAULT_SUBJECT_PREFIX = "readings"
FETCH_BATCH = 1000
MULTI_LINE = "message holds more than one line"
_SUBJECT_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


class MissingMessagesError(MissingSegmentError):
    """A range asks for messages the stream no longer (or does not yet) hold."""


class PublishError(RuntimeError):
    """Readings could not be acknowledged by the broker in time: nothing is dropped silently."""


@dataclass(frozen=True)
class NatsStream:
    """Where the stream lives: a server URL (``nats://host:port``), a stream name, a subject prefix."""

    server: str
    name: str
    subject_prefix: str = DEFAULT_SUBJECT_PREFIX
    connect_timeout: float = 3.0

    def subject(self, sensor_id: str) -> str:
        """``readings.<sensor_id>``; characters a subject cannot hold become ``_`` (the payload keeps the id)."""
        return f"{self.subject_prefix}.{_SUBJECT_UNSAFE.sub('_', sensor_id) or '_'}"

    async def connect(self, **options):
        import nats

        async def quiet(error) -> None:  # nats-py logs a traceback per failed attempt by default
            pass

        # max_reconnect_attempts=0 would retry the first connection forever: 1 = two tries, then NoServersError
        settings = {"connect_timeout": self.connect_timeout, "allow_reconnect": False, "max_reconnect_attempts": 1,
                    "reconnect_time_wait": 0.5, "error_cb": quiet}
        settings.update(options)
        return await nats.connect(self.server, **settings)

    def call(self, work):
        """Run ``await work(connection)`` on a fresh loop with a fresh connection (sync callers)."""

        async def session():
            try:
                connection = await asyncio.wait_for(self.connect(), timeout=3 * self.connect_timeout)
            except TimeoutError:
                raise ConnectionError(f"no NATS server answers at {self.server}") from None
            try:
                return await work(connection)
            finally:
                await connection.close()

        return asyncio.run(session())

    async def ensure(self, connection) -> None:
        """Create the stream (file storage, capturing ``<prefix>.>``) unless it exists."""
        from nats.js.errors import NotFoundError

        manager = connection.jsm()
        try:
            await manager.stream_info(self.name)
        except NotFoundError:
            await manager.add_stream(name=self.name, subjects=[f"{self.subject_prefix}.>"])

    def delete(self) -> None:
        """Drop the stream and its messages (tests; an operator resetting a broker stream)."""
        from nats.js.errors import NotFoundError

        async def work(connection):
            try:
                await connection.jsm().delete_stream(self.name)
            except NotFoundError:
                pass

        self.call(work)


class JetStreamSource(ReadingSource[SequenceCursor]):
    """Readings of one JetStream stream by ``SequenceCursor`` range."""

    def __init__(self, stream: NatsStream, *, fetch_timeout: float = 5.0) -> None:
        self.stream = stream
        self.fetch_timeout = fetch_timeout

    def earliest_cursor(self) -> SequenceCursor:
        return SequenceCursor(self.stream.name, 0)

    def parse_cursor(self, text: str | None) -> SequenceCursor:
        if not text:
            return self.earliest_cursor()
        cursor = SequenceCursor.from_string(text)
        if cursor.stream != self.stream.name:
            raise ValueError(f"cursor {text} is for stream {cursor.stream}, this source reads {self.stream.name}")
        return cursor

    def latest_cursor(self) -> SequenceCursor:
        """After the last stored message; the beginning while the stream does not exist yet."""
        return SequenceCursor(self.stream.name, self.stream.call(self._last_seq))

    async def _last_seq(self, connection) -> int:
        from nats.js.errors import NotFoundError

        try:
            info = await connection.jsm().stream_info(self.stream.name)
        except NotFoundError:
            return 0
        return int(info.state.last_seq)

    def read_range(self, start, end, *, max_records: int | None = None) -> ReadResult:
        start, end = self.parse_cursor(start.to_string()), self.parse_cursor(end.to_string())
        if end < start:
            raise ValueError(f"range end {end} is before its start {start}")
        if max_records is not None and max_records < 0:
            raise ValueError("max_records must be >= 0")
        messages = self.stream.call(lambda connection: self._fetch(connection, start.seq, end.seq)) if start < end else []
        return _result(self.stream.name, messages, start, end, max_records)

    async def _fetch(self, connection, after: int, last: int) -> list[tuple[int, bytes]]:
        """Messages ``after+1 .. last`` from an ephemeral consumer that acks nothing (reading is
        not consuming: the same range can be read again). Raises when one of them is missing."""
        from nats.errors import TimeoutError as NatsTimeout
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
        from nats.js.errors import NotFoundError

        manager = connection.jsm()
        try:
            info = await manager.stream_info(self.stream.name)
        except NotFoundError:
            raise MissingMessagesError(f"stream {self.stream.name} does not exist on {self.stream.server}") from None
        if last > info.state.last_seq:
            raise MissingMessagesError(f"range ends at {last}, past the last message {info.state.last_seq} of {self.stream.name}")
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=after + 1, ack_policy=AckPolicy.NONE,
            inactive_threshold=60.0, mem_storage=True,
        )
        consumer = await manager.add_consumer(self.stream.name, config=config)
        subscription = await connection.jetstream().pull_subscribe_bind(consumer=consumer.name, stream=self.stream.name)
        messages: list[tuple[int, bytes]] = []
        seen = after
        try:
            while seen < last:
                try:
                    batch = await subscription.fetch(min(FETCH_BATCH, last - seen), timeout=self.fetch_timeout)
                except NatsTimeout:
                    break
                for message in batch:
                    seen = message.metadata.sequence.stream
                    if seen <= last:
                        messages.append((seen, message.data))
        finally:
            try:
                await subscription.unsubscribe()
                await manager.delete_consumer(self.stream.name, consumer.name)
            except Exception:  # noqa: BLE001 - the connection is gone: the server drops an idle consumer itself
                pass
        if len(messages) != last - after:
            raise MissingMessagesError(
                f"stream {self.stream.name} holds {len(messages)} of the messages {after + 1}..{last} "
                "(deleted by a retention limit or by hand?)"
            )
        return messages


def _result(stream: str, messages: list[tuple[int, bytes]], start, end, max_records: int | None) -> ReadResult:
    """Parse messages as lines of a segment whose 'offsets' are sequence numbers."""
    bodies = [(seq, data[:-1] if data.endswith(b"\n") else data) for seq, data in messages]
    multi = [(seq, MULTI_LINE, _excerpt(body)) for seq, body in bodies if b"\n" in body]
    kept = [(seq, body) for seq, body in bodies if b"\n" not in body]
    lines = [data + b"\n" for _, data in kept]
    starts = np.cumsum([0] + [len(line) for line in lines[:-1]]).astype(np.int64) if lines else np.array([], np.int64)
    sequences = np.array([seq for seq, _ in kept], dtype=np.int64)
    parsed = parse_lines(b"".join(lines)) if lines else ParsedLines()
    to_seq = lambda offsets: sequences[np.searchsorted(starts, offsets)] if len(offsets) else np.array([], np.int64)  # noqa: E731
    rejects = sorted([(int(to_seq(np.array([offset]))[0]), reason, text) for offset, reason, text in parsed.rejects] + multi)
    record_seqs = to_seq(parsed.starts)
    new_end = end
    if max_records is not None and len(parsed) > max_records:
        last_kept = int(record_seqs[max_records - 1]) if max_records else start.seq
        new_end = SequenceCursor(stream, last_kept)
        parsed = ParsedLines(parsed.sensor_ids[:max_records], parsed.ts[:max_records], parsed.values[:max_records],
                             parsed.starts[:max_records], parsed.ends[:max_records])
        record_seqs = record_seqs[:max_records]
        rejects = [reject for reject in rejects if reject[0] <= last_kept]
    parsed.starts, parsed.rejects = record_seqs, rejects
    collector = _Collector(None)
    collector.add(stream, parsed)
    return collector.result(start, new_end)


def _excerpt(data: bytes) -> str:
    text = data.decode("utf-8", errors="replace")
    return text if len(text) <= 200 else text[:200] + "…"


@dataclass
class PublishCounts:
    published: int = 0  # acknowledged by the broker as stored
    deduplicated: int = 0  # acknowledged as a re-send of a message it already holds (same payload)
    retried: int = 0  # publish attempts that timed out or failed and were sent again


class JetStreamWriter:
    """Publishes readings and returns only when the broker acknowledged every one of them.

    Each message carries ``Nats-Msg-Id`` = a hash of its payload, so a retry after a lost
    acknowledgement is dropped by the broker's duplicate window instead of stored twice. A batch
    that is not acknowledged within ``ack_deadline`` seconds raises ``PublishError``.
    Same interface as ``SegmentWriter`` for the generator loops (``append``, ``segments_written``).
    """

    def __init__(self, stream: NatsStream, *, ack_timeout: float = 5.0, ack_deadline: float = 120.0,
                 concurrency: int = 1000) -> None:
        self.stream = stream
        self.ack_timeout = ack_timeout
        self.ack_deadline = ack_deadline
        self.concurrency = concurrency
        self.counts = PublishCounts()
        self.segments_written: list[str] = [stream.name]
        self.records_written = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._connection = None

    def __enter__(self) -> JetStreamWriter:
        self.open()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def open(self) -> None:
        if self._loop is not None:
            return
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="nats-publisher", daemon=True)
        self._thread.start()
        try:
            self._connection = self._run(self._open())
        except BaseException:
            self.close()
            raise

    async def _open(self):
        """Connect (or fail after ``ack_deadline``); later outages are reconnected forever, and
        publishing meanwhile retries until its own deadline."""
        try:
            connection = await asyncio.wait_for(
                self.stream.connect(allow_reconnect=True, max_reconnect_attempts=-1, reconnect_time_wait=0.25),
                timeout=min(self.ack_deadline, 10.0),
            )
        except TimeoutError:
            raise ConnectionError(f"no NATS server answers at {self.stream.server}") from None
        await self.stream.ensure(connection)
        return connection

    def close(self) -> None:
        if self._loop is None:
            return
        try:
            if self._connection is not None:
                asyncio.run_coroutine_threadsafe(self._connection.close(), self._loop).result(timeout=10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._loop.close()
            self._loop = self._thread = self._connection = None

    def append(self, readings: pd.DataFrame) -> int:
        """Publish readings (sensor_id, ts, value); returns how many the broker acknowledged."""
        lines = encode_readings(readings)
        messages = [(self.stream.subject(sensor), line[:-1]) for sensor, line in zip(readings["sensor_id"].tolist(), lines)]
        return self.publish(messages)

    def publish(self, messages: list[tuple[str, bytes]]) -> int:
        """Publish (subject, payload) pairs in order, each until acknowledged (or PublishError)."""
        if self._loop is None:
            raise RuntimeError("the writer is not open")
        done = 0
        for first in range(0, len(messages), self.concurrency):
            done += self._run(self._publish_all(messages[first : first + self.concurrency]))
        self.records_written += done
        return done

    async def _publish_all(self, messages: list[tuple[str, bytes]]) -> int:
        assert self._connection is not None, "publish runs on an open writer"
        js = self._connection.jetstream()
        waiting = list(messages)
        deadline = time.monotonic() + self.ack_deadline
        pause = 0.1
        while True:
            outcomes = await asyncio.gather(
                *(js.publish(subject, payload, timeout=self.ack_timeout,
                             headers={"Nats-Msg-Id": hashlib.blake2b(payload, digest_size=16).hexdigest()})
                  for subject, payload in waiting),
                return_exceptions=True,
            )
            failed = []
            for message, outcome in zip(waiting, outcomes):
                if isinstance(outcome, BaseException):
                    if isinstance(outcome, (asyncio.CancelledError, KeyboardInterrupt)):
                        raise outcome
                    failed.append((message, outcome))
                elif outcome.duplicate:
                    self.counts.deduplicated += 1
                else:
                    self.counts.published += 1
            if not failed:
                return len(messages)
            if time.monotonic() + pause > deadline:
                raise PublishError(
                    f"{len(failed)} of {len(messages)} readings not acknowledged by {self.stream.server} "
                    f"(stream {self.stream.name}) within {self.ack_deadline:g} s: {failed[0][1]!r}"
                )
            self.counts.retried += len(failed)
            waiting = [message for message, _ in failed]
            await asyncio.sleep(pause)
            pause = min(pause * 2, 2.0)

    def _run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()
