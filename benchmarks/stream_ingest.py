"""Sensor-stream ingest figures, on demand (not a test):  python -m benchmarks.stream_ingest

1. Backlog throughput: 1,000,000 readings written by the library's writer are picked up by one
   ``sensor_stream_sensor`` tick and stored by the run it asks for (executed in process on a fresh
   DuckDB warehouse). Baselines in the same process: the library's raw ``read_range`` over the
   same backlog, and a naive row-at-a-time INSERT of a 20,000-reading slice.
2. Live lag (``--lag-minutes``, 0 to skip): ``dagster dev`` (webserver + daemon, sensor interval at
   its default) with ``tsplatform stream`` writing real-time readings; lag = stored_at − ts of every
   reading (ts is stamped when the generator writes it). Prints p50/p95/max and checks that every
   written reading was stored exactly once.

Options: --readings N (default 1,000,000), --sensors N (10), --lag-minutes M (3), --keep (keep the
temporary folders).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tsplatform.supervision import stop_groups

PROJECT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--readings", type=int, default=1_000_000)
    parser.add_argument("--sensors", type=int, default=10)
    parser.add_argument("--slice", type=int, default=20_000, help="readings for the row-at-a-time baseline")
    parser.add_argument("--lag-minutes", type=float, default=3.0)
    parser.add_argument("--rate", type=float, default=2.0, help="live readings per second per sensor")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)

    root = Path(tempfile.mkdtemp(prefix="tsplatform-bench-"))
    try:
        backlog(root / "backlog", args.readings, args.sensors, args.slice)
        if args.lag_minutes > 0:
            live_lag(root / "live", args.lag_minutes, args.rate)
        else:
            print("\nlive lag: skipped (--lag-minutes 0)")
    finally:
        if args.keep:
            print(f"\nkept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


# --- 1. backlog ----------------------------------------------------------------------------------


def backlog(root: Path, readings: int, sensors: int, slice_size: int) -> None:
    data, home = root / "data", root / "dagster_home"
    home.mkdir(parents=True)
    os.environ["TSPLATFORM_DATA_DIR"] = str(data)
    os.environ.pop("TSPLATFORM_WAREHOUSE_URL", None)
    os.environ["DAGSTER_HOME"] = str(home)

    import dagster as dg
    import pandas as pd

    from tsplatform.definitions import defs
    from tsplatform.defs.dagster_tags import RUN_KEY_TAG, SENSOR_NAME_TAG
    from tsplatform.settings import data_paths
    from tsplatform.stream import Cursor, JsonlSegmentSource, ReadingGenerator, SegmentWriter
    from tsplatform.warehouse import open_warehouse

    paths = data_paths().ensure()
    ticks = readings // sensors
    print(f"backlog: {ticks * sensors:,} readings ({sensors} sensors x {ticks:,} ticks at 1 s)")
    began = time.perf_counter()
    generator = ReadingGenerator(sensors, seed=1)
    with SegmentWriter(paths.stream) as writer:
        for first in range(0, ticks, 20_000):
            count = min(20_000, ticks - first)
            writer.append(generator.simulate(pd.Timestamp("2024-01-01") + pd.Timedelta(seconds=first), count, "1s"))
    total = writer.records_written
    size = sum(p.stat().st_size for p in paths.stream.glob("segment-*.jsonl"))
    report("  write (library writer)", total, time.perf_counter() - began,
           f"{size / 2**20:.0f} MiB, {len(writer.segments_written)} segments")

    source = JsonlSegmentSource(paths.stream)
    began = time.perf_counter()
    result = source.read_range(Cursor(), source.latest_cursor())
    raw_seconds = time.perf_counter() - began
    report("  baseline: library read_range, no storage", len(result.records), raw_seconds)
    del result

    definitions = defs()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        sensor = definitions.resolve_sensor_def("sensor_stream_sensor")
        began = time.perf_counter()
        with dg.build_sensor_context(instance=instance, resources=definitions.resources) as context:
            tick = sensor(context)
        tick_seconds = time.perf_counter() - began
        print(f"  sensor tick: {tick_seconds * 1000:.0f} ms, {len(tick.run_requests)} run request(s): "
              f"{[r.run_key for r in tick.run_requests]}")
        job = definitions.resolve_job_def("sensor_stream_ingest_job")
        run_seconds = 0.0
        step_seconds: dict[str, float] = {}
        for request in tick.run_requests:
            began = time.perf_counter()
            run = job.execute_in_process(
                run_config={**request.run_config, "loggers": {"console": {"config": {"log_level": "ERROR"}}}},
                instance=instance,
                tags={**request.tags, RUN_KEY_TAG: request.run_key, SENSOR_NAME_TAG: "sensor_stream_sensor"},
            )
            run_seconds += time.perf_counter() - began
            for stats in instance.get_run_step_stats(run.run_id):
                step_seconds[stats.step_key] = step_seconds.get(stats.step_key, 0.0) + (stats.end_time - stats.start_time)
    warehouse = open_warehouse(f"duckdb:///{paths.default_warehouse}")
    with warehouse.transaction() as session:
        stored = session.fetch_one("SELECT count(*), count(DISTINCT sensor_id || CAST(ts AS VARCHAR)) FROM sensor_readings")
    assert stored[0] == stored[1] == total, f"stored {stored}, written {total}"
    ingest = step_seconds.get("ingest_sensor_readings", float("nan"))
    report("  ingest step (read + one transaction)", total, ingest)
    report("  whole run (ingest + stats + anomaly scan)", total, run_seconds,
           ", ".join(f"{k} {v:.1f}s" for k, v in step_seconds.items()))
    print(f"  ratio ingest step / raw read_range: {total / ingest:,.0f} vs {total / raw_seconds:,.0f} readings/s "
          f"= {raw_seconds / ingest:.2f}x of the raw read speed")

    # the naive way: one INSERT per reading (20k slice, fresh table, one transaction)
    import duckdb

    slice_frame = source.read_range(Cursor(), source.latest_cursor(), max_records=slice_size).records
    stamps = [stamp.to_pydatetime() for stamp in slice_frame["ts"].dt.tz_localize(None)]
    rows = list(zip(slice_frame["sensor_id"], stamps, slice_frame["value"]))
    connection = duckdb.connect(str(root / "naive.duckdb"))
    connection.execute("CREATE TABLE r (sensor_id VARCHAR, ts TIMESTAMP, value DOUBLE, PRIMARY KEY (sensor_id, ts))")
    began = time.perf_counter()
    connection.begin()
    for row in rows:
        connection.execute("INSERT INTO r SELECT ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM r WHERE sensor_id = ? AND ts = ?)",
                           [row[0], row[1], row[2], row[0], row[1]])
    connection.commit()
    naive_seconds = time.perf_counter() - began
    connection.close()
    report(f"  baseline: naive row-at-a-time insert ({len(rows):,} slice)", len(rows), naive_seconds)
    print(f"  ratio ingest step / naive insert: {(total / ingest) / (len(rows) / naive_seconds):,.0f}x faster")


def report(label: str, count: int, seconds: float, extra: str = "") -> None:
    rate = count / seconds if seconds > 0 else float("inf")
    print(f"{label}: {count:,} in {seconds:.2f} s = {rate:,.0f} readings/s" + (f" ({extra})" if extra else ""))


# --- 2. live lag under dagster dev ---------------------------------------------------------------

RUNS_QUERY = """
query { runsOrError(filter: {pipelineName: "sensor_stream_ingest_job"}) {
  ... on Runs { results { runId status } } } }
"""


def live_lag(root: Path, minutes: float, rate: float) -> None:
    import numpy as np
    import requests

    data, home = root / "data", root / "dagster_home"
    home.mkdir(parents=True)
    shutil.copy(PROJECT / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home), "TSPLATFORM_DATA_DIR": str(data)}
    for name in ("TSPLATFORM_WAREHOUSE_URL", "TSPLATFORM_STREAM_SENSOR_INTERVAL_SECONDS"):
        env.pop(name, None)
    port = _free_port()
    print(f"\nlive lag: dagster dev on :{port}, generator 3 sensors x {rate:g}/s for {minutes:g} min, sensor interval default")
    log = open(root / "dagster_dev.log", "wb")  # kept with --keep, for when a figure looks wrong
    dev = subprocess.Popen(
        [str(BIN / "dagster"), "dev", "--host", "127.0.0.1", "--port", str(port), "--workspace", str(PROJECT / "workspace.yaml")],
        cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        _wait_for_webserver(port)
        generator = subprocess.run(
            [str(BIN / "tsplatform"), "stream", "--sensors", "3", "--rate", str(rate), "--duration", f"{minutes * 60:g}s",
             "--spike-probability", "0.001", "--seed", "7"],
            cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
        )
        del generator
        time.sleep(75)  # more than two sensor intervals: a tick after the last line has asked for it
        deadline = time.monotonic() + 240
        statuses: list[str] = []
        while time.monotonic() < deadline:  # then until every run asked for has finished
            statuses = _run_statuses(port, requests)
            if statuses and all(s in ("SUCCESS", "FAILURE", "CANCELED") for s in statuses):
                break
            time.sleep(5)
        print(f"  runs: {len(statuses)} ({', '.join(f'{s} {statuses.count(s)}' for s in sorted(set(statuses)))})")
    finally:
        stop_groups([dev], grace=60, stop_signal=signal.SIGINT)
        log.close()

    from tsplatform.stream import Cursor, JsonlSegmentSource
    from tsplatform.warehouse import open_warehouse

    source = JsonlSegmentSource(data / "stream")
    written = source.read_range(Cursor(), source.latest_cursor()).records
    with open_warehouse(f"duckdb:///{data / 'warehouse.duckdb'}").transaction() as session:
        stored = session.fetch_df("SELECT sensor_id, ts, stored_at FROM sensor_readings")
    lag = (stored["stored_at"] - stored["ts"]).dt.total_seconds().to_numpy()
    print(f"  written {len(written):,}, stored {len(stored):,}, distinct keys {len(stored.drop_duplicates(['sensor_id', 'ts'])):,}")
    if len(lag):
        print(f"  lag written -> stored: p50 {np.percentile(lag, 50):.1f} s, p95 {np.percentile(lag, 95):.1f} s, "
              f"max {lag.max():.1f} s")


def _run_statuses(port: int, requests) -> list[str]:
    try:
        response = requests.post(f"http://127.0.0.1:{port}/graphql", json={"query": RUNS_QUERY}, timeout=10)
        return [run["status"] for run in response.json()["data"]["runsOrError"]["results"]]
    except (requests.ConnectionError, KeyError, TypeError, ValueError, json.JSONDecodeError):
        return []


def _wait_for_webserver(port: int, timeout: float = 120) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/server_info", timeout=5).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(1)
    raise RuntimeError("dagster dev did not come up")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    main()
