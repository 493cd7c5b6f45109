"""Retention of the JSON Lines folder: which old segments may go, and removing them safely.

A segment may be removed when it is

* sealed: not the newest segment (the writer only ever appends to the newest one, see
  ``segments``), so its bytes are final;
* fully stored: every byte of it, up to its size (a torn last line included: the next range
  records it as a reject), lies inside ranges of the warehouse ledger ``sensor_stream_ranges``.
  A range ending in a later segment covers this one to its end. Stored bytes are never read again
  by the sensor, so the sensor's own cursor needs no look;
* old: its newest reading (from the warehouse, which holds every line of a fully stored segment)
  is at least ``max_age`` before now; a segment without a single reading goes by its file mtime.
  The reading time, not the mtime, because a backfill writes old readings today.

Each removal is first appended (and fsynced) to ``retired-segments.jsonl`` with the segment's
size, then the file is unlinked. The source accepts a cursor into a retired segment (the range
reads nothing there: those bytes were stored), so a run whose range starts at a removed
segment's end still works; a cursor into a segment missing for any other reason still fails.
NATS JetStream is not touched: its stream keeps its own limits (max age / bytes / messages).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tsplatform.stream.segments import list_segments, segment_sequence

RETIRED_FILE = "retired-segments.jsonl"
RETENTION_VARIABLE = "TSPLATFORM_STREAM_RETENTION"
DEFAULT_RETENTION = "7D"
DISABLED = ("0", "off", "none", "never")

Span = tuple[int, int, int, int]  # a ledger range: start sequence, start offset, end sequence, end offset


@dataclass(frozen=True)
class RemovableSegment:
    name: str
    size: int
    newest: dt.datetime  # UTC: newest reading, or the file's mtime when it holds none
    age_from: str  # "reading" or "mtime"


def parse_retention(text: str | None) -> dt.timedelta | None:
    """A retention age from ``7D``, ``36h``, ``90min``; ``0``/``off`` (or a zero span) = disabled (None)."""
    import pandas as pd

    text = (text if text is not None else DEFAULT_RETENTION).strip() or DEFAULT_RETENTION
    if text.lower() in DISABLED:
        return None
    try:
        span = pd.Timedelta(text)
    except ValueError:
        raise ValueError(f"retention must be a duration such as 7D, 36h or off, got {text!r}") from None
    if span < pd.Timedelta(0):
        raise ValueError(f"retention must not be negative, got {text!r}")
    return None if span == pd.Timedelta(0) else span.to_pytimedelta()


def retention_from_environment() -> dt.timedelta | None:
    return parse_retention(os.environ.get(RETENTION_VARIABLE))


def is_fully_stored(sequence: int, size: int, spans: Iterable[Span]) -> bool:
    """True when the ledger ranges cover bytes ``[0, size)`` of segment ``sequence``."""
    pieces = []
    for start_sequence, start_offset, end_sequence, end_offset in spans:
        if start_sequence > sequence or end_sequence < sequence:
            continue
        low = start_offset if start_sequence == sequence else 0
        high = end_offset if end_sequence == sequence else size
        if high > low:
            pieces.append((low, high))
    reach = 0
    for low, high in sorted(pieces):
        if low > reach:
            return False
        reach = max(reach, high)
    return reach >= size


def removable_segments(
    folder: Path,
    spans: Iterable[Span],
    newest_readings: Mapping[str, dt.datetime],
    max_age: dt.timedelta,
    now: dt.datetime,
) -> list[RemovableSegment]:
    """The sealed, fully stored segments whose newest reading is at least ``max_age`` old.

    spans: the folder's ledger ranges (``warehouse.stream_tables.folder_spans``); newest_readings:
    segment name -> newest reading time (naive = UTC).
    """
    spans = list(spans)
    now = _utc(now)
    chosen = []
    for name in list_segments(folder)[:-1]:  # the newest segment is the live one
        path = Path(folder) / name
        try:
            info = path.stat()
        except FileNotFoundError:  # removed meanwhile
            continue
        if not is_fully_stored(segment_sequence(name), info.st_size, spans):
            continue
        if name in newest_readings and newest_readings[name] is not None:
            newest, source = _utc(newest_readings[name]), "reading"
        else:
            newest, source = dt.datetime.fromtimestamp(info.st_mtime, dt.UTC), "mtime"
        if now - newest >= max_age:
            chosen.append(RemovableSegment(name, info.st_size, newest, source))
    return chosen


def remove_segments(folder: Path, segments: Iterable[RemovableSegment], now: dt.datetime | None = None) -> list[RemovableSegment]:
    """Record each segment in ``retired-segments.jsonl`` (fsynced), then unlink it; returns those removed."""
    folder = Path(folder)
    now = _utc(now or dt.datetime.now(dt.UTC))
    removed = []
    for segment in segments:
        _record(folder, {"segment": segment.name, "size": segment.size, "newest": segment.newest.isoformat(),
                         "removed_at": now.isoformat()})
        try:
            os.unlink(folder / segment.name)
        except FileNotFoundError:
            continue  # another prune got there first
        removed.append(segment)
    return removed


@dataclass
class PruneOutcome:
    max_age: dt.timedelta
    segments: list[RemovableSegment]  # removed (or, on a dry run, that would be)
    kept: int  # segments left in the folder
    dry_run: bool = False

    @property
    def bytes(self) -> int:
        return sum(segment.size for segment in self.segments)


def prune(warehouse, folder: Path, max_age: dt.timedelta, *, now: dt.datetime | None = None, dry_run: bool = False) -> PruneOutcome:
    """Read the ledger and newest reading times (one short transaction), then remove what may go."""
    from tsplatform.warehouse import stream_tables  # the stream package stays warehouse-free on import

    now = _utc(now or dt.datetime.now(dt.UTC))
    with warehouse.transaction() as session:
        spans = stream_tables.folder_spans(session)
        newest = stream_tables.newest_reading_per_segment(session)
    chosen = removable_segments(folder, spans, newest, max_age, now)
    removed = chosen if dry_run else remove_segments(folder, chosen, now)
    kept = len(list_segments(folder)) - (len(removed) if dry_run else 0)
    return PruneOutcome(max_age, removed, kept, dry_run)


def retired_segments(folder: Path) -> dict[str, int]:
    """Segment name -> size of every segment retention removed (unreadable lines are skipped)."""
    try:
        text = (Path(folder) / RETIRED_FILE).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return {}
    retired = {}
    for line in text.splitlines():
        try:
            entry = json.loads(line)
            retired[str(entry["segment"])] = int(entry["size"])
        except (ValueError, KeyError, TypeError):
            continue
    return retired


def _record(folder: Path, entry: dict) -> None:
    line = (json.dumps(entry, separators=(",", ":")) + "\n").encode()
    fd = os.open(folder / RETIRED_FILE, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            line = b"\n" + line  # a crash tore the last entry: never glue this one to it
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def _utc(moment: dt.datetime) -> dt.datetime:
    if hasattr(moment, "to_pydatetime"):
        moment = moment.to_pydatetime()
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
