"""Append-only JSON Lines segments: naming, listing and the single writer.

Segments are named ``segment-00000001.jsonl`` so that the sequence number gives the write order.
A writer never reopens an old segment: every writer session starts a new one, so a segment is
*sealed* as soon as a later segment exists, and a reader can treat everything before the newest
segment as immutable (that is what makes re-reading a cursor range deterministic).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

import pandas as pd

from tsplatform.stream.codec import encode_readings
from tsplatform.stream.lock import WriterLock

SEGMENT_PATTERN = re.compile(r"segment-(\d{8,})\.jsonl")
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
DEFAULT_MAX_AGE = timedelta(hours=1)


def segment_name(sequence: int) -> str:
    """The file name of segment number ``sequence`` (1-based)."""
    if sequence < 1:
        raise ValueError(f"segment sequence must be >= 1, got {sequence}")
    return f"segment-{sequence:08d}.jsonl"


def is_segment_name(name: str) -> bool:
    """True for a bare segment file name (no folders: cursors come from user-editable config)."""
    return bool(SEGMENT_PATTERN.fullmatch(name))


def segment_sequence(name: str) -> int:
    match = SEGMENT_PATTERN.fullmatch(name)
    if not match:
        raise ValueError(f"not a segment name: {name!r}")
    return int(match.group(1))


def list_segments(folder: Path) -> list[str]:
    """Segment names in write order (by number, so it stays right past 99,999,999 segments)."""
    if not folder.is_dir():
        return []
    names = [entry.name for entry in os.scandir(folder) if is_segment_name(entry.name) and entry.is_file()]
    return sorted(names, key=segment_sequence)


def segment_sizes(folder: Path) -> list[tuple[str, int]]:
    """(name, size) of each segment in write order; one retention removed meanwhile is left out."""
    sizes = []
    for name in list_segments(folder):
        try:
            sizes.append((name, (Path(folder) / name).stat().st_size))
        except FileNotFoundError:
            continue
    return sizes


def complete_length(path: Path, block: int = 64 * 1024) -> int:
    """Bytes up to and including the last newline: a reader never takes a half-written line."""
    with open(path, "rb") as handle:
        end = handle.seek(0, os.SEEK_END)
        position = end
        while position > 0:
            start = max(0, position - block)
            handle.seek(start)
            chunk = handle.read(position - start)
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                return start + newline + 1
            position = start
        return 0


class SegmentWriter:
    """The one writer of a stream folder: whole lines only, rotated by size or age.

    Each line is handed to ``os.write`` complete (no user-space buffer to flush later), and the
    caller stops between records on Ctrl-C/SIGTERM (see ``interrupt.StopSignal``), so a segment
    never ends in a torn record. An exclusive lock file keeps a second writer out of the folder.
    """

    def __init__(
        self,
        folder: Path,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_age: timedelta | float | None = DEFAULT_MAX_AGE,
        owner: dict | None = None,
    ) -> None:
        if max_bytes < 1:
            raise ValueError("max_bytes must be positive")
        self.folder = Path(folder)
        self.max_bytes = max_bytes
        self.max_age_seconds = _seconds(max_age)
        self._lock = WriterLock(self.folder, owner or {"role": "writer"})
        self._fd: int | None = None
        self._size = 0
        self._opened_at = 0.0
        self._next_sequence = 1
        self.segments_written: list[str] = []
        self.records_written = 0

    def __enter__(self) -> SegmentWriter:
        self.open()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def open(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock.acquire()
        existing = list_segments(self.folder)
        self._next_sequence = segment_sequence(existing[-1]) + 1 if existing else 1

    def close(self) -> None:
        self._close_segment()
        self._lock.release()

    @property
    def current_segment(self) -> str | None:
        return self.segments_written[-1] if self._fd is not None else None

    def append(self, readings: pd.DataFrame) -> int:
        """Write readings (columns sensor_id, ts, value; others ignored); returns records written."""
        return self.append_lines(encode_readings(readings))

    def append_lines(self, lines: Iterable[bytes]) -> int:
        """Write encoded lines (each ending in ``\\n``), rotating between lines, never inside one."""
        lines = list(lines)
        if any(not line.endswith(b"\n") or b"\n" in line[:-1] for line in lines):
            raise ValueError("each line must end with exactly one newline")  # checked before writing any
        if self._fd is not None and self._is_too_old():
            self._close_segment()
        batch: list[bytes] = []
        pending = 0
        written = 0
        for line in lines:
            if self._fd is not None and self._size + pending > 0 and self._size + pending + len(line) > self.max_bytes:
                self._write(batch)
                batch, pending = [], 0
                self._close_segment()
            if self._fd is None:
                self._open_segment()
            batch.append(line)
            pending += len(line)
            written += 1
        self._write(batch)
        self.records_written += written
        return written

    def _write(self, batch: list[bytes]) -> None:
        if not batch:
            return
        assert self._fd is not None, "a segment is open while lines are written"
        view = memoryview(b"".join(batch))
        while view:
            done = os.write(self._fd, view)
            view = view[done:]
        self._size += sum(len(line) for line in batch)

    def _open_segment(self) -> None:
        name = segment_name(self._next_sequence)
        self._fd = os.open(self.folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        self._next_sequence += 1
        self._size = 0
        self._opened_at = time.monotonic()
        self.segments_written.append(name)

    def _close_segment(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _is_too_old(self) -> bool:
        return self.max_age_seconds is not None and time.monotonic() - self._opened_at >= self.max_age_seconds


def _seconds(age: timedelta | float | None) -> float | None:
    if age is None:
        return None
    seconds = age.total_seconds() if isinstance(age, timedelta) else float(age)
    if seconds <= 0:
        raise ValueError("max_age must be positive")
    return seconds
