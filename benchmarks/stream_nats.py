"""Case 4b: the sensor stream on NATS JetStream against the JSONL folder, in the same run.

Alone: ``python -m benchmarks.stream_nats [--quick] [--readings N] [--lag-seconds S] [--interval I]``.

1. Backlog (``stream_backlog``): N readings written to the folder / published to a throwaway
   JetStream stream (each acknowledged), then stored into ``sensor_readings`` range by range as
   the sensor splits them, through ``ingest_range``: readings/s wall and per client CPU second.
2. Lag (``stream_lag``): ``dagster-daemon run`` with ``tsplatform stream`` live at a steady rate;
   p50/p95 of ``stored_at`` − ``ts`` over a fixed window.

Every NATS figure is a ratio against the JSONL figure measured just before it (the machine is
noisy); lags are oriented so that higher is better (ratio = JSONL / NATS). The shared server is
``TSPLATFORM_TEST_NATS_URL`` (default ``nats://127.0.0.1:4222``); without one, the NATS rows say
so and the JSONL ones are still measured.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks import stream_backlog, stream_lag
from benchmarks.common import Sizes, work_folder
from benchmarks.report import Figure
from benchmarks.stream_sources import nats_unavailable, throwaway_stream

CASE = "4b stream on NATS"


@dataclass(frozen=True)
class Settings:
    readings: int = 1_000_000
    sensors: int = 10  # backlog: readings // sensors ticks of 1 s
    lag_seconds: float = 90.0  # the measured window (after warm-up)
    interval: int = 5  # TSPLATFORM_STREAM_SENSOR_INTERVAL_SECONDS under the daemon
    live_sensors: int = 3
    live_rate: float = 10.0  # readings/s per live sensor


FULL = Settings()
QUICK = Settings(readings=5_000, lag_seconds=5.0, interval=1)


def run(sizes: Sizes) -> list[Figure]:
    return measure(QUICK if sizes.quick else FULL)


def measure(settings: Settings) -> list[Figure]:
    root = Path(tempfile.mkdtemp(prefix="stream-nats-", dir=work_folder()))
    unavailable = nats_unavailable()
    try:
        figures = backlog_figures(settings, root, unavailable)
        figures += lag_figures(settings, root, unavailable)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return figures


# --- backlog ---------------------------------------------------------------------------------------


def backlog_figures(settings: Settings, root: Path, unavailable: str | None) -> list[Figure]:
    jsonl = stream_backlog.measure(root / "backlog-jsonl", settings.readings, settings.sensors)
    nats = None
    if unavailable is None:
        with throwaway_stream() as url:
            nats = stream_backlog.measure(root / "backlog-nats", settings.readings, settings.sensors, url)
    rows = []
    for label, unit, rate, note in (
        ("backlog -> sensor_readings (wall)", "readings/s", lambda b: b.readings / b.store_wall, _store_note),
        ("backlog -> sensor_readings, per client CPU s", "readings/CPU s", lambda b: b.readings / b.store_cpu, _cpu_note),
        ("backlog written (NATS: published, each acked)", "readings/s", lambda b: b.readings / b.write_wall, _write_note),
    ):
        rows += _pair(label, jsonl, nats, rate, note, unit, unavailable, checked=not rows)
    return rows


def _pair(label, jsonl, nats, rate, note, unit, unavailable, checked: bool) -> list[Figure]:
    """The JSONL row and the NATS row against it; ``checked``: this pair carries the stored-once target."""
    base = rate(jsonl)
    once = "every reading stored once" if checked else ""
    rows = [Figure(CASE, f"JSONL {label}", base, unit, target=once, met=jsonl.exactly_once if checked else None,
                   note=note(jsonl))]
    if nats is None:
        rows.append(Figure(CASE, f"NATS {label}", None, note=f"skipped: {unavailable}"))
    else:
        value = rate(nats)
        rows.append(Figure(CASE, f"NATS {label}", value, unit, base, "JSONL, same run", value / base, once,
                           nats.exactly_once if checked else None, note(nats)))
    return rows


def _store_note(b: stream_backlog.Backlog) -> str:
    return (f"{b.readings:,} readings, {b.ranges} range(s) as the sensor splits them, ingest_range each: "
            f"{b.store_wall:.2f} s, of which range reads {b.read_wall:.2f} s; stored {b.stored:,} ({b.distinct:,} distinct)")


def _cpu_note(b: stream_backlog.Backlog) -> str:
    broker = f"; nats-server used {b.broker_cpu:.2f} CPU s besides" if b.broker_cpu is not None else ""
    return f"{b.store_cpu:.2f} CPU s of the benchmark process over {b.store_wall:.2f} s wall{broker}"


def _write_note(b: stream_backlog.Backlog) -> str:
    how = "JetStreamWriter, 1,000 in flight, every ack awaited" if b.source == "NATS" else "SegmentWriter, flushed"
    return f"{b.readings:,} readings in {b.write_wall:.2f} s ({b.write_cpu:.2f} CPU s), {how}"


# --- lag -------------------------------------------------------------------------------------------


def lag_figures(settings: Settings, root: Path, unavailable: str | None) -> list[Figure]:
    options = dict(interval=settings.interval, sensors=settings.live_sensors, rate=settings.live_rate)
    jsonl, jsonl_error = _lag(lambda: stream_lag.measure(root / "lag-jsonl", settings.lag_seconds, **options))
    nats, nats_error = None, unavailable and f"skipped: {unavailable}"
    if unavailable is None:
        with throwaway_stream() as url:
            nats, nats_error = _lag(lambda: stream_lag.measure(root / "lag-nats", settings.lag_seconds, stream_url=url,
                                                               **options))
    setup = (f"dagster-daemon, sensor interval {settings.interval} s, {settings.live_sensors} sensors x "
             f"{settings.live_rate:g}/s for a {settings.lag_seconds:g} s window")
    figures = []
    for name, pick in (("p50", lambda lag: lag.p50), ("p95", lambda lag: lag.p95)):
        label = f"lag ts -> stored under the daemon, {name}"
        base = pick(jsonl) if jsonl else None
        figures.append(_lag_row(f"JSONL {label}", jsonl, jsonl_error, pick, None, setup))
        figures.append(_lag_row(f"NATS {label}", nats, nats_error, pick, base, "ratio = JSONL / NATS (> 1: NATS lower)"))
    return figures


def _lag(work):
    """(Lag, None), or (None, why) when the daemon run failed: a NO row instead of losing the backlog rows."""
    try:
        return work(), None
    except Exception as error:  # noqa: BLE001 - reported in the table, with the cause
        return None, f"failed: {type(error).__name__}: {error}"


def _lag_row(figure: str, lag, error: str | None, pick, base: float | None, note: str) -> Figure:
    if lag is None:
        return Figure(CASE, figure, None, target="measured", met=False if error and error.startswith("failed") else None,
                      note=error or "")
    value = pick(lag)
    runs = ", ".join(f"{status} {count}" for status, count in sorted(lag.runs.items()))
    detail = (f"{lag.in_window:,} readings in the window, max {lag.maximum:.1f} s; written {lag.written:,}, "
              f"stored {lag.stored:,}; runs: {runs}, on average {lag.launch:.1f} s tick -> start, "
              f"{lag.duration:.1f} s start -> end")
    return Figure(CASE, figure, value, "s", base, "JSONL, same run" if base else "", base / value if base and value else None,
                  "every reading stored once", lag.exactly_once, f"{note}; {detail}")


def main(argv: list[str] | None = None) -> None:
    from benchmarks.report import notes, table

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="toy sizes (a smoke run)")
    parser.add_argument("--readings", type=int)
    parser.add_argument("--lag-seconds", type=float)
    parser.add_argument("--interval", type=int)
    args = parser.parse_args(argv)
    base = QUICK if args.quick else FULL
    chosen = Settings(**{**base.__dict__, **{key: value for key, value in (("readings", args.readings),
                      ("lag_seconds", args.lag_seconds), ("interval", args.interval)) if value is not None}})
    figures = measure(chosen)
    print(table(figures))
    print()
    print("\n".join(notes(figures)))


if __name__ == "__main__":
    main()
