"""Reading the stream by cursor ranges, behind a small interface a message broker could implement.

The Dagster sensor asks ``latest_cursor()`` and requests a run for ``[previous, latest)``; the run
calls ``read_range(previous, latest)`` and gets exactly the same records every time, because the
range ends on a line boundary the writer had already flushed and every earlier segment is sealed.
A segment removed by retention (``retention``) was fully stored, so a range may start or end in it:
it contributes nothing to the read.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np
import pandas as pd

from tsplatform.stream.codec import ParsedLines, parse_lines
from tsplatform.stream.cursor import Cursor, SequenceCursor
from tsplatform.stream.retention import retired_segments
from tsplatform.stream.segments import complete_length, list_segments, segment_sequence

RECORD_COLUMNS = ["sensor_id", "ts", "value"]
REJECT_COLUMNS = ["segment", "offset", "reason", "line"]
POSITION_COLUMNS = ["segment", "offset"]
ISSUE_COLUMNS = ["segment", "offset", "sensor_id", "ts", "issue"]
DUPLICATE = "duplicate timestamp"
OUT_OF_ORDER = "out of order"
TORN_TAIL = "incomplete last line in a sealed segment"


class MissingSegmentError(FileNotFoundError):
    """A cursor names a segment that is no longer (or not yet) in the stream folder."""


@dataclass
class ReadResult:
    """What one read returns.

    records: sensor_id (str), ts (datetime64[ns, UTC]), value (float), in stream order; kept even
        when out of order or duplicated (those are listed in ``issues``).
    rejects: segment, offset, reason, line — lines that are not readings; skipped.
    issues: segment, offset, sensor_id, ts, issue — ``"duplicate timestamp"`` (same sensor and ts
        as an earlier record of this read) or ``"out of order"`` (older than a previous record of
        the same sensor in this read).
    start, end: the range actually read; ``end`` is where the next read should start.
    positions: segment, offset — where each record's line starts, row for row with ``records``
        (the identity of a reading in the stream: re-reading a range gives the same positions).
    """

    records: pd.DataFrame
    rejects: pd.DataFrame
    issues: pd.DataFrame
    start: Cursor | SequenceCursor
    end: Cursor | SequenceCursor
    positions: pd.DataFrame | None = None

    @property
    def duplicates(self) -> int:
        return int((self.issues["issue"] == DUPLICATE).sum())

    @property
    def out_of_order(self) -> int:
        return int((self.issues["issue"] == OUT_OF_ORDER).sum())

    def summary(self) -> dict:
        """Counts and cursors, ready to be used as run metadata."""
        return {
            "records": len(self.records),
            "rejects": len(self.rejects),
            "duplicates": self.duplicates,
            "out_of_order": self.out_of_order,
            "start_cursor": self.start.to_string(),
            "end_cursor": self.end.to_string(),
        }


# a source's own kind of position: a file segment and offset, or a broker sequence
CursorT = TypeVar("CursorT", Cursor, SequenceCursor)


class ReadingSource(ABC, Generic[CursorT]):
    """Anything readings can be read from by cursor range."""

    @abstractmethod
    def latest_cursor(self) -> CursorT:
        """The end of everything readable right now (exclusive)."""

    @abstractmethod
    def read_range(self, start: CursorT, end: CursorT, *, max_records: int | None = None) -> ReadResult:
        """Records in ``[start, end)``; with ``max_records``, stop after that many valid records."""

    @abstractmethod
    def earliest_cursor(self) -> CursorT:
        """Before the first reading."""

    @abstractmethod
    def parse_cursor(self, text: str | None) -> CursorT:
        """The cursor a string (a Dagster sensor cursor, a run config value) stands for."""

    def read_since(self, cursor: CursorT, max_records: int | None = None) -> tuple[pd.DataFrame, Cursor | SequenceCursor]:
        """New records since ``cursor`` and the cursor to resume from (rejects: use read_range)."""
        result = self.read_range(cursor, self.latest_cursor(), max_records=max_records)
        return result.records, result.end


class JsonlSegmentSource(ReadingSource[Cursor]):
    """The JSON Lines segments written by ``SegmentWriter`` in one folder (default: the stream folder)."""

    def __init__(self, folder: Path | str | None = None, *, chunk_bytes: int = 8 * 1024 * 1024) -> None:
        if folder is None:
            from tsplatform.settings import data_paths

            folder = data_paths().stream
        self.folder = Path(folder)
        self.chunk_bytes = chunk_bytes

    def segments(self) -> list[str]:
        return list_segments(self.folder)

    def earliest_cursor(self) -> Cursor:
        return Cursor.beginning()

    def parse_cursor(self, text: str | None) -> Cursor:
        return Cursor.from_string(text)

    def latest_cursor(self) -> Cursor:
        segments = self.segments()
        if not segments:
            return Cursor.beginning()
        return Cursor(segments[-1], complete_length(self.folder / segments[-1]))

    def read_range(self, start: Cursor, end: Cursor, *, max_records: int | None = None) -> ReadResult:
        if end < start:
            raise ValueError(f"range end {end} is before its start {start}")
        if max_records is not None and max_records < 0:
            raise ValueError("max_records must be >= 0")
        if max_records == 0:
            return _Collector(None).result(start, start)
        collector = _Collector(max_records)
        stopped_at = None
        for name, first, last, sealed in self._plan(start, end):
            for base, data, fragment in self._chunks(name, first, last, sealed):
                if data:
                    stopped_at = collector.add(name, parse_lines(data, base))
                    if stopped_at is not None:
                        break
                if fragment is not None:
                    collector.reject(name, fragment[0], TORN_TAIL, fragment[1])
            if stopped_at is not None:
                break
        new_end = Cursor(stopped_at[0], stopped_at[1]) if stopped_at is not None else end
        return collector.result(start, new_end)

    def _plan(self, start: Cursor, end: Cursor) -> list[tuple[str, int, int, bool]]:
        """(segment, first byte, stop byte, sealed) for each segment the range touches."""
        if end.segment is None:  # the beginning: nothing before it
            return []
        present = self.segments()
        retired = None
        for cursor in (start, end):
            if cursor.segment is not None and cursor.segment not in present:
                retired = retired_segments(self.folder) if retired is None else retired
                if cursor.offset > retired.get(cursor.segment, -1):  # a retired one was stored: nothing to read
                    raise MissingSegmentError(f"segment {cursor.segment} of cursor {cursor} is not in {self.folder}")
        low = segment_sequence(start.segment) if start.segment else 0
        high = segment_sequence(end.segment)
        plan = []
        for name in present:
            sequence = segment_sequence(name)
            if not low <= sequence <= high:
                continue
            path = self.folder / name
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                if name in retired_segments(self.folder):
                    continue  # removed by retention since the listing: it was stored
                raise MissingSegmentError(f"segment {name} vanished from {self.folder} while being read") from None
            first = start.offset if name == start.segment else 0
            if name == end.segment:
                last, sealed = end.offset, False
            else:
                last, sealed = size, True
            for offset, role in ((first, "start"), (last if not sealed else 0, "end")):
                _check_boundary(path, offset, size, f"{role} cursor")
            if first < last:  # a range starting at a segment's end opens nothing there (retention may take it)
                plan.append((name, first, last, sealed))
        return plan

    def _chunks(self, name: str, first: int, last: int, sealed: bool) -> Iterator[tuple[int, bytes, tuple | None]]:
        """(offset, complete lines, None) pieces of ``[first, last)``; a sealed segment's torn tail
        comes last as (offset, b"", (fragment offset, fragment))."""
        with open(self.folder / name, "rb") as handle:
            handle.seek(first)
            position = first
            carry = b""
            while position < last:
                data = handle.read(min(self.chunk_bytes, last - position))
                if not data:
                    raise RuntimeError(f"segment {name} shrank while being read")
                position += len(data)
                buffer = carry + data if carry else data
                cut = buffer.rfind(b"\n") + 1
                carry = buffer[cut:]
                if cut:
                    yield position - len(buffer), buffer[:cut], None
            if carry:
                if not sealed:  # cannot happen: the end cursor was checked to sit after a newline
                    raise RuntimeError(f"segment {name} changed under the reader")
                yield position, b"", (position - len(carry), _excerpt(carry))


def _check_boundary(path: Path, offset: int, size: int, role: str) -> None:
    """Cursors must sit at the start of a line: at 0 or just after a newline."""
    if offset > size:
        raise ValueError(f"{role} offset {offset} is past the end of {path.name} ({size} bytes)")
    if offset == 0:
        return
    with open(path, "rb") as handle:
        handle.seek(offset - 1)
        if handle.read(1) != b"\n":
            raise ValueError(f"{role} offset {offset} in {path.name} is not at a line boundary")


def _excerpt(fragment: bytes) -> str:
    text = fragment.decode("utf-8", errors="replace")
    return text if len(text) <= 200 else text[:200] + "…"


class _Collector:
    """Accumulates parsed chunks, honours max_records, and builds the ReadResult."""

    def __init__(self, max_records: int | None) -> None:
        self.remaining = max_records
        self.parts: list[tuple[str, ParsedLines]] = []
        self.rejects: list[tuple[str, int, str, str]] = []

    def add(self, segment: str, parsed: ParsedLines) -> tuple[str, int] | None:
        """Keep a chunk; returns (segment, offset) to stop at when max_records is reached."""
        stop = None
        if self.remaining is not None and len(parsed) >= self.remaining:
            keep = self.remaining  # >= 1: a read with max_records=0 never gets here
            cut = int(parsed.ends[keep - 1])
            parsed = ParsedLines(
                sensor_ids=parsed.sensor_ids[:keep],
                ts=parsed.ts[:keep],
                values=parsed.values[:keep],
                starts=parsed.starts[:keep],
                ends=parsed.ends[:keep],
                rejects=[reject for reject in parsed.rejects if reject[0] < cut],
            )
            stop = (segment, cut)
        if self.remaining is not None:
            self.remaining -= len(parsed)
        self.parts.append((segment, parsed))
        self.rejects.extend((segment, offset, reason, line) for offset, reason, line in parsed.rejects)
        return stop

    def reject(self, segment: str, offset: int, reason: str, line: str) -> None:
        self.rejects.append((segment, offset, reason, line))

    def result(self, start: Cursor, end: Cursor) -> ReadResult:
        parts = [(segment, parsed) for segment, parsed in self.parts if len(parsed)]
        ids = [sensor for _, parsed in parts for sensor in parsed.sensor_ids]
        stamps = np.concatenate([parsed.ts for _, parsed in parts]) if parts else np.array([], "datetime64[us]")
        values = np.concatenate([parsed.values for _, parsed in parts]) if parts else np.array([], float)
        records = pd.DataFrame(
            {
                "sensor_id": pd.Series(ids, dtype=object),
                "ts": pd.DatetimeIndex(stamps.astype("datetime64[ns]")).tz_localize("UTC"),
                "value": values.astype(float),
            }
        )
        segments = np.repeat(np.array([segment for segment, _ in parts], dtype=object), [len(parsed) for _, parsed in parts])
        offsets = np.concatenate([parsed.starts for _, parsed in parts]) if parts else np.array([], np.int64)
        rejects = pd.DataFrame(self.rejects, columns=REJECT_COLUMNS).astype({"offset": "int64"})
        positions = pd.DataFrame({"segment": pd.Series(segments, dtype=object), "offset": offsets.astype("int64")})
        return ReadResult(records, rejects, _issues(records, segments, offsets), start, end, positions)


def _issues(records: pd.DataFrame, segments: np.ndarray, offsets: np.ndarray) -> pd.DataFrame:
    """Duplicate and out-of-order records of one read (kept in ``records``, reported here)."""
    if records.empty:
        return pd.DataFrame(columns=ISSUE_COLUMNS)
    keys = pd.DataFrame({"sensor_id": records["sensor_id"], "t": pd.DatetimeIndex(records["ts"]).asi8})
    duplicate = keys.duplicated(["sensor_id", "t"], keep="first").to_numpy()
    latest_before = keys.groupby("sensor_id", sort=False)["t"].cummax().groupby(keys["sensor_id"], sort=False).shift()
    out_of_order = (keys["t"] < latest_before).to_numpy()
    flagged = np.flatnonzero(duplicate | out_of_order)
    issues = pd.DataFrame(
        {
            "segment": segments[flagged],
            "offset": offsets[flagged],
            "sensor_id": records["sensor_id"].to_numpy()[flagged],
            "ts": records["ts"].iloc[flagged].reset_index(drop=True),
            "issue": np.where(duplicate[flagged], DUPLICATE, OUT_OF_ORDER),
        }
    )
    return issues
