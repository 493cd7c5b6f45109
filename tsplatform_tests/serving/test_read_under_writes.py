"""``tsplatform.read`` while another process writes the same warehouse: no read fails, and every
read sees whole batches only. On DuckDB the reads meet the writer's file lock and wait it out; on
PostgreSQL (a fresh database on the test server, dropped afterwards) they run while a batch's
transaction is open and must not see its uncommitted rows.

The writer (``batch_writer``) uploads batches and replaces categories' forecasts through the platform's write path for the whole
run; this process reads in a loop meanwhile. ``TSPLATFORM_TEST_READ_LOOP_SECONDS`` (60) sets how long.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tsplatform import read
from tsplatform.warehouse import open_warehouse
from tsplatform.warehouse.provisioning import ensure_postgres_database
from tsplatform_tests.conftest import POSTGRES_URL, postgres_admin
from tsplatform_tests.serving.batch_writer import FORECAST_ROWS, batch_size, index_of

LOOP_SECONDS = float(os.environ.get("TSPLATFORM_TEST_READ_LOOP_SECONDS", "60"))
PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["duckdb", "postgres"])
def backend(request, data_paths, monkeypatch):
    """("duckdb", None): the data folder's file, as before; ("postgres", url): a fresh database."""
    if request.param == "duckdb":
        open_warehouse(f"duckdb:///{data_paths.default_warehouse}")  # the file exists before the first read
        yield "duckdb", None
        return
    postgres_admin().close()  # skips locally, fails in CI, without a server
    name = f"read_writes_{uuid.uuid4().hex[:10]}"
    url = f"{POSTGRES_URL.rsplit('/', 1)[0]}/{name}"
    ensure_postgres_database(url)
    try:
        monkeypatch.setenv("TSPLATFORM_WAREHOUSE_URL", url)  # this process's reads and the writer's env
        open_warehouse(url)  # migrated before the first read
        yield "postgres", url
    finally:
        with postgres_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class WriteOverlaps:
    """Counts the reads that ran while a batch's transaction held uncommitted rows (PostgreSQL): the
    same write transaction (pid, start in pg_stat_activity) was open just before and just after."""

    def __init__(self, url: str | None):
        import psycopg

        self.connection = psycopg.connect(url, autocommit=True) if url else None
        self.count = 0

    def read(self, read_table):
        if self.connection is None:
            return read_table()
        before = self._open_writes()
        table = read_table()
        self.count += bool(before & self._open_writes())
        return table

    def _open_writes(self) -> set[tuple]:
        return set(self.connection.execute(
            "SELECT pid, xact_start FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
        ).fetchall())

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


def test_reads_never_fail_and_see_whole_batches_while_another_process_writes(backend, caplog):
    kind, url = backend
    caplog.set_level(logging.DEBUG, logger="tsplatform.read")
    overlaps = WriteOverlaps(url)  # PostgreSQL: reads that ran while a batch was uncommitted
    writer = subprocess.Popen(
        [sys.executable, "-m", "tsplatform_tests.serving.batch_writer", str(LOOP_SECONDS)],
        cwd=PROJECT, env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    reads, errors, problems, seen_batches, forecast_reads, forecasted = 0, [], [], 0, 0, set()
    try:
        deadline = time.monotonic() + LOOP_SECONDS
        while time.monotonic() < deadline and writer.poll() is None:
            try:
                invoices = overlaps.read(read.invoices)
                uploads = overlaps.read(read.uploads)
                rejected = overlaps.read(read.rejected_rows)
                forecasts = overlaps.read(read.forecasts)
            except Exception as error:  # any failure counts: the point is that there is none
                errors.append(repr(error))
                continue
            reads += 4
            problems += _partial_batches(invoices, uploads, rejected) + _partial_forecasts(forecasts)
            forecast_reads += int(len(forecasts) > 0)
            forecast_now = set(forecasts["category"])
            problems += [f"{name}: forecasts gone mid-refresh" for name in sorted(forecasted - forecast_now)]
            forecasted |= forecast_now
            complete = invoices["category"].nunique()
            if complete < seen_batches:
                problems.append(f"batches went from {seen_batches} to {complete}")
            seen_batches = complete
            time.sleep(0.02)
        out, err = writer.communicate(timeout=LOOP_SECONDS + 60)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
        overlaps.close()
    assert writer.returncode == 0, err[-3000:]
    committed = [json.loads(line) for line in out.splitlines()]
    waits = [r for r in caplog.records if "busy" in r.getMessage()]
    print(f"{kind}: {reads} reads, {len(waits)} waits for the writer's lock, {overlaps.count} reads during an "
          f"uncommitted batch, {len(committed)} batches written")  # -rP
    assert errors == []
    assert problems == []
    assert len(committed) >= 5 and reads >= 100 and forecast_reads >= 10
    if kind == "duckdb":
        assert waits, "no read ever met the writer's lock: the test did not test anything"
    else:
        assert overlaps.count, "no read ran while a batch was uncommitted: the test did not test anything"
    final = read.invoices()
    assert final.groupby("category").size().to_dict() == {f"w{c['index']:04d}": c["rows"] for c in committed}
    stored = read.forecasts()
    assert stored.groupby("category").size().to_dict() == {f"w{c['index']:04d}": FORECAST_ROWS for c in committed}
    assert _partial_forecasts(stored) == []


def _partial_forecasts(forecasts) -> list[str]:
    """A category's forecasts read half-replaced: not every row of one write, or rows of two writes."""
    found = []
    for name, rows in forecasts.groupby("category"):
        if len(rows) != FORECAST_ROWS or rows["run_id"].nunique() != 1:
            found.append(f"{name}: {len(rows)} forecast rows from runs {sorted(rows['run_id'].unique())}")
    return found


def _partial_batches(invoices, uploads, rejected) -> list[str]:
    """What a read could show of a batch that is not whole: fewer rows than the batch has, a
    completed upload without its counts, a batch's rejected rows without the one it has."""
    found = [
        f"{category}: {rows} of {batch_size(index_of(category))} rows"
        for category, rows in invoices.groupby("category").size().items()
        if rows != batch_size(index_of(category))
    ]
    for upload in uploads.itertuples():
        index = index_of(upload.original_filename.removesuffix(".csv"))
        if upload.status == "completed" and (upload.num_inserted_rows, upload.num_rejected_rows) != (batch_size(index), 1):
            found.append(f"{upload.batch_num}: completed with {upload.num_inserted_rows} inserted, {upload.num_rejected_rows} rejected")
    found += [f"{batch}: {n} rejected rows" for batch, n in rejected.groupby("batch_num").size().items() if n != 1]
    return found
