"""``invoice_data`` and ``rejected_rows``: the versioned upsert of one batch, and reads.

The upsert is two set-based statements over a staged copy of the batch (update what changed,
insert what is new), portable between DuckDB and PostgreSQL; the caller's transaction makes the
whole batch (rows, quarantine, accounting) land together or not at all.

A first load (no stored row in the batch's date range, so every key is new) skips the staging and
the comparison: the rows go straight into ``invoice_data`` (PostgreSQL: one COPY in key order),
which is most of the cost of a large upload.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from tsplatform.warehouse.base import Session, utc_now

_STAGED_TYPES = {
    "date": "DATE",
    "product_id": "VARCHAR",
    "category": "VARCHAR",
    "sales": "DOUBLE PRECISION",
    "is_imputed": "BOOLEAN",
}
_REJECTED_TYPES = {
    "line_number": "INTEGER",
    "raw_date": "VARCHAR",
    "raw_product_id": "VARCHAR",
    "raw_category": "VARCHAR",
    "raw_sales": "VARCHAR",
    "raw_record": "VARCHAR",
    "reason": "VARCHAR",
}
_NEW_ROW_TYPES = {
    **_STAGED_TYPES,
    "batch_num": "VARCHAR",
    "file_hash": "VARCHAR",
    "created_at": "TIMESTAMP",
    "updated_at": "TIMESTAMP",
    "version": "INTEGER",
}
_SAME_KEY = "i.date = s.date AND i.product_id = s.product_id AND i.category = s.category"
_CHANGED = "(i.sales <> s.sales OR i.is_imputed <> s.is_imputed)"


@dataclass(frozen=True)
class UpsertCounts:
    inserted: int
    updated: int
    unchanged: int

    def as_metadata_counts(self) -> dict[str, int]:
        return {
            "num_inserted_rows": self.inserted,
            "num_updated_rows": self.updated,
            "num_unchanged_rows": self.unchanged,
        }


def upsert_invoices(session: Session, rows: pd.DataFrame, batch_num: str, file_hash: str) -> UpsertCounts:
    """New keys get version 1; changed keys version + 1 and this batch; unchanged keys are left alone."""
    if len(rows) and not _stored_between(session, rows["date"].min(), rows["date"].max()):
        _append_new(session, rows, batch_num, file_hash, utc_now())
        return UpsertCounts(inserted=len(rows), updated=0, unchanged=0)
    session.load_frame("staged_invoices", rows, _STAGED_TYPES)
    inserted, updated = _set_aside_changes(session)
    now = utc_now()
    if updated:
        _update_changed(session, batch_num, file_hash, now)
    if inserted:
        _insert_new(session, batch_num, file_hash, now)
    return UpsertCounts(inserted=inserted, updated=updated, unchanged=len(rows) - inserted - updated)


def _set_aside_changes(session: Session) -> tuple[int, int]:
    """Compare the batch with the table once; keep only new and changed rows (a correction is a
    small share of its file), so the writes that follow join a few rows, not the whole batch.
    Returns (new, changed)."""
    session.execute("DROP TABLE IF EXISTS staged_changes")
    session.execute(
        f"""
        CREATE TEMP TABLE staged_changes AS
        SELECT s.date, s.product_id, s.category, s.sales, s.is_imputed, i.date IS NULL AS is_new
        FROM staged_invoices s LEFT JOIN invoice_data i ON {_SAME_KEY}
        WHERE i.date IS NULL OR {_CHANGED}
        """
    )
    row = session.fetch_one(
        "SELECT count(*) FILTER (WHERE is_new), count(*) FILTER (WHERE NOT is_new) FROM staged_changes"
    )
    return int(row[0]), int(row[1])


def _stored_between(session: Session, first: pd.Timestamp, last: pd.Timestamp) -> bool:
    """Whether any stored row falls in these dates (the primary key starts with date: an index probe)."""
    row = session.fetch_one(
        "SELECT EXISTS (SELECT 1 FROM invoice_data WHERE date BETWEEN ? AND ?)",
        (pd.Timestamp(first).date(), pd.Timestamp(last).date()),
    )
    return bool(row and row[0])


def _append_new(session: Session, rows: pd.DataFrame, batch_num: str, file_hash: str, now: dt.datetime) -> None:
    """Every row is a new key: version 1, this batch, appended in one bulk statement (PostgreSQL:
    one COPY). In primary-key order: index inserts at the right edge cost a fraction of scattered ones."""
    new_rows = (
        rows[list(_STAGED_TYPES)]
        .sort_values(["date", "product_id", "category"], ignore_index=True)
        .assign(batch_num=batch_num, file_hash=file_hash, created_at=now, updated_at=now, version=1)
    )
    session.append_frame("invoice_data", new_rows, _NEW_ROW_TYPES)


def _update_changed(session: Session, batch_num: str, file_hash: str, now: dt.datetime) -> None:
    session.execute(
        f"""
        UPDATE invoice_data AS i
        SET sales = s.sales, is_imputed = s.is_imputed, batch_num = ?, file_hash = ?, updated_at = ?,
            version = i.version + 1
        FROM staged_changes s
        WHERE NOT s.is_new AND {_SAME_KEY} AND {_CHANGED}
        """,
        (batch_num, file_hash, now),
    )


def _insert_new(session: Session, batch_num: str, file_hash: str, now: dt.datetime) -> None:
    session.execute(
        f"""
        INSERT INTO invoice_data (date, product_id, category, sales, is_imputed, batch_num, file_hash,
                                  created_at, updated_at, version)
        SELECT s.date, s.product_id, s.category, s.sales, s.is_imputed, ?, ?, ?, ?, 1
        FROM staged_changes s
        WHERE s.is_new AND NOT EXISTS (SELECT 1 FROM invoice_data i WHERE {_SAME_KEY})
        """,
        (batch_num, file_hash, now, now),
    )


def insert_rejected_rows(session: Session, rejected: pd.DataFrame, batch_num: str) -> None:
    """Quarantine: the batch's bad rows with their line, raw text and reason. Replaces a re-run's."""
    session.execute("DELETE FROM rejected_rows WHERE batch_num = ?", (batch_num,))
    if rejected.empty:
        return
    session.load_frame("staged_rejected", rejected, _REJECTED_TYPES)
    session.execute(
        """
        INSERT INTO rejected_rows (batch_num, line_number, raw_date, raw_product_id, raw_category, raw_sales,
                                   raw_record, reason, rejected_at)
        SELECT ?, line_number, raw_date, raw_product_id, raw_category, raw_sales, raw_record, reason, ?
        FROM staged_rejected
        """,
        (batch_num, utc_now()),
    )


def last_known_sales(session: Session, wanted: pd.DataFrame) -> pd.Series:
    """For each (product_id, category, date) row: the latest stored sales strictly before that date."""
    if wanted.empty:
        return pd.Series(dtype="float64")
    keyed = wanted.reset_index(drop=True).assign(position=lambda f: f.index.astype("int64"))
    session.load_frame(
        "wanted_sales",
        keyed,
        {"position": "BIGINT", "product_id": "VARCHAR", "category": "VARCHAR", "date": "DATE"},
    )
    found = session.fetch_df(
        """
        SELECT w.position,
               (SELECT i.sales FROM invoice_data i
                WHERE i.product_id = w.product_id AND i.category = w.category AND i.date < w.date
                ORDER BY i.date DESC LIMIT 1) AS sales
        FROM wanted_sales w
        """
    )
    series = pd.Series(float("nan"), index=range(len(keyed)), dtype="float64")
    series.loc[found["position"].to_numpy()] = found["sales"].astype("float64").to_numpy()
    return series


def read_invoices(
    session: Session,
    category: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    clauses, params = [], []
    if category is not None:
        clauses.append("category = ?")
        params.append(category)
    if start is not None:
        clauses.append("date >= ?")
        params.append(start)
    if end is not None:
        clauses.append("date <= ?")
        params.append(end)
    sql = "SELECT * FROM invoice_data"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += " ORDER BY date, category, product_id"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return session.fetch_df(sql, params)


def read_rejected_rows(session: Session, batch_num: str | None = None) -> pd.DataFrame:
    if batch_num is None:
        return session.fetch_df("SELECT * FROM rejected_rows ORDER BY batch_num, line_number")
    return session.fetch_df("SELECT * FROM rejected_rows WHERE batch_num = ? ORDER BY line_number", (batch_num,))
