"""The warehouse on a real DuckDB file: migrations, versioned upsert, all-or-nothing batches."""

import datetime as dt

import pandas as pd
import pytest

from tsplatform.warehouse import backend_for
from tsplatform.warehouse import invoices as invoice_table
from tsplatform.warehouse.schema import MIGRATIONS


def rows(*values):
    return pd.DataFrame(
        [(pd.Timestamp(d), p, c, s, imp) for d, p, c, s, imp in values],
        columns=["date", "product_id", "category", "sales", "is_imputed"],
    )


def at(day: int) -> dt.datetime:
    """An upload time: a later day is a newer upload."""
    return dt.datetime(2024, 3, day, 12, 0)


def upsert(warehouse, *values, batch: int = 1):
    """``values`` (as ``rows`` takes them) upserted in a transaction of their own: batch b<batch> of
    file h<batch>, uploaded on day ``batch``."""
    with warehouse.transaction() as session:
        return invoice_table.upsert_invoices(session, rows(*values), f"b{batch}", f"h{batch}", at(batch))


def stored(warehouse):
    with warehouse.transaction() as session:
        frame = invoice_table.read_invoices(session)
    return frame.set_index(["product_id"])[["sales", "version", "batch_num", "is_imputed"]]


def test_migrations_apply_once_and_are_recorded(warehouse_url):
    fresh = backend_for(warehouse_url)
    assert fresh.migrate() == [m.version for m in MIGRATIONS]
    assert fresh.migrate() == []
    assert fresh.schema_version() == MIGRATIONS[-1].version


def test_invoice_data_keeps_free_space_for_corrections_on_postgres_only(warehouse_url):
    """Migration 8 is PostgreSQL's alone (fillfactor 90: updated rows stay on their page); DuckDB
    records the version and runs nothing."""
    fresh = backend_for(warehouse_url)
    fresh.migrate()
    assert fresh.schema_version() == MIGRATIONS[-1].version
    if fresh.dialect == "postgresql":
        with fresh.transaction() as session:
            options = session.fetch_one("SELECT reloptions FROM pg_class WHERE oid = 'invoice_data'::regclass")
        assert options is not None and "fillfactor=90" in options[0]


def test_a_correction_compares_in_memory_on_postgres(warehouse):
    """The comparison of a batch with the table may use UPSERT_JOIN_MEMORY_MB (PostgreSQL's work_mem,
    for this transaction only); DuckDB sizes its joins itself."""
    upsert(warehouse, ("2024-01-01", "p1", "A", 1.0, False))
    postgres = warehouse.dialect == "postgresql"
    if postgres:
        with warehouse.transaction() as session:
            default = session.fetch_one("SHOW work_mem")
    with warehouse.transaction() as session:
        counts = invoice_table.upsert_invoices(session, rows(("2024-01-01", "p1", "A", 2.0, False)), "b2", "h2", at(2))
        if postgres:
            assert session.fetch_one("SHOW work_mem") == (f"{invoice_table.UPSERT_JOIN_MEMORY_MB}MB",)
    assert counts.updated == 1
    if postgres:
        with warehouse.transaction() as session:
            assert session.fetch_one("SHOW work_mem") == default  # the next transaction has the server's own


def test_an_existing_warehouse_is_upgraded_in_place_not_dropped(warehouse_url, monkeypatch):
    from tsplatform.warehouse import schema

    old = backend_for(warehouse_url)
    old.migrate()
    upsert(old, ("2024-01-01", "p1", "A", 1.0, False))
    later = schema.Migration(MIGRATIONS[-1].version + 1, "test: a new column", ("ALTER TABLE invoice_data ADD COLUMN note VARCHAR",))
    monkeypatch.setattr(schema, "MIGRATIONS", (*MIGRATIONS, later))
    monkeypatch.setattr("tsplatform.warehouse.base.MIGRATIONS", (*MIGRATIONS, later))
    assert old.migrate() == [later.version]
    with old.transaction() as session:
        assert session.fetch_all("SELECT product_id, sales, note FROM invoice_data") == [("p1", 1.0, None)]


def test_new_keys_get_version_1_changed_keys_bump_and_unchanged_keys_stay(warehouse):
    first = upsert(warehouse, ("2024-01-01", "p1", "A", 1.0, False), ("2024-01-01", "p2", "A", 2.0, False))
    assert (first.inserted, first.updated, first.unchanged) == (2, 0, 0)

    second = upsert(
        warehouse,
        ("2024-01-01", "p1", "A", 1.0, False), ("2024-01-01", "p2", "A", 9.0, False), ("2024-01-02", "p1", "A", 3.0, True),
        batch=2,
    )
    assert (second.inserted, second.updated, second.unchanged) == (1, 1, 1)
    table = stored(warehouse)
    p2 = table.loc["p2"]
    assert (p2["sales"], p2["version"], p2["batch_num"]) == (9.0, 2, "b2")
    p1 = table.loc["p1"].set_index("sales")
    assert (p1.loc[1.0, "version"], p1.loc[1.0, "batch_num"]) == (1, "b1")  # unchanged row kept its batch


def test_a_failing_transaction_leaves_every_table_untouched(warehouse):
    upsert(warehouse, ("2024-01-01", "p1", "A", 1.0, False))
    with pytest.raises(RuntimeError):
        with warehouse.transaction() as session:
            invoice_table.upsert_invoices(session, rows(("2024-01-01", "p1", "A", 5.0, False)), "b2", "h2", at(2))
            invoice_table.insert_rejected_rows(
                session,
                pd.DataFrame([{"line_number": 3, "raw_date": "x", "raw_product_id": "p", "raw_category": "A",
                               "raw_sales": "1", "raw_record": "{}", "reason": "test"}]),
                "b2",
            )
            raise RuntimeError("crash in the middle of the batch")
    assert stored(warehouse).loc["p1", "sales"] == 1.0
    with warehouse.transaction() as session:
        assert invoice_table.read_rejected_rows(session).empty


def test_last_known_sales_is_the_latest_real_value_on_or_before_each_date(warehouse):
    upsert(warehouse, ("2024-01-01", "p1", "A", 1.0, False), ("2024-01-05", "p1", "A", 5.0, False), ("2024-01-07", "p1", "A", 5.0, True))
    wanted = pd.DataFrame(
        {"product_id": ["p1", "p1", "p1", "p2", "p1"], "category": ["A"] * 5,
         "date": pd.to_datetime(["2024-01-01", "2024-01-03", "2024-01-09", "2024-01-09", "2023-12-31"])}
    )
    with warehouse.transaction() as session:
        found = invoice_table.last_known_sales(session, wanted)
    assert found["sales"].iloc[:3].tolist() == [1.0, 1.0, 5.0]  # the imputed 01-07 is no evidence
    assert found["date"].iloc[:3].dt.strftime("%m-%d").tolist() == ["01-01", "01-01", "01-05"]
    assert found.iloc[3:].isna().all().all()


def test_last_known_sales_searches_only_the_days_after_the_callers_own_value(warehouse):
    """``after``: the batch has a real value of its own on that day, so only later stored days count."""
    upsert(warehouse, ("2024-01-01", "p1", "A", 1.0, False), ("2024-01-05", "p1", "A", 5.0, False), ("2024-01-07", "p1", "A", 7.0, True))
    wanted = pd.DataFrame(
        {"product_id": ["p1"] * 5, "category": ["A"] * 5,
         "date": pd.to_datetime(["2024-01-09", "2024-01-09", "2024-01-05", "2024-01-09", "2024-01-03"]),
         "after": pd.to_datetime(["2024-01-06", "2024-01-04", "2024-01-04", None, "2023-11-30"])}
    )
    with warehouse.transaction() as session:
        found = invoice_table.last_known_sales(session, wanted)
    assert found["date"].dt.strftime("%m-%d").fillna("-").tolist() == ["-", "01-05", "01-05", "01-05", "01-01"]
    assert found["sales"].fillna(-1).tolist() == [-1, 5.0, 5.0, 5.0, 1.0]


def test_read_invoices_filters(warehouse):
    upsert(warehouse, ("2024-01-01", "p1", "A", 1.0, False), ("2024-01-02", "p1", "B", 2.0, False), ("2024-01-03", "p1", "A", 3.0, False))
    with warehouse.transaction() as session:
        frame = invoice_table.read_invoices(session, category="A", start=dt.date(2024, 1, 2), limit=5)
    assert frame["sales"].tolist() == [3.0]
