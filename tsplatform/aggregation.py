"""Daily sales per category, the input of every forecast.

Days without sales inside a category's active span are real zeros (the shop was open, nothing sold),
so each category is filled with 0 from its first to its last day. A fingerprint per category lets
the forecast refresh skip categories whose series did not change.
"""

from __future__ import annotations

import hashlib

import pandas as pd


def fill_daily_gaps(totals: pd.DataFrame) -> pd.DataFrame:
    """category, date, sales, num_invoice_rows with every day from each category's first to last."""
    if totals.empty:
        return pd.DataFrame({"category": [], "date": pd.to_datetime([]), "sales": [], "num_invoice_rows": []})
    frames = []
    for category, rows in totals.groupby("category", sort=True):
        rows = rows.set_index(pd.to_datetime(rows["date"]))
        days = pd.date_range(rows.index.min(), rows.index.max(), freq="D")
        filled = pd.DataFrame(
            {
                "category": category,
                "date": days,
                "sales": rows["sales"].reindex(days, fill_value=0.0).astype("float64").to_numpy(),
                "num_invoice_rows": rows["num_invoice_rows"].reindex(days, fill_value=0).astype("int64").to_numpy(),
            }
        )
        frames.append(filled)
    return pd.concat(frames, ignore_index=True)


def series_fingerprints(daily: pd.DataFrame) -> dict[str, str]:
    """category -> short hash of its (date, sales) series."""
    fingerprints = {}
    for category, rows in daily.groupby("category", sort=True):
        digest = hashlib.sha256()
        digest.update(pd.util.hash_pandas_object(rows[["date", "sales"]], index=False).to_numpy().tobytes())
        fingerprints[str(category)] = digest.hexdigest()[:16]
    return fingerprints


def category_series(daily: pd.DataFrame, category: str) -> pd.Series:
    """One category's daily sales as a Series on a daily DatetimeIndex (what the models take)."""
    rows = daily[daily["category"] == category]
    return pd.Series(rows["sales"].to_numpy(dtype="float64"), index=pd.DatetimeIndex(rows["date"], freq="D"), name=category)


def changed_categories(current: dict[str, str], previous: dict[str, str]) -> list[str]:
    """Categories that are new or whose series fingerprint differs from the previous one."""
    return sorted(c for c, fingerprint in current.items() if previous.get(c) != fingerprint)
