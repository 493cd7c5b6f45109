"""Realistic sales uploads for demos, tests and benchmarks.

Each category has its own level, weekly pattern, yearly season and trend; products share their
category's shape at their own scale, with multiplicative noise. A few percent of sales are left
empty (imputed downstream) and a few rows are made messy on purpose (bad dates, text in sales,
negative sales, empty product ids, repeated invoice lines), so a demo shows the quarantine at work.
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


def generate_sales(spec: SalesSpec) -> pd.DataFrame:
    """Columns Date, product_id, category, sales (text as it would be in an export)."""
    rng = np.random.default_rng(spec.seed)
    dates = pd.date_range(spec.start, periods=spec.days, freq="D")
    t = np.arange(spec.days)
    frames = []
    for c in range(spec.categories):
        name = CATEGORY_NAMES[c % len(CATEGORY_NAMES)] + ("" if c < len(CATEGORY_NAMES) else f" {c // len(CATEGORY_NAMES)}")
        weekly = 1 + rng.uniform(0.1, 0.4) * np.sin(2 * np.pi * (dates.dayofweek.to_numpy() + rng.integers(7)) / 7)
        yearly = 1 + rng.uniform(0.05, 0.35) * np.sin(2 * np.pi * (dates.dayofyear.to_numpy() + rng.integers(365)) / 365.25)
        trend = 1 + rng.uniform(-0.1, 0.5) * t / 365.0
        shape = np.clip(weekly * yearly * trend, 0.05, None)
        for p in range(spec.products_per_category):
            level = rng.uniform(5, 200)
            noise = rng.gamma(shape=8.0, scale=1 / 8.0, size=spec.days)
            sales = np.round(level * shape * noise, 2)
            frames.append(
                pd.DataFrame(
                    {"Date": dates.strftime("%Y-%m-%d"), "product_id": f"P{c:02d}{p:03d}", "category": name, "sales": sales.astype(str)}
                )
            )
    frame = pd.concat(frames, ignore_index=True).sort_values(["Date", "category", "product_id"], ignore_index=True)
    missing = rng.random(len(frame)) < spec.missing_rate
    frame.loc[missing, "sales"] = ""
    return _add_messy_rows(frame, spec.messy_rows, rng)


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
