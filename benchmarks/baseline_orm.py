"""The baseline: the classic hand-rolled worker, one row at a time, in one transaction.

For each line of the upload: parse and check it in Python (``csv``, ``strptime``, ``float``), fill a
missing sales value from the product's previous line, then write it:

* PostgreSQL, through SQLAlchemy (psycopg2, as a Flask-SQLAlchemy app would): ``INSERT``; on an
  ``IntegrityError`` (inside a SAVEPOINT per row, so the transaction survives) ``UPDATE`` with
  ``version = version + 1`` when the value changed.
* DuckDB: a constraint error aborts a DuckDB transaction and it has no SAVEPOINT, so the conflict
  is found by a lookup instead: ``SELECT`` the key, then ``INSERT`` or ``UPDATE ... version + 1``,
  through the duckdb connection. That is the fastest per-row form we measured there (one
  ``INSERT ... ON CONFLICT DO UPDATE`` per row runs 3-5x slower): it only flatters the baseline.

Rejected lines are counted, not stored (a few per thousand; also in the baseline's favour).
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import time
from dataclasses import dataclass
from pathlib import Path

_COLUMNS = "date, product_id, category, sales, is_imputed, batch_num, file_hash, created_at, updated_at, version"
_SAME_KEY = "date = :date AND product_id = :product_id AND category = :category"


@dataclass
class BaselineRun:
    rows: int  # lines read (the figure's denominator)
    written: int
    rejected: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


def classic_rows(path: Path, limit: int):
    """(line fields or None when rejected) for the first ``limit`` lines, checked row by row."""
    last_sales: dict[tuple[str, str], float] = {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for number, record in enumerate(csv.DictReader(handle)):
            if number >= limit:
                return
            yield _check(record, last_sales)


def _check(record: dict, last_sales: dict) -> dict | None:
    try:
        date = dt.datetime.strptime(record["Date"].strip(), "%Y-%m-%d").date()
    except (ValueError, AttributeError):
        return None
    product, category = (record["product_id"] or "").strip(), (record["category"] or "").strip()
    if not product or not category or len(product) > 255 or len(category) > 255:
        return None
    text = (record["sales"] or "").strip()
    imputed = text == ""
    if imputed:
        sales = last_sales.get((product, category), 0.0)
    else:
        try:
            sales = float(text)
        except ValueError:
            return None
        if not math.isfinite(sales) or sales < 0 or abs(sales) >= 1e10:
            return None
    last_sales[(product, category)] = sales
    return {"date": date, "product_id": product, "category": category, "sales": sales, "is_imputed": imputed}


def run_postgres(url: str, path: Path, limit: int, batch: str) -> BaselineRun:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import IntegrityError

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg2://", 1))
    insert = text(f"INSERT INTO invoice_data ({_COLUMNS}) VALUES "
                  "(:date, :product_id, :category, :sales, :is_imputed, :batch, :hash, :now, :now, 1)")
    update = text("UPDATE invoice_data SET sales = :sales, is_imputed = :is_imputed, batch_num = :batch, "
                  f"file_hash = :hash, updated_at = :now, version = version + 1 WHERE {_SAME_KEY} "
                  "AND (sales <> :sales OR is_imputed <> :is_imputed)")
    rows = written = rejected = 0
    started = time.perf_counter()
    try:
        with engine.begin() as connection:
            for values in classic_rows(path, limit):
                rows += 1
                if values is None:
                    rejected += 1
                    continue
                params = {**values, "batch": batch, "hash": batch, "now": _utc_now()}
                try:
                    with connection.begin_nested():
                        connection.execute(insert, params)
                except IntegrityError:
                    connection.execute(update, params)
                written += 1
    finally:
        engine.dispose()
    return BaselineRun(rows, written, rejected, time.perf_counter() - started)


def run_duckdb(database: Path, path: Path, limit: int, batch: str) -> BaselineRun:
    import duckdb

    find = "SELECT sales, is_imputed FROM invoice_data WHERE date = ? AND product_id = ? AND category = ?"
    insert = f"INSERT INTO invoice_data ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)"
    update = ("UPDATE invoice_data SET sales = ?, is_imputed = ?, batch_num = ?, file_hash = ?, updated_at = ?, "
              "version = version + 1 WHERE date = ? AND product_id = ? AND category = ?")
    rows = written = rejected = 0
    started = time.perf_counter()
    connection = duckdb.connect(str(database))
    try:
        connection.begin()
        for values in classic_rows(path, limit):
            rows += 1
            if values is None:
                rejected += 1
                continue
            key = [values["date"], values["product_id"], values["category"]]
            now = _utc_now()
            stored = connection.execute(find, key).fetchone()
            if stored is None:
                connection.execute(insert, [*key, values["sales"], values["is_imputed"], batch, batch, now, now])
            elif stored != (values["sales"], values["is_imputed"]):
                connection.execute(update, [values["sales"], values["is_imputed"], batch, batch, now, *key])
            written += 1
        connection.commit()
    finally:
        connection.close()
    return BaselineRun(rows, written, rejected, time.perf_counter() - started)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
