"""Driving a generator into a segment writer: live (paced by a rate) or as a backfill of history.

Both loops write whole batches of lines and look at the stop flag only between writes, so Ctrl-C or
SIGTERM ends a run with every segment ending on a complete record.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tsplatform.stream.control import Command, CommandInbox, apply_command
from tsplatform.stream.generator import ReadingGenerator
from tsplatform.stream.interrupt import StopSignal
from tsplatform.stream.segments import SegmentWriter
from tsplatform.stream.series import utc_timestamp


@dataclass
class RunSummary:
    ticks: int = 0
    records: int = 0
    interrupted: bool = False
    first_ts: pd.Timestamp | None = None
    last_ts: pd.Timestamp | None = None
    segments: list[str] = field(default_factory=list)


def run_live(
    generator: ReadingGenerator,
    writer: SegmentWriter,
    *,
    rate: float = 2.0,
    step: str | pd.Timedelta | None = None,
    start: pd.Timestamp | None = None,
    count: int | None = None,
    duration: float | None = None,
    inbox: CommandInbox | None = None,
    stop: StopSignal | None = None,
    on_progress: Callable[[int], None] | None = None,
    on_command: Callable[[Command, Exception | None], None] | None = None,
    poll_seconds: float = 0.25,
    max_batch: int = 1000,
) -> RunSummary:
    """Emit ``rate`` ticks per second (one reading per sensor each) until count/duration/stop.

    Tick k is due ``k / rate`` seconds after the run starts and is stamped ``start + k·step``: with
    no ``step`` that is real time (step = 1/rate s, start = now); with a simulated ``step`` such as
    ``30min`` the clock runs ahead at ``step × rate`` per second. A run that falls behind writes
    the overdue ticks as one batch, so the timestamps stay regular.
    """
    if rate <= 0:
        raise ValueError("rate must be positive")
    step = pd.Timedelta(seconds=1.0 / rate) if step is None else pd.Timedelta(step)
    if step <= pd.Timedelta(0):
        raise ValueError("step must be positive")
    origin = utc_timestamp(start) if start is not None else pd.Timestamp.now(tz="UTC")
    limit = _tick_limit(rate, count, duration)
    stop = stop or StopSignal()
    summary = RunSummary()
    began = time.monotonic()
    next_poll = began
    while not stop.requested and (limit is None or summary.ticks < limit):
        now = time.monotonic()
        if inbox is not None and now >= next_poll:
            _apply_all(generator, inbox.take(), on_command)
            next_poll = now + poll_seconds
        due = math.floor((now - began) * rate) + 1
        if limit is not None:
            due = min(due, limit)
        if summary.ticks >= due:
            stop.sleep(min(summary.ticks / rate - (now - began), poll_seconds))
            continue
        batch = min(due - summary.ticks, max_batch)
        times = origin + step * np.arange(summary.ticks, summary.ticks + batch)
        _write(generator, writer, pd.DatetimeIndex(times), summary, on_progress)
    summary.interrupted = stop.requested
    summary.segments = list(writer.segments_written)
    return summary


def run_backfill(
    generator: ReadingGenerator,
    writer: SegmentWriter,
    *,
    start: pd.Timestamp,
    end: pd.Timestamp,
    interval: str | pd.Timedelta = "1min",
    stop: StopSignal | None = None,
    on_progress: Callable[[int], None] | None = None,
    chunk_ticks: int = 2000,
) -> RunSummary:
    """Write readings for every ``interval`` in ``[start, end)`` as fast as the disk allows."""
    times = backfill_times(start, end, interval)
    stop = stop or StopSignal()
    summary = RunSummary()
    for first in range(0, len(times), chunk_ticks):
        if stop.requested:
            break
        _write(generator, writer, times[first : first + chunk_ticks], summary, on_progress)
    summary.interrupted = stop.requested
    summary.segments = list(writer.segments_written)
    return summary


def backfill_times(start, end, interval) -> pd.DatetimeIndex:
    interval = pd.Timedelta(interval)
    if interval <= pd.Timedelta(0):
        raise ValueError("interval must be positive")
    return pd.date_range(utc_timestamp(start), utc_timestamp(end), freq=interval, inclusive="left")


def _write(generator, writer, times: pd.DatetimeIndex, summary: RunSummary, on_progress) -> None:
    frame = generator.readings_at(times)
    writer.append(frame)
    summary.ticks += len(times)
    summary.records += len(frame)
    summary.first_ts = summary.first_ts or times[0]
    summary.last_ts = times[-1]
    if on_progress is not None:
        on_progress(len(frame))


def _apply_all(generator, commands: list[Command], on_command) -> None:
    for command in commands:
        error = None
        try:
            apply_command(generator, command)
        except KeyError as problem:
            error = problem
        if on_command is not None:
            on_command(command, error)


def _tick_limit(rate: float, count: int | None, duration: float | None) -> int | None:
    limits = []
    if count is not None:
        limits.append(max(0, int(count)))
    if duration is not None:
        limits.append(max(0, math.ceil(duration * rate)))
    return min(limits) if limits else None


