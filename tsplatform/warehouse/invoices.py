"""``invoice_data`` and ``rejected_rows``: the versioned upsert of one batch, and reads.

The upsert is two set-based statements over a staged copy of the batch (update what changed,
insert what is new), portable between DuckDB and PostgreSQL; the caller's transaction makes the
whole batch (rows, quarantine, accounting) land together or not at all.

Which value a key keeps does not depend on the order batches commit in: a real value beats an
imputed one, and between two real (or two imputed) values the newer upload wins, by
(``upload_metadata.uploaded_at``, ``batch_num``). Each row records the newest upload that carried
its value (``source_uploaded_at``, ``source_batch_num``); an upload that loses is counted unchanged.
Writers of ``invoice_data`` take turns (PostgreSQL runs several at once), so the comparison sees
every batch committed before it.

A first load (no stored row in the batch's date range, so every key is new) skips the staging and
the comparison: the rows go straight into ``invoice_data`` (PostgreSQL: one COPY in key order),
which is most of the cost of a large upload.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tsplatform.warehouse import catalog
from tsplatform.warehouse.base import Conditions, Session, page_clause, utc_now

# the columns and types come from the tables' DDL (schema.py, read by catalog): one source of truth
# for the migrations, these bulk loads and the column schema Dagster shows
_NEW_ROW_TYPES = catalog.column_types("invoice_data")
_STAGED_TYPES = catalog.column_types("invoice_data", ["date", "product_id", "category", "sales", "is_imputed"])
_REJECTED_TYPES = catalog.column_types("rejected_rows", without=("batch_num", "rejected_at"))
_SAME_KEY = "i.date = s.date AND i.product_id = s.product_id AND i.category = s.category"
_CHANGED = "(i.sales <> s.sales OR i.is_imputed <> s.is_imputed)"
# the incoming upload ``n`` takes precedence over the upload that set the stored row ``i``: real over
# imputed, then the newer (uploaded_at, batch_num); a row from before the source columns counts oldest
_WINS = """(
    (NOT s.is_imputed AND i.is_imputed)
    OR (s.is_imputed = i.is_imputed AND (
        i.source_uploaded_at IS NULL
        OR n.uploaded_at > i.source_uploaded_at
        OR (n.uploaded_at = i.source_uploaded_at AND n.batch_num >= COALESCE(i.source_batch_num, ''))
    ))
)"""


# the writers of invoice_data take turns (the table lock below), so one batch at a time spends this
UPSERT_JOIN_MEMORY_MB = 256


@dataclass(frozen=True)
class UpsertCounts:
    inserted: int
    updated: int
    unchanged: int  # including the keys below, which this batch did not change
    kept_newer: int = 0  # keys whose stored value came from a newer upload
    kept_real: int = 0  # keys this batch had no value for, holding a real value

    def as_metadata_counts(self) -> dict[str, int]:
        return {
            "num_inserted_rows": self.inserted,
            "num_updated_rows": self.updated,
            "num_unchanged_rows": self.unchanged,
        }


def upsert_invoices(
    session: Session, rows: pd.DataFrame, batch_num: str, file_hash: str, uploaded_at: dt.datetime
) -> UpsertCounts:
    """New keys get version 1; changed keys version + 1 and this batch, unless the stored value
    takes precedence (a real value over an imputed one, a newer upload's); the rest is left alone.

    ``uploaded_at`` is the batch's ``upload_metadata.uploaded_at``."""
    session.lock_table_for_writing("invoice_data")
    uploaded_at = pd.Timestamp(uploaded_at).to_pydatetime()
    if len(rows) and not _stored_between(session, rows["date"].min(), rows["date"].max()):
        _append_new(session, rows, batch_num, file_hash, uploaded_at, utc_now())
        return UpsertCounts(inserted=len(rows), updated=0, unchanged=0)
    # the comparison hashes the batch against the table (~70 MB for a million rows): in memory, not
    # in 16 batches on disk (PostgreSQL's default 4 MB; a million-row correction's merge 3.2 -> 2.4 s)
    session.allow_memory_for_joins(UPSERT_JOIN_MEMORY_MB)
    session.load_frame("staged_invoices", rows, _STAGED_TYPES)
    confirm = _older_upload_unapplied(session, batch_num, uploaded_at)
    outcomes = _set_aside_changes(session, batch_num, uploaded_at, confirm)
    inserted, updated = outcomes.get("new", 0), outcomes.get("changed", 0)
    now = utc_now()
    if updated or outcomes.get("confirmed"):
        _update_changed(session, batch_num, file_hash, uploaded_at, now)
    if inserted:
        _insert_new(session, batch_num, file_hash, uploaded_at, now)
    return UpsertCounts(
        inserted=inserted,
        updated=updated,
        unchanged=len(rows) - inserted - updated,
        kept_newer=outcomes.get("kept_newer", 0),
        kept_real=outcomes.get("kept_real", 0),
    )


def _set_aside_changes(session: Session, batch_num: str, uploaded_at: dt.datetime, confirm: bool) -> dict[str, int]:
    """Compare the batch with the table once; keep only the rows to write (a correction is a
    small share of its file), so the writes that follow join a few rows, not the whole batch.

    Each kept row has an outcome: ``new``, ``changed``, ``confirmed`` (same value, this upload now
    its newest source; only with ``confirm``), ``kept_newer`` or ``kept_real`` (the stored value
    stays). Returns the number of rows of each outcome."""
    session.execute("DROP TABLE IF EXISTS staged_changes")
    confirmed = f" OR {_WINS}" if confirm else ""
    session.execute(
        f"""
        CREATE TEMP TABLE staged_changes AS
        SELECT s.date, s.product_id, s.category, s.sales, s.is_imputed,
               CASE WHEN i.date IS NULL THEN 'new'
                    WHEN {_WINS} AND {_CHANGED} THEN 'changed'
                    WHEN {_WINS} THEN 'confirmed'
                    WHEN s.is_imputed AND NOT i.is_imputed THEN 'kept_real'
                    ELSE 'kept_newer' END AS outcome
        FROM staged_invoices s
        CROSS JOIN (SELECT CAST(? AS TIMESTAMP) AS uploaded_at, CAST(? AS VARCHAR) AS batch_num) n
        LEFT JOIN invoice_data i ON {_SAME_KEY}
        WHERE i.date IS NULL OR {_CHANGED}{confirmed}
        """,
        (uploaded_at, batch_num),
    )
    return {outcome: int(count) for outcome, count in session.fetch_all(
        "SELECT outcome, count(*) FROM staged_changes GROUP BY outcome"
    )}


def _older_upload_unapplied(session: Session, batch_num: str, uploaded_at: dt.datetime) -> bool:
    """Whether an older upload may still be written after this one (registered, processing, or
    failed and so retryable). Only then must this batch record itself as the source of the values
    it repeats unchanged; otherwise the older uploads already compared against the stored rows."""
    row = session.fetch_one(
        """
        SELECT EXISTS (
            SELECT 1 FROM upload_metadata
            WHERE status IN ('uploaded', 'processing', 'failed') AND batch_num <> ?
              AND NOT (status = 'failed' AND finished_at IS NULL)
              AND (uploaded_at < ? OR (uploaded_at = ? AND batch_num < ?))
        )
        """,
        (batch_num, uploaded_at, uploaded_at, batch_num),
    )
    return bool(row and row[0])


def _stored_between(session: Session, first: pd.Timestamp, last: pd.Timestamp) -> bool:
    """Whether any stored row falls in these dates (the primary key starts with date: an index probe)."""
    row = session.fetch_one(
        "SELECT EXISTS (SELECT 1 FROM invoice_data WHERE date BETWEEN ? AND ?)",
        (pd.Timestamp(first).date(), pd.Timestamp(last).date()),
    )
    return bool(row and row[0])


def _append_new(
    session: Session, rows: pd.DataFrame, batch_num: str, file_hash: str, uploaded_at: dt.datetime, now: dt.datetime
) -> None:
    """Every row is a new key: version 1, this batch, appended in one bulk statement (PostgreSQL:
    one COPY). In primary-key order: index inserts at the right edge cost a fraction of scattered ones.
    Safe against a concurrent first load: the caller holds the writers' lock."""
    new_rows = rows.sort_values(["date", "product_id", "category"], ignore_index=True)  # one copy: no column subset first
    # the same on every row: parameters, not a million-row column each
    constants = {"batch_num": batch_num, "file_hash": file_hash, "created_at": now, "updated_at": now, "version": 1,
                 "source_uploaded_at": uploaded_at, "source_batch_num": batch_num}
    session.append_frame(
        "invoice_data", new_rows, _STAGED_TYPES, {name: (_NEW_ROW_TYPES[name], value) for name, value in constants.items()}
    )


def _update_changed(session: Session, batch_num: str, file_hash: str, uploaded_at: dt.datetime, now: dt.datetime) -> None:
    """Changed rows take this batch's value and a new version; confirmed rows only its source."""
    changed = "s.outcome = 'changed'"
    session.execute(
        f"""
        UPDATE invoice_data AS i
        SET sales = s.sales, is_imputed = s.is_imputed,
            batch_num = CASE WHEN {changed} THEN ? ELSE i.batch_num END,
            file_hash = CASE WHEN {changed} THEN ? ELSE i.file_hash END,
            updated_at = CASE WHEN {changed} THEN ? ELSE i.updated_at END,
            version = CASE WHEN {changed} THEN i.version + 1 ELSE i.version END,
            source_uploaded_at = ?, source_batch_num = ?
        FROM staged_changes s
        WHERE s.outcome IN ('changed', 'confirmed') AND {_SAME_KEY}
        """,
        (batch_num, file_hash, now, uploaded_at, batch_num),
    )


def _insert_new(session: Session, batch_num: str, file_hash: str, uploaded_at: dt.datetime, now: dt.datetime) -> None:
    session.execute(
        f"""
        INSERT INTO invoice_data (date, product_id, category, sales, is_imputed, batch_num, file_hash,
                                  created_at, updated_at, version, source_uploaded_at, source_batch_num)
        SELECT s.date, s.product_id, s.category, s.sales, s.is_imputed, ?, ?, ?, ?, 1, ?, ?
        FROM staged_changes s
        WHERE s.outcome = 'new' AND NOT EXISTS (SELECT 1 FROM invoice_data i WHERE {_SAME_KEY})
        """,
        (batch_num, file_hash, now, now, uploaded_at, batch_num),
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


_NEWEST = "row_number() OVER (PARTITION BY position ORDER BY i.date DESC)"
# a row whose ``after`` is at most this many days back has its days listed and probed by key; one
# further back (a long gap in its series) searches its series' history like a row without ``after``
LISTED_DAYS = 31
_WANTED_TYPES = {"position": "BIGINT", "product_id": "VARCHAR", "category": "VARCHAR", "date": "DATE"}
_CANDIDATE_TYPES = {"position": "BIGINT", "product_id": "VARCHAR", "category": "VARCHAR", "day": "DATE"}


def last_known_sales(session: Session, wanted: pd.DataFrame) -> pd.DataFrame:
    """For each (product_id, category, date) row: ``date`` and ``sales`` of the latest stored REAL
    value on or before that date (an imputed value is no evidence), NaT / NaN if none; aligned with
    ``wanted``. On the date itself: the key already holds a real value.

    An optional ``after`` column (NaT: none) limits a row's search to the days after it (the caller
    has a value of its own from that day, and an older stored value loses to it). Those days are
    few (a correction's missing key: its own day), so they are listed here and looked up by primary
    key; only the other rows search their series' whole history (PostgreSQL joined and sorted
    millions of rows when every row did, and hashed the whole table for a recursive list of days)."""
    keyed = wanted.reset_index(drop=True).assign(position=lambda f: f.index.astype("int64"))
    result = pd.DataFrame(
        {"date": pd.Series(pd.NaT, index=keyed.index, dtype="datetime64[ns]"),
         "sales": pd.Series(float("nan"), index=keyed.index, dtype="float64")}
    )
    if keyed.empty:
        return result
    listed = _days_to_probe(keyed)
    session.load_frame("candidate_days", listed, _CANDIDATE_TYPES)
    session.load_frame("wanted_sales", keyed[~keyed["position"].isin(listed["position"])], _WANTED_TYPES)
    found = session.fetch_df(
        f"""
        SELECT position, date, sales FROM (
            SELECT c.position, i.date, i.sales, {_NEWEST} AS newest
            FROM candidate_days c
            JOIN invoice_data i ON i.date = c.day AND i.product_id = c.product_id AND i.category = c.category
            WHERE NOT i.is_imputed
            UNION ALL
            SELECT w.position, i.date, i.sales, {_NEWEST} AS newest
            FROM wanted_sales w
            JOIN invoice_data i ON i.product_id = w.product_id AND i.category = w.category
            WHERE i.date <= w.date AND NOT i.is_imputed
        ) ranked
        WHERE newest = 1
        """
    )
    positions = found["position"].to_numpy()
    result.loc[positions, "date"] = pd.to_datetime(found["date"]).to_numpy(dtype="datetime64[ns]")
    result.loc[positions, "sales"] = found["sales"].astype("float64").to_numpy()
    return result


def _days_to_probe(keyed: pd.DataFrame) -> pd.DataFrame:
    """One row per (position, day) for the rows whose ``after`` is at most LISTED_DAYS back: the
    days after it up to their own date."""
    if "after" not in keyed.columns:
        return pd.DataFrame({name: pd.Series(dtype="datetime64[ns]" if name == "day" else object) for name in _CANDIDATE_TYPES})
    days = keyed["date"].to_numpy("datetime64[D]")
    after = pd.to_datetime(keyed["after"]).to_numpy("datetime64[D]")
    gaps = (days - after).astype("float64")  # NaN where there is no ``after``
    near = ~np.isnan(gaps) & (gaps >= 1) & (gaps <= LISTED_DAYS)
    counts = gaps[near].astype("int64")
    rows = keyed[near]
    steps = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)  # 0..count-1 in each row
    return pd.DataFrame({
        "position": np.repeat(rows["position"].to_numpy(), counts),
        "product_id": np.repeat(rows["product_id"].to_numpy(dtype=object), counts),
        "category": np.repeat(rows["category"].to_numpy(dtype=object), counts),
        "day": (np.repeat(days[near], counts) - steps.astype("timedelta64[D]")).astype("datetime64[ns]"),
    })


def read_invoices(
    session: Session,
    category: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    limit: int | None = None,
    offset: int | None = None,
    *,
    batch: str | None = None,
) -> pd.DataFrame:
    """``batch``: only the rows that batch last changed (``batch_num``), as Dagster loads a partition."""
    where = Conditions().equal("category", category).equal("batch_num", batch).between("date", start, end)
    sql = f"SELECT * FROM invoice_data{where.where} ORDER BY date, category, product_id" + page_clause(limit, offset)
    return session.fetch_df(sql, where.params)


def read_rejected_rows(session: Session, batch_num: str | None = None) -> pd.DataFrame:
    if batch_num is None:
        return session.fetch_df("SELECT * FROM rejected_rows ORDER BY batch_num, line_number")
    return session.fetch_df("SELECT * FROM rejected_rows WHERE batch_num = ? ORDER BY line_number", (batch_num,))
