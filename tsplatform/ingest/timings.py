"""Where an upload's time goes: named stages timed by the ingest code itself.

``stage(name)`` times a block into every recorder open at the moment (``recording()``), and costs
nothing when none is. ``process_batch`` records its own stages (read, validate, impute, merge,
write) into the batch's outcome, which the Dagster asset puts in its metadata; ``tsplatform upload``
and ``tsplatform ingest`` write every stage, Dagster's bookkeeping and the start-up included, as
JSON with ``--timings FILE``. No Dagster and no pandas here: the upload command imports this.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_recorders: list[StageTimes] = []


class StageTimes:
    """Seconds per stage name (a stage entered twice adds up), in the order first entered."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.peak_mb: dict[str, float] = {}  # the process's peak RSS so far, when the stage last ended

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds
        peak = peak_rss_mb()
        if peak is not None:
            self.peak_mb[name] = peak

    def get(self, name: str) -> float:
        return self.seconds.get(name, 0.0)

    def total(self, names) -> float:
        return sum(self.seconds.get(name, 0.0) for name in names)

    def as_dict(self) -> dict[str, float]:
        return {name: round(value, 4) for name, value in self.seconds.items()}


@contextmanager
def recording(times: StageTimes | None = None) -> Iterator[StageTimes]:
    """Collect every ``stage`` timed inside the block (nested recorders all receive them)."""
    times = times if times is not None else StageTimes()
    _recorders.append(times)
    try:
        yield times
    finally:
        _recorders.remove(times)


@contextmanager
def stage(name: str) -> Iterator[None]:
    if not _recorders:
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - started
        for times in list(_recorders):
            times.add(name, elapsed)


def add_stage(name: str, seconds: float) -> None:
    """Add ``seconds`` to stage ``name`` in every open recorder (time measured apart)."""
    for times in list(_recorders):
        times.add(name, seconds)


def peak_rss_mb() -> float | None:
    """This process's peak resident memory so far (VmHWM), in MB; None where there is no /proc."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        return None
    return None


def seconds_since_process_start() -> float | None:
    """How long this process has run (interpreter start-up and imports included), from /proc;
    None where there is no /proc. Resolution: one clock tick (10 ms)."""
    try:
        text = Path("/proc/self/stat").read_text()
        started_ticks = int(text[text.rindex(")") + 2 :].split()[19])
        return max(time.clock_gettime(time.CLOCK_BOOTTIME) - started_ticks / os.sysconf("SC_CLK_TCK"), 0.0)
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def write_timings(target: str, command: str, stages: dict[str, float | None], **extra) -> None:
    """The ``--timings`` report: ``{"command", "stages": {name: seconds}, ...}`` to a file, or to
    standard error for ``-``."""
    text = json.dumps({"command": command, "stages": stages, **extra}, sort_keys=False)
    if target == "-":
        import sys

        print(text, file=sys.stderr)
    else:
        Path(target).write_text(text + "\n", encoding="utf-8")
