"""Faults under the real daemon, as production runs it (local mode: SQLite instance, DuckDB warehouse).

One scenario, in phases, because the daemon is slow to start:
1. the stream generator writes readings while 20 uploads are dropped into landing at once: every
   batch completes, no run fails (no lock errors), and every upload's counts add up exactly;
2. the daemon (its whole process group: code server and run workers too) and the generator are
   killed with SIGKILL, then started again;
3. the generator is stopped; once the daemon has caught up, every reading the generator wrote is
   in ``sensor_readings`` exactly once (count and checksum of the files against the table).
"""

import functools
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from tsplatform.settings import DataPaths
from tsplatform.stream.segments import list_segments
from tsplatform.warehouse import invoices as invoice_table
from tsplatform.warehouse import open_warehouse, stream_tables
from tsplatform.warehouse import uploads as upload_table
from tsplatform_tests.processes import wait_for

PROJECT = Path(__file__).resolve().parent.parent.parent
BIN = Path(sys.executable).parent
UPLOADS = 20
POLL_SECONDS = 2.0  # between looks at the warehouse: a look opens the DuckDB file the daemon's runs write
# the daemon scenarios' wait (this file's and the other daemon tests'): wait_for at that pace
wait_until = functools.partial(wait_for, every=POLL_SECONDS)
STREAM_JOB = "sensor_stream_ingest_job"
COUNTED = ["num_rejected_rows", "num_duplicate_key_rows", "num_inserted_rows", "num_updated_rows", "num_unchanged_rows"]


def upload_text(number: int) -> str:
    """A small export of its own category: 6 products x 40 days, a missing sale, a repeated line
    and a bad row, so every count of the accounting is exercised."""
    lines = ["Date,product_id,category,sales"]
    for day in pd.date_range("2025-01-01", periods=40, freq="D"):
        for product in range(6):
            sales = "" if (day.month, day.day, product) == (1, 7, 2) else f"{(number + product + day.day) % 17 + 0.5}"
            lines.append(f"{day:%Y-%m-%d},p{product},cat_{number:02d},{sales}")
    lines.append(f"2025-01-03,p1,cat_{number:02d},1.25")  # the same key again: summed
    lines.append(f"2025-02-30,p1,cat_{number:02d},3")  # impossible date: rejected
    return "\n".join(lines) + "\n"


def start_daemon(env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", "--workspace", str(PROJECT / "workspace.yaml")],
        cwd=PROJECT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True,
    )


def start_generator(env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN / "tsplatform"), "stream", "--sensors", "3", "--rate", "10"],
        cwd=PROJECT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True,
    )


def kill_group(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def written_readings(stream: Path) -> pd.DataFrame:
    """Every reading in the generator's segment files, parsed with json (not the code under test)."""
    records = []
    for name in list_segments(stream):
        data = (stream / name).read_bytes()
        assert data == b"" or data.endswith(b"\n"), f"{name} ends in a torn line"
        records += [json.loads(line) for line in data.splitlines()]
    frame = pd.DataFrame(records, columns=["sensor_id", "ts", "value"])
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True).dt.tz_localize(None).astype("datetime64[us]")
    return frame.sort_values(["sensor_id", "ts"], ignore_index=True)


def checksum(readings: pd.DataFrame) -> str:
    digest = hashlib.sha256()
    for sensor_id, ts, value in readings[["sensor_id", "ts", "value"]].itertuples(index=False):
        digest.update(f"{sensor_id}|{pd.Timestamp(ts).isoformat()}|{float(value)!r}\n".encode())
    return digest.hexdigest()


def table_counts(url: str) -> tuple[int, int] | None:
    """(stored readings, landing batches completed) or None while a writer holds the DuckDB file."""
    try:
        with open_warehouse(url).transaction() as session:
            readings = session.fetch_one("SELECT count(*) FROM sensor_readings")[0]
            completed = session.fetch_one("SELECT count(*) FROM upload_metadata WHERE status = 'completed'")[0]
        return int(readings), int(completed)
    except Exception:  # noqa: BLE001 - the file is busy: the daemon's runs come first, look again later
        return None


def runs_by_status(instance: dg.DagsterInstance) -> dict[str, list[dg.DagsterRun]]:
    grouped: dict[str, list[dg.DagsterRun]] = {}
    for run in instance.get_runs():
        grouped.setdefault(run.status.value, []).append(run)
    return grouped


def stream_run_in_flight(instance: dg.DagsterInstance) -> str | None:
    """The id of a started, unfinished stream ingest run, if there is one now."""
    started = instance.get_runs(dg.RunsFilter(job_name=STREAM_JOB, statuses=[dg.DagsterRunStatus.STARTED]), limit=1)
    return started[0].run_id if started else None


def failure_messages(instance: dg.DagsterInstance, runs) -> list[str]:
    messages = []
    for run in runs:
        for record in instance.all_logs(run.run_id):
            if record.dagster_event and record.dagster_event.event_type_value in ("STEP_FAILURE", "RUN_FAILURE"):
                messages.append(f"{run.job_name} {run.run_id[:8]}: {record.message}")
    return messages


def daemon_environment(tmp_path: Path, **variables: str) -> tuple[Path, DataPaths, str, dict]:
    """A private DAGSTER_HOME (the project's dagster.yaml), data folder and migrated DuckDB
    warehouse, and the environment a daemon started on them needs, plus ``variables``."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT / "dagster.yaml", home / "dagster.yaml")
    paths = DataPaths(tmp_path / "data").ensure()
    url = f"duckdb:///{paths.default_warehouse}"
    env = {**os.environ, "DAGSTER_HOME": str(home), "TSPLATFORM_DATA_DIR": str(paths.root),
           "TSPLATFORM_WAREHOUSE_URL": url, **variables}
    open_warehouse(url)  # migrated before the daemon's first look, as `tsplatform db init` would
    return home, paths, url, env


@pytest.mark.slow
def test_twenty_uploads_with_the_stream_running_then_daemon_and_generator_killed_nothing_lost(tmp_path):
    home, paths, url, env = daemon_environment(tmp_path, TSPLATFORM_STREAM_SENSOR_INTERVAL_SECONDS="5")
    daemon_log, generator_log = tmp_path / "daemon.log", tmp_path / "generator.log"

    # phase 1: the stream runs; 20 uploads arrive at once
    generator = start_generator(env, generator_log)
    daemon = start_daemon(env, daemon_log)
    staging = tmp_path / "staging"
    staging.mkdir()
    texts = {f"upload {number:02d}.csv": upload_text(number) for number in range(UPLOADS)}
    for name, text in texts.items():
        (staging / name).write_text(text)
        past = time.time() - 60
        os.utime(staging / name, (past, past))
    for name in texts:  # renames: all 20 appear in landing within milliseconds
        os.replace(staging / name, paths.landing / name)
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        wait_for(lambda: (c := table_counts(url)) and c[1] == UPLOADS and c[0] > 0, 300,
                 f"{UPLOADS} completed batches and stored readings", every=POLL_SECONDS)

        runs = runs_by_status(instance)
        failed = runs.get("FAILURE", [])
        assert not failed, failure_messages(instance, failed)
        with open_warehouse(url).transaction() as session:
            uploads = upload_table.list_uploads(session)
            invoices = invoice_table.read_invoices(session)
            rejected = invoice_table.read_rejected_rows(session)
        assert sorted(uploads["original_filename"]) == sorted(texts)
        assert set(uploads["status"]) == {"completed"}
        for upload in uploads.to_dict("records"):
            assert upload["num_total_rows"] == 242
            assert sum(upload[column] for column in COUNTED) == upload["num_total_rows"], upload
            assert (upload["num_rejected_rows"], upload["num_duplicate_key_rows"], upload["num_imputed_rows"]) == (1, 1, 1)
        assert len(invoices) == uploads["num_inserted_rows"].sum() == UPLOADS * 240
        assert len(rejected) == UPLOADS
        assert sorted(invoices["category"].unique()) == [f"cat_{n:02d}" for n in range(UPLOADS)]

        # phase 2: kill -9 the daemon with its code server and run workers, and the generator
        stored_before_kill = wait_for(lambda: (c := table_counts(url)) and c[0], 60, "readings", every=POLL_SECONDS)
        in_flight = wait_for(lambda: stream_run_in_flight(instance), 120, "a stream run in flight", every=0.1)
        kill_group(daemon)
        kill_group(generator)
        killed_at, killed_at_wall = time.monotonic(), time.time()
        generator = start_generator(env, generator_log)
        daemon = start_daemon(env, daemon_log)
        time.sleep(20)

        # phase 3: stop the generator cleanly; the daemon catches up on everything it wrote
        kill_group(generator, signal.SIGINT)
        assert generator.returncode == 0, generator_log.read_text()[-2000:]
        written = written_readings(paths.stream)
        assert len(written) > stored_before_kill
        wait_for(lambda: (c := table_counts(url)) and c[0] >= len(written), 240,
                 f"all {len(written)} written readings stored", every=POLL_SECONDS)
        time.sleep(12)  # two more sensor intervals: anything stored twice or late would show now
        unfinished = [  # runs in flight at the kill; later ones (a forecast refresh) may still be going
            (record.dagster_run.job_name, record.dagster_run.status.value) for record in instance.get_run_records()
            if not record.dagster_run.is_finished and record.create_timestamp.timestamp() < killed_at_wall
        ]
        assert not unfinished, f"runs left hanging after the kill: {unfinished}"
        # the catch-up's own runs (aggregation, forecast refresh) finish before the daemon is stopped:
        # stopping it interrupts the runs in flight, which is this test's doing, not a fault's
        wait_for(lambda: all(run.is_finished for run in instance.get_runs()), 600, "the daemon's runs to finish",
                 every=POLL_SECONDS)
    finally:
        interrupted_by_teardown = {run.run_id for run in instance.get_runs() if not run.is_finished}
        kill_group(daemon, signal.SIGINT)
        kill_group(generator, signal.SIGINT)

    with open_warehouse(url).transaction() as session:
        stored = stream_tables.read_readings(session)
        rejected_readings = stream_tables.read_rejected_readings(session)
    stored = stored[["sensor_id", "ts", "value"]].sort_values(["sensor_id", "ts"], ignore_index=True)
    stored["ts"] = stored["ts"].dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")
    print(f"readings written {len(written):,}, stored {len(stored):,}; killed run {in_flight[:8]} "
          f"{instance.get_run_by_id(in_flight).status.value}; {time.monotonic() - killed_at:.0f} s since the kill")
    assert rejected_readings.empty, rejected_readings.head().to_dict("records")
    assert len(stored) == len(written)
    assert checksum(stored) == checksum(written)
    failed = [run for run in runs_by_status(instance).get("FAILURE", []) if run.run_id not in interrupted_by_teardown]
    assert all("killed" in message for message in failure_messages(instance, failed)), failure_messages(instance, failed)
