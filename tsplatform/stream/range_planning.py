"""The stream sensor's bookkeeping, without Dagster: its cursor, the ranges it asks runs for, run keys.

The sensor cursor is a JSON string::

    {"next": {"segment": "segment-00000003.jsonl", "offset": 5120},
     "pending": [{"start": "<stream cursor>", "end": "<stream cursor>", "attempt": 0}]}

``next`` is where the next range starts: everything before it has been asked for. ``pending``
are the ranges asked for whose storage is not confirmed yet (a run that has not finished, or
failed). A range leaves ``pending`` only when a run stored it (its ingest step succeeded, or the
warehouse ledger covers it), so a failed run can never make its range be skipped. A bare stream
cursor (``{"segment": ..., "offset": ...}``) is accepted as a cursor too, so an operator can set
the sensor to any point of the stream from the UI.

On a broker stream (``TSPLATFORM_STREAM_URL=nats://…``) the cursors are ``SequenceCursor``s
(``{"stream":"READINGS","seq":120}``), ranges are cut by message count and run keys read
``sensor_stream:READINGS:0..120``; everything else is the same.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

from tsplatform.stream import Cursor
from tsplatform.stream.cursor import SequenceCursor, cursor_from_string
from tsplatform.stream.segments import segment_sequence
from tsplatform.warehouse.stream_tables import StreamRange

RUN_KEY_PREFIX = "sensor_stream"
MAX_RANGE_BYTES = 256 * 1024 * 1024  # ~3 million readings: what one run reads at most
MAX_PENDING_RANGES = 4  # no new range is asked for while this many are unconfirmed (no pile-up)
MAX_ATTEMPTS = 5  # runs per range (1 + 4 retries) before the sensor stops retrying it by itself
MAX_RANGE_MESSAGES = 200_000  # a broker range: ~25 s of fetching for one run


@dataclass(frozen=True)
class PendingRange:
    start: str
    end: str
    attempt: int = 0  # 0 = the first run; n = the n-th retry (its run key ends in "#retry<n>")
    gave_up: bool = False  # MAX_ATTEMPTS runs failed: waits for a person to re-execute a run

    @property
    def base_key(self) -> str:
        return range_key(cursor_from_string(self.start), cursor_from_string(self.end))

    @property
    def run_key(self) -> str:
        return self.base_key if self.attempt == 0 else f"{self.base_key}#retry{self.attempt}"

    def stream_range(self) -> StreamRange:
        return stream_range(cursor_from_string(self.start), cursor_from_string(self.end))

    def retried(self) -> PendingRange:
        return replace(self, attempt=self.attempt + 1)

    def to_json(self) -> dict:
        payload = {"start": self.start, "end": self.end, "attempt": self.attempt}
        if self.gave_up:
            payload["gave_up"] = True
        return payload


@dataclass
class SensorState:
    next: Cursor | SequenceCursor = field(default_factory=Cursor)
    pending: list[PendingRange] = field(default_factory=list)

    @classmethod
    def from_string(cls, text: str | None, beginning: Cursor | SequenceCursor | None = None) -> SensorState:
        """Parse a sensor cursor; an empty one starts at ``beginning`` (default: the folder's)."""
        if not text:
            return cls(beginning if beginning is not None else Cursor())
        try:
            payload = json.loads(text)
        except ValueError:
            raise ValueError(f"sensor cursor is not JSON: {text!r}") from None
        if isinstance(payload, dict) and set(payload) in ({"segment", "offset"}, {"stream", "seq"}):
            return cls(cursor_from_string(text))  # a bare stream cursor set by hand
        if not isinstance(payload, dict) or "next" not in payload:
            raise ValueError(f"sensor cursor needs a 'next' stream cursor: {text!r}")
        nxt = payload["next"]
        position = cursor_from_string(json.dumps(nxt) if isinstance(nxt, dict) else nxt)
        pending = []
        for item in payload.get("pending", []):
            entry = PendingRange(
                str(item["start"]), str(item["end"]), int(item.get("attempt", 0)), bool(item.get("gave_up", False))
            )
            cursor_from_string(entry.start), cursor_from_string(entry.end)  # validate
            pending.append(entry)
        return cls(position, pending)

    def to_string(self) -> str:
        payload = {
            "next": json.loads(self.next.to_string()),
            "pending": [entry.to_json() for entry in self.pending],
        }
        return json.dumps(payload, separators=(",", ":"))


def position_label(cursor: Cursor | SequenceCursor) -> str:
    """``3@5120`` for (segment 3, offset 5120); ``0@0`` is the beginning. A broker position: its sequence."""
    if isinstance(cursor, SequenceCursor):
        return str(cursor.seq)
    return f"{segment_sequence(cursor.segment) if cursor.segment else 0}@{cursor.offset}"


def range_key(start: Cursor | SequenceCursor, end: Cursor | SequenceCursor) -> str:
    """The run key of a range: ``sensor_stream:1@0..3@5120`` (broker: ``sensor_stream:READINGS:0..120``).
    Retries append ``#retry<n>``."""
    stream = f"{start.stream}:" if isinstance(start, SequenceCursor) else ""
    return f"{RUN_KEY_PREFIX}:{stream}{position_label(start)}..{position_label(end)}"


def stream_range(start: Cursor | SequenceCursor, end: Cursor | SequenceCursor) -> StreamRange:
    if isinstance(start, SequenceCursor) and isinstance(end, SequenceCursor):  # ledger positions (0, seq), kept apart by the key prefix
        prefix = start.to_string().split('"seq"')[0]
        return StreamRange(start.to_string(), end.to_string(), 0, start.seq, 0, end.seq, prefix)

    if not (isinstance(start, Cursor) and isinstance(end, Cursor)):
        raise TypeError(f"both ends of a range are the same kind of cursor: {start} and {end}")

    def sequence(cursor: Cursor) -> int:
        return segment_sequence(cursor.segment) if cursor.segment else 0

    return StreamRange(start.to_string(), end.to_string(), sequence(start), start.offset, sequence(end), end.offset)


def plan_ranges(
    position: Cursor, latest: Cursor, segment_sizes: list[tuple[str, int]], *, max_bytes: int = MAX_RANGE_BYTES,
    max_ranges: int = MAX_PENDING_RANGES,
) -> list[tuple[Cursor, Cursor]]:
    """Split ``[position, latest)`` into ranges of at most ~``max_bytes`` (cut only where a segment
    starts, so every cut is on a line boundary; a single bigger segment is one range), at most
    ``max_ranges`` of them. ``segment_sizes``: (name, size) of every segment, in order."""
    if not position < latest or max_ranges < 1:
        return []
    first_sequence = segment_sequence(position.segment) if position.segment else 0
    last_sequence = segment_sequence(latest.segment) if latest.segment else 0
    ranges: list[tuple[Cursor, Cursor]] = []
    start, used = position, 0
    for name, size in segment_sizes:
        sequence = segment_sequence(name)
        if sequence < first_sequence or sequence > last_sequence:
            continue
        begin = position.offset if name == position.segment else 0
        stop = latest.offset if name == latest.segment else size
        length = max(0, stop - begin)
        if used and used + length > max_bytes:
            cut = Cursor(name, 0)
            ranges.append((start, cut))
            if len(ranges) == max_ranges:
                return ranges
            start, used = cut, 0
        used += length
    ranges.append((start, latest))
    return ranges


def plan_sequence_ranges(
    position: SequenceCursor, latest: SequenceCursor, *, max_messages: int = MAX_RANGE_MESSAGES,
    max_ranges: int = MAX_PENDING_RANGES,
) -> list[tuple[SequenceCursor, SequenceCursor]]:
    """Split ``[position, latest)`` of a broker stream into ranges of at most ``max_messages``."""
    if not position < latest or max_ranges < 1:
        return []
    ranges: list[tuple[SequenceCursor, SequenceCursor]] = []
    start = position.seq
    while start < latest.seq and len(ranges) < max_ranges:
        stop = min(start + max_messages, latest.seq)
        ranges.append((SequenceCursor(position.stream, start), SequenceCursor(position.stream, stop)))
        start = stop
    return ranges
