"""A batch whose write fails: deterministic errors fail it once, transient ones go to the retry policy.

The failures are real: a unique index created in the test's private schema / DuckDB file makes
the write violate a constraint; the transient errors come from a real lock held by another
connection or process, a terminated backend and a closed port.
"""

import subprocess
import sys
import time

import dagster as dg
import duckdb
import psycopg
import pytest

from tsplatform.definitions import defs
from tsplatform.ingest.processing import BatchFailedError, process_batch
from tsplatform.ingest.registration import register_landed_files
from tsplatform.local_runs import ingest_landing_now
from tsplatform.warehouse import invoices as invoice_table
from tsplatform.warehouse import uploads as upload_table
from tsplatform.warehouse.errors import is_transient
from tsplatform_tests.conftest import POSTGRES_URL, csv_text, land

TWO_DAYS_OF_ONE_PRODUCT = csv_text("2024-01-01,p1,A,1", "2024-01-02,p1,A,2")


def one_row_per_product(warehouse) -> None:
    """A constraint the batch's write is bound to break (two days of one product)."""
    with warehouse.transaction() as session:
        session.execute("CREATE UNIQUE INDEX one_row_per_product ON invoice_data (product_id)")


def test_a_constraint_violation_fails_the_batch_with_its_reason(data_paths, warehouse):
    land(data_paths, "two_days.csv", TWO_DAYS_OF_ONE_PRODUCT)
    [registration] = register_landed_files(data_paths, warehouse, settle_seconds=0)
    one_row_per_product(warehouse)

    with pytest.raises(BatchFailedError, match="writing the batch failed and was rolled back"):
        process_batch(warehouse, registration.batch_num)

    with warehouse.transaction() as session:
        upload = upload_table.get_upload(session, registration.batch_num)
        invoices = invoice_table.read_invoices(session)
    assert upload["status"] == "failed" and upload["finished_at"] is not None
    assert "writing the batch failed and was rolled back: " in upload["error_log"]
    assert any(name in upload["error_log"] for name in ("UniqueViolation", "ConstraintException")), upload["error_log"]
    assert invoices.empty


def test_under_a_real_run_a_constraint_violation_is_attempted_once(data_paths, warehouse, instance):
    land(data_paths, "two_days.csv", TWO_DAYS_OF_ONE_PRODUCT)
    one_row_per_product(warehouse)
    started = time.monotonic()
    report = ingest_landing_now(instance, defs(), data_paths, warehouse)
    elapsed = time.monotonic() - started

    [batch] = report.tick.waiting_batches
    run_id = report.run_ids[batch]
    assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.FAILURE

    def events(event_type):
        return instance.get_records_for_run(run_id, of_type=event_type).records

    assert len(events(dg.DagsterEventType.STEP_START)) == 1
    assert events(dg.DagsterEventType.STEP_UP_FOR_RETRY) == []
    assert events(dg.DagsterEventType.STEP_RESTARTED) == []
    assert len(events(dg.DagsterEventType.STEP_FAILURE)) == 1
    assert elapsed < 20  # three retries alone waited 2 + 4 + 8 s
    with warehouse.transaction() as session:
        assert upload_table.get_upload(session, batch)["status"] == "failed"


# --- the classifier, on errors the drivers really raise ------------------------------------------


def assert_deterministic_errors_are_not_transient(execute, error_type) -> None:
    """A constraint, a bad value and a bad query, each raised for real by ``execute``."""
    execute("CREATE TABLE t (k INTEGER PRIMARY KEY, d DATE)")
    execute("INSERT INTO t VALUES (1, NULL)")
    for statement in ("INSERT INTO t VALUES (1, NULL)", "INSERT INTO t VALUES (2, 'not a date')", "SELECT nope FROM t"):
        with pytest.raises(error_type) as raised:
            execute(statement)
        assert not is_transient(raised.value), raised.value


def test_deterministic_database_errors_are_not_transient(tmp_path, postgres_schema_url):
    assert_deterministic_errors_are_not_transient(duckdb.connect(str(tmp_path / "w.duckdb")).execute, duckdb.Error)
    with psycopg.connect(postgres_schema_url, autocommit=True) as pg:
        assert_deterministic_errors_are_not_transient(pg.execute, psycopg.Error)


def test_a_duckdb_file_locked_by_another_process_is_transient(tmp_path):
    path = tmp_path / "locked.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, sys, time; c = duckdb.connect({str(path)!r}); print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(duckdb.IOException) as raised:
            duckdb.connect(str(path))
        assert is_transient(raised.value), raised.value
    finally:
        holder.kill()
        holder.wait()


def test_postgres_lock_timeout_lost_connection_and_shutdown_are_transient(postgres_schema_url):
    with psycopg.connect(postgres_schema_url, autocommit=True) as admin:
        admin.execute("CREATE TABLE t (k INTEGER)")
        with psycopg.connect(postgres_schema_url) as holder, psycopg.connect(postgres_schema_url) as waiter:
            holder.execute("LOCK TABLE t IN ACCESS EXCLUSIVE MODE")
            waiter.execute("SET lock_timeout = '200ms'")
            with pytest.raises(psycopg.errors.LockNotAvailable) as raised:
                waiter.execute("SELECT * FROM t")
            assert is_transient(raised.value)

        victim = psycopg.connect(postgres_schema_url, autocommit=True)
        pid = victim.execute("SELECT pg_backend_pid()").fetchone()[0]
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(psycopg.OperationalError) as raised:
            victim.execute("SELECT 1")
        assert is_transient(raised.value), repr(raised.value)
        victim.close()

    closed_port = POSTGRES_URL.replace(":5432/", ":1/") if ":5432/" in POSTGRES_URL else "postgresql://postgres@127.0.0.1:1/postgres"
    with pytest.raises(psycopg.OperationalError) as raised:
        psycopg.connect(closed_port, connect_timeout=3)
    assert is_transient(raised.value)


def test_a_bug_while_preparing_fails_the_batch_once_instead_of_going_to_the_retry_policy(data_paths, warehouse, monkeypatch):
    """Only the preparation is replaced (by one that raises like a bug would); the database is real."""
    import tsplatform.ingest.processing as processing

    land(data_paths, "two_days.csv", TWO_DAYS_OF_ONE_PRODUCT)
    [registration] = register_landed_files(data_paths, warehouse, settle_seconds=0)

    def broken_preparation(*args, **kwargs):
        raise KeyError("a column the code expected")

    monkeypatch.setattr(processing, "prepare_batch", broken_preparation)
    with pytest.raises(BatchFailedError, match="internal error while preparing the batch"):
        process_batch(warehouse, registration.batch_num)
    with warehouse.transaction() as session:
        upload = upload_table.get_upload(session, registration.batch_num)
    assert upload["status"] == "failed" and "a column the code expected" in upload["error_log"]
