"""Lag from a live reading to its row in ``sensor_readings`` under the real daemon, for either source.

``dagster-daemon run`` (the project's dagster.yaml, a private DAGSTER_HOME, a fresh DuckDB
warehouse, the sensor interval set) with ``tsplatform stream`` writing or publishing readings at a
steady rate. The window starts once a stream run has succeeded (daemon, code server and first
run warm) and lasts ``seconds``; then the generator stops, the daemon stores what is left, and lag
= ``stored_at`` − ``ts`` of every reading stamped inside the window (``ts`` is stamped when the
generator writes it). Waiting is done on Dagster's run storage, not the warehouse, so the
benchmark does not take the DuckDB lock the runs need while it measures them.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
STREAM_JOB = "sensor_stream_ingest_job"


@dataclass
class Lag:
    source: str
    p50: float
    p95: float
    maximum: float
    in_window: int  # readings stamped inside the window
    written: int  # every reading the generator wrote (acknowledged, for NATS)
    stored: int
    runs: dict[str, int]  # stream runs by status
    launch: float  # mean s from a run's creation (the tick) to its start (a new process importing the code)
    duration: float  # mean s from a run's start to its end (ingest + stats + anomaly scan steps)

    @property
    def exactly_once(self) -> bool:
        return self.stored == self.written


def measure(root: Path, seconds: float, *, interval: int, sensors: int, rate: float, stream_url: str | None = None) -> Lag:
    import dagster as dg

    home, data, url, env = _environment(root, interval, stream_url)
    daemon = _start([str(BIN / "dagster-daemon"), "run", "--workspace", str(PROJECT / "workspace.yaml")], env, root / "daemon.log")
    generator = _start([str(BIN / "tsplatform"), "stream", "--sensors", str(sensors), "--rate", f"{rate:g}", "--seed", "7"],
                       env, root / "generator.log")
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        _wait(lambda: _runs(instance, dg, [dg.DagsterRunStatus.SUCCESS]), 300, "a first successful stream run")
        window_start = _utc_now()
        time.sleep(seconds)
        window_end = _utc_now()
        _stop(generator, signal.SIGINT)
        if generator.returncode != 0:
            raise RuntimeError(f"tsplatform stream exited {generator.returncode}: {(root / 'generator.log').read_text()[-2000:]}")
        written = _written(data / "stream", stream_url)
        settled = time.monotonic() + interval + 2  # the tick after the last reading has asked for it
        _wait(lambda: time.monotonic() > settled and not _runs(instance, dg, None, unfinished=True)
              and _stored_count(url) >= written, 300, f"all {written:,} readings stored", every=1.0)
        runs = _run_summary(instance, dg)
    finally:
        _stop(generator, signal.SIGINT)
        _stop(daemon, signal.SIGINT)
        instance.dispose()
    return _lag("NATS" if stream_url else "JSONL", url, window_start, window_end, written, *runs)


def _environment(root: Path, interval: int, stream_url: str | None) -> tuple[Path, Path, str, dict]:
    from tsplatform.settings import DataPaths
    from tsplatform.warehouse import open_warehouse

    home = root / "dagster_home"
    home.mkdir(parents=True)
    shutil.copy(PROJECT / "dagster.yaml", home / "dagster.yaml")
    paths = DataPaths(root / "data").ensure()
    url = f"duckdb:///{paths.default_warehouse}"
    open_warehouse(url)  # migrated before the daemon's first look, as `tsplatform db init` would
    env = {**os.environ, "DAGSTER_HOME": str(home), "TSPLATFORM_DATA_DIR": str(paths.root), "TSPLATFORM_WAREHOUSE_URL": url,
           "TSPLATFORM_STREAM_SENSOR_INTERVAL_SECONDS": str(interval)}
    env.pop("TSPLATFORM_STREAM_URL", None)
    if stream_url:
        env["TSPLATFORM_STREAM_URL"] = stream_url
    return home, paths.root, url, env


def _start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=PROJECT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def _stop(process: subprocess.Popen, sig: int) -> None:
    """Signal the process group (the daemon's code server and run workers too); SIGKILL after 60 s."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    except ProcessLookupError:
        pass


def _wait(condition, timeout: float, what: str, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def _runs(instance, dg, statuses, unfinished: bool = False) -> list:
    runs = instance.get_runs(dg.RunsFilter(job_name=STREAM_JOB, statuses=statuses or []))
    return [run for run in runs if not run.is_finished] if unfinished else list(runs)


def _run_summary(instance, dg) -> tuple[dict[str, int], float, float]:
    """Stream runs by status, their mean launch delay and mean duration (Dagster's run records)."""
    records = instance.get_run_records(dg.RunsFilter(job_name=STREAM_JOB))
    statuses: dict[str, int] = {}
    for record in records:
        statuses[record.dagster_run.status.value] = statuses.get(record.dagster_run.status.value, 0) + 1
    timed = [r for r in records if r.start_time and r.end_time]
    launch = sum(r.start_time - r.create_timestamp.timestamp() for r in timed) / max(len(timed), 1)
    duration = sum(r.end_time - r.start_time for r in timed) / max(len(timed), 1)
    return statuses, launch, duration


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _written(folder: Path, stream_url: str | None) -> int:
    """Readings the generator wrote: every line of the folder, or every message of the stream."""
    from tsplatform.stream import Cursor, JsonlSegmentSource
    from tsplatform.stream.address import open_source

    if stream_url:
        return open_source(folder, stream_url).latest_cursor().seq
    source = JsonlSegmentSource(folder)
    return len(source.read_range(Cursor(), source.latest_cursor()).records)


def _stored_count(url: str) -> int:
    from tsplatform.warehouse import open_warehouse

    try:
        with open_warehouse(url).transaction() as session:
            return int(session.fetch_one("SELECT count(*) FROM sensor_readings")[0])
    except Exception:  # noqa: BLE001 - a run holds the DuckDB file: look again on the next poll
        return -1


def _lag(source: str, url: str, start: dt.datetime, end: dt.datetime, written: int, runs: dict, launch: float,
         duration: float) -> Lag:
    import numpy as np

    from tsplatform.warehouse import open_warehouse

    with open_warehouse(url).transaction() as session:
        stored = session.fetch_df("SELECT ts, stored_at FROM sensor_readings")
    inside = stored[(stored["ts"] >= start) & (stored["ts"] < end)]
    lag = (inside["stored_at"] - inside["ts"]).dt.total_seconds().to_numpy()
    if not len(lag):
        raise RuntimeError(f"no reading stamped inside the window {start} .. {end}")
    return Lag(source, float(np.percentile(lag, 50)), float(np.percentile(lag, 95)), float(lag.max()), len(lag), written,
               len(stored), runs, launch, duration)
