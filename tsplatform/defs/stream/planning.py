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
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

from tsplatform.stream import Cursor
from tsplatform.stream.segments import segment_sequence
from tsplatform.warehouse.sensors import StreamRange

RUN_KEY_PREFIX = "sensor_stream"
MAX_RANGE_BYTES = 256 * 1024 * 1024  # ~3 million readings: what one run reads at most
MAX_PENDING_RANGES = 4  # no new range is asked for while this many are unconfirmed (no pile-up)
MAX_ATTEMPTS = 5  # runs per range (1 + 4 retries) before the sensor stops retrying it by itself


@dataclass(frozen=True)
class PendingRange:
    start: str
    end: str
    attempt: int = 0  # 0 = the first run; n = the n-th retry (its run key ends in "#retry<n>")
    gave_up: bool = False  # MAX_ATTEMPTS runs failed: waits for a person to re-execute a run

    @property
    def base_key(self) -> str:
        return range_key(Cursor.from_string(self.start), Cursor.from_string(self.end))

    @property
    def run_key(self) -> str:
        return self.base_key if self.attempt == 0 else f"{self.base_key}#retry{self.attempt}"

    def stream_range(self) -> StreamRange:
        return stream_range(Cursor.from_string(self.start), Cursor.from_string(self.end))

    def retried(self) -> "PendingRange":
        return replace(self, attempt=self.attempt + 1)

    def to_json(self) -> dict:
        payload = {"start": self.start, "end": self.end, "attempt": self.attempt}
        if self.gave_up:
            payload["gave_up"] = True
        return payload


@dataclass
class SensorState:
    next: Cursor = field(default_factory=Cursor)
    pending: list[PendingRange] = field(default_factory=list)

    @classmethod
    def from_string(cls, text: str | None) -> "SensorState":
        if not text:
            return cls()
        try:
            payload = json.loads(text)
        except ValueError:
            raise ValueError(f"sensor cursor is not JSON: {text!r}") from None
        if isinstance(payload, dict) and set(payload) == {"segment", "offset"}:
            return cls(Cursor.from_string(text))  # a bare stream cursor set by hand
        if not isinstance(payload, dict) or "next" not in payload:
            raise ValueError(f"sensor cursor needs a 'next' stream cursor: {text!r}")
        nxt = payload["next"]
        position = Cursor.from_string(json.dumps(nxt) if isinstance(nxt, dict) else nxt)
        pending = []
        for item in payload.get("pending", []):
            entry = PendingRange(
                str(item["start"]), str(item["end"]), int(item.get("attempt", 0)), bool(item.get("gave_up", False))
            )
            Cursor.from_string(entry.start), Cursor.from_string(entry.end)  # validate
            pending.append(entry)
        return cls(position, pending)

    def to_string(self) -> str:
        payload = {
            "next": {"segment": self.next.segment, "offset": self.next.offset},
            "pending": [entry.to_json() for entry in self.pending],
        }
        return json.dumps(payload, separators=(",", ":"))


def position_label(cursor: Cursor) -> str:
    """``3@5120`` for (segment 3, offset 5120); ``0@0`` is the beginning."""
    return f"{segment_sequence(cursor.segment) if cursor.segment else 0}@{cursor.offset}"


def range_key(start: Cursor, end: Cursor) -> str:
    """The run key of a range: ``sensor_stream:1@0..3@5120``. Retries append ``#retry<n>``."""
    return f"{RUN_KEY_PREFIX}:{position_label(start)}..{position_label(end)}"


def stream_range(start: Cursor, end: Cursor) -> StreamRange:
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
    last_sequence = segment_sequence(latest.segment)
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
