"""Stored sales are never corrupted: by a blank line, a blank duplicate line, or an older upload.

Every case goes through the real path (files registered, ``process_batch``, ``invoice_data`` read
back) on DuckDB and on PostgreSQL; the concurrent cases run real writers on PostgreSQL.
"""

import datetime as dt
import threading

import pandas as pd
import pytest

from tsplatform.ingest.processing import process_batch
from tsplatform.ingest.registration import register_file
from tsplatform.warehouse import invoices as invoice_table
from tsplatform.warehouse import uploads as upload_table
from tsplatform_tests.conftest import csv_text, land

ACCOUNTED = ("num_rejected_rows", "num_duplicate_key_rows", "num_inserted_rows", "num_updated_rows", "num_unchanged_rows")


def register(data_paths, warehouse, name: str, *lines: str, uploaded_at: dt.datetime | None = None) -> str:
    """Land and register one file; ``uploaded_at`` pins its upload time (registration keeps whole
    seconds, so two files registered in one second would otherwise tie)."""
    registration = register_file(land(data_paths, name, csv_text(*lines)), data_paths, warehouse)
    if uploaded_at is not None:
        with warehouse.transaction() as session:
            session.execute("UPDATE upload_metadata SET uploaded_at = ? WHERE batch_num = ?", (uploaded_at, registration.batch_num))
    return registration.batch_num


def ingest(data_paths, warehouse, name: str, *lines: str, uploaded_at: dt.datetime | None = None) -> dict:
    """Register and process one file; returns its ``upload_metadata`` row."""
    batch = register(data_paths, warehouse, name, *lines, uploaded_at=uploaded_at)
    assert process_batch(warehouse, batch).status == "completed"
    return upload(warehouse, batch)


def upload(warehouse, batch: str) -> dict:
    with warehouse.transaction() as session:
        return upload_table.get_upload(session, batch)


def stored(warehouse) -> pd.DataFrame:
    """invoice_data keyed by (product_id, 'MM-DD')."""
    with warehouse.transaction() as session:
        frame = invoice_table.read_invoices(session)
    return frame.set_index(["product_id", frame["date"].dt.strftime("%m-%d")])


def adds_up(row: dict) -> bool:
    return row["num_total_rows"] == sum(row[c] for c in ACCOUNTED)


# 1. a blank is not a change


def test_a_blank_line_keeps_the_real_value_already_stored(data_paths, warehouse):
    first = ingest(data_paths, warehouse, "jan.csv", "2024-01-01,p1,A,10", "2024-01-02,p1,A,20")
    later = ingest(data_paths, warehouse, "jan_again.csv", "2024-01-02,p1,A,")

    kept = stored(warehouse).loc[("p1", "01-02")]
    assert (kept["sales"], bool(kept["is_imputed"]), kept["version"]) == (20.0, False, 1)
    assert (kept["batch_num"], kept["file_hash"]) == (first["batch_num"], first["file_hash"])
    assert (later["num_missing_rows"], later["num_imputed_rows"], later["num_unchanged_rows"]) == (1, 0, 1)
    assert (later["num_inserted_rows"], later["num_updated_rows"]) == (0, 0)
    assert adds_up(later)


def test_imputation_is_seeded_from_the_latest_real_value_in_the_batch_or_the_table(data_paths, warehouse):
    ingest(data_paths, warehouse, "first.csv", "2024-01-02,p1,A,20", "2024-01-04,p1,A,")  # 01-04 imputed 20
    ingest(data_paths, warehouse, "second.csv", "2024-01-01,p1,A,10", "2024-01-03,p1,A,", "2024-01-04,p1,A,")

    table = stored(warehouse)
    # the stored real 01-02 is later than the batch's own 01-01
    assert table.loc[("p1", "01-03"), ["sales", "is_imputed"]].tolist() == [20.0, True]
    # an imputed value is no seed: 01-04 still comes from the real 01-02, never from the imputed 01-03
    assert table.loc[("p1", "01-04"), ["sales", "is_imputed", "version"]].tolist() == [20.0, True, 1]


def test_an_imputed_value_gives_way_to_a_real_one_and_to_a_newer_imputation(data_paths, warehouse):
    ingest(data_paths, warehouse, "a.csv", "2024-01-01,p1,A,10", "2024-01-02,p1,A,")  # 01-02 imputed 10
    ingest(data_paths, warehouse, "b.csv", "2024-01-01,p1,A,30", "2024-01-02,p1,A,")  # newer imputation: 30
    assert stored(warehouse).loc[("p1", "01-02"), ["sales", "is_imputed", "version"]].tolist() == [30.0, True, 2]
    ingest(data_paths, warehouse, "c.csv", "2024-01-02,p1,A,7")  # a real value
    assert stored(warehouse).loc[("p1", "01-02"), ["sales", "is_imputed", "version"]].tolist() == [7.0, False, 3]


# 2. repeated lines merge before imputation


def test_a_blank_duplicate_line_does_not_double_the_day(data_paths, warehouse):
    row = ingest(data_paths, warehouse, "feb.csv", "2024-02-01,p1,A,10", "2024-02-01,p1,A,", "2024-02-02,p1,A,", "2024-02-02,p1,A,")

    table = stored(warehouse)
    assert table.loc[("p1", "02-01"), ["sales", "is_imputed"]].tolist() == [10.0, False]
    assert table.loc[("p1", "02-02"), ["sales", "is_imputed"]].tolist() == [10.0, True]  # all blank: one missing key
    assert (row["num_duplicate_key_rows"], row["num_missing_rows"], row["num_imputed_rows"]) == (2, 1, 1)
    assert row["num_inserted_rows"] == 2 and adds_up(row)


# 3. the newer upload wins whatever the commit order


def test_an_older_upload_applied_after_a_newer_one_changes_nothing(data_paths, warehouse):
    ingest(data_paths, warehouse, "base.csv", "2024-03-01,p1,A,1", uploaded_at=dt.datetime(2024, 3, 1))
    old = register(data_paths, warehouse, "old.csv", "2024-03-01,p1,A,5", uploaded_at=dt.datetime(2024, 3, 2))
    new = register(data_paths, warehouse, "new.csv", "2024-03-01,p1,A,9", uploaded_at=dt.datetime(2024, 3, 3))

    assert process_batch(warehouse, new).status == "completed"
    assert process_batch(warehouse, old).status == "completed"

    row = stored(warehouse).loc[("p1", "03-01")]
    assert (row["sales"], row["version"], row["batch_num"]) == (9.0, 2, new)
    old_upload = upload(warehouse, old)
    assert (old_upload["num_updated_rows"], old_upload["num_unchanged_rows"]) == (0, 1) and adds_up(old_upload)
    assert "newer upload" in old_upload["notes"]


def test_a_newer_upload_repeating_an_older_value_still_outranks_a_middle_one(data_paths, warehouse):
    """A (10), C (10, newest) commit; then B (20, between them) commits: C's 10 stays."""
    a = register(data_paths, warehouse, "a.csv", "2024-03-01,p1,A,10", uploaded_at=dt.datetime(2024, 3, 1))
    b = register(data_paths, warehouse, "b.csv", "2024-03-01,p1,A,20", uploaded_at=dt.datetime(2024, 3, 2))
    c = register(data_paths, warehouse, "c.csv", "2024-03-01,p1,A,10.0", uploaded_at=dt.datetime(2024, 3, 3))
    for batch in (a, c, b):
        assert process_batch(warehouse, batch).status == "completed"
    row = stored(warehouse).loc[("p1", "03-01")]
    assert (row["sales"], row["version"], row["batch_num"]) == (10.0, 1, a)


def test_a_real_value_outranks_a_newer_imputation_in_either_order(data_paths, warehouse):
    ingest(data_paths, warehouse, "base.csv", "2024-03-01,p1,A,1", uploaded_at=dt.datetime(2024, 3, 1))
    old = register(data_paths, warehouse, "old.csv", "2024-03-02,p1,A,5", uploaded_at=dt.datetime(2024, 3, 2))
    new = register(data_paths, warehouse, "new.csv", "2024-03-02,p1,A,", uploaded_at=dt.datetime(2024, 3, 3))
    for batch in (new, old):
        assert process_batch(warehouse, batch).status == "completed"
    assert stored(warehouse).loc[("p1", "03-02"), ["sales", "is_imputed"]].tolist() == [5.0, False]


def _run_concurrently(warehouse, old: str, new: str, monkeypatch, pause_in: str) -> dict:
    """OLD's write transaction starts first and stops inside ``invoices.<pause_in>`` until NEW's
    write has finished or 3 s have passed (NEW waits for the writers' lock); then both complete."""
    paused, new_done = threading.Event(), threading.Event()
    real = getattr(invoice_table, pause_in)

    def pausing(*args, **kwargs):
        result = real(*args, **kwargs)
        if threading.current_thread().name == "old":
            paused.set()
            new_done.wait(timeout=3)
        return result

    monkeypatch.setattr(invoice_table, pause_in, pausing)
    outcomes, errors = {}, []

    def run(batch):
        try:
            outcomes[batch] = process_batch(warehouse, batch).status
        except Exception as problem:  # reported by the assertion below
            errors.append(problem)
        finally:
            if batch == new:
                new_done.set()

    old_thread = threading.Thread(target=run, args=(old,), name="old")
    old_thread.start()
    assert paused.wait(timeout=60), "OLD never reached its write"
    new_thread = threading.Thread(target=run, args=(new,), name="new")
    new_thread.start()
    for thread in (old_thread, new_thread):
        thread.join(timeout=120)
    assert not errors and outcomes == {old: "completed", new: "completed"}
    return outcomes


@pytest.mark.parametrize("pause_in", ["_stored_between", "_set_aside_changes"])
def test_concurrent_writers_on_postgres_keep_the_newer_upload(data_paths, postgres_schema_url, monkeypatch, pause_in):
    """``_stored_between``: two first loads of the same key race (the bulk-append path);
    ``_set_aside_changes``: two corrections race after comparing with the table."""
    from tsplatform.warehouse import open_warehouse

    monkeypatch.setenv("TSPLATFORM_WAREHOUSE_URL", postgres_schema_url)
    warehouse = open_warehouse(postgres_schema_url)
    if pause_in == "_set_aside_changes":
        ingest(data_paths, warehouse, "base.csv", "2024-03-01,p1,A,1", uploaded_at=dt.datetime(2024, 3, 1))
    old = register(data_paths, warehouse, "old.csv", "2024-03-01,p1,A,5", uploaded_at=dt.datetime(2024, 3, 2))
    new = register(data_paths, warehouse, "new.csv", "2024-03-01,p1,A,9", uploaded_at=dt.datetime(2024, 3, 3))

    _run_concurrently(warehouse, old, new, monkeypatch, pause_in)

    row = stored(warehouse).loc[("p1", "03-01")]
    assert (row["sales"], row["batch_num"]) == (9.0, new)
    for batch in (old, new):
        assert adds_up(upload(warehouse, batch))


def test_migration_4_records_the_upload_of_every_existing_row(warehouse_url, monkeypatch):
    """A warehouse from before the source columns: each row's source is its batch's upload time."""
    from tsplatform.warehouse import backend_for, schema

    before = tuple(m for m in schema.MIGRATIONS if m.version < 4)
    monkeypatch.setattr("tsplatform.warehouse.base.MIGRATIONS", before)
    old = backend_for(warehouse_url)
    old.migrate()
    uploaded_at = dt.datetime(2024, 3, 2, 8, 30)
    with old.transaction() as session:
        session.execute(
            "INSERT INTO upload_metadata (batch_num, original_filename, stored_filename, file_hash, file_size_bytes, "
            "uploaded_at, status) VALUES ('b1', 'a.csv', 'a.csv', 'h1', 1, ?, 'completed')",
            (uploaded_at,),
        )
        session.execute(
            "INSERT INTO invoice_data (date, product_id, category, sales, is_imputed, batch_num, file_hash, created_at, "
            "updated_at, version) VALUES (DATE '2024-03-01', 'p1', 'A', 5, false, 'b1', 'h1', ?, ?, 1)",
            (uploaded_at, uploaded_at),
        )
    monkeypatch.setattr("tsplatform.warehouse.base.MIGRATIONS", schema.MIGRATIONS)
    assert 4 in old.migrate()
    with old.transaction() as session:
        assert session.fetch_all("SELECT source_uploaded_at, source_batch_num FROM invoice_data") == [(uploaded_at, "b1")]
