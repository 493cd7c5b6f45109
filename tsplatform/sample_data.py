"""Realistic sales uploads for demos, tests and benchmarks.

Each category has its own level, weekly pattern, yearly season and trend; products share their
category's shape at their own scale, with multiplicative noise. A few percent of sales are left
empty (imputed downstream) and a few rows are made messy on purpose (bad dates, text in sales,
negative sales, empty product ids, repeated invoice lines), so a demo shows the quarantine at work.

The store-system export (``export_days``) is the same series continued past ``days``, written with
another header and US dates: one generator for both, so the level, trend and seasons carry on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

CATEGORY_NAMES = (
    "Electronics", "Groceries", "Garden", "Toys", "Clothing", "Books", "Sports", "Beauty", "Home", "Office",
)


@dataclass(frozen=True)
class SalesSpec:
    categories: int = 5
    products_per_category: int = 8
    start: dt.date = dt.date(2024, 11, 1)
    days: int = 730
    missing_rate: float = 0.03
    messy_rows: int = 20
    seed: int = 7
    export_days: int = 0  # days after ``days`` that go to the store-system export instead


# The store-system export: its own header names (mapped on upload), US dates, an extra column.
STORE_EXPORT_COLUMNS = {"Date": "Order Date", "product_id": "Product ID", "category": "Category", "sales": "Sales"}
STORE_EXPORT_MAPPING = ",".join(f"{source}={target}" for target, source in STORE_EXPORT_COLUMNS.items())
STORE_EXPORT_DATE_FORMAT = "%m/%d/%Y"
STORE_EXPORT_REGION = "EU-West"


@dataclass(frozen=True)
class SampleUploads:
    sales: pd.DataFrame  # Date, product_id, category, sales: the first ``days`` days, messy rows included
    store_export: pd.DataFrame  # Order Date, Product ID, Category, Sales, Region: the ``export_days`` after


def generate_sales(spec: SalesSpec) -> pd.DataFrame:
    """Columns Date, product_id, category, sales (text as it would be in an export)."""
    return generate_uploads(spec).sales


def generate_uploads(spec: SalesSpec) -> SampleUploads:
    """The sales uploads and the store-system export that continues them, from one series."""
    rng = np.random.default_rng(spec.seed)
    frame = _daily_sales(spec, rng, spec.days + spec.export_days)
    missing = rng.random(len(frame)) < spec.missing_rate
    frame.loc[missing, "sales"] = ""
    switch = (spec.start + dt.timedelta(days=spec.days)).isoformat()
    history, continued = frame[frame["Date"] < switch], frame[frame["Date"] >= switch]
    return SampleUploads(_add_messy_rows(history.reset_index(drop=True), spec.messy_rows, rng), _store_export(continued))


def store_export_name(export: pd.DataFrame) -> str:
    """``store_export_<first month>.csv``, as the store system names its monthly file."""
    first = pd.to_datetime(export["Order Date"], format=STORE_EXPORT_DATE_FORMAT).min()
    return f"store_export_{first:%Y-%m}.csv"


def _store_export(frame: pd.DataFrame) -> pd.DataFrame:
    dates = pd.to_datetime(frame["Date"], format="%Y-%m-%d").dt.strftime(STORE_EXPORT_DATE_FORMAT)
    export = frame.assign(Date=dates).rename(columns=STORE_EXPORT_COLUMNS)
    return export.assign(Region=STORE_EXPORT_REGION).reset_index(drop=True)


def _daily_sales(spec: SalesSpec, rng: np.random.Generator, days: int) -> pd.DataFrame:
    """Every product's sales on every day, as text, sorted by date, category and product."""
    dates = pd.date_range(spec.start, periods=days, freq="D")
    t = np.arange(days)
    frames = []
    for c in range(spec.categories):
        name = CATEGORY_NAMES[c % len(CATEGORY_NAMES)] + ("" if c < len(CATEGORY_NAMES) else f" {c // len(CATEGORY_NAMES)}")
        weekly = 1 + rng.uniform(0.1, 0.4) * np.sin(2 * np.pi * (dates.dayofweek.to_numpy() + rng.integers(7)) / 7)
        yearly = 1 + rng.uniform(0.05, 0.35) * np.sin(2 * np.pi * (dates.dayofyear.to_numpy() + rng.integers(365)) / 365.25)
        trend = 1 + rng.uniform(-0.1, 0.5) * t / 365.0
        shape = np.clip(weekly * yearly * trend, 0.05, None)
        for p in range(spec.products_per_category):
            level = rng.uniform(5, 200)
            noise = rng.gamma(shape=8.0, scale=1 / 8.0, size=days)
            sales = np.round(level * shape * noise, 2)
            frames.append(
                pd.DataFrame(
                    {"Date": dates.strftime("%Y-%m-%d"), "product_id": f"P{c:02d}{p:03d}", "category": name, "sales": sales.astype(str)}
                )
            )
    return pd.concat(frames, ignore_index=True).sort_values(["Date", "category", "product_id"], ignore_index=True)


def _add_messy_rows(frame: pd.DataFrame, count: int, rng: np.random.Generator) -> pd.DataFrame:
    if count <= 0 or frame.empty:
        return frame
    picks = frame.sample(n=count, random_state=int(rng.integers(1 << 31)), replace=True).reset_index(drop=True)
    kinds = np.arange(count) % 5
    picks.loc[kinds == 0, "Date"] = picks.loc[kinds == 0, "Date"].str.slice(0, 8) + "31"  # e.g. 2025-02-31 / 2025-04-31
    picks.loc[kinds == 1, "sales"] = "n/a"
    picks.loc[kinds == 2, "sales"] = "-" + picks.loc[kinds == 2, "sales"].replace("", "1")
    picks.loc[kinds == 3, "product_id"] = " "
    # kind 4: a repeated invoice line (same key, summed on ingest)
    rows = pd.concat([frame, picks], ignore_index=True)
    return rows.sample(frac=1.0, random_state=int(rng.integers(1 << 31))).sort_values("Date", kind="stable", ignore_index=True)


def split_by_period(frame: pd.DataFrame, period: str = "year") -> dict[str, pd.DataFrame]:
    """One upload per year or month, as an export schedule would produce (messy dates included)."""
    width = 4 if period == "year" else 7
    return {key: part for key, part in frame.groupby(frame["Date"].str.slice(0, width), sort=True)}
