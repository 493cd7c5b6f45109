"""The line format of the stream: one reading per line,
``{"sensor_id": "...", "ts": "2024-01-01T00:00:00.000000Z", "value": 1.5}``.

Encoding is canonical (fixed key order, UTC with microseconds). Parsing has a fast path for
canonical lines (one regular expression over a whole chunk) and a tolerant per-line path for
everything else, which turns each bad line into a reject with its byte offset and a reason
instead of an exception.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

FIELDS = ("sensor_id", "ts", "value")
EARLIEST = np.datetime64("1970-01-01T00:00:00", "us")
LATEST = np.datetime64("2200-01-01T00:00:00", "us")
_REJECT_TEXT_LIMIT = 200
_BLOCK_LINES = 2048

_CANONICAL = re.compile(
    rb'^\{"sensor_id":"([\x20\x21\x23-\x5b\x5d-\x7e]+)",'
    rb'"ts":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6})Z",'
    rb'"value":(-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)\}\n',
    re.MULTILINE,
)


def encode_readings(readings: pd.DataFrame) -> list[bytes]:
    """Canonical lines for a frame with columns sensor_id, ts (naive = UTC) and finite value."""
    missing = [name for name in FIELDS if name not in readings.columns]
    if missing:
        raise ValueError(f"readings lack column(s) {missing}")
    stamps = pd.DatetimeIndex(readings["ts"])
    stamps = stamps.tz_localize("UTC") if stamps.tz is None else stamps.tz_convert("UTC")
    if stamps.hasnans:
        raise ValueError("readings contain missing timestamps")
    texts = np.datetime_as_string(stamps.tz_localize(None).to_numpy().astype("datetime64[us]"), unit="us")
    values = readings["value"].to_numpy(dtype=float)
    if not np.isfinite(values).all():
        raise ValueError("readings contain non-finite values")
    quoted: dict[str, str] = {}
    lines = []
    for sensor_id, text, value in zip(readings["sensor_id"].tolist(), texts.tolist(), values.tolist()):
        name = quoted.get(sensor_id)
        if name is None:
            if not isinstance(sensor_id, str) or not sensor_id:
                raise ValueError(f"sensor_id must be a non-empty string, got {sensor_id!r}")
            name = quoted[sensor_id] = json.dumps(sensor_id)
        lines.append(f'{{"sensor_id":{name},"ts":"{text}Z","value":{value!r}}}\n'.encode())
    return lines


@dataclass
class ParsedLines:
    """Valid readings of a run of complete lines, in line order, plus the lines that were not."""

    sensor_ids: list[str] = field(default_factory=list)
    ts: np.ndarray = field(default_factory=lambda: np.array([], dtype="datetime64[us]"))
    values: np.ndarray = field(default_factory=lambda: np.array([], dtype=float))
    starts: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64))
    ends: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64))
    rejects: list[tuple[int, str, str]] = field(default_factory=list)  # (offset, reason, text)

    def __len__(self) -> int:
        return len(self.sensor_ids)


def parse_lines(data: bytes, base_offset: int = 0) -> ParsedLines:
    """Parse ``data``, which must consist of complete ``\\n``-terminated lines.

    Offsets in the result are ``base_offset`` + position in ``data`` (byte offsets in the segment).
    """
    if data and not data.endswith(b"\n"):
        raise ValueError("parse_lines takes complete lines only")
    newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 0x0A)
    ends = newlines + 1
    starts = np.concatenate([[0], ends[:-1]]).astype(np.int64)
    if not len(newlines):
        return ParsedLines()
    parsed = _parse_block(data, starts, ends, base_offset)
    if parsed is not None:
        return parsed
    # Some line is not canonical: retry in blocks so that only the blocks holding one go slowly.
    parts = []
    for first in range(0, len(starts), _BLOCK_LINES):
        block_starts, block_ends = starts[first : first + _BLOCK_LINES], ends[first : first + _BLOCK_LINES]
        block = data[block_starts[0] : block_ends[-1]]
        shift = block_starts[0]
        part = _parse_block(block, block_starts - shift, block_ends - shift, base_offset + shift)
        parts.append(part if part is not None else _from_mixed(block, block_starts - shift, block_ends - shift, base_offset + shift))
    return _concat(parts)


def parse_values(values: list) -> tuple[pd.DataFrame, list[tuple[int, str]]]:
    """Readings handed over as JSON values (``POST /api/readings``), judged by the same rules as
    lines of the stream: the valid ones as a frame (sensor_id, ts naive UTC, value) and
    ``(position, reason)`` for the others."""
    lines = [json.dumps(value, separators=(",", ":")).encode() + b"\n" for value in values]
    starts = np.cumsum([0] + [len(line) for line in lines[:-1]]).tolist() if lines else []
    position = {start: index for index, start in enumerate(starts)}
    parsed = parse_lines(b"".join(lines))
    readings = pd.DataFrame({"sensor_id": parsed.sensor_ids, "ts": parsed.ts, "value": parsed.values})
    return readings, [(position[offset], reason) for offset, reason, _ in parsed.rejects]


def _parse_block(data: bytes, starts, ends, base_offset) -> ParsedLines | None:
    """The vectorised parse when every line of ``data`` is canonical, else None."""
    matches = _CANONICAL.findall(data)
    if len(matches) != len(starts):  # at most one match per line, so equal counts mean all lines matched
        return None
    return _from_canonical(matches, starts, ends, base_offset)


def _concat(parts: list[ParsedLines]) -> ParsedLines:
    """Parses of consecutive blocks, joined (they are already in line order)."""
    return ParsedLines(
        sensor_ids=[sensor for part in parts for sensor in part.sensor_ids],
        ts=np.concatenate([part.ts for part in parts]),
        values=np.concatenate([part.values for part in parts]),
        starts=np.concatenate([part.starts for part in parts]),
        ends=np.concatenate([part.ends for part in parts]),
        rejects=[reject for part in parts for reject in part.rejects],
    )


def _from_canonical(matches, starts, ends, base_offset) -> ParsedLines | None:
    """Vectorised parse; None when some line needs the tolerant path (bad date, overflow)."""
    raw_ids, raw_ts, raw_values = zip(*matches)
    try:
        stamps = np.array(raw_ts, dtype="S26").astype("datetime64[us]")
    except ValueError:  # an impossible date such as month 13
        return None
    values = np.fromiter(map(float, raw_values), dtype=float, count=len(raw_values))
    if ((stamps < EARLIEST) | (stamps >= LATEST)).any() or not np.isfinite(values).all():
        return None
    return ParsedLines(
        sensor_ids=_decode_ids(raw_ids),
        ts=stamps,
        values=values,
        starts=starts + base_offset,
        ends=ends + base_offset,
    )


def _from_mixed(data: bytes, starts, ends, base_offset) -> ParsedLines:
    """Canonical lines still go the vectorised way; only the others are parsed one by one."""
    canonical = {match.start(): match.groups() for match in _CANONICAL.finditer(data)}
    is_canonical = np.fromiter((start in canonical for start in starts.tolist()), dtype=bool, count=len(starts))
    fast = None
    if is_canonical.any():
        chosen = np.flatnonzero(is_canonical)
        groups = [canonical[start] for start in starts[chosen].tolist()]
        fast = _from_canonical(groups, starts[chosen], ends[chosen], base_offset)
        if fast is None:  # some canonical-looking line has an impossible date: take them all slowly
            is_canonical[:] = False
    slow = _from_lines(data, starts[~is_canonical], ends[~is_canonical], base_offset)
    return _merge(fast, slow) if fast is not None else slow


def _from_lines(data: bytes, starts, ends, base_offset) -> ParsedLines:
    ids, texts, values, line_starts, line_ends, rejects = [], [], [], [], [], []
    for start, end in zip(starts.tolist(), ends.tolist()):
        line = data[start : end - 1]
        outcome = _parse_one(line)
        if isinstance(outcome, str):
            rejects.append((base_offset + start, outcome, _excerpt(line)))
            continue
        ids.append(outcome[0])
        texts.append(outcome[1])
        values.append(outcome[2])
        line_starts.append(base_offset + start)
        line_ends.append(base_offset + end)
    return _finish(ids, texts, values, line_starts, line_ends, rejects, data, base_offset)


def _merge(first: ParsedLines, second: ParsedLines) -> ParsedLines:
    """Two parses of disjoint lines of one chunk, back in line order."""
    starts = np.concatenate([first.starts, second.starts])
    order = np.argsort(starts, kind="stable")
    ids = first.sensor_ids + second.sensor_ids
    return ParsedLines(
        sensor_ids=[ids[index] for index in order.tolist()],
        ts=np.concatenate([first.ts, second.ts])[order],
        values=np.concatenate([first.values, second.values])[order],
        starts=starts[order],
        ends=np.concatenate([first.ends, second.ends])[order],
        rejects=sorted(first.rejects + second.rejects),
    )


def _finish(ids, texts, values, line_starts, line_ends, rejects, data, base_offset) -> ParsedLines:
    """Parse timestamp texts together; lines whose timestamp is unusable become rejects."""
    parsed = pd.to_datetime(pd.Series(texts, dtype=object), format="ISO8601", utc=True, errors="coerce")
    stamps = parsed.dt.tz_localize(None).to_numpy().astype("datetime64[us]") if len(parsed) else np.array([], "datetime64[us]")
    good = ~np.isnat(stamps) & (stamps >= EARLIEST) & (stamps < LATEST)
    if not good.all():
        for index in np.flatnonzero(~good).tolist():
            reason = "bad timestamp" if np.isnat(stamps[index]) else "timestamp out of range"
            start, end = line_starts[index] - base_offset, line_ends[index] - base_offset
            rejects.append((line_starts[index], reason, _excerpt(data[start : end - 1])))
        rejects.sort()
    keep = np.flatnonzero(good)
    return ParsedLines(
        sensor_ids=[ids[i] for i in keep.tolist()],
        ts=stamps[keep],
        values=np.asarray(values, dtype=float)[keep] if len(values) else np.array([], dtype=float),
        starts=np.asarray(line_starts, dtype=np.int64)[keep] if line_starts else np.array([], dtype=np.int64),
        ends=np.asarray(line_ends, dtype=np.int64)[keep] if line_ends else np.array([], dtype=np.int64),
        rejects=rejects,
    )


def _parse_one(line: bytes) -> tuple[str, str, float] | str:
    """A reading, or the reason the line is not one."""
    if not line.strip():
        return "empty line"
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        return "bad JSON"
    if not isinstance(record, dict):
        return "not a JSON object"
    missing = [name for name in FIELDS if name not in record]
    if missing:
        return "missing field(s): " + ", ".join(missing)
    sensor_id, stamp, value = record["sensor_id"], record["ts"], record["value"]
    if not isinstance(sensor_id, str) or not sensor_id:
        return "sensor_id is not a non-empty string"
    if not isinstance(stamp, str):
        return "ts is not a string"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "non-numeric value"
    value = float(value)
    if not math.isfinite(value):
        return "non-finite value"
    return sensor_id, stamp, value


def _decode_ids(raw_ids) -> list[str]:
    names = {raw: raw.decode("ascii") for raw in set(raw_ids)}  # few sensors, many readings
    return list(map(names.__getitem__, raw_ids))


def _excerpt(line: bytes) -> str:
    text = line.decode("utf-8", errors="replace")
    return text if len(text) <= _REJECT_TEXT_LIMIT else text[:_REJECT_TEXT_LIMIT] + "…"
